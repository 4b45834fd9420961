"""The life cycle of a service request: THE transition table and the one function that changes a status.

Nothing else writes ``ServiceRequest.status``. ``perform()`` checks the table (state, who, scope,
note), changes the row with a conditional UPDATE (so of two operators claiming at once exactly one
wins, the other gets ``TransitionError("conflict")``), writes the Event row in the same transaction
and flushes; the caller commits.

Who may act is said with the staff roles plus words that need the request to decide:

- ``applicant``: a resident or institution whose id is the request's ``applicant_id``;
- ``assistant``: the Satgas Pamor who started the draft at the resident's door (``assisted_by_id``),
  active and in the request's kecamatan, while it is a draft. Submitting it needs the resident's
  consent: the event's data must say ``{"assisted_by": <satgas id>, "confirmed_by": "code" |
  "birth_nik"}`` (the caller checks the code or date of birth + NIK with ``custody.confirm_resident``);
- ``claimant``: the operator who claimed the request (``operator_id``), in its kecamatan;
- ``claimable``: an operator of the kecamatan, when nobody holds the request or it is theirs (a
  request resubmitted after revision waits for the operator who returned it);
- ``verifier``: a kasi/kabid/kadis whose role is the current step of the service's verification
  chain (``verification_steps[verification_index]``), city-wide;
- ``system``: no user (the SIAK adapter / outbox), i.e. ``actor is None``.

``operator``, ``penyelia`` and ``satgas`` act only in their own kecamatan (``user.kecamatan_code ==
request.kecamatan_code``). Admins appear nowhere: they do not handle residents' documents.
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from ..extensions import db
from ..models import APPLICANT_ROLES, Event, ServiceRequest, User, utcnow
from . import notify, sla
from .labels import status_label

STATES = ("draft", "submitted", "in_review", "needs_revision", "rejected", "verifying", "approved",
          "sent_to_siak", "issued", "ready_for_collection", "collected", "out_for_delivery", "delivered",
          "cancelled")
FINAL_STATES = ("rejected", "collected", "delivered", "cancelled")

APPLICANT, CLAIMANT, CLAIMABLE, VERIFIER, SYSTEM = "applicant", "claimant", "claimable", "verifier", "system"
ASSISTANT = "assistant"
# How the resident agreed to a request a satgas filled in for them (custody.confirm_resident's methods).
CONFIRMATIONS = ("code", "birth_nik")
KECAMATAN_ROLES = ("operator", "penyelia", "satgas")
VERIFIER_ROLES = ("kasi", "kabid", "kadis")
BRANCH = None  # to_state decided by _branch(): approve and verify


class Transition(NamedTuple):
    action: str
    from_states: tuple[str, ...]
    to_state: str | None
    roles: tuple[str, ...]
    note_required: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    # An assisted draft: the satgas submits it once the resident confirmed it (see ASSISTANT).
    Transition("submit", ("draft",), "submitted", (APPLICANT, ASSISTANT)),
    Transition("cancel", ("draft", "submitted"), "cancelled", (APPLICANT, ASSISTANT)),
    # A request that comes back after revision waits for the operator who returned it (operator_id kept).
    Transition("claim", ("submitted",), "in_review", (CLAIMABLE,)),
    # The penyelia gives (or takes back and gives) a request to an operator of the kecamatan.
    Transition("assign", ("submitted", "in_review"), "in_review", ("penyelia",)),
    Transition("release", ("in_review",), "submitted", (CLAIMANT, "penyelia")),
    Transition("return", ("in_review",), "needs_revision", (CLAIMANT,), note_required=True),
    Transition("resubmit", ("needs_revision",), "submitted", (APPLICANT,)),
    Transition("reject", ("in_review",), "rejected", (CLAIMANT, "penyelia"), note_required=True),
    # → verifying when the service has verification steps, else → approved
    Transition("approve", ("in_review",), BRANCH, (CLAIMANT,)),
    # → verifying at the next step, or → approved after the last one
    Transition("verify", ("verifying",), BRANCH, (VERIFIER,)),
    Transition("verify_return", ("verifying",), "in_review", (VERIFIER,), note_required=True),
    Transition("send_to_siak", ("approved",), "sent_to_siak", (SYSTEM,)),
    Transition("issue", ("sent_to_siak",), "issued", (SYSTEM,)),
    Transition("ready", ("issued",), "ready_for_collection", ("operator", "penyelia")),
    Transition("collect", ("ready_for_collection",), "collected", ("operator", "penyelia")),
    Transition("dispatch", ("issued", "ready_for_collection"), "out_for_delivery",
               ("operator", "penyelia", "satgas")),
    Transition("deliver", ("out_for_delivery",), "delivered", ("satgas", "operator")),
)
TABLE: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
ACTIONS = tuple(TABLE)


class TransitionError(Exception):
    """``reason`` is one of REASONS; ``str(error)`` is a message for the user, already translated."""
    REASONS = ("unknown_action", "wrong_state", "forbidden", "note_required", "conflict")

    def __init__(self, reason: str, message: str, *, action: str | None = None, status: str | None = None):
        assert reason in self.REASONS, reason
        super().__init__(message)
        self.reason = reason
        self.action = action
        self.status = status


def _service(code: str):
    from .catalogue import get_catalogue
    return get_catalogue().service(code)


def current_step(req: ServiceRequest) -> str | None:
    """The role whose verification the request waits for (only meaningful in ``verifying``)."""
    steps = _service(req.service_code).verification_steps
    return steps[req.verification_index] if 0 <= req.verification_index < len(steps) else None


def _holds(role: str, req: ServiceRequest, actor: User | None) -> bool:
    if role == SYSTEM:
        return actor is None
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.active or actor.role == "admin":
        return False
    if role == APPLICANT:
        return actor.role in APPLICANT_ROLES and actor.id == req.applicant_id
    if role == ASSISTANT:
        return (actor.role == "satgas" and req.assisted_by_id is not None and actor.id == req.assisted_by_id
                and req.status == "draft" and _in_kecamatan(actor, req))
    if role == CLAIMANT:
        return actor.role == "operator" and _in_kecamatan(actor, req) and req.operator_id == actor.id
    if role == CLAIMABLE:
        return actor.role == "operator" and _in_kecamatan(actor, req) and req.operator_id in (None, actor.id)
    if role == VERIFIER:
        return actor.role in VERIFIER_ROLES and actor.role == current_step(req)
    if role in KECAMATAN_ROLES:
        return actor.role == role and _in_kecamatan(actor, req)
    return actor.role == role


def _in_kecamatan(actor: User, req: ServiceRequest) -> bool:
    return actor.kecamatan_code is not None and actor.kecamatan_code == req.kecamatan_code


def _may(transition: Transition, req: ServiceRequest, actor: User | None) -> bool:
    return any(_holds(role, req, actor) for role in transition.roles)


def allowed_actions(req: ServiceRequest, actor: User | None) -> list[str]:
    """The actions ``actor`` (None: the system) may perform on ``req`` now, in table order."""
    return [t.action for t in TRANSITIONS if req.status in t.from_states and _may(t, req, actor)]


def _branch(transition: Transition, req: ServiceRequest) -> tuple[str, dict[str, Any]]:
    """The next state and the columns that change with it."""
    if transition.action == "approve":
        steps = _service(req.service_code).verification_steps
        return ("verifying" if steps else "approved"), {"verification_index": 0}
    if transition.action == "verify":
        steps = _service(req.service_code).verification_steps
        index = req.verification_index + 1
        return ("verifying" if index < len(steps) else "approved"), {"verification_index": index}
    changes: dict[str, Any] = {}
    if transition.action == "verify_return":
        changes["verification_index"] = 0
    assert transition.to_state is not None
    return transition.to_state, changes


def _due_date(session: Session, req: ServiceRequest, pending: SimpleNamespace):
    events = list(session.scalars(select(Event).where(Event.request_id == req.id).order_by(Event.id)))
    target = _service(req.service_code).target_days
    return sla.due_date([*events, pending], target, sla.load_overrides(session),
                        today=sla.local_date(pending.created_at))


def _assignee(session: Session, req: ServiceRequest, data: dict | None) -> int:
    """The operator named in data["operator_id"]: an active operator of the request's kecamatan."""
    operator = session.get(User, (data or {}).get("operator_id") or 0)
    if (operator is None or operator.role != "operator" or not operator.active
            or not _in_kecamatan(operator, req)):
        raise TransitionError("forbidden", _("Pilih operator aktif dari kecamatan permohonan ini."),
                              action="assign", status=req.status)
    return operator.id


