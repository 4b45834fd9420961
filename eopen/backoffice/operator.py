"""Back office: the operator's queue, claiming, the review page, document verdicts and decisions.

Every route starts from ``staff_required`` (role) and ``staff_request`` (scope: another kecamatan's
request is a 404); every status change goes through ``services.review`` → ``lifecycle.perform``.
"""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import htmx
from ..extensions import db
from ..forms import Form, options
from ..models import Region, RequestDocument, ServiceRequest
from ..services import audit, custody, labels, lifecycle, review
from ..services.catalogue import get_catalogue
from ..web import stored_file_or_404, uploaded_file_headers
from . import bp
from .common import VERIFIERS, staff_request, staff_required
from .forms import DECISION_FORMS, ActionForm, DecisionForm, DocumentReviewForm, QueueFilterForm

QUEUE_TEMPLATE = "backoffice/operator/queue.html"
REVIEW_TEMPLATE = "backoffice/operator/review.html"


@bp.app_template_global("request_data_rows")
def request_data_rows(req: ServiceRequest) -> list[tuple[str, str]]:
    """For backoffice/_request_summary.html: the service's data fields with their catalogue labels."""
    return review.data_rows(req)


# --- the queue -----------------------------------------------------------------------------------


@bp.get("/antrean")
@staff_required("operator")
def queue():
    form = QueueFilterForm(formdata=request.args)
    _queue_choices(form)
    filters = review.QueueFilters.of(request.args)
    page = db.paginate(review.queue(current_user, filters), page=request.args.get("halaman", 1, type=int),
                       per_page=review.PER_PAGE, error_out=False)
    rows = review.queue_rows(page.items, current_user)
    args = {k: v for k, v in request.args.items() if k != "halaman" and v}
    return htmx.render(QUEUE_TEMPLATE, blocks={"queue-table": "queue_table"}, filter_form=form, rows=rows,
                       page=page, args=args)


def _queue_choices(form: QueueFilterForm) -> None:
    form.service.choices = options([("", _("Semua layanan"))] +
                                   [(s.code, _(s.label)) for s in get_catalogue().services])
    form.status.choices = options([("", _("Belum selesai (terkirim, diperiksa, perlu perbaikan)")),
                                   *((code, labels.status_label(code)) for code in lifecycle.STATES
                                     if code != "draft"),
                                   ("all", _("Semua status"))])
    kelurahan = db.session.scalars(select(Region).where(Region.level == "kelurahan",
                                                        Region.parent_code == current_user.kecamatan_code)
                                   .order_by(Region.name)).all()
    form.kelurahan.choices = options([("", _("Semua kelurahan"))] + [(k.code, k.name) for k in kelurahan])


# --- claim and release -----------------------------------------------------------------------------


@bp.post("/permohonan/<tracking_no>/ambil")
@staff_required("operator")
def claim(tracking_no):
    req = staff_request(tracking_no, log=False)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        event = review.claim(req, current_user)
    except lifecycle.TransitionError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("backoffice.queue"), code=303)
    db.session.commit()
    if event is not None:
        flash(_("Anda mulai memeriksa permohonan %(no)s.", no=tracking_no), "success")
    return redirect(url_for("backoffice.review", tracking_no=tracking_no), code=303)


@bp.post("/permohonan/<tracking_no>/lepas")
@staff_required("operator", "penyelia")
def release(tracking_no):
    req = staff_request(tracking_no, log=False)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        review.release(req, current_user)
    except lifecycle.TransitionError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("backoffice.review", tracking_no=tracking_no), code=303)
    db.session.commit()
    flash(_("Permohonan %(no)s dikembalikan ke antrean.", no=tracking_no), "success")
    return redirect(_work_list(), code=303)


# --- the review page -------------------------------------------------------------------------------


@bp.get("/permohonan/<tracking_no>", endpoint="review")
@staff_required("operator", "penyelia")
def review_page(tracking_no):
    req = staff_request(tracking_no)
    db.session.commit()  # the access record
    return _review_page(req)


def _review_page(req: ServiceRequest, *, bound: dict | None = None, decision_form: DecisionForm | None = None,
                 page_errors: list[tuple[str, str]] | None = None, status: int = 200):
    """The page; ``bound`` maps a document id to its form with errors, ``decision_form`` the decision that failed."""
    service = get_catalogue().service(req.service_code)
    variant = service.variant(req.variant_code) if req.variant_code else None
    actions = lifecycle.allowed_actions(req, current_user)
    can_review = (req.status == "in_review" and req.operator_id == current_user.id
                  and current_user.role == "operator")
    items = []
    for requirement in (variant.requirements if variant else ()):
        doc = req.document_for(requirement.code)
        form = None
        if doc is not None:
            bound = bound or {}
            form = bound[doc.id] if doc.id in bound else DocumentReviewForm(
                formdata=None, prefix=f"d{doc.id}",
                data={"verdict": doc.review_status, "reason": doc.review_reason, "note": doc.review_note})
        turn = request.args.get(f"putar{doc.id}", 0, type=int) if doc else 0
        items.append({"requirement": requirement, "doc": doc, "form": form,
                      "turn": turn if turn in review.ROTATIONS else 0})
    decision_forms = {name: (decision_form if decision_form is not None and type(decision_form) is cls
                             else cls(formdata=None)) for name, cls in DECISION_FORMS.items()}
    previous = {}
    if req.status != "needs_revision":
        previous = {item.code: item for item in review.returned_documents(req) if item.replaced}
    return render_template(
        REVIEW_TEMPLATE, req=req, service=service, variant=variant, items=items, actions=actions,
        can_review=can_review, decision_forms=decision_forms,
        blockers=review.approval_blockers(req) if "approve" in actions else [], previous=previous,
        reason_label=review.reason_label, custody_items=custody.items_of(req), custody_chain=custody.chain(req),
        decision_errors=page_errors or [],
        page_errors=bool(page_errors or (decision_form is not None and decision_form.errors)
                         or any(f.errors for f in (bound or {}).values())),
    ), status


