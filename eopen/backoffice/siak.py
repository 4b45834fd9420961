"""Back office: the SIAK hand-off outbox — what waits for SIAK, why, and "try now".

Penyelia see their own kecamatan's hand-offs, admins all; everyone else gets 403 (outside scope: 404).
The rules (scope, retry) live in eopen/services/siak.py.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..forms import Form
from ..models import ServiceRequest, SiakHandoff
from ..services import siak
from . import bp
from .common import staff_required


class RetryForm(Form):
    """Only the CSRF token."""


@bp.get("/siak")
@staff_required("penyelia", "admin")
def siak_outbox():
    if current_user.role == "penyelia" and not current_user.kecamatan_code:
        abort(403)
    return render_template("backoffice/siak.html", rows=siak.open_handoffs(current_user), form=RetryForm(),
                           backlog=siak.backlog())


@bp.post("/siak/<tracking_no>/coba")
@staff_required("penyelia", "admin")
def siak_retry(tracking_no: str):
    if current_user.role == "penyelia" and not current_user.kecamatan_code:
        abort(403)
    handoff_id = db.session.scalar(select(SiakHandoff.id).join(ServiceRequest, ServiceRequest.id == SiakHandoff.request_id)
                                   .where(ServiceRequest.tracking_no == tracking_no))
    row = siak.visible_handoff(current_user, handoff_id) if handoff_id else None
    if row is None:
        abort(404)
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    if siak.retry_now(row):
        db.session.commit()
        flash(_("Permohonan %(no)s akan dikirim ulang ke SIAK pada putaran berikutnya.", no=tracking_no), "success")
    else:
        db.session.rollback()
        flash(_("Permohonan %(no)s sudah dikonfirmasi SIAK.", no=tracking_no), "warning")
    return redirect(url_for("backoffice.siak_outbox"), 303)


BANNER_ROLES = frozenset({"operator", "penyelia", "kasi", "kabid", "kadis", "admin"})


@bp.app_context_processor
def _siak_banner():
    def siak_backlog():
        """For _siak_banner.html: the backlog when the signed-in user is office staff, else None."""
        if not current_user.is_authenticated or current_user.role not in BANNER_ROLES:
            return None
        backlog = siak.backlog()
        return backlog if backlog.waiting else None
    return {"siak_backlog": siak_backlog}
