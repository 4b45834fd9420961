"""Public verification of issued documents (opened from the QR code; no log-in)."""
from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verifikasi")

from . import routes  # noqa: E402,F401
