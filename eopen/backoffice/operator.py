"""Back office: operator pages (being written)."""
from . import bp  # noqa: F401
