"""Downloading issued documents (being written)."""
from . import bp  # noqa: F401
