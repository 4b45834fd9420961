"""The issued document of a request: the PDF download, and what the status page says about the output.

The PDF is served to whoever may see the request (``scope.can_view``; anyone else gets 404): the
applicant, and staff of the request's kecamatan, whose download is recorded in the access log. A
revoked document is no longer handed out (410).
"""
from __future__ import annotations

from flask import abort, current_app, send_file
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import IssuedDocument, Region, ServiceRequest
from ..services import audit, issuing, scope, uploads
from . import bp


@bp.app_template_global()
def issued_document_for(req: ServiceRequest) -> IssuedDocument | None:
    """For the status page: the request's issued document, if any."""
    if req is None or req.id is None or req.status not in ("issued", "ready_for_collection", "collected",
                                                           "out_for_delivery", "delivered"):
        return None
    return issuing.document_for(req)


@bp.app_template_global()
def region_name(code: str | None) -> str | None:
    region = db.session.get(Region, code) if code else None
    return region.name if region else None


@bp.get("/permohonan/<tracking_no>/dokumen-terbit.pdf")
@login_required
def issued_pdf(tracking_no):
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or not scope.can_view(current_user, req):
        abort(404)
    document = issuing.document_for(req)
    if document is None or not document.storage_name:
        abort(404)
    if document.revoked_at is not None:
        abort(410)  # void: the status page says so, and the verification page says "Dicabut"
    try:
        path = uploads.path_of(current_app.config["UPLOAD_FOLDER"], document.storage_name)
    except FileNotFoundError:
        current_app.logger.error("PDF of issued document %s is missing", document.id)
        abort(404)
    if audit.record_access(current_user, req, action="download_pdf") is not None:
        db.session.commit()
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{document.number}.pdf", conditional=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
