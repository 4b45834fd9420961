from flask import Blueprint

bp = Blueprint("resident", __name__)

from . import issued, jobs, revision, routes  # noqa: E402,F401
