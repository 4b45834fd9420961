"""Public verification pages (being written)."""
from . import bp  # noqa: F401
