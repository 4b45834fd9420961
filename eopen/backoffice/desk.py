"""The kecamatan desk's side of the custody chain (operators and penyelia).

The desk code: a Satgas Pamor bringing originals in, or taking finished cards and documents out for
delivery, types the code shown here on their phone; that is the desk's confirmation of the handover
(see eopen/services/custody.py). The page also lists what the kecamatan's satgas are carrying, what the
office holds, and which finished outputs wait for a satgas to deliver them.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..forms import Form
from ..models import Handover
from ..services import audit, custody, uploads
from ..web import uploaded_file_headers
from . import bp
from .common import KECAMATAN_STAFF, staff_request, staff_required


@bp.get("/serah-terima")
@staff_required(*KECAMATAN_STAFF)
def desk():
    code = custody.desk_code(current_user)
    overview = custody.kecamatan_overview(current_user.kecamatan_code)
    db.session.commit()  # the code made on first view
    return render_template("backoffice/desk.html", code=code, overview=overview, form=Form(),
                           minutes=custody.DESK_CODE_MINUTES)


@bp.post("/serah-terima/kode-baru")
@staff_required(*KECAMATAN_STAFF)
def desk_new_code():
    form = Form()
    if form.validate():
        custody.desk_code(current_user, renew=True)
        db.session.commit()
        flash(_("Kode baru dibuat. Kode lama tidak berlaku lagi."), "success")
    else:
        flash(_("Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu coba lagi."), "error")
    return redirect(url_for("backoffice.desk"), 303)


@bp.get("/permohonan/<tracking_no>/serah-terima/<int:handover_id>/foto")
@staff_required(*KECAMATAN_STAFF)
def handover_photo(tracking_no, handover_id):
    """The optional proof photo of a handover: kecamatan staff in scope only, every view logged."""
    req = staff_request(tracking_no, log=False)
    handover = db.session.get(Handover, handover_id)
    if handover is None or handover.request_id != req.id or not handover.photo_storage_name:
        abort(404)
    try:
        path = uploads.path_of(current_app.config["UPLOAD_FOLDER"], handover.photo_storage_name)
    except FileNotFoundError:
        current_app.logger.error("photo of handover %s is missing", handover.id)
        abort(404)
    audit.record_access(current_user, req, action="view_handover_photo")
    db.session.commit()
    response = send_file(path, mimetype="image/jpeg", download_name=f"{req.tracking_no}-serah-terima-{handover.id}.jpg",
                         conditional=True, max_age=0)
    return uploaded_file_headers(response)
