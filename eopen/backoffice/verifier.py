"""Back office: verifier pages (being written)."""
from . import bp  # noqa: F401
