"""Who may see which requests: the one place that says it. Every query for requests starts here.

- resident: the requests they applied for (``applicant_id``). Requests for other members of their KK
  are visible because the resident files them; requests about them filed by somebody else (another
  KK member's own account, an institution) are not shown, for now.
- institution: the requests it filed.
- operator, penyelia: requests whose kelurahan lies in their kecamatan, once submitted (drafts, and
  drafts cancelled before submission, stay the applicant's own).
- kasi, kabid, kadis: requests in ``verifying`` whose current verification step is their role,
  city-wide.
- satgas: requests whose subject lives in an RW they cover (as primary or backup), once submitted.
- admin: none; admins do not see residents' documents.

``can_view`` asks the database with the same query, so the two can never disagree.
"""
from __future__ import annotations

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import object_session

from ..extensions import db
from ..models import APPLICANT_ROLES, SatgasAssignment, ServiceRequest, User

VERIFIER_ROLES = ("kasi", "kabid", "kadis")


def _waiting_for(role: str):
    """(service_code, verification_index) pairs at which a request waits for ``role``."""
    from .catalogue import get_catalogue
    for service in get_catalogue():
        for index, step in enumerate(service.verification_steps):
            if step == role:
                yield service.code, index


def visible_requests(user: User | None) -> Select[tuple[ServiceRequest]]:
    """A SELECT of the requests ``user`` may see; add filters, ordering and paging to it."""
    query = select(ServiceRequest)
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(false())
    role = user.role
    if role in APPLICANT_ROLES:
        return query.where(ServiceRequest.applicant_id == user.id)
    if role in ("operator", "penyelia"):
        if not user.kecamatan_code:
            return query.where(false())
        return query.where(
            ServiceRequest.kelurahan_code.startswith(user.kecamatan_code + ".", autoescape=True),
            ServiceRequest.status != "draft",
            or_(ServiceRequest.status != "cancelled", ServiceRequest.submitted_at.is_not(None)),
        )
    if role in VERIFIER_ROLES:
        pairs = [and_(ServiceRequest.service_code == code, ServiceRequest.verification_index == index)
                 for code, index in _waiting_for(role)]
        if not pairs:
            return query.where(false())
        return query.where(ServiceRequest.status == "verifying", or_(*pairs))
    if role == "satgas":
        covered = select(SatgasAssignment.rw_id).where(SatgasAssignment.satgas_id == user.id)
        return query.where(ServiceRequest.rw_id.in_(covered), ServiceRequest.status != "draft",
                           or_(ServiceRequest.status != "cancelled", ServiceRequest.submitted_at.is_not(None)))
    # admin: never residents' documents.
    return query.where(false())


def can_view(user: User | None, req: ServiceRequest) -> bool:
    if req.id is None:
        return False
    session = object_session(req) or db.session
    stmt = visible_requests(user).where(ServiceRequest.id == req.id)
    return bool(session.scalar(select(stmt.exists())))
