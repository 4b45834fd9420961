"""Back office: the verification chain (Kasi → Kabid → Kadis). The rules live in services/verification.py.

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

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional, ValidationError

from ..extensions import db
from ..forms import Form, options
from ..models import ServiceRequest
from ..services import lifecycle, reference, review, scope, sla, verification
from ..services.catalogue import get_catalogue
from . import bp
from .common import VERIFIERS, staff_request, staff_required

MAX_BATCH = 200
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
    tracking_no = SelectMultipleField(_l("Permohonan yang akan disetujui"), validate_choice=False)
    service = HiddenField()
    kecamatan = HiddenField()


class DecisionForm(Form):
    decision = HiddenField(validators=[AnyOf(tuple(DECISIONS))])
    note = TextAreaField(_l("Catatan untuk petugas"), validators=[Length(max=2000)])

    def validate_note(self, field):
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("Tuliskan apa yang perlu diperiksa ulang oleh petugas."))


def approve_one(tracking_no: str) -> verification.Skipped | None:
    """Approve one request in its own transaction; None when done, else why it was skipped."""
    user = current_user._get_current_object()
    req = verification.by_tracking_no(tracking_no)
    if req is None or not scope.can_view(user, req):
        return verification.skipped(user, tracking_no, req)
    try:
        verification.decide(user, req, "verify")
        db.session.commit()
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if error.reason == "conflict":
            return verification.skipped(user, tracking_no, req)
        return verification.Skipped(tracking_no, str(error))
    except Exception:  # one failure must not stop (or undo) the others
        db.session.rollback()
        current_app.logger.exception("batch verification of %s failed", tracking_no)
        return verification.Skipped(tracking_no, _("gagal diproses, coba lagi nanti"))
    return None


def _done_message(req: ServiceRequest) -> str:
    if req.status == "verifying":
        return _("Permohonan %(no)s disetujui dan diteruskan ke %(step)s.",
                 no=req.tracking_no, step=verification.step_label(lifecycle.current_step(req)))
    if req.status == "issued":
        return _("Permohonan %(no)s disetujui dan sudah terbit.", no=req.tracking_no)
    if req.status == "sent_to_siak":
        return _("Permohonan %(no)s disetujui dan dikirim ke SIAK; terbit otomatis setelah SIAK menjawab.",
                 no=req.tracking_no)
    if req.status == "in_review":
        return _("Permohonan %(no)s dikembalikan ke petugas dengan catatan Anda.", no=req.tracking_no)
    return _("Permohonan %(no)s disetujui.", no=req.tracking_no)


# --- pages ------------------------------------------------------------------------------------

def _filter_form(formdata=None) -> QueueFilterForm:
    form = QueueFilterForm(formdata=request.args if formdata is None else formdata)
    form.service.choices = options([("", _("Semua layanan"))] + [(s.code, _(s.label)) for s in verification.services_of(current_user)])
    names = reference.kecamatan_names()
    form.kecamatan.choices = options([("", _("Semua kecamatan"))]
                                     + sorted(names.items(), key=lambda item: item[1]))
    return form


def _render_queue(form: QueueFilterForm, *, page_errors: list[tuple[str, str]] | None = None):
    valid = form.validate()
    service = form.service.data if valid else None
    kecamatan = form.kecamatan.data if valid else None
    rows, total, page = verification.queue_page(current_user, service or None, kecamatan or None,
                                                request.args.get("halaman", 1, type=int))
    pages = max(1, -(-total // verification.PAGE_SIZE))
    filters = {k: v for k, v in (("service", service), ("kecamatan", kecamatan)) if v}
    return render_template(
        "backoffice/verifier/queue.html", form=form, rows=rows,
        total=total, page=page, pages=pages, filters=filters, step=verification.step_label(current_user.role),
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
        steps=steps, step_labels={s: verification.step_label(s) for s in steps}, index=req.verification_index,
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
    req = verification.by_tracking_no(tracking_no)
    if req is None or not scope.can_view(current_user, req):
        if req is not None and verification.own_repeat(current_user, req, action):  # a second click: already done
            flash(_done_message(req), "success")
            return redirect(url_for("backoffice.verify_queue"), code=303)
        if req is not None and verification.round_decision(req, current_user.role) is not None:
            flash(_("Permohonan %(no)s tidak lagi menunggu verifikasi Anda: %(why)s.",
                    no=tracking_no, why=verification.why_not_waiting(current_user, req)), "warning")
            return redirect(url_for("backoffice.verify_queue"), code=303)
        abort(404)
    if not form.validate_on_submit():
        return _render_request(req, form, 422)
    try:
        verification.decide(current_user._get_current_object(), req, action,
                            form.note.data if action == "verify_return" else None)
        db.session.commit()
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if verification.own_repeat(current_user, req, action):
            flash(_done_message(req), "success")
        elif error.reason == "conflict":
            flash(_("Permohonan %(no)s tidak lagi menunggu verifikasi Anda: %(why)s.",
                    no=tracking_no, why=verification.why_not_waiting(current_user, req)), "warning")
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
