"""Revising a returned request (being written)."""
from . import bp  # noqa: F401
