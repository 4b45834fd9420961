"""An operator's review of a request: the queue, a verdict per document, and the decision.

The operator who claimed a request (``in_review``) accepts or returns each document, then decides:

- ``approve`` when every required document (uploaded, or replaced by an SPTJM) is accepted and
  none is returned; the request moves on to verification or, without verification steps, to SIAK
  (``fulfilment.after_decision``);
- ``return`` with at least one returned document or a general note: the resident replaces exactly
  the returned documents (``replace_document``) and resubmits (``resubmit``); the request then
  waits for the same operator (the lifecycle keeps ``operator_id``);
- ``reject`` with a reason: final.

Every status change goes through ``lifecycle.perform``. Functions here flush, never commit.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Mapping

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Event, RequestDocument, ServiceRequest, User, utcnow
from . import applications, fulfilment, lifecycle, numbers, scope, sla, uploads
from .catalogue import Requirement, get_catalogue

# Why a document goes back to the resident. The codes are stored (RequestDocument.review_reason and
# the return event's data); the labels are translated when shown.
RETURN_REASONS: dict[str, Any] = {
    "buram": _l("Foto buram atau tulisan tidak terbaca"),
    "terpotong": _l("Dokumen terpotong, tidak terlihat seluruhnya"),
    "bukan_dokumen": _l("Bukan dokumen yang diminta"),
    "data_tidak_sesuai": _l("Data pada dokumen tidak sesuai dengan permohonan"),
    "tidak_berlaku": _l("Dokumen sudah tidak berlaku"),
    "lainnya": _l("Lainnya (jelaskan di catatan)"),
}
OTHER_REASON = "lainnya"
VERDICTS = ("accepted", "returned")
DECISIONS = ("approve", "return", "reject")
# What an operator's queue shows unless a status is chosen: the work that is still open.
OPEN_STATUSES = ("submitted", "in_review", "needs_revision")
# A printed card waits for the kecamatan: "ready" when it is at the desk, "collect" when handed over.
CARD_STEPS = ("ready", "collect")
CARD_WAITING = ("issued", "ready_for_collection")
DUE_FILTERS = ("overdue", "today")
PER_PAGE = 50
NOTE_MAX = 1000


class ReviewError(Exception):
    """Input the operator (or resident) must correct: ``field`` names the form field, may be ""."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def reason_label(code: str | None) -> str:
    return str(RETURN_REASONS.get(code, code or ""))


# --- the queue -------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    service: str = ""
    status: str = ""        # "" = the open statuses, "all" = every status the operator may see
    kelurahan: str = ""
    due: str = ""           # "", "overdue" or "today"
    q: str = ""             # tracking number, NIK or name

    @classmethod
    def of(cls, value: "QueueFilters | Mapping[str, Any] | None") -> "QueueFilters":
        if isinstance(value, QueueFilters):
            return value
        value = value or {}
        return cls(**{f.name: str(value.get(f.name) or "").strip() for f in fields(cls)})


def queue(user: User, filters: QueueFilters | Mapping[str, Any] | None = None, *,
          today: date | None = None) -> Select[tuple[ServiceRequest]]:
    """The operator's queue: their scope, filtered, requests resubmitted for them first, then by due date."""
    f = QueueFilters.of(filters)
    stmt = scope.visible_requests(user).options(selectinload(ServiceRequest.operator),
                                                selectinload(ServiceRequest.kelurahan))
    if f.status == "all":
        pass
    elif f.status in lifecycle.STATES:
        stmt = stmt.where(ServiceRequest.status == f.status)
    else:
        stmt = stmt.where(or_(ServiceRequest.status.in_(OPEN_STATUSES),
                              and_(ServiceRequest.status.in_(CARD_WAITING),
                                   ServiceRequest.service_code.in_(card_services()))))
    if f.service:
        stmt = stmt.where(ServiceRequest.service_code == f.service)
    if f.kelurahan:
        stmt = stmt.where(ServiceRequest.kelurahan_code == f.kelurahan)
    if f.due in DUE_FILTERS:
        today = today or sla.today_local()
        stmt = stmt.where(ServiceRequest.due_date < today if f.due == "overdue" else ServiceRequest.due_date == today,
                          ServiceRequest.status != sla.PAUSED)  # the clock stops while the resident revises
    if f.q:
        stmt = stmt.where(_search(f.q))
    waiting_for_me = and_(ServiceRequest.status == "submitted", ServiceRequest.operator_id == user.id)
    return stmt.order_by(case((waiting_for_me, 0), else_=1), ServiceRequest.due_date.asc().nulls_last(),
                         ServiceRequest.submitted_at.asc().nulls_last(), ServiceRequest.id)


