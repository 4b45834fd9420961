from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eopen.backoffice.common import staff_required
from eopen.extensions import db

from . import bp, services
from .forms import NotDoneForm


def _job(job_id: int):
    job = services.my_job(current_user, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/")
@staff_required("satgas")
def home():
    return render_template("field/home.html", agenda=services.agenda(current_user))


@bp.get("/tugas/<int:job_id>")
@staff_required("satgas")
def job(job_id):
    item = services.view(_job(job_id))
    return render_template("field/job.html", item=item, can_leave=services.can_leave(item.job),
                           can_fail=services.can_fail(item.job))


@bp.post("/tugas/<int:job_id>/berangkat")
@staff_required("satgas")
def on_the_way(job_id):
    try:
        services.start(_job(job_id))
        db.session.commit()
        flash(_("Status: dalam perjalanan. Warga tidak dapat lagi mengubah atau membatalkan jadwal."), "success")
    except services.FieldError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("field.job", job_id=job_id), 303)


@bp.route("/tugas/<int:job_id>/gagal", methods=["GET", "POST"])
@staff_required("satgas")
def not_done(job_id):
    job = _job(job_id)
    form = NotDoneForm()
    if not services.can_fail(job):
        abort(404)
    if form.is_submitted():
        if form.validate():
            try:
                services.reschedule(job, form.reason.data, form.detail.data, form.new_date.data)
                db.session.commit()
                flash(_("Tugas dijadwalkan ulang."), "success")
                return redirect(url_for("field.home"), 303)
            except services.FieldError as error:
                db.session.rollback()
                target = getattr(form, error.field or "", None) or form.reason
                target.errors = list(target.errors) + [str(error)]
        return render_template("field/not_done.html", item=services.view(job), form=form,
                               earliest=services.earliest_date(), latest=services.latest_date()), 422
    return render_template("field/not_done.html", item=services.view(job), form=form,
                           earliest=services.earliest_date(), latest=services.latest_date())
