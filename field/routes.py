"""The field mode's pages. Actions that change something go through ``actions.run_once`` (each action
id is accepted once) and answer JSON to the offline queue, HTML to everybody else."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eopen.backoffice.common import staff_required
from eopen.extensions import db
from eopen.forms import options
from eopen.models import FieldJob
from eopen.services import custody, uploads

from . import actions, bp, handovers, services
from .custody_forms import DeliveryForm, DeskInForm, DeskOutForm, PickupForm, StartForm
from .forms import NotDoneForm


def _job(job_id: int):
    job = services.my_job(current_user, job_id)
    if job is None:
        abort(404)
    return job


def _action_job(job_id: int) -> tuple[FieldJob, bool]:
    """The job an action is about, and whether it is still this satgas' (False: it was moved away from
    them, and the action is refused with a clear message and kept). Anybody else's job: 404."""
    job = db.session.get(FieldJob, job_id)
    if job is not None and job.satgas_id == current_user.id:
        return job, True
    if job is not None and job.moved_from_id == current_user.id:
        return job, False
    abort(404)


def _answer(outcome: actions.Outcome, location: str, refused_location: str | None = None):
    """After run_once: commit, then JSON for the queue, or flash + 303 for a browser."""
    db.session.commit()
    if actions.wants_json():
        return actions.json_answer(outcome, location)
    flash(outcome.message, "success" if outcome.accepted else "error")
    return redirect(location if outcome.accepted else (refused_location or location), 303)


@bp.context_processor
def _field_globals():
    return {"new_action_id": actions.new_action_id}


@bp.get("/")
@staff_required("satgas")
def home():
    return render_template("field/home.html", agenda=services.agenda(current_user))


@bp.get("/tugas/<int:job_id>")
@staff_required("satgas")
def job(job_id):
    item = services.view(_job(job_id))
    req = item.job.request
    return render_template("field/job.html", item=item, can_leave=services.can_leave(item.job),
                           can_fail=services.can_fail(item.job), start_form=StartForm(),
                           items=custody.items_of(req), chain=custody.chain(req),
                           holding=handovers.deliverables(current_user, req))


@bp.post("/tugas/<int:job_id>/berangkat")
@staff_required("satgas")
def on_the_way(job_id):
    job, mine = _action_job(job_id)
    form = StartForm()

    def perform(at):
        if not mine:
            raise actions.moved_refusal(job)
        services.start(job)
        return _("Status: dalam perjalanan. Warga tidak dapat lagi mengubah atau membatalkan jadwal.")

    outcome = actions.run_once(current_user, "on_the_way", job, perform) if form.validate() else \
        actions.Outcome(False, _("Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu coba lagi."))
    return _answer(outcome, url_for("field.job", job_id=job_id) if mine else url_for("field.home"))


@bp.route("/tugas/<int:job_id>/gagal", methods=["GET", "POST"])
@staff_required("satgas")
def not_done(job_id):
    if request.method == "POST":
        job, mine = _action_job(job_id)
    else:
        job, mine = _job(job_id), True
    form = NotDoneForm()
    if mine and not services.can_fail(job) and not form.is_submitted():
        abort(404)
    page = dict(form=form, earliest=services.earliest_date(), latest=services.latest_date())
    if form.is_submitted():
        if form.validate():
            def perform(at):
                if not mine:
                    raise actions.moved_refusal(job)
                services.reschedule(job, form.reason.data, form.detail.data, form.new_date.data)
                return _("Tugas dijadwalkan ulang.")

            outcome = actions.run_once(current_user, "reschedule", job, perform)
            if outcome.accepted or actions.wants_json() or not mine:
                return _answer(outcome, url_for("field.home"))
            db.session.commit()
            target = getattr(form, outcome.field or "", None) or form.reason
            target.errors = list(target.errors) + [outcome.message]
        elif actions.wants_json():
            return actions.json_answer(actions.Outcome(False, _first_error(form)), "")
        return render_template("field/not_done.html", item=services.view(job), **page), 422
    return render_template("field/not_done.html", item=services.view(job), **page)


def _first_error(form) -> str:
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return _("Periksa isian formulir.")


def _store_photo(form) -> str | None:
    """The optional proof photo, normalised like every upload (images only). Raises UploadRejected."""
    file = form.photo.data
    if not file or not getattr(file, "filename", ""):
        return None
    normalised = uploads.normalise_upload(file.read())
    if normalised.content_type != "image/jpeg":
        raise uploads.UploadRejected(_("Foto bukti harus berupa foto (JPEG, PNG atau HEIC), bukan PDF."), 400,
                                     "not_image")
    return uploads.store(current_app.config["UPLOAD_FOLDER"], normalised.data, normalised.extension)