def perform(req: ServiceRequest, action: str, actor: User | None, *, note: str | None = None,
            data: dict | None = None, now: datetime | None = None) -> Event:
    """Change ``req`` by ``action`` on behalf of ``actor`` (None: the system); return the Event written.

    Raises TransitionError and changes nothing when the table does not allow it or someone else
    changed the request first. Flushes; never commits.
    """
    transition = TABLE.get(action)
    if transition is None:
        raise TransitionError("unknown_action", _("Tindakan tidak dikenal: %(action)s.", action=action),
                              action=action, status=req.status)
    from_status = req.status
    if from_status not in transition.from_states:
        raise TransitionError(
            "wrong_state",
            _("Tindakan ini tidak dapat dilakukan pada permohonan berstatus %(status)s.",
              status=status_label(from_status)),
            action=action, status=from_status)
    if not _may(transition, req, actor):
        raise TransitionError("forbidden", _("Anda tidak berhak melakukan tindakan ini pada permohonan ini."),
                              action=action, status=from_status)
    if action == "submit" and not _holds(APPLICANT, req, actor):
        # Only the assistant is left: the resident's consent must be on the record.
        if ((data or {}).get("assisted_by") != actor.id
                or (data or {}).get("confirmed_by") not in CONFIRMATIONS):
            raise TransitionError("forbidden", _("Permohonan ini harus disetujui warga lebih dahulu, dengan kode "
                                                 "dari warga atau tanggal lahir dan 4 angka terakhir NIK."),
                                  action=action, status=from_status)
    note = (note or "").strip() or None
    if transition.note_required and note is None:
        raise TransitionError("note_required", _("Tuliskan catatan atau alasannya."),
                              action=action, status=from_status)

    session = object_session(req) or db.session
    session.flush()  # pending changes of the caller first, so the UPDATE below is the last word
    now = now or utcnow()
    to_status, changes = _branch(transition, req)
    if action == "claim":
        changes["operator_id"] = actor.id
    elif action == "assign":
        changes["operator_id"] = _assignee(session, req, data)
    elif action == "release":
        changes["operator_id"] = None
    elif action in ("submit", "resubmit"):
        pending = SimpleNamespace(from_status=from_status, to_status=to_status, created_at=now)
        changes["due_date"] = _due_date(session, req, pending)
        if req.submitted_at is None:
            changes["submitted_at"] = now

    # The row must still be as this decision saw it: same status, step and claim.
    expected_operator = (ServiceRequest.operator_id.is_(None) if req.operator_id is None
                         else ServiceRequest.operator_id == req.operator_id)
    result = session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == req.id, ServiceRequest.status == from_status,
               ServiceRequest.verification_index == req.verification_index, expected_operator)
        .values(status=to_status, updated_at=now, **changes)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.expire(req)
        raise TransitionError(
            "conflict",
            _("Permohonan ini baru saja diubah oleh orang lain. "
              "Muat ulang halaman untuk melihat keadaan terbarunya."),
            action=action, status=from_status)

    event = Event(request_id=req.id, actor_id=actor.id if actor is not None else None, action=action,
                  from_status=from_status, to_status=to_status, note=note, data=dict(data or {}), created_at=now)
    session.add(event)
    session.flush()
    session.refresh(req)
    notify.on_event(event)
    return event


def note_event(req: ServiceRequest, action: str, actor: User | None, *, note: str | None = None,
               data: dict | None = None, now: datetime | None = None) -> Event:
    """An event that does not change the status (a pickup job asked for, a handover, a job moved):
    it joins the timeline and the audit trail with from_status == to_status. Flushes; never commits."""
    session = object_session(req) or db.session
    event = Event(request_id=req.id, actor_id=actor.id if actor is not None else None, action=action,
                  from_status=req.status, to_status=req.status, note=(note or "").strip() or None,
                  data=dict(data or {}), created_at=now or utcnow())
    session.add(event)
    session.flush()
    notify.on_event(event)
    return event
