"""The back office (kantor): operators, penyelia and the Kasi → Kabid → Kadis chain.

One blueprint, one module per kind of user: operator.py (queue, claim, review, decisions),
penyelia.py (assignment, performance, SLA breaches, access log), verifier.py (verification queues).
"""
from flask import Blueprint, redirect, url_for
from flask_login import current_user

bp = Blueprint("backoffice", __name__, url_prefix="/kantor")

HOME_OF_ROLE = {
    "operator": "backoffice.queue",
    "penyelia": "backoffice.penyelia_dashboard",
    "kasi": "backoffice.verify_queue",
    "kabid": "backoffice.verify_queue",
    "kadis": "backoffice.verify_queue",
}

from .common import staff_required  # noqa: E402


@bp.get("/")
@staff_required(*HOME_OF_ROLE)
def home():
    return redirect(url_for(HOME_OF_ROLE[current_user.role]))


from . import desk, operator, penyelia, siak, verifier  # noqa: E402,F401
