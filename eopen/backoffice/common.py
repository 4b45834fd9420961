"""What every back-office route needs: the role check, the scope check and the access record."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import ServiceRequest
from ..services import audit, scope

KECAMATAN_STAFF = ("operator", "penyelia")
VERIFIERS = ("kasi", "kabid", "kadis")


def staff_required(*roles: str):
    """Log-in first (anonymous → log-in page); a signed-in user of another role gets 403."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def staff_request(tracking_no: str, *, log: bool = True) -> ServiceRequest:
    """The request if it is in the current staff member's scope (else 404), with an access record."""
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or not scope.can_view(current_user, req):
        abort(404)
    if log:
        audit.record_access(current_user, req)
    return req
