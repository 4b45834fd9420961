"""Jemput-antar pages: a resident asks a Satgas Pamor for a pickup or a delivery, changes or cancels it.

The rules live in ``services/fieldjobs.py``; these routes read the form, call it once and commit.
"""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import Length, Optional

from ..extensions import db
from ..forms import Form, LocalDateField, options, required
from ..models import FieldJob, ServiceRequest
from ..services import custody, fieldjobs, scope
from . import bp
from .routes import role_required


class JobChangeForm(Form):
    preferred_date = LocalDateField(_l("Tanggal kunjungan"), validators=[
        required(_l("Isi tanggal yang Anda inginkan, misalnya 17-08-2026."))], render_kw={"type": "date"})
    time_window = RadioField(_l("Waktu kunjungan"), choices=options(fieldjobs.TIME_WINDOWS.items()),
                             validators=[required(_l("Pilih waktu kunjungan."))])
    address_note = TextAreaField(_l("Catatan alamat"), validators=[Optional(), Length(max=fieldjobs.NOTE_MAX)],
                                 render_kw={"rows": 3})


class JobForm(JobChangeForm):
    kind = RadioField(_l("Apa yang Anda perlukan?"), choices=options(fieldjobs.KIND_LABELS.items()),
                      validators=[required(_l("Pilih dijemput atau diantar."))])
    client_token = HiddenField()


@bp.app_template_global("field_jobs")
def field_jobs(req: ServiceRequest) -> dict:
    """For the request page: the jobs, what may still be asked, labels, and the custody chain.

    The applicant also gets their handover code while a pickup or delivery is open. Showing a code makes
    it when there is none; it is committed at once, so every view shows the same code until it is used.
    """
    jobs = fieldjobs.jobs_for(req)
    mine = fieldjobs.is_applicant(req, current_user)
    code = None
    if mine and any(job.status in fieldjobs.OPEN_STATES for job in jobs):
        code = custody.resident_code(req)
        db.session.commit()
    return {"jobs": jobs, "askable": fieldjobs.askable_kinds(req, current_user),
            "kinds": fieldjobs.KIND_SHORT, "windows": fieldjobs.TIME_WINDOWS, "statuses": fieldjobs.STATUS_LABELS,
            "mine": mine, "code": code, "held": custody.items_of(req), "handovers": custody.chain(req)}


def own_request(tracking_no: str) -> ServiceRequest:
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or req.applicant_id != current_user.id or not scope.can_view(current_user, req):
        abort(404)
    return req


def own_job(req: ServiceRequest, job_id: int) -> FieldJob:
    job = db.session.get(FieldJob, job_id)
    if job is None or job.request_id != req.id:
        abort(404)
    return job


def _detail(req: ServiceRequest):
    return redirect(url_for("resident.request_detail", tracking_no=req.tracking_no, _anchor="jemput-antar"), code=303)


def _render(template: str, req: ServiceRequest, form, status: int, **extra):
    return render_template(template, req=req, form=form, earliest=fieldjobs.earliest_date(),
                           latest=fieldjobs.latest_date(), **extra), status


@bp.route("/permohonan/<tracking_no>/jemput-antar", methods=["GET", "POST"])
@role_required("resident")
def job_new(tracking_no):
    req = own_request(tracking_no)
    askable = fieldjobs.askable_kinds(req, current_user)
    form = JobForm()
    if form.is_submitted():
        if form.validate():
            try:
                job = fieldjobs.request_job(req, current_user, form.kind.data, form.preferred_date.data,
                                            form.time_window.data, form.address_note.data, form.client_token.data)
            except fieldjobs.FieldJobError as error:
                db.session.rollback()
                getattr(form, error.field or "kind").errors = [str(error)]
            else:
                db.session.commit()
                if job.satgas_id:
                    flash(_("Permintaan %(kind)s terkirim ke Satgas Pamor RW Anda.",
                            kind=str(fieldjobs.KIND_SHORT[job.kind]).lower()), "success")
                else:
                    flash(_("Permintaan %(kind)s tercatat. Satgas Pamor untuk RW Anda belum ditetapkan; "
                            "permintaan menunggu sampai ada satgas.",
                            kind=str(fieldjobs.KIND_SHORT[job.kind]).lower()), "success")
                return _detail(req)
        return _render("resident/jobs_new.html", req, form, 422, askable=askable)
    if req.rw_id is None:
        flash(_("Permohonan ini tidak terhubung dengan RW mana pun (misalnya diajukan oleh instansi), "
                "jadi tidak dapat dijemput atau diantar Satgas Pamor."), "info")
        return _detail(req)
    if not askable:
        flash(_("Saat ini tidak ada jemput-antar yang dapat diminta untuk permohonan ini."), "info")
        return _detail(req)
    if len(askable) == 1:
        form.kind.data = askable[0]
    form.client_token.data = secrets.token_urlsafe(24)
    return _render("resident/jobs_new.html", req, form, 200, askable=askable)


@bp.route("/permohonan/<tracking_no>/jemput-antar/<int:job_id>", methods=["GET", "POST"])
@role_required("resident")
def job_edit(tracking_no, job_id):
    req = own_request(tracking_no)
    job = own_job(req, job_id)
    form = JobChangeForm(obj=None if JobChangeForm().is_submitted() else job)
    if form.is_submitted():
        if form.validate():
            try:
                fieldjobs.change_job(job, current_user, form.preferred_date.data, form.time_window.data,
                                     form.address_note.data)
            except fieldjobs.FieldJobError as error:
                db.session.rollback()
                if error.field is None:  # no longer changeable: say so on the request page
                    flash(str(error), "warning")
                    return _detail(req)
                getattr(form, error.field).errors = [str(error)]
            else:
                db.session.commit()
                flash(_("Jadwal %(kind)s diubah.", kind=str(fieldjobs.KIND_SHORT[job.kind]).lower()), "success")
                return _detail(req)
        return _render("resident/jobs_edit.html", req, form, 422, job=job)
    if job.status != "requested":
        flash(_("Permintaan ini tidak dapat diubah lagi."), "info")
        return _detail(req)
    return _render("resident/jobs_edit.html", req, form, 200, job=job)


@bp.post("/permohonan/<tracking_no>/jemput-antar/<int:job_id>/batal")
@role_required("resident")
def job_cancel(tracking_no, job_id):
    req = own_request(tracking_no)
    job = own_job(req, job_id)
    if not Form().validate_on_submit():
        abort(400)
    try:
        fieldjobs.cancel_job(job, current_user)
    except fieldjobs.FieldJobError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        db.session.commit()
        flash(_("Permintaan %(kind)s dibatalkan.", kind=str(fieldjobs.KIND_SHORT[job.kind]).lower()), "success")
    return _detail(req)
