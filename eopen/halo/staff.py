"""Halo Pamor for staff (/halo/kantor): the satgas of the thread's RW and the operators and penyelia of
its kecamatan see the threads that are not closed, oldest first with their age, and answer them. A
penyelia also sees the escalated / overdue threads of their kecamatan.

Wrong role: 403 (as in the back office). A thread outside the staff member's scope: 404.
"""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..backoffice.common import staff_required
from ..extensions import db
from ..models import HaloThread, ServiceRequest, utcnow
from ..services import halo
from . import bp
from .forms import ReplyForm

STAFF = halo.STAFF_ROLES


def staff_thread_or_404(thread_id: int) -> HaloThread:
    thread = halo.thread_for(current_user, thread_id)
    if thread is None:
        abort(404)
    return thread


def _labels() -> dict:
    return {"kinds": halo.KIND_LABELS, "categories": halo.CATEGORY_LABELS, "status_words": halo.status_words}


@bp.get("/kantor/")
@staff_required(*STAFF)
def staff_list():
    return render_template("halo/staff_list.html", rows=halo.staff_threads(current_user, utcnow()), **_labels())


@bp.get("/kantor/eskalasi")
@staff_required("penyelia")
def escalations():
    return render_template("halo/escalations.html", rows=halo.escalations(current_user, utcnow()), **_labels())


def _render_thread(thread: HaloThread, form: ReplyForm | None = None, status: int = 200):
    now = utcnow()
    if form is None:
        form = ReplyForm(formdata=None)
        form.client_token.data = secrets.token_urlsafe(24)
    # The request the resident linked: its number and service for every staff member who sees the
    # thread; a link to the back-office page only for the kecamatan's operators and penyelia.
    req = db.session.get(ServiceRequest, thread.request_id) if thread.request_id else None
    req_url = None
    if req is not None and current_user.role in ("operator", "penyelia") \
            and halo.linked_request_for(current_user, thread) is not None:
        req_url = url_for("backoffice.review", tracking_no=req.tracking_no)
    return render_template("halo/staff_thread.html", thread=thread, reply_form=form,
                           form=form if form.errors else None, req=req, req_url=req_url,
                           household=thread.resident.household,
                           age=halo.age_words(thread.created_at, now), overdue=halo.is_overdue(thread, now),
                           due=halo.answer_due(thread.created_at),
                           ratings=halo.RATING_LABELS, author_role=halo.author_role_words, **_labels()), status


@bp.get("/kantor/<int:thread_id>")
@staff_required(*STAFF)
def staff_thread(thread_id):
    return _render_thread(staff_thread_or_404(thread_id))


@bp.post("/kantor/<int:thread_id>/balas")
@staff_required(*STAFF)
def staff_reply(thread_id):
    thread = staff_thread_or_404(thread_id)
    form = ReplyForm()
    if form.validate():
        try:
            halo.reply(thread, current_user, form.body.data, client_token=form.client_token.data)
        except halo.HaloError as error:
            db.session.rollback()
            form.body.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Jawaban terkirim ke warga."), "success")
            return redirect(url_for("halo.staff_thread", thread_id=thread.id, _anchor="pesan-terakhir"), code=303)
    return _render_thread(thread, form, 422)
