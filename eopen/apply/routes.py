"""The apply flow: one question per page, a check-your-answers page, then a confirmation.

Routes are thin: they read input, call one service function, and render or redirect (303).

A Satgas Pamor goes through the same pages for a draft they started for a resident of their RW
(``assisted_by_id``; started in the field mode): the household shown is the resident's, and the
check page asks for the resident's consent instead of a plain "Kirim".
"""
from __future__ import annotations

import secrets
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..forms import options
from ..models import RequestDocument, ServiceRequest
from ..services import applications as apps
from ..services import audit, custody, lifecycle, uploads
from ..services.catalogue import get_catalogue
from ..web import stored_file_or_404, uploaded_file_headers
from . import bp
from .forms import (AssistConfirmForm, MemberChoiceForm, OtherPersonForm, ServiceForm, SptjmForm, SubmitForm,
                    UploadForm, VariantForm, data_form_class, serialise)


def applicant_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in ("resident", "institution"):
            abort(404)
        return view(*args, **kwargs)
    return wrapper


def drafter_required(view):
    """The applicant, or the satgas who assists them (load_draft checks which drafts)."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in ("resident", "institution", "satgas"):
            abort(404)
        return view(*args, **kwargs)
    return wrapper


def assisting() -> bool:
    return current_user.is_authenticated and current_user.role == "satgas"


@bp.context_processor
def _assist_context():
    return {"assisting": assisting()}


def load_draft(tracking_no: str) -> ServiceRequest:
    if assisting():
        req = apps.assisted_request(current_user, tracking_no)
    else:
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no,
                                                             ServiceRequest.applicant_id == current_user.id))
    if req is None:
        abort(404)
    return req


def submitted_url(req: ServiceRequest) -> str:
    """Where to go once the request is sent: the applicant's confirmation, or the satgas's own page."""
    if assisting():
        if "field" in current_app.blueprints:
            return url_for("field.assist_done", tracking_no=req.tracking_no)
        return url_for("resident.request_detail", tracking_no=req.tracking_no)
    return url_for("resident.confirmation", tracking_no=req.tracking_no)


def not_editable(req: ServiceRequest):
    flash(_("Permohonan ini sudah dikirim. Anda dapat memantau statusnya di sini."), "info")
    if assisting():
        return redirect(submitted_url(req), code=303)
    return redirect(url_for("resident.request_detail", tracking_no=req.tracking_no), code=303)


def url_for_step(req: ServiceRequest, step: apps.Step) -> str:
    no = req.tracking_no
    if step.name == "variant":
        return url_for("apply.variant", tracking_no=no)
    if step.name == "subject":
        return url_for("apply.subject", tracking_no=no)
    if step.name == "data":
        return url_for("apply.data", tracking_no=no)
    if step.name == "document":
        return url_for("apply.document", tracking_no=no, code=step.requirement)
    return url_for("apply.check", tracking_no=no)


def go_on(req: ServiceRequest, current: apps.Step):
    """After saving a step: back to the check page when we came from there, else the next page."""
    if request.args.get("kembali") == "periksa":
        target = apps.next_step(req)
        return redirect(url_for_step(req, target if target.name != "check" else target), code=303)
    return redirect(url_for_step(req, apps.step_after(req, current)), code=303)


def back_link(req: ServiceRequest, current: apps.Step) -> str:
    if request.args.get("kembali") == "periksa":
        return url_for("apply.check", tracking_no=req.tracking_no)
    order = [apps.Step("variant"), apps.Step("subject")]
    variant = apps.variant_of(req)
    if variant is not None:
        if variant.fields:
            order.append(apps.Step("data"))
        order += [apps.Step("document", r.code) for r in variant.requirements]
    order.append(apps.Step("check"))
    if current in order and order.index(current) > 0:
        previous = order[order.index(current) - 1]
        if previous.name == "variant" and len(apps.service_of(req).variants) == 1:
            return url_for("apply.change_service", tracking_no=req.tracking_no)
        return url_for_step(req, previous)
    return url_for("apply.change_service", tracking_no=req.tracking_no)


def service_choices():
    return options((s.code, _(s.label)) for s in get_catalogue().services)


def service_hints():
    return {s.code: _(s.summary) for s in get_catalogue().services}


@bp.route("/", methods=["GET", "POST"])
@applicant_required
def start():
    form = ServiceForm()
    form.service.choices = service_choices()
    if form.validate_on_submit():
        try:
            req = apps.create_draft(current_user, form.service.data, form.client_token.data)
        except apps.ApplyError as error:
            db.session.rollback()
            form.service.errors = [error.message]
        else:
            db.session.commit()
            return redirect(url_for_step(req, apps.next_step(req)), code=303)
    if not form.client_token.data:
        form.client_token.data = secrets.token_urlsafe(24)
    drafts = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.applicant_id == current_user.id, ServiceRequest.status == "draft")
        .order_by(ServiceRequest.updated_at.desc())).all()
    return render_template("apply/service.html", form=form, hints=service_hints(), drafts=drafts,
                           catalogue=get_catalogue()), 422 if form.errors else 200


@bp.route("/<tracking_no>/layanan", methods=["GET", "POST"])
@drafter_required
def change_service(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    form = ServiceForm(data={"service": req.service_code})
    form.service.choices = service_choices()
    if form.validate_on_submit():
        apps.change_service(req, form.service.data)
        db.session.commit()
        apps.delete_pending_files(current_app.config["UPLOAD_FOLDER"])
        return redirect(url_for_step(req, apps.next_step(req)), code=303)
    return render_template("apply/service.html", form=form, hints=service_hints(), req=req, drafts=[],
                           catalogue=get_catalogue()), 422 if form.errors else 200


@bp.get("/<tracking_no>/lanjut")
@drafter_required
def resume(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    if req.assisted_by_id and req.applicant_id == current_user.id and not request.args.get("isi"):
        # A satgas is filling this in at the door: the resident shows them this code to agree to it.
        code = custody.resident_code(req)
        db.session.commit()
        step = apps.next_step(req)
        return render_template("apply/assisted_draft.html", req=req, code=code.code,
                               next_url=url_for_step(req, step) if step.name != "check" else None)
    return redirect(url_for_step(req, apps.next_step(req)), code=303)


@bp.route("/<tracking_no>/jenis", methods=["GET", "POST"])
@drafter_required
def variant(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    service = apps.service_of(req)
    form = VariantForm(data={"variant": req.variant_code})
    form.variant.choices = options((v.code, _(v.label)) for v in service.variants)
    if form.validate_on_submit():
        try:
            apps.set_variant(req, form.variant.data)
        except apps.ApplyError as error:
            db.session.rollback()
            form.variant.errors = [error.message]
        else:
            db.session.commit()
            apps.delete_pending_files(current_app.config["UPLOAD_FOLDER"])
            return go_on(req, apps.Step("variant"))
    hints = {v.code: _(v.description) for v in service.variants if v.description}
    return render_template("apply/variant.html", form=form, req=req, service=service, hints=hints,
                           back=back_link(req, apps.Step("variant"))), 422 if form.errors else 200


@bp.route("/<tracking_no>/untuk", methods=["GET", "POST"])
@drafter_required
def subject(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    if apps.variant_of(req) is None:
        return redirect(url_for("apply.variant", tracking_no=req.tracking_no), code=303)
    applicant = req.applicant  # the resident's household, also when a satgas fills it in
    if applicant.role == "institution":
        return _subject_other(req)
    members = apps.household_members(applicant)
    form = MemberChoiceForm(data={"person": req.subject_person_id})
    form.person.choices = options((p.id, p.full_name) for p in members)
    if form.validate_on_submit():
        try:
            apps.set_subject_member(req, applicant, form.person.data)
        except apps.ApplyError as error:
            db.session.rollback()
            form.person.errors = [error.message]
        else:
            db.session.commit()
            return go_on(req, apps.Step("subject"))
    return render_template("apply/subject.html", form=form, req=req, members=members,
                           service=apps.service_of(req), variant=apps.variant_of(req),
                           back=back_link(req, apps.Step("subject"))), 422 if form.errors else 200


def _subject_other(req: ServiceRequest):
    from ..auth.routes import kelurahan_choices
    initial = {"full_name": req.subject_name, "nik": req.subject_nik, "birth_date": req.subject_birth_date,
               "sex": req.subject_sex, "kelurahan": req.kelurahan_code}
    form = OtherPersonForm(data=initial)
    form.kelurahan.choices = kelurahan_choices()
    if form.validate_on_submit():
        try:
            warnings = apps.set_subject_other(req, full_name=form.full_name.data, nik=form.nik.data,
                                              birth_date=form.birth_date.data, sex=form.sex.data,
                                              kelurahan_code=form.kelurahan.data)
        except apps.ApplyError as error:
            db.session.rollback()
            field = getattr(form, error.field, form.full_name)
            field.errors = [error.message]
        else:
            db.session.commit()
            for warning in warnings:
                flash(warning, "warning")
            return go_on(req, apps.Step("subject"))
    return render_template("apply/subject_other.html", form=form, req=req,
                           service=apps.service_of(req), variant=apps.variant_of(req),
                           back=back_link(req, apps.Step("subject"))), 422 if form.errors else 200


@bp.route("/<tracking_no>/data", methods=["GET", "POST"])
@drafter_required
def data(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    variant = apps.variant_of(req)
    if variant is None:
        return redirect(url_for("apply.variant", tracking_no=req.tracking_no), code=303)
    form_class = data_form_class(variant.fields)
    form = form_class(data=_stored_values(req, variant.fields)) if request.method == "GET" else form_class()
    if form.validate_on_submit():
        values = {spec.name: serialise(getattr(form, spec.name).data) for spec in variant.fields}
        values["_saved"] = "1"
        apps.set_data(req, values)
        db.session.commit()
        return go_on(req, apps.Step("data"))
    return render_template("apply/data.html", form=form, req=req, variant=variant, specs=variant.fields,
                           back=back_link(req, apps.Step("data"))), 422 if form.errors else 200


def _stored_values(req, specs):
    from datetime import date, time
    out = {}
    for spec in specs:
        raw = (req.data or {}).get(spec.name)
        if raw in (None, ""):
            continue
        try:
            if spec.type == "date":
                raw = date.fromisoformat(raw)
            elif spec.type == "time":
                raw = time.fromisoformat(raw)
        except ValueError:
            continue
        out[spec.name] = raw
    return out


@bp.route("/<tracking_no>/dokumen/<code>", methods=["GET", "POST"])
@drafter_required
def document(tracking_no, code):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    variant = apps.variant_of(req)
    if variant is None:
        return redirect(url_for("apply.variant", tracking_no=req.tracking_no), code=303)
    try:
        requirement = variant.requirement(code)
    except KeyError:
        abort(404)
    form = UploadForm()
    sptjm_form = SptjmForm(prefix="sptjm")
    error, status = None, 422
    if request.method == "POST":
        if not form.validate():  # CSRF only; the file itself is judged below
            error = _("Formulir kedaluwarsa. Muat ulang halaman lalu unggah lagi.")
        else:
            upload = request.files.get("file")
            if not upload or not upload.filename:
                if request.form.get("skip") and requirement.optional:
                    return go_on(req, apps.Step("document", code))
                error = _("Pilih foto atau berkas PDF %(doc)s terlebih dahulu.", doc=_(requirement.label))
            else:
                raw = upload.stream.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
                try:
                    normalised = uploads.normalise_upload(
                        raw, max_input_bytes=current_app.config["MAX_UPLOAD_BYTES"],
                        max_output_bytes=current_app.config["STORED_IMAGE_MAX_BYTES"])
                    apps.attach_file(req, requirement, normalised, upload.filename, current_user,
                                     current_app.config["UPLOAD_FOLDER"])
                except uploads.UploadRejected as rejected:
                    db.session.rollback()
                    error = rejected.message
                    status = rejected.status
                else:
                    db.session.commit()
                    apps.delete_pending_files(current_app.config["UPLOAD_FOLDER"])
                    return go_on(req, apps.Step("document", code))
        form.file.errors = [error]
        return _document_page(req, variant, requirement, form, sptjm_form, status)
    return _document_page(req, variant, requirement, form, sptjm_form, 200)


@bp.post("/<tracking_no>/dokumen/<code>/sptjm")
@drafter_required
def sptjm(tracking_no, code):
    req = load_draft(tracking_no)
    if req.status != "draft":
        return not_editable(req)
    variant = apps.variant_of(req)
    if variant is None:
        abort(404)
    try:
        requirement = variant.requirement(code)
    except KeyError:
        abort(404)
    form = UploadForm(formdata=None)
    sptjm_form = SptjmForm(prefix="sptjm")
    if sptjm_form.validate_on_submit():
        try:
            apps.declare_sptjm(req, requirement, current_user)
        except apps.ApplyError as error:
            db.session.rollback()
            sptjm_form.agree.errors = [error.message]
        else:
            db.session.commit()
            apps.delete_pending_files(current_app.config["UPLOAD_FOLDER"])
            return go_on(req, apps.Step("document", code))
    return _document_page(req, variant, requirement, form, sptjm_form, 422)


@bp.get("/<tracking_no>/berkas/<int:doc_id>")
@drafter_required
def document_file(tracking_no, doc_id):
    """A file of a draft, for whoever may fill the draft in (the assisting satgas cannot see drafts
    through the resident's pages)."""
    req = load_draft(tracking_no)
    doc = db.session.get(RequestDocument, doc_id)
    if doc is None or doc.request_id != req.id:
        abort(404)
    path = stored_file_or_404(doc)
    if audit.record_access(current_user, req, doc) is not None:
        db.session.commit()
    extension = "pdf" if doc.content_type == "application/pdf" else "jpg"
    response = send_file(path, mimetype=doc.content_type, as_attachment=False, conditional=True, max_age=0,
                         download_name=f"{req.tracking_no}-{doc.requirement_code}.{extension}")
    return uploaded_file_headers(response)


def _document_page(req, variant, requirement, form, sptjm_form, status):
    index = [r.code for r in variant.requirements].index(requirement.code)
    return render_template("apply/document.html", req=req, variant=variant, requirement=requirement, form=form,
                           sptjm_form=sptjm_form, doc=req.document_for(requirement.code), number=index + 1,
                           total=len(variant.requirements), page_errors=bool(form.errors or sptjm_form.errors),
                           back=back_link(req, apps.Step("document", requirement.code))), status


@bp.route("/<tracking_no>/periksa", methods=["GET", "POST"])
@drafter_required
def check(tracking_no):
    req = load_draft(tracking_no)
    if req.status != "draft":
        # A second tap on "Kirim", the back button or a retried POST: the request exists once.
        return redirect(submitted_url(req), code=303)
    if assisting():
        return _check_assisted(req)
    form = SubmitForm()
    problems = []
    if form.validate_on_submit():
        try:
            apps.submit(req, current_user)
        except apps.ApplyError as error:
            db.session.rollback()
            problems = [("missing", error.message)]
        else:
            db.session.commit()
            return redirect(url_for("resident.confirmation", tracking_no=req.tracking_no), code=303)
    variant = apps.variant_of(req)
    todo = apps.missing(req)
    status = 422 if problems else 200
    return render_template("apply/check.html", req=req, form=form, service=apps.service_of(req), variant=variant,
                           todo=todo, url_for_step=url_for_step, problems=problems, page_errors=bool(problems),
                           answers=apps.answers(req),
                           back=back_link(req, apps.Step("check"))), status


def _check_assisted(req: ServiceRequest):
    """The satgas sends the draft with the resident's consent: their code, or date of birth + NIK digits."""
    form = AssistConfirmForm()
    problems = []
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            by_birth = form.way.data == "birth_nik"
            try:
                if by_birth:
                    apps.submit_assisted(req, current_user, birth_date=form.birth_date.data,
                                         nik_last4=form.nik_last4.data)
                else:
                    apps.submit_assisted(req, current_user, code=form.code.data)
            except apps.ApplyError as error:
                db.session.rollback()
                problems = [("missing", error.message)]
            except custody.CustodyError as error:
                db.session.rollback()
                custody.apply_penalty(error)  # a wrong try counts although nothing else is kept
                db.session.commit()
                name = error.field if error.field in ("code", "birth_date", "nik_last4") else "code"
                if by_birth and name == "code":
                    name = "birth_date"
                getattr(form, name).errors = [str(error)]
            except lifecycle.TransitionError as error:
                db.session.rollback()
                problems = [("forbidden", str(error))]
            else:
                db.session.commit()
                return redirect(submitted_url(req), code=303)
    form.code.data = ""  # a code is never shown back
    return render_template("apply/check.html", req=req, form=form, service=apps.service_of(req),
                           variant=apps.variant_of(req), todo=apps.missing(req), url_for_step=url_for_step,
                           problems=problems, page_errors=bool(problems or form.errors),
                           answers=apps.answers(req), back=back_link(req, apps.Step("check"))), status