def _document_of(req: ServiceRequest, doc_id: int) -> RequestDocument:
    doc = db.session.get(RequestDocument, doc_id)
    if doc is None or doc.request_id != req.id:
        abort(404)
    return doc


@bp.post("/permohonan/<tracking_no>/dokumen/<int:doc_id>/putusan")
@staff_required("operator")
def review_document(tracking_no, doc_id):
    req = staff_request(tracking_no, log=False)
    doc = _document_of(req, doc_id)
    form = DocumentReviewForm(prefix=f"d{doc.id}")
    if form.validate_on_submit():
        try:
            review.review_document(req, doc, current_user, form.verdict.data, form.reason.data, form.note.data)
        except review.ReviewError as error:
            db.session.rollback()
            getattr(form, error.field, form.verdict).errors = [error.message]
        else:
            db.session.commit()
            label = review.requirement_label(req, doc.requirement_code)
            flash(_("%(doc)s diterima.", doc=label) if doc.review_status == "accepted"
                  else _("%(doc)s ditandai untuk dikembalikan.", doc=label), "success")
            return redirect(url_for("backoffice.review", tracking_no=tracking_no, _anchor=f"dok-{doc.id}"),
                            code=303)
    return _review_page(req, bound={doc.id: form}, status=422)


@bp.post("/permohonan/<tracking_no>/keputusan")
@staff_required("operator", "penyelia")
def decide(tracking_no):
    req = staff_request(tracking_no, log=False)
    decision = request.form.get("decision", "")
    form = DECISION_FORMS.get(decision, DecisionForm)()
    if not form.validate_on_submit():
        return _review_page(req, decision_form=form, status=422)
    try:
        review.decide(req, current_user, decision, form.note.data)
    except review.ReviewError as error:
        db.session.rollback()
        if error.field == "note":
            form.note.errors = [error.message]
            return _review_page(req, decision_form=form, status=422)
        return _review_page(req, decision_form=form, page_errors=[("dokumen", error.message)], status=422)
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if not review.decision_done(req, current_user, decision):  # else: a second click, done already
            flash(str(error), "warning")
            return redirect(url_for("backoffice.review", tracking_no=tracking_no), code=303)
    else:
        db.session.commit()
    flash(_DONE[decision](tracking_no), "success")
    return redirect(_work_list(), code=303)


@bp.post("/permohonan/<tracking_no>/kartu")
@staff_required("operator", "penyelia")
def card_step(tracking_no):
    """A printed card: ready at the kecamatan desk, then handed to the applicant."""
    req = staff_request(tracking_no, log=False)
    action = request.form.get("action", "")
    if not Form().validate_on_submit() or action not in review.CARD_STEPS:
        abort(400)
    try:
        review.card_step(req, current_user, action)
    except review.ReviewError as error:
        db.session.rollback()
        flash(error.message, "warning")
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if not review.decision_done(req, current_user, action):
            flash(str(error), "warning")
    else:
        db.session.commit()
        flash(_CARD_DONE[action](tracking_no), "success")
    return redirect(url_for("backoffice.review", tracking_no=tracking_no), code=303)


_CARD_DONE = {
    "ready": lambda no: _("Kartu %(no)s ditandai siap diambil. Pemohon melihatnya di halaman status.", no=no),
    "collect": lambda no: _("Kartu %(no)s sudah diserahkan kepada pemohon.", no=no),
}


def _work_list() -> str:
    """Where to go after an action: the operator's queue, or the penyelia's own start page."""
    return url_for("backoffice.queue" if current_user.role == "operator" else "backoffice.home")


_DONE = {
    "approve": lambda no: _("Permohonan %(no)s disetujui.", no=no),
    "return": lambda no: _("Permohonan %(no)s dikembalikan kepada warga untuk diperbaiki.", no=no),
    "reject": lambda no: _("Permohonan %(no)s ditolak.", no=no),
}


# --- the files -------------------------------------------------------------------------------------


@bp.get("/permohonan/<tracking_no>/dokumen/<int:doc_id>")
@staff_required("operator", "penyelia", *VERIFIERS)
def document_file(tracking_no, doc_id):
    """A document's file for staff in scope, logged; ``?putar=90|180|270`` turns an image clockwise."""
    req = staff_request(tracking_no, log=False)
    doc = _document_of(req, doc_id)
    path = stored_file_or_404(doc)
    audit.record_access(current_user, req, doc)
    db.session.commit()
    is_pdf = doc.content_type == "application/pdf"
    name = f"{req.tracking_no}-{doc.requirement_code}.{'pdf' if is_pdf else 'jpg'}"
    turn = request.args.get("putar", 0, type=int)
    if turn in review.ROTATIONS and not is_pdf:
        response = Response(review.rotated_jpeg(path, turn), mimetype="image/jpeg")
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    else:
        response = send_file(path, mimetype=doc.content_type, download_name=name,
                             as_attachment=request.args.get("unduh") == "1", conditional=True, max_age=0)
    return uploaded_file_headers(response)