@dataclass(frozen=True)
class QueueRow:
    req: ServiceRequest
    days_left: int | None   # working days to the due date; negative when overdue
    waiting_for_me: bool    # resubmitted after revision, back to this operator
    claimable: bool


def queue_rows(reqs, user: User, *, today: date | None = None) -> list[QueueRow]:
    """A page of the queue with what each row shows: time left, whose it is, whether to offer "Ambil"."""
    today = today or sla.today_local()
    overrides = sla.load_overrides()
    return [QueueRow(req=r, days_left=sla.time_left(r.due_date, today, overrides) if r.due_date else None,
                     waiting_for_me=waiting_for(r, user), claimable="claim" in lifecycle.allowed_actions(r, user))
            for r in reqs]


def _search(text: str):
    """A tracking number (typed any way), a NIK (or part of one) or a part of the subject's name."""
    conditions = [func.lower(ServiceRequest.subject_name).contains(text.lower(), autoescape=True)]
    tracking_no = numbers.normalise_tracking_no(text)
    if tracking_no:
        conditions.append(ServiceRequest.tracking_no == tracking_no)
    digits = re.sub(r"[\s.\-]", "", text)
    if digits.isdigit() and len(digits) >= 4:
        conditions.append(ServiceRequest.subject_nik.contains(digits, autoescape=True))
    return or_(*conditions)


def waiting_for(req: ServiceRequest, user: User) -> bool:
    """A request resubmitted after revision that waits for ``user`` (the operator who returned it)."""
    return req.status == "submitted" and req.operator_id is not None and req.operator_id == user.id


# --- claiming ----------------------------------------------------------------------------------


def claim(req: ServiceRequest, user: User) -> Event | None:
    """Claim a request for review. None when the user already holds it (a double click)."""
    if req.status == "in_review" and req.operator_id == user.id:
        return None
    try:
        return lifecycle.perform(req, "claim", user)
    except lifecycle.TransitionError as error:
        db.session.refresh(req)
        if req.status == "in_review" and req.operator_id == user.id:
            return None  # our own first click won
        holder = req.operator
        if req.status == "in_review" and holder is not None:
            raise lifecycle.TransitionError(
                error.reason, _("Permohonan %(no)s sudah diambil oleh %(name)s.",
                                no=req.tracking_no, name=holder.display_name),
                action="claim", status=req.status) from None
        if req.status == "submitted" and holder is not None and holder.id != user.id:
            raise lifecycle.TransitionError(
                error.reason, _("Permohonan %(no)s adalah perbaikan dari warga dan menunggu %(name)s, "
                                "operator yang mengembalikannya.", no=req.tracking_no, name=holder.display_name),
                action="claim", status=req.status) from None
        raise


def release(req: ServiceRequest, user: User) -> Event | None:
    """Hand a claimed request back to the queue. None when it is already back (a double click)."""
    try:
        return lifecycle.perform(req, "release", user)
    except lifecycle.TransitionError:
        if _last_own_action(req, user) == "release" and req.status == "submitted":
            return None
        raise


# --- documents ---------------------------------------------------------------------------------


def requirements_of(req: ServiceRequest) -> tuple[Requirement, ...]:
    variant = applications.variant_of(req)
    return variant.requirements if variant else ()


def requirement_label(req: ServiceRequest, code: str) -> str:
    for requirement in requirements_of(req):
        if requirement.code == code:
            return _(requirement.label)
    return code


def data_rows(req: ServiceRequest) -> list[tuple[str, str]]:
    """The answers of the variant's data form as (label, value to show), in catalogue order."""
    return [(label, value) for _spec, label, value in applications.answers(req)]


ROTATIONS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def rotated_jpeg(path, degrees: int) -> bytes:
    """A stored image turned clockwise by 90, 180 or 270 degrees, as a JPEG (nothing is saved)."""
    with Image.open(path, formats=["JPEG"]) as im:
        turned = im.transpose(ROTATIONS[degrees])
    out = io.BytesIO()
    turned.save(out, "JPEG", quality=85)
    return out.getvalue()


