"""Assisted applications: a Satgas Pamor starts a request at the door for a resident of their RW.

The satgas types the resident's NIK, chooses the service, and goes on in the apply flow (eopen.apply)
with a draft whose applicant is the resident and ``assisted_by_id`` the satgas. The resident agrees
on the apply flow's check page (their code, or date of birth + NIK digits); the satgas then lands on
``assist_done``. The rules are in eopen.services.applications; these routes only read and render.
"""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eopen.apply.routes import service_choices, service_hints, url_for_step
from eopen.backoffice.common import staff_required
from eopen.extensions import db
from eopen.forms import Form
from eopen.services import applications as apps
from eopen.services import audit, lifecycle
from eopen.services.catalogue import get_catalogue

from . import bp
from .forms import AssistNikForm, AssistServiceForm


def _assisted(tracking_no: str):
    req = apps.assisted_request(current_user, tracking_no)
    if req is None:
        abort(404)
    return req


@bp.route("/bantu", methods=["GET", "POST"])
@staff_required("satgas")
def assist_start():
    form = AssistNikForm()
    if form.validate_on_submit():
        try:
            resident = apps.find_resident(current_user, form.nik.data)
        except apps.ApplyError as error:
            form.nik.errors = [error.message]
        else:
            return redirect(url_for("field.assist_service", user_id=resident.id), 303)
    return render_template("field/assist.html", form=form, drafts=apps.open_assisted_drafts(current_user),
                           catalogue=get_catalogue(), cancel_form=Form()), 422 if form.errors else 200


@bp.route("/bantu/warga/<int:user_id>", methods=["GET", "POST"])
@staff_required("satgas")
def assist_service(user_id):
    resident = apps.assistable_resident(current_user, user_id)
    if resident is None:
        abort(404)
    form = AssistServiceForm()
    form.service.choices = service_choices()
    if form.validate_on_submit():
        try:
            req = apps.create_draft(resident, form.service.data, form.client_token.data, assisted_by=current_user)
        except apps.ApplyError as error:
            db.session.rollback()
            form.service.errors = [error.message]
        else:
            db.session.commit()
            return redirect(url_for_step(req, apps.next_step(req)), 303)
    if not form.client_token.data:
        form.client_token.data = secrets.token_urlsafe(24)
    return render_template("field/assist_service.html", form=form, resident=resident,
                           household=resident.household, hints=service_hints()), 422 if form.errors else 200


@bp.post("/bantu/<tracking_no>/batal")
@staff_required("satgas")
def assist_cancel(tracking_no):
    req = _assisted(tracking_no)
    if not Form().validate_on_submit():
        flash(_("Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi."), "warning")
        return redirect(url_for("field.assist_start"), 303)
    if req.status == "draft":
        try:
            lifecycle.perform(req, "cancel", current_user)
        except lifecycle.TransitionError as error:
            db.session.rollback()
            flash(str(error), "warning")
        else:
            db.session.commit()
            flash(_("Draf %(no)s dibatalkan.", no=tracking_no), "success")
    return redirect(url_for("field.assist_start"), 303)


@bp.get("/bantu/<tracking_no>/terkirim")
@staff_required("satgas")
def assist_done(tracking_no):
    req = _assisted(tracking_no)
    if req.status == "draft":
        return redirect(url_for("apply.resume", tracking_no=tracking_no), 303)
    if audit.record_access(current_user, req) is not None:
        db.session.commit()
    return render_template("field/assist_done.html", req=req, method=apps.confirmation_method(req))
