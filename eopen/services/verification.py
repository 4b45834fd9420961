"""The verification chain (Kasi → Kabid → Kadis): queues and decisions.

A request in ``verifying`` waits at step ``verification_steps[verification_index]`` of its service;
``scope.visible_requests`` gives a kasi/kabid/kadis exactly the requests waiting at their step.
Every change goes through ``lifecycle.perform``; after the last approval ``fulfilment.after_decision``
hands the request to SIAK and issues it. Functions here flush, never commit: a route commits once
per request (a batch approval is one transaction per request).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Event, ServiceRequest, User
from . import fulfilment, lifecycle, scope, sla
from .catalogue import get_catalogue

PAGE_SIZE = 50
STEP_LABELS = {"kasi": _l("Kasi"), "kabid": _l("Kabid"), "kadis": _l("Kadis")}


def step_label(role: str | None) -> str:
    return str(STEP_LABELS.get(role or "", role or ""))


def services_of(user: User) -> list:
    """The services whose chain passes through the user's step."""
    return [s for s in get_catalogue() if user.role in s.verification_steps]


def _filtered(user: User, service: str | None, kecamatan: str | None):
    query = scope.visible_requests(user)
    if service:
        query = query.where(ServiceRequest.service_code == service)
    if kecamatan:
        query = query.where(ServiceRequest.kelurahan_code.startswith(kecamatan + ".", autoescape=True))
    return query


def _last_event_ids(condition):
    """(request_id, id of the latest event matching ``condition``) for requests in ``verifying``."""
    return (select(Event.request_id, func.max(Event.id).label("event_id"))
            .join(ServiceRequest, ServiceRequest.id == Event.request_id)
            .where(ServiceRequest.status == "verifying", condition)
            .group_by(Event.request_id).subquery())


@dataclass
class QueueRow:
    req: ServiceRequest
    since: datetime | None
    approved_by: str | None
    days_left: int | None


def queue_page(user: User, service: str | None, kecamatan: str | None, page: int
               ) -> tuple[list[QueueRow], int, int]:
    """The requests waiting at the user's step, oldest first (by when they reached the step).

    Returns (rows, total, page) with ``page`` clamped to the pages that exist.
    """
    base = _filtered(user, service, kecamatan)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)

    reached = _last_event_ids(Event.to_status == "verifying")   # the event that brought it to my step
    approval = _last_event_ids(Event.action == "approve")        # the operator's approval of this round
    reached_event, approve_event, approver = aliased(Event), aliased(Event), aliased(User)
    since = func.coalesce(reached_event.created_at, ServiceRequest.updated_at)
    query = (base
             .outerjoin(reached, reached.c.request_id == ServiceRequest.id)
             .outerjoin(reached_event, reached_event.id == reached.c.event_id)
             .outerjoin(approval, approval.c.request_id == ServiceRequest.id)
             .outerjoin(approve_event, approve_event.id == approval.c.event_id)
             .outerjoin(approver, approver.id == approve_event.actor_id)
             .add_columns(since.label("since"), approver.display_name)
             .order_by(since, ServiceRequest.id)
             .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    overrides = sla.load_overrides()
    today = sla.today_local()
    rows = [QueueRow(req, since_at, approver_name,
                     sla.time_left(req.due_date, today, overrides) if req.due_date else None)
            for req, since_at, approver_name in db.session.execute(query)]
    return rows, total, page


def round_decision(req: ServiceRequest, role: str) -> Event | None:
    """The verify / verify_return at step ``role`` since the operator's latest approval, if any."""
    events = db.session.scalars(select(Event).where(Event.request_id == req.id).order_by(Event.id.desc()))
    for event in events:
        if event.action == "approve":
            return None
        if event.action in ("verify", "verify_return") and event.actor is not None and event.actor.role == role:
            return event
    return None


def why_not_waiting(user: User, req: ServiceRequest | None) -> str:
    """Why a request is not (or no longer) at the user's step: never reveals more than that."""
    decided = round_decision(req, user.role) if req is not None else None
    if decided is None:
        return _("tidak menunggu verifikasi Anda")
    if decided.actor_id == user.id:
        return _("sudah Anda setujui") if decided.action == "verify" else _("sudah Anda kembalikan ke petugas")
    if decided.action == "verify":
        return _("sudah disetujui oleh %(name)s", name=decided.actor.display_name)
    return _("sudah dikembalikan ke petugas oleh %(name)s", name=decided.actor.display_name)


def own_repeat(user: User, req: ServiceRequest, action: str) -> bool:
    """True when the user already took ``action`` on ``req`` at their step (a double click)."""
    decided = round_decision(req, user.role)
    return decided is not None and decided.actor_id == user.id and decided.action == action


def by_tracking_no(tracking_no: str) -> ServiceRequest | None:
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))


def decide(user: User, req: ServiceRequest, action: str, note: str | None = None) -> None:
    """One decision: the transition, then (after the last approval) SIAK and issuing. Flushes only."""
    lifecycle.perform(req, action, user, note=note)
    if action == "verify" and req.status == "approved":
        fulfilment.after_decision(req)


@dataclass
class Skipped:
    tracking_no: str
    reason: str
    own: bool = False  # the user had already approved it (a second click)


def skipped(user: User, tracking_no: str, req: ServiceRequest | None) -> Skipped:
    return Skipped(tracking_no, why_not_waiting(user, req), own=req is not None and own_repeat(user, req, "verify"))
