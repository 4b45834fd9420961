"""Back office: the penyelia (supervisor of one kecamatan) — dashboard, assignment, performance, SLA
breaches — and the access log of a request (penyelia of its kecamatan, admin).

The numbers' definitions live in eopen/services/performance.py.

Reading an access log is not itself logged: the log page shows staff activity (who, when, which
document name) and no resident data beyond the tracking number and service, and logging the reads
would make every visit add a row to the very list being read. Assigning a request is recorded as a
lifecycle event, not as an access (the penyelia does not open the request's documents to assign it).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from ..extensions import db
from ..forms import Form
from ..main.routes import safe_next
from ..models import ServiceRequest
from ..services import audit, lifecycle, scope, sla
from ..services import performance as perf  # the view below is called performance (endpoint name)
from . import bp
from .common import staff_required, staff_request


def _optional_int(value):
    if value in (None, ""):
        return None
    return int(value)


class AssignForm(Form):
    # The lifecycle decides who may be assigned (an active operator of the request's kecamatan) and
    # says why not; the list on the page is only what is offered.
    operator_id = SelectField(
        _l("Operator"), coerce=_optional_int, validate_choice=False,
        validators=[InputRequired(message=_l("Pilih operator yang akan menangani permohonan ini."))])
    next = HiddenField()


def _kecamatan() -> str:
    if not current_user.kecamatan_code:
        abort(403)
    return current_user.kecamatan_code


def _render_dashboard(form: AssignForm, error_row: str | None = None, status: int = 200):
    today = sla.today_local()
    board = perf.dashboard(_kecamatan(), today)
    page_errors = []
    if error_row and form.operator_id.errors:
        page_errors = [(f"op-{error_row}", form.operator_id.errors[0])]
    return render_template("backoffice/penyelia/dashboard.html", board=board, form=form,
                           page_errors=page_errors, error_row=error_row, today=today), status


@bp.get("/penyelia")
@staff_required("penyelia")
def penyelia_dashboard():
    return _render_dashboard(AssignForm(formdata=None))


@bp.post("/penyelia/permohonan/<tracking_no>/tugaskan")
@staff_required("penyelia")
def assign(tracking_no):
    req = staff_request(tracking_no, log=False)
    form = AssignForm()
    valid = form.validate_on_submit()
    if not valid and req.status in lifecycle.TABLE["assign"].from_states:
        return _render_dashboard(form, error_row=tracking_no, status=422)
    # (Not valid and no longer assignable: the lifecycle's "wrong state" message says more than the form's.)
    back = safe_next(form.next.data, url_for("backoffice.penyelia_dashboard"))
    operator_id = form.operator_id.data if valid else None
    if req.status == "in_review" and req.operator_id == operator_id:  # sent twice, or nothing to change
        flash(_("Permohonan %(no)s sudah ditangani oleh %(name)s.", no=tracking_no, name=req.operator.display_name),
              "success")
        return redirect(back, code=303)
    try:
        lifecycle.perform(req, "assign", current_user, data={"operator_id": operator_id})
    except lifecycle.TransitionError as error:
        db.session.rollback()
        if error.reason == "conflict":
            db.session.refresh(req)
            if req.status == "in_review" and req.operator_id == operator_id:  # our own first click won
                flash(_("Permohonan %(no)s ditugaskan ke %(name)s.", no=tracking_no,
                        name=req.operator.display_name), "success")
                return redirect(back, code=303)
        flash(str(error), "warning")
        return redirect(back, code=303)
    db.session.commit()
    flash(_("Permohonan %(no)s ditugaskan ke %(name)s.", no=tracking_no, name=req.operator.display_name),
          "success")
    return redirect(back, code=303)


@bp.get("/penyelia/kinerja")
@staff_required("penyelia")
def performance():
    today = sla.today_local()
    stats = perf.operator_stats(_kecamatan(), today)
    chart = perf.bar_chart_svg([(s.name, s.finished_week) for s in stats],
                               _("Permohonan selesai minggu ini per operator"), chart_id="chart-week")
    siak_median, siak_count = perf.siak_wait_median(_kecamatan(), today)
    return render_template("backoffice/penyelia/performance.html", stats=stats, chart=chart, today=today,
                           week_from=perf.week_start(today),
                           window_days=perf.MEDIAN_WINDOW_DAYS,
                           siak_median=perf.format_duration(siak_median), siak_count=siak_count)


@bp.get("/penyelia/kinerja.csv")
@staff_required("penyelia")
def performance_csv():
    today = sla.today_local()
    code = _kecamatan()
    body = perf.performance_csv(perf.operator_stats(code, today))
    filename = f"kinerja-{code}-{today.isoformat()}.csv"
    return body, 200, {"Content-Type": "text/csv; charset=utf-8",
                       "Content-Disposition": f'attachment; filename="{filename}"'}


@bp.get("/penyelia/pelanggaran-sla")
@staff_required("penyelia")
def breaches():
    today = sla.today_local()
    return render_template("backoffice/penyelia/breaches.html",
                           rows=perf.breach_rows(_kecamatan(), today), today=today)


@bp.get("/permohonan/<tracking_no>/akses")
@login_required
def access_log(tracking_no):
    """Only the penyelia of the request's kecamatan and the admin; everybody else gets 404."""
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
    if req is None or not audit.may_read_log(current_user, req):
        abort(404)
    if current_user.role == "penyelia" and not scope.can_view(current_user, req):
        abort(404)  # e.g. a draft: not the kecamatan's business yet
    return render_template("backoffice/penyelia/access_log.html", req=req,
                           entries=perf.access_log_entries(req))

