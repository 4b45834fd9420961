"""Back office: the verification chain (Kasi → Kabid → Kadis).

A request in ``verifying`` waits at step ``verification_steps[verification_index]`` of its service;
``scope.visible_requests`` already gives a kasi/kabid/kadis exactly the requests waiting at their
step, city-wide. Every change goes through ``lifecycle.perform``: "verify" moves the request to the
next step (after the last one it is ``approved`` and ``fulfilment.after_decision`` hands it to SIAK
and issues it), "verify_return" gives it back to the operator who approved it, with a note.

One commit per request: a decision is one transaction; a batch approval is one transaction per
request, so a request someone else acted on first is skipped without undoing the others.
A second click on the same decision (the request has already moved on, by this user's own hand in
the current round) is answered as done, never done twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional, ValidationError

from ..extensions import db
from ..forms import Form, options
from ..models import Event, ServiceRequest, User
from ..services import fulfilment, lifecycle, reference, review, scope, sla
from ..services.catalogue import get_catalogue
from . import bp
from .common import VERIFIERS, staff_request, staff_required

PAGE_SIZE = 50
MAX_BATCH = 200
STEP_LABELS = {"kasi": _l("Kasi"), "kabid": _l("Kabid"), "kadis": _l("Kadis")}
DECISIONS = {"approve": "verify", "return": "verify_return"}


# --- forms ------------------------------------------------------------------------------------

class QueueFilterForm(Form):
    """The queue's filters: a plain GET form (no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False

    service = SelectField(_l("Layanan"), validators=[Optional()])
    kecamatan = SelectField(_l("Kecamatan"), validators=[Optional()])


class BatchForm(Form):
    """Checkboxes ``tracking_no`` of the queue page; the filters ride along to come back to the same view."""
    tracking_no = SelectMultipleField(_l("Permohonan yang disetujui"), validate_choice=False)
    service = HiddenField()
    kecamatan = HiddenField()


class DecisionForm(Form):
    decision = HiddenField(validators=[AnyOf(tuple(DECISIONS))])
    note = TextAreaField(_l("Catatan untuk petugas"), validators=[Length(max=2000)])

    def validate_note(self, field):
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("Tuliskan apa yang perlu diperiksa ulang oleh petugas."))


# --- queries ----------------------------------------------------------------------------------

def step_label(role: str | None) -> str:
    return str(STEP_LABELS.get(role or "", role or ""))


def _my_services() -> list:
    return [s for s in get_catalogue() if current_user.role in s.verification_steps]


def _filtered(service: str | None, kecamatan: str | None):
    query = scope.visible_requests(current_user)
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


def queue_page(service: str | None, kecamatan: str | None, page: int) -> tuple[list[QueueRow], int, int]:
    """The requests waiting at the current user's step, oldest first (by when they reached the step).

    Returns (rows, total, page) with ``page`` clamped to the pages that exist.
    """
    base = _filtered(service, kecamatan)
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


def why_not_waiting(req: ServiceRequest | None) -> str:
    """Why a request is not (or no longer) at the current user's step: never reveals more than that."""
    decided = round_decision(req, current_user.role) if req is not None else None
    if decided is None:
        return _("tidak menunggu verifikasi Anda")
    if decided.actor_id == current_user.id:
        return _("sudah Anda setujui") if decided.action == "verify" else _("sudah Anda kembalikan ke petugas")
    if decided.action == "verify":
        return _("sudah disetujui oleh %(name)s", name=decided.actor.display_name)
    return _("sudah dikembalikan ke petugas oleh %(name)s", name=decided.actor.display_name)


def _own_repeat(req: ServiceRequest, action: str) -> bool:
    """True when the current user already took ``action`` on ``req`` at their step (a double click)."""
    decided = round_decision(req, current_user.role)
    return decided is not None and decided.actor_id == current_user.id and decided.action == action


def _by_tracking_no(tracking_no: str) -> ServiceRequest | None:
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))


def _decide(req: ServiceRequest, action: str, note: str | None = None) -> None:
    """One decision: the transition, then (after the last approval) SIAK and issuing. Flushes only."""
    lifecycle.perform(req, action, current_user._get_current_object(), note=note)
    if action == "verify" and req.status == "approved":
        fulfilment.after_decision(req)


@dataclass
class Skipped:
    tracking_no: str
    reason: str
    own: bool = False  # the current user had already approved it (a second click)


def _skip(tracking_no: str, req: ServiceRequest | None) -> Skipped:
    return Skipped(tracking_no, why_not_waiting(req), own=req is not None and _own_repeat(req, "verify"))


def approve_one(tracking_no: str) -> Skipped | None:
    """Approve one request in its own transaction (commits); None when done, else why it was skipped."""
    req = _by_tracking_no(tracking_no)
    if req is None or not scope.can_view(current_user, req):
        return _skip(tracking_no, req)
    try:
        _decide(req, "verify")
        db.session.commit()
    except lifecycle.TransitionError as error:
        db.session.rollback()
        return _skip(tracking_no, req) if error.reason == "conflict" else Skipped(tracking_no, str(error))
    except Exception:  # one failure must not stop (or undo) the others
        db.session.rollback()
        current_app.logger.exception("batch verification of %s failed", tracking_no)
        return Skipped(tracking_no, _("gagal diproses, coba lagi nanti"))
    return None


def _done_message(req: ServiceRequest) -> str:
    if req.status == "verifying":
        return _("Permohonan %(no)s disetujui dan diteruskan ke %(step)s.",
                 no=req.tracking_no, step=step_label(lifecycle.current_step(req)))
    if req.status == "issued":
        return _("Permohonan %(no)s disetujui dan sudah terbit.", no=req.tracking_no)
    if req.status == "in_review":
        return _("Permohonan %(no)s dikembalikan ke petugas dengan catatan Anda.", no=req.tracking_no)
    return _("Permohonan %(no)s disetujui.", no=req.tracking_no)