@bp.route("/tugas/<int:job_id>/serah-terima", methods=["GET", "POST"])
@staff_required("satgas")
def handover(job_id):
    """At the door: the resident gives originals (pickup) or receives the card/document (delivery)."""
    if request.method == "POST":
        job, mine = _action_job(job_id)
    else:
        job, mine = _job(job_id), True
    if mine and job.status not in services.OPEN_STATES and request.method == "GET":
        flash(_("Tugas ini sudah selesai."), "info")
        return redirect(url_for("field.job", job_id=job.id), 303)
    form = PickupForm() if job.kind == "pickup" else DeliveryForm()
    choices = handovers.pickup_choices(job.request) if job.kind == "pickup" else []
    if job.kind == "pickup":
        form.items.choices = options([*choices, (handovers.OTHER, _("Barang lain (tulis di bawah)"))])
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                photo = _store_photo(form)
            except uploads.UploadRejected as error:
                if actions.wants_json():
                    return actions.json_answer(actions.Outcome(False, error.message, field="photo"), "")
                form.photo.errors = [error.message]
            else:
                confirmation = handovers.Confirmation(form.code.data, form.birth_date.data, form.nik_last4.data)

                def perform(at):
                    if not mine:
                        raise actions.moved_refusal(job)
                    if job.kind == "pickup":
                        return handovers.collect_at_door(job, current_user, form.items.data or [],
                                                         form.other.data, confirmation, at, photo)
                    return handovers.deliver_at_door(job, current_user, confirmation, at, photo)

                outcome = actions.run_once(current_user, "handover", job, perform)
                if not outcome.accepted and photo:
                    uploads.delete(current_app.config["UPLOAD_FOLDER"], photo)
                if outcome.accepted or actions.wants_json() or not mine:
                    return _answer(outcome, url_for("field.home"))
                db.session.commit()  # the refusal record and a counted wrong code
                target = getattr(form, outcome.field or "", None)
                if target is None or outcome.field == "photo":
                    target = form.code
                target.errors = list(target.errors) + [outcome.message]
        elif actions.wants_json():
            return actions.json_answer(actions.Outcome(False, _first_error(form)), "")
        form.code.data = None  # never echo a code back
    item = services.view(job)
    return render_template("field/handover.html", item=item, form=form, job=job,
                           holding=handovers.deliverables(current_user, job.request),
                           output_label=handovers.output_label(job.request),
                           open_fallback=bool(form.birth_date.errors or form.nik_last4.errors
                                              or form.birth_date.data or form.nik_last4.data)), status


@bp.route("/kantor", methods=["GET"])
@staff_required("satgas")
def desk():
    """At the kecamatan desk: bring originals in, take finished cards/documents out for delivery."""
    return _desk_page(DeskInForm(prefix="in"), DeskOutForm(prefix="out"))


def _desk_page(form_in, form_out, status=200):
    staff = handovers.desk_staff(current_user)
    staff_choices = options([("", _("Pilih petugas"))] + [(str(u.id), u.display_name) for u in staff])
    to_bring = handovers.items_to_bring(current_user)
    to_collect = handovers.deliveries_to_collect(current_user)
    form_in.operator_id.choices = staff_choices
    form_out.operator_id.choices = staff_choices
    form_in.items.choices = options((str(i.id), f"{i.label} — {i.request.tracking_no}") for i in to_bring)
    form_out.jobs.choices = options((str(j.id), f"{handovers.output_label(j.request)} — {j.request.tracking_no}")
                                    for j in to_collect)
    for form in (form_in, form_out):
        form.code.data = None
    return render_template("field/desk.html", form_in=form_in, form_out=form_out, to_bring=to_bring,
                           to_collect=to_collect, staff=staff,
                           office=custody.office_name(current_user.kecamatan_code)
                           if current_user.kecamatan_code else None), status


@bp.post("/kantor/serahkan")
@staff_required("satgas")
def desk_in():
    return _desk_action(DeskInForm(prefix="in"), "desk_in")


@bp.post("/kantor/ambil")
@staff_required("satgas")
def desk_out():
    return _desk_action(DeskOutForm(prefix="out"), "desk_out")


def _desk_action(form, action: str):
    other = DeskOutForm(formdata=None, prefix="out") if action == "desk_in" else DeskInForm(formdata=None, prefix="in")
    if not form.validate():
        if actions.wants_json():
            return actions.json_answer(actions.Outcome(False, _first_error(form)), "")
        return _desk_page(form, other, 422) if action == "desk_in" else _desk_page(other, form, 422)

    def perform(at):
        if action == "desk_in":
            ids = _ints(form.items.data)
            return handovers.bring_to_office(current_user, ids, form.operator_id.data, form.code.data, at)
        ids = _ints(form.jobs.data)
        return handovers.collect_from_office(current_user, ids, form.operator_id.data, form.code.data, at)

    outcome = actions.run_once(current_user, action, None, perform)
    if outcome.accepted or actions.wants_json():
        return _answer(outcome, url_for("field.desk"))
    db.session.commit()
    target = getattr(form, outcome.field or "", None) or form.code
    target.errors = list(target.errors) + [outcome.message]
    return _desk_page(form, other, 422) if action == "desk_in" else _desk_page(other, form, 422)


def _ints(values) -> list[int]:
    result = []
    for value in values or []:
        try:
            result.append(int(value))
        except (TypeError, ValueError):
            continue
    return result