def _ensure_reviewer(req: ServiceRequest, user: User) -> None:
    if req.status != "in_review" or req.operator_id != user.id or user.role != "operator":
        raise ReviewError("", _("Hanya operator yang sedang memeriksa permohonan ini yang dapat menilai dokumennya."))


def review_document(req: ServiceRequest, doc: RequestDocument, user: User, verdict: str,
                    reason: str | None = None, note: str | None = None) -> RequestDocument:
    """Record the claimant's verdict on one document: "accepted", or "returned" with a reason."""
    _ensure_reviewer(req, user)
    if doc.request_id != req.id:
        raise ReviewError("", _("Dokumen ini bukan bagian dari permohonan ini."))
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise ReviewError("note", _("Catatan terlalu panjang (paling banyak %(max)d karakter).", max=NOTE_MAX))
    if verdict not in VERDICTS:
        raise ReviewError("verdict", _("Pilih \u201cTerima\u201d atau \u201cKembalikan\u201d."))
    if verdict == "returned":
        if reason not in RETURN_REASONS:
            raise ReviewError("reason", _("Pilih alasan dokumen ini dikembalikan."))
        if reason == OTHER_REASON and not note:
            raise ReviewError("note", _("Tuliskan apa yang perlu diperbaiki warga."))
    else:
        reason = None
    doc.review_status = verdict
    doc.review_reason = reason
    doc.review_note = note
    doc.reviewed_by_id = user.id
    doc.reviewed_at = utcnow()
    db.session.flush()
    return doc


@dataclass(frozen=True)
class Blocker:
    """A requirement that stands in the way of an approval."""
    code: str
    label: str
    problem: str


def approval_blockers(req: ServiceRequest) -> list[Blocker]:
    """What keeps the request from being approved: required documents not accepted, any returned."""
    blockers: list[Blocker] = []
    for requirement in requirements_of(req):
        doc = req.document_for(requirement.code)
        label = _(requirement.label)
        if doc is None:
            if not requirement.optional:
                blockers.append(Blocker(requirement.code, label, _("tidak dilampirkan")))
        elif doc.review_status == "returned":
            blockers.append(Blocker(requirement.code, label, _("ditandai dikembalikan")))
        elif doc.review_status != "accepted" and not requirement.optional:
            blockers.append(Blocker(requirement.code, label, _("belum diterima")))
    return blockers


# --- decisions ---------------------------------------------------------------------------------


def decide(req: ServiceRequest, user: User, decision: str, note: str | None = None) -> Event:
    """Approve, return or reject ``req``; returns the decision's Event. Raises ReviewError or TransitionError."""
    if decision not in DECISIONS:
        raise ReviewError("decision", _("Keputusan tidak dikenal."))
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise ReviewError("note", _("Catatan terlalu panjang (paling banyak %(max)d karakter).", max=NOTE_MAX))
    if decision not in lifecycle.allowed_actions(req, user):
        # Not the claimant, or no longer in review: the lifecycle says why (and changes nothing).
        lifecycle.perform(req, decision, user, note=note)
        raise AssertionError("the lifecycle allowed what allowed_actions refused")  # pragma: no cover
    if decision == "approve":
        blockers = approval_blockers(req)
        if blockers:
            raise ReviewError("documents", _("Permohonan belum dapat disetujui: %(list)s.", list="; ".join(
                f"{b.label} ({b.problem})" for b in blockers)))
        event = lifecycle.perform(req, "approve", user, note=note)
        fulfilment.after_decision(req)
        return event
    if decision == "return":
        returned = [d for d in req.documents if d.review_status == "returned"]
        if not returned and not note:
            raise ReviewError("note", _("Tandai dokumen yang perlu diperbaiki dengan \u201cKembalikan\u201d, "
                                        "atau tuliskan catatan untuk warga."))
        items = [{"code": d.requirement_code, "reason": d.review_reason, "note": d.review_note} for d in returned]
        data: dict[str, Any] = {"documents": items}
        if note:
            data["general_note"] = note
        return lifecycle.perform(req, "return", user, note=_return_note(req, items, note), data=data)
    if not note:
        raise ReviewError("note", _("Tuliskan alasan penolakan, misalnya \u201cbukan penduduk Kota Bekasi\u201d."))
    return lifecycle.perform(req, "reject", user, note=note)


