"""What a resident (or institution) sees of their own: household, requests, receipts, files."""
from __future__ import annotations

from functools import wraps

import segno
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from ..extensions import db
from ..forms import RELATION_LABELS, Form, MemberForm
from ..main.routes import safe_next
from ..models import RequestDocument, ServiceRequest
from ..services import accounts, audit, lifecycle, scope, sla
from ..services.catalogue import get_catalogue
from ..web import stored_file_or_404, uploaded_file_headers
from . import bp


def role_required(*roles):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def visible_request(tracking_no: str) -> ServiceRequest:
    """The request if the current user may see it; 404 otherwise (never reveal that it exists)."""
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or not scope.can_view(current_user, req):
        abort(404)
    return req


def record_staff_view(req: ServiceRequest, document: RequestDocument | None = None) -> None:
    """Staff opening a request through these pages leave an access record, as in the back office."""
    if audit.record_access(current_user, req, document) is not None:
        db.session.commit()


@bp.get("/keluarga")
@role_required("resident")
def household():
    household = current_user.household
    return render_template("resident/household.html", household=household,
                           members=household.members if household else [], relations=RELATION_LABELS)


@bp.route("/keluarga/tambah", methods=["GET", "POST"])
@role_required("resident")
def add_member():
    household = current_user.household
    if household is None:
        abort(404)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            person, warnings = accounts.add_member(
                household, full_name=form.full_name.data, nik=form.nik.data, birth_date=form.birth_date.data,
                sex=form.sex.data, relation=form.relation.data)
        except accounts.AccountError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [error.message]
        else:
            db.session.commit()
            flash(_("%(name)s ditambahkan ke keluarga Anda.", name=person.full_name), "success")
            for warning in warnings:
                flash(warning, "warning")
            return redirect(safe_next(request.args.get("next"), url_for("resident.household")), code=303)
    return render_template("resident/add_member.html", form=form), 422 if form.errors else 200


@bp.get("/permohonan")
@role_required("resident", "institution")
def requests():
    rows = db.session.scalars(scope.visible_requests(current_user)
                              .order_by(ServiceRequest.updated_at.desc())).all()
    return render_template("resident/requests.html", rows=rows)


@bp.get("/permohonan/<tracking_no>")
@login_required
def request_detail(tracking_no):
    req = visible_request(tracking_no)
    if req.status == "draft" and req.applicant_id == current_user.id:
        return redirect(url_for("apply.resume", tracking_no=tracking_no), code=303)
    record_staff_view(req)
    service = get_catalogue().service(req.service_code)
    variant = service.variant(req.variant_code) if req.variant_code else None
    days_left = sla.time_left(req.due_date, sla.today_local()) if req.due_date else None
    return render_template("resident/detail.html", req=req, service=service, variant=variant,
                           events=req.events, days_left=days_left, form=Form(),
                           can_cancel="cancel" in lifecycle.allowed_actions(req, current_user))


@bp.post("/permohonan/<tracking_no>/batal")
@role_required("resident", "institution")
def cancel(tracking_no):
    req = visible_request(tracking_no)
    form = Form()
    if not form.validate_on_submit():
        abort(400)
    if req.status == "cancelled":  # sent twice
        return redirect(url_for("resident.request_detail", tracking_no=tracking_no), code=303)
    try:
        lifecycle.perform(req, "cancel", current_user)
    except lifecycle.TransitionError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        db.session.commit()
        flash(_("Permohonan %(no)s dibatalkan.", no=tracking_no), "success")
    return redirect(url_for("resident.request_detail", tracking_no=tracking_no), code=303)


@bp.get("/permohonan/<tracking_no>/terkirim")
@role_required("resident", "institution")
def confirmation(tracking_no):
    req = visible_request(tracking_no)
    if req.status == "draft":
        return redirect(url_for("apply.resume", tracking_no=tracking_no), code=303)
    service = get_catalogue().service(req.service_code)
    return render_template("resident/confirmation.html", req=req, service=service, qr=_qr(req))


@bp.get("/permohonan/<tracking_no>/tanda-terima")
@login_required
def receipt(tracking_no):
    req = visible_request(tracking_no)
    if req.status == "draft":
        abort(404)
    record_staff_view(req)
    service = get_catalogue().service(req.service_code)
    return render_template("resident/receipt.html", req=req, service=service, qr=_qr(req))


def _qr(req: ServiceRequest) -> Markup:
    """An SVG QR code that opens the request's status page (log-in and scope still apply there)."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    target = base + url_for("resident.request_detail", tracking_no=req.tracking_no)
    qr = segno.make(target, error="m")
    svg = qr.svg_inline(scale=4, border=2, title=_("Kode QR ke halaman status %(no)s", no=req.tracking_no))
    return Markup(svg)


@bp.get("/permohonan/<tracking_no>/dokumen/<int:doc_id>")
@login_required
def document_file(tracking_no, doc_id):
    req = visible_request(tracking_no)
    doc = db.session.get(RequestDocument, doc_id)
    if doc is None or doc.request_id != req.id:
        abort(404)
    path = stored_file_or_404(doc)
    record_staff_view(req, doc)
    extension = "pdf" if doc.content_type == "application/pdf" else "jpg"
    response = send_file(path, mimetype=doc.content_type, download_name=f"{req.tracking_no}-{doc.requirement_code}.{extension}",
                         as_attachment=False, conditional=True, max_age=0)
    return uploaded_file_headers(response)
