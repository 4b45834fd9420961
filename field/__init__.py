"""Satgas Pamor field mode. Depends on eopen's domain; eopen never imports it (the blueprint is
plugged in by name through the BLUEPRINTS setting)."""
from flask import Blueprint

bp = Blueprint("field", __name__, url_prefix="/lapangan", template_folder="templates")

from . import routes  # noqa: E402,F401
from . import assist  # noqa: E402,F401
from . import offline  # noqa: E402,F401
