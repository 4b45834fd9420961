"""Access records: every time a staff member opens a request or one of its documents.

Rows are only ever added (there is no update or delete path in the app); the penyelia of the
kecamatan and the admin can read them.
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import AccessLog, RequestDocument, ServiceRequest, User

STAFF_ROLES_LOGGED = ("satgas", "operator", "penyelia", "kasi", "kabid", "kadis", "admin")


def record_access(user: User, req: ServiceRequest, document: RequestDocument | None = None,
                  action: str | None = None) -> AccessLog | None:
    """Add an access row for a staff member (residents opening their own request are not logged)."""
    if user.role not in STAFF_ROLES_LOGGED:
        return None
    row = AccessLog(user_id=user.id, request_id=req.id, document_id=document.id if document else None,
                    action=action or ("view_document" if document else "view_request"))
    db.session.add(row)
    db.session.flush()
    return row


def access_log(req: ServiceRequest) -> list[AccessLog]:
    return list(db.session.scalars(select(AccessLog).where(AccessLog.request_id == req.id)
                                   .order_by(AccessLog.id.desc())))


def may_read_log(user: User, req: ServiceRequest) -> bool:
    if user.role == "admin":
        return True
    return user.role == "penyelia" and user.kecamatan_code is not None and user.kecamatan_code == req.kecamatan_code
