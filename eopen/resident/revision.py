"""Revising a returned request: the resident replaces exactly the returned documents, then resubmits.

The request then goes back to the operator who returned it (the lifecycle keeps ``operator_id``).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..forms import Form
from ..models import ServiceRequest
from ..services import applications, lifecycle, review, scope, uploads
from . import bp


@bp.app_template_global("revision_items")
def revision_items(req: ServiceRequest) -> list[review.ReturnedDocument]:
    """For the request page: what the operator returned and why."""
    return review.returned_documents(req)


def own_request(tracking_no: str) -> ServiceRequest:
    """The request if the current user applied for it (404 otherwise: never reveal that it exists)."""
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or req.applicant_id != current_user.id or not scope.can_view(current_user, req):
        abort(404)
    return req


def not_in_revision(req: ServiceRequest):
    flash(_("Permohonan ini tidak sedang menunggu perbaikan. Berikut statusnya."), "info")
    return redirect(url_for("resident.request_detail", tracking_no=req.tracking_no), code=303)


@bp.get("/permohonan/<tracking_no>/perbaikan")
@login_required
def revision(tracking_no):
    req = own_request(tracking_no)
    if req.status != "needs_revision":
        return not_in_revision(req)
    return _page(req)


def _page(req: ServiceRequest, *, errors: dict[str, str] | None = None, page_errors: list | None = None,
          status: int = 200):
    """``errors`` maps a requirement code to the message shown beside its upload field."""
    items = review.returned_documents(req)
    summary = [(f"file-{code}", message) for code, message in (errors or {}).items()] + list(page_errors or [])
    return render_template("resident/revision.html", req=req, items=items, general_note=review.general_note(req),
                           errors=errors or {}, summary=summary, page_errors=bool(summary),
                           waiting=[item for item in items if not item.replaced]), status


@bp.post("/permohonan/<tracking_no>/perbaikan/<code>")
@login_required
def revision_upload(tracking_no, code):
    req = own_request(tracking_no)
    if req.status != "needs_revision":
        return not_in_revision(req)
    if not Form().validate_on_submit():  # CSRF only; the file is judged below
        return _page(req, errors={code: _("Formulir kedaluwarsa. Muat ulang halaman lalu unggah lagi.")}, status=400)
    if code not in applications.revisable_codes(req):
        return _page(req, page_errors=[("dokumen", _("Dokumen ini tidak diminta untuk diperbaiki, "
                                                     "jadi tidak dapat diganti."))], status=403)
    upload = request.files.get("file")
    if not upload or not upload.filename:
        return _page(req, errors={code: _("Pilih foto atau berkas PDF pengganti terlebih dahulu.")}, status=422)
    raw = upload.stream.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    try:
        doc = review.replace_document(req, code, raw, upload.filename, current_user,
                                      root=current_app.config["UPLOAD_FOLDER"],
                                      max_input_bytes=current_app.config["MAX_UPLOAD_BYTES"],
                                      max_output_bytes=current_app.config["STORED_IMAGE_MAX_BYTES"])
    except uploads.UploadRejected as rejected:
        db.session.rollback()
        return _page(req, errors={code: rejected.message}, status=rejected.status)
    except review.ReviewError as error:
        db.session.rollback()
        return _page(req, page_errors=[("dokumen", error.message)], status=403)
    db.session.commit()
    applications.delete_pending_files(current_app.config["UPLOAD_FOLDER"])
    flash(_("%(doc)s sudah diganti.", doc=review.requirement_label(req, code)), "success")
    return redirect(url_for("resident.revision", tracking_no=tracking_no, _anchor=f"dok-{doc.requirement_code}"),
                    code=303)


@bp.post("/permohonan/<tracking_no>/perbaikan/kirim")
@login_required
def resubmit(tracking_no):
    req = own_request(tracking_no)
    if not Form().validate_on_submit():
        abort(400)
    try:
        review.resubmit(req, current_user)
    except review.ReviewError as error:
        db.session.rollback()
        return _page(req, page_errors=[("kirim", error.message)], status=422)
    except lifecycle.TransitionError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("resident.request_detail", tracking_no=tracking_no), code=303)
    db.session.commit()
    flash(_("Perbaikan terkirim. Permohonan Anda kembali diperiksa oleh petugas yang sama."), "success")
    return redirect(url_for("resident.request_detail", tracking_no=tracking_no), code=303)
