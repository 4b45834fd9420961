"""Back office: penyelia pages (being written)."""
from . import bp  # noqa: F401
