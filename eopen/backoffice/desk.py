"""The kecamatan desk's side of the custody chain (operators and penyelia).

The desk code: a Satgas Pamor bringing originals in, or taking finished cards and documents out for
delivery, types the code shown here on their phone; that is the desk's confirmation of the handover
(see eopen/services/custody.py). The page also lists what the kecamatan's satgas are carrying, what the
office holds, and which finished outputs wait for a satgas to deliver them.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..forms import Form
from ..services import custody
from . import bp
from .common import KECAMATAN_STAFF, staff_required


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
