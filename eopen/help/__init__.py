"""The help guide (/bantuan): one page per feature, with numbered steps, screenshots and narration."""
from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/bantuan")

from . import routes  # noqa: E402,F401
