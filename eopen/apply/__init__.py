from flask import Blueprint

bp = Blueprint("apply", __name__, url_prefix="/ajukan")

from . import routes  # noqa: E402,F401