# --- pages ------------------------------------------------------------------------------------

def _filter_form(formdata=None) -> QueueFilterForm:
    form = QueueFilterForm(formdata=request.args if formdata is None else formdata)
    form.service.choices = options([("", _("Semua layanan"))] + [(s.code, _(s.label)) for s in _my_services()])
    names = reference.kecamatan_names()
    form.kecamatan.choices = options([("", _("Semua kecamatan"))]
                                     + sorted(names.items(), key=lambda item: item[1]))
    return form


def _render_queue(form: QueueFilterForm, *, page_errors: list[tuple[str, str]] | None = None):
    valid = form.validate()
    service = form.service.data if valid else None
    kecamatan = form.kecamatan.data if valid else None
    rows, total, page = queue_page(service or None, kecamatan or None, request.args.get("halaman", 1, type=int))
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {k: v for k, v in (("service", service), ("kecamatan", kecamatan)) if v}
    return render_template(
        "backoffice/verifier/queue.html", form=form, rows=rows,
        total=total, page=page, pages=pages, filters=filters, step=step_label(current_user.role),
        kecamatan_names=reference.kecamatan_names(), select_all=request.args.get("pilih") == "semua",
        page_errors=page_errors or []), (422 if (page_errors or not valid) else 200)


@bp.get("/verifikasi")
@staff_required(*VERIFIERS)
def verify_queue():
    return _render_queue(_filter_form())


def _render_request(req: ServiceRequest, form: DecisionForm, status: int = 200):
    service = get_catalogue().service(req.service_code)
    variant = service.variant(req.variant_code) if req.variant_code else None
    steps = service.verification_steps
    documents = list(req.documents)
    listed = {r.code for r in (variant.requirements if variant else ())}
    return render_template(
        "backoffice/verifier/request.html", req=req, service=service, variant=variant, form=form,
        steps=steps, step_labels={s: step_label(s) for s in steps}, index=req.verification_index,
        is_last=req.verification_index == len(steps) - 1,
        extra_documents=[d for d in documents if d.requirement_code not in listed],
        kecamatan_name=reference.kecamatan_names().get(req.kecamatan_code or ""),
        days_left=sla.time_left(req.due_date, sla.today_local()) if req.due_date else None,
        data_rows=review.data_rows(req), events=req.events, reason_label=review.reason_label), status


@bp.get("/verifikasi/<tracking_no>")
@staff_required(*VERIFIERS)
def verify_request(tracking_no):
    req = staff_request(tracking_no)
    db.session.commit()  # the access record
    return _render_request(req, DecisionForm(formdata=None))


@bp.post("/verifikasi/<tracking_no>/keputusan")
@staff_required(*VERIFIERS)
def verify_decide(tracking_no):
    form = DecisionForm()
    action = DECISIONS.get(form.decision.data or "")
    if action is None:
        abort(400)
    req = _by_tracking_no(tracking_no)
    if req is None or not scope.can_view(current_user, req):
        if req is not None and _own_repeat(req, action):  # a second click: already done
            flash(_done_message(req), "success")
            return redirect(url_for("backoffice.verify_queue"), code=303)
        if req is not None and round_decision(req, current_user.role) is not None:
            flash(_("Permohonan %(no)s tidak lagi menunggu verifikasi Anda: %(why)s.",
                    no=tracking_no, why=why_not_waiting(req)), "warning")
            return redirect(url_for("backoffice.verify_queue"), code=303)
        abort(404)
    if not form.validate_on_submit():
        return _render_request(req, form, 422)
    try:
        _decide(req, action, form.note.data if action == "verify_return" else None)
        db.session.commit()
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if _own_repeat(req, action):
            flash(_done_message(req), "success")
        elif error.reason == "conflict":
            flash(_("Permohonan %(no)s tidak lagi menunggu verifikasi Anda: %(why)s.",
                    no=tracking_no, why=why_not_waiting(req)), "warning")
        else:
            flash(str(error), "warning")
        return redirect(url_for("backoffice.verify_queue"), code=303)
    flash(_done_message(req), "success")
    return redirect(url_for("backoffice.verify_queue"), code=303)


@bp.post("/verifikasi/setujui")
@staff_required(*VERIFIERS)
def verify_batch():
    batch = BatchForm()
    numbers = list(dict.fromkeys(n.strip() for n in (batch.tracking_no.data or []) if n and n.strip()))
    message = None
    if not numbers:
        message = _("Pilih minimal satu permohonan yang akan disetujui.")
    elif len(numbers) > MAX_BATCH:
        message = _("Pilih paling banyak %(max)d permohonan sekaligus.", max=MAX_BATCH)
    if message:
        filters = MultiDict({"service": batch.service.data or "", "kecamatan": batch.kecamatan.data or ""})
        return _render_queue(_filter_form(filters), page_errors=[("tracking_no", message)])
    approved, skipped = 0, []
    for number in numbers:
        outcome = approve_one(number)
        if outcome is None:
            approved += 1
        else:
            skipped.append(outcome)
    if not skipped:
        flash(_("%(ok)d disetujui.", ok=approved), "success")
    else:
        details = ", ".join(f"{s.tracking_no} ({s.reason})" for s in skipped)
        flash(_("%(ok)d disetujui, %(skipped)d dilewati: %(details)s", ok=approved, skipped=len(skipped),
                details=details), "info" if all(s.own for s in skipped) else "warning")
    filters = {k: v for k, v in (("service", batch.service.data), ("kecamatan", batch.kecamatan.data)) if v}
    return redirect(url_for("backoffice.verify_queue", **filters), code=303)