def _return_note(req: ServiceRequest, items: list[dict], note: str | None) -> str:
    """The event's note, in the office's language: what to fix, one line per document."""
    with force_locale("id"):
        lines = [note] if note else []
        for item in items:
            line = f"{requirement_label(req, item['code'])}: {reason_label(item['reason'])}"
            if item.get("note"):
                line += f" ({item['note']})"
            lines.append(line)
    return "\n".join(lines)


def card_services() -> list[str]:
    return [s.code for s in get_catalogue() if s.output == "card"]


def card_step(req: ServiceRequest, user: User, action: str) -> Event:
    """Mark a printed card ready at the kecamatan desk, or handed to the applicant."""
    if action not in CARD_STEPS or req.service_code not in card_services():
        raise ReviewError("kartu", _("Langkah ini hanya untuk layanan kartu (KTP-el, KIA)."))
    return lifecycle.perform(req, action, user)


def decision_done(req: ServiceRequest, user: User, decision: str) -> bool:
    """After a TransitionError: did this user's own identical action already go through (a double click)?"""
    return _last_own_action(req, user) == decision


def _last_own_action(req: ServiceRequest, user: User) -> str | None:
    return db.session.scalar(select(Event.action).where(Event.request_id == req.id, Event.actor_id == user.id)
                             .order_by(Event.id.desc()).limit(1))


# --- revision by the resident ------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnedDocument:
    code: str
    label: str
    requirement: Requirement | None
    document: RequestDocument | None
    reason: str | None
    reason_label: str
    note: str | None
    replaced: bool


def last_return(req: ServiceRequest) -> Event | None:
    return db.session.scalar(select(Event).where(Event.request_id == req.id, Event.action == "return")
                             .order_by(Event.id.desc()).limit(1))


def returned_documents(req: ServiceRequest) -> list[ReturnedDocument]:
    """The documents of the latest return, with the reason, and whether the resident replaced them yet."""
    event = last_return(req)
    items = list((event.data or {}).get("documents") or []) if event is not None else []
    known = {item.get("code") for item in items}
    # A document still marked "returned" belongs on the list even if the event does not name it.
    items += [{"code": d.requirement_code, "reason": d.review_reason, "note": d.review_note}
              for d in req.documents if d.review_status == "returned" and d.requirement_code not in known]
    requirements = {r.code: r for r in requirements_of(req)}
    out = []
    for item in items:
        code = item.get("code")
        doc = req.document_for(code)
        requirement = requirements.get(code)
        out.append(ReturnedDocument(
            code=code, label=_(requirement.label) if requirement else code, requirement=requirement, document=doc,
            reason=item.get("reason"), reason_label=reason_label(item.get("reason")), note=item.get("note"),
            replaced=doc is not None and doc.review_status != "returned"))
    return out


def general_note(req: ServiceRequest) -> str | None:
    event = last_return(req)
    return (event.data or {}).get("general_note") if event is not None else None


def replace_document(req: ServiceRequest, code: str, raw: bytes, original_name: str, user: User, *, root: str,
                     max_input_bytes: int = uploads.MAX_INPUT_BYTES,
                     max_output_bytes: int = uploads.MAX_OUTPUT_BYTES) -> RequestDocument:
    """The resident replaces a returned document. Raises ReviewError, or UploadRejected for the file."""
    if req.applicant_id != user.id:
        raise ReviewError("", _("Hanya pemohon yang dapat memperbaiki permohonan ini."))
    requirement = next((r for r in requirements_of(req) if r.code == code), None)
    if requirement is None or code not in applications.revisable_codes(req):
        raise ReviewError("", _("Dokumen ini tidak diminta untuk diperbaiki."))
    normalised = uploads.normalise_upload(raw, max_input_bytes=max_input_bytes, max_output_bytes=max_output_bytes)
    try:
        return applications.attach_file(req, requirement, normalised, original_name, user, root)
    except applications.ApplyError as error:
        raise ReviewError(error.field, error.message) from None


def resubmit(req: ServiceRequest, user: User) -> Event | None:
    """Send the revised request back (to the operator who returned it). None after a double click."""
    if req.status == "submitted" and _last_own_action(req, user) == "resubmit":
        return None
    if req.status == "needs_revision":
        waiting = [item.label for item in returned_documents(req) if not item.replaced]
        if waiting:
            raise ReviewError("", _("Ganti dulu dokumen yang dikembalikan: %(list)s.", list=", ".join(waiting)))
    return lifecycle.perform(req, "resubmit", user)
