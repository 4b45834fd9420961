"""Admin: RWs/RTs per kelurahan, Satgas Pamor assignment, and the Halo Pamor FAQ. Rules live in
eopen/services/satgas.py and eopen/services/halo.py."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..backoffice.common import staff_required
from ..extensions import db
from ..models import RT, RW, FaqEntry, Region, User
from ..services import halo
from ..services import satgas as rules
from ..services.satgas import SatgasError
from . import bp
from .forms import AssignForm, AvailabilityForm, ConfirmForm, FaqActiveForm, FaqForm, RTForm, RWForm

def _kelurahan_region(code: str) -> Region:
    region = db.session.get(Region, code)
    if region is None or region.level != "kelurahan" or not code.startswith("32.75."):
        abort(404)
    return region


def _rw(rw_id: int) -> RW:
    rw = db.session.get(RW, rw_id)
    if rw is None:
        abort(404)
    return rw


def _back(rw: RW, anchor: str | None = None):
    return redirect(url_for("admin.kelurahan", code=rw.kelurahan_code,
                            _anchor=anchor or f"rw-{rw.id}"), code=303)


def _kind_label(kind: str) -> str:
    return _("utama") if kind == "primary" else _("cadangan")


def _add_error(form_field, message: str) -> None:
    form_field.errors = [*form_field.errors, message]


@bp.get("/")
@staff_required("admin")
def home():
    return render_template("admin/home.html", groups=rules.kelurahan_summary())


def _render_kelurahan(region: Region, *, rw_form=None, rt_forms=None, assign_forms=None, page_errors=None,
                      status=200):
    rows = rules.kelurahan_rws(region.code)
    rt_forms = dict(rt_forms or {})
    assign_forms = dict(assign_forms or {})
    for row in rows:
        rt_forms.setdefault(row.rw.id, RTForm(formdata=None, prefix=f"rt{row.rw.id}"))
        for kind in rules.KINDS:
            assign_forms.setdefault((row.rw.id, kind), AssignForm(formdata=None, prefix=f"{kind}{row.rw.id}"))
    rw_form = rw_form or RWForm(formdata=None, prefix="rw")
    errors = list(page_errors or [])
    for f in [rw_form, *rt_forms.values(), *assign_forms.values()]:
        for fld in f:
            if fld.errors:
                errors.append((fld.id, fld.errors[0]))
    names = rules.users_by_id({e.from_satgas_id for r in rows for e in r.log}
                              | {e.to_satgas_id for r in rows for e in r.log}
                              | {e.by_id for r in rows for e in r.log})
    kecamatan = db.session.get(Region, region.parent_code) if region.parent_code else None
    return render_template("admin/kelurahan.html", region=region, kecamatan=kecamatan, rows=rows,
                           rw_form=rw_form, rt_forms=rt_forms, assign_forms=assign_forms,
                           satgas_choices=rules.active_satgas(), names=names, page_errors=errors,
                           kind_label=_kind_label, confirm=ConfirmForm(formdata=None)), status


@bp.get("/kelurahan/<code>")
@staff_required("admin")
def kelurahan(code):
    return _render_kelurahan(_kelurahan_region(code))


@bp.post("/kelurahan/<code>/rw")
@staff_required("admin")
def add_rw(code):
    region = _kelurahan_region(code)
    form = RWForm(prefix="rw")
    if form.validate_on_submit():
        try:
            rw = rules.add_rw(region.code, form.number.data)
        except SatgasError as error:
            db.session.rollback()
            _add_error(form.number, str(error))
        else:
            db.session.commit()
            flash(_("RW %(rw)s ditambahkan.", rw=rw.label), "success")
            return _back(rw)
    return _render_kelurahan(region, rw_form=form, status=422)


@bp.post("/rw/<int:rw_id>/rt")
@staff_required("admin")
def add_rt(rw_id):
    rw = _rw(rw_id)
    form = RTForm(prefix=f"rt{rw.id}")
    if form.validate_on_submit():
        try:
            rt = rules.add_rt(rw, form.number.data)
        except SatgasError as error:
            db.session.rollback()
            _add_error(form.number, str(error))
        else:
            db.session.commit()
            flash(_("RT %(rt)s ditambahkan ke RW %(rw)s.", rt=rt.label, rw=rw.label), "success")
            return _back(rw)
    return _render_kelurahan(_kelurahan_region(rw.kelurahan_code), rt_forms={rw.id: form}, status=422)


def _refused(anchor: str, message: str, region: Region):
    db.session.rollback()
    return _render_kelurahan(region, page_errors=[(anchor, message)], status=409)


def _expired(region, rw):
    """The CSRF token of a form on the kelurahan page failed: the page again, with the message at the RW."""
    message = _("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi.")
    return _render_kelurahan(region, page_errors=[(f"rw-{rw.id}", message)], status=422)


@bp.post("/rw/<int:rw_id>/hapus")
@staff_required("admin")
def remove_rw(rw_id):
    rw = _rw(rw_id)
    region = _kelurahan_region(rw.kelurahan_code)
    if not ConfirmForm().validate_on_submit():
        return _expired(region, rw)
    label = rw.label
    try:
        rules.remove_rw(rw)
    except SatgasError as error:
        return _refused(f"rw-{rw_id}", str(error), region)
    db.session.commit()
    flash(_("RW %(rw)s dihapus.", rw=label), "success")
    return redirect(url_for("admin.kelurahan", code=region.code), code=303)


@bp.post("/rt/<int:rt_id>/hapus")
@staff_required("admin")
def remove_rt(rt_id):
    rt = db.session.get(RT, rt_id)
    if rt is None:
        abort(404)
    rw = rt.rw
    region = _kelurahan_region(rw.kelurahan_code)
    if not ConfirmForm().validate_on_submit():
        return _expired(region, rw)
    label = rt.label
    try:
        rules.remove_rt(rt)
    except SatgasError as error:
        return _refused(f"rw-{rw.id}", str(error), region)
    db.session.commit()
    flash(_("RT %(rt)s dari RW %(rw)s dihapus.", rt=label, rw=rw.label), "success")
    return _back(rw)


@bp.post("/rw/<int:rw_id>/satgas/<kind>")
@staff_required("admin")
def assign(rw_id, kind):
    if kind not in rules.KINDS:
        abort(404)
    rw = _rw(rw_id)
    form = AssignForm(prefix=f"{kind}{rw.id}")
    if form.validate_on_submit():
        satgas = db.session.get(User, form.satgas_id.data) if form.satgas_id.data else None
        try:
            log = rules.assign(rw, satgas, kind, current_user)
        except SatgasError as error:
            db.session.rollback()
            _add_error(form.satgas_id, str(error))
        else:
            db.session.commit()
            if log is None:
                flash(_("%(name)s sudah menjadi satgas %(kind)s RW %(rw)s.", name=satgas.display_name,
                        kind=_kind_label(kind), rw=rw.label), "success")
            else:
                flash(_("%(name)s kini menjadi satgas %(kind)s RW %(rw)s.", name=satgas.display_name,
                        kind=_kind_label(kind), rw=rw.label), "success")
            return _back(rw)
    return _render_kelurahan(_kelurahan_region(rw.kelurahan_code), assign_forms={(rw.id, kind): form},
                             status=422)


@bp.post("/rw/<int:rw_id>/cadangan/lepas")
@staff_required("admin")
def unassign_backup(rw_id):
    rw = _rw(rw_id)
    region = _kelurahan_region(rw.kelurahan_code)
    if not ConfirmForm().validate_on_submit():
        return _expired(region, rw)
    log = rules.unassign(rw, "backup", current_user)
    db.session.commit()
    if log is None:
        flash(_("RW %(rw)s tidak punya satgas cadangan.", rw=rw.label), "success")
    else:
        flash(_("Satgas cadangan RW %(rw)s dilepas.", rw=rw.label), "success")
    return _back(rw)


def _render_satgas(page_errors=None, status=200):
    unassigned = rules.rws_without_primary()
    waiting = rules.waiting_jobs()
    return render_template("admin/satgas.html", rows=rules.satgas_overview(), unassigned=unassigned,
                           unassigned_total=sum(len(rws) for _region, rws in unassigned),
                           waiting=waiting, waiting_total=sum(n for _region, items in waiting for _rw, n in items),
                           page_errors=page_errors or [],
                           form=None), status


@bp.get("/satgas")
@staff_required("admin")
def satgas():
    return _render_satgas()


@bp.post("/satgas/<int:user_id>/ketersediaan")
@staff_required("admin")
def satgas_availability(user_id):
    user = db.session.get(User, user_id)
    if user is None or user.role != "satgas":
        abort(404)
    form = AvailabilityForm()
    if not form.validate_on_submit():
        message = next((f.errors[0] for f in form if f.errors), _("Isian ini belum benar. Periksa kembali."))
        return _render_satgas(page_errors=[(f"satgas-{user.id}", message)], status=422)
    available = form.available.data == "1"
    rules.set_available(user, available, by=current_user)
    db.session.commit()
    if available:
        flash(_("%(name)s ditandai tersedia.", name=user.display_name), "success")
    else:
        flash(_("%(name)s ditandai tidak tersedia: tugas baru dan tugas yang belum berangkat di RW utamanya "
                "dialihkan ke satgas cadangan yang tersedia.", name=user.display_name), "success")
    return redirect(url_for("admin.satgas", _anchor=f"satgas-{user.id}"), code=303)


# --- Halo Pamor FAQ: the answers suggested to residents before they post (rules in services/halo.py) ---

def _faq_entry(entry_id: int) -> FaqEntry:
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.get("/faq")
@staff_required("admin")
def faq_list():
    return render_template("admin/faq.html", entries=halo.faq_entries(), categories=halo.CATEGORY_LABELS,
                           toggle=FaqActiveForm(formdata=None))


def _faq_save(entry: FaqEntry | None):
    form = FaqForm(obj=entry) if entry is not None and not FaqForm().is_submitted() else FaqForm()
    if form.is_submitted():
        if form.validate():
            try:
                saved = halo.save_faq(entry, category=form.category.data, question=form.question.data,
                                      answer=form.answer.data, keywords=form.keywords.data,
                                      position=form.position.data or 0, by=current_user)
            except halo.HaloError as error:
                db.session.rollback()
                _add_error(getattr(form, error.field or "question"), str(error))
            else:
                db.session.commit()
                flash(_("FAQ disimpan: %(question)s", question=saved.question), "success")
                return redirect(url_for("admin.faq_list", _anchor=f"faq-{saved.id}"), code=303)
        return render_template("admin/faq_form.html", form=form, entry=entry), 422
    return render_template("admin/faq_form.html", form=form, entry=entry)


@bp.route("/faq/baru", methods=["GET", "POST"])
@staff_required("admin")
def faq_new():
    return _faq_save(None)


@bp.route("/faq/<int:entry_id>", methods=["GET", "POST"])
@staff_required("admin")
def faq_edit(entry_id):
    return _faq_save(_faq_entry(entry_id))


@bp.post("/faq/<int:entry_id>/aktif")
@staff_required("admin")
def faq_active(entry_id):
    entry = _faq_entry(entry_id)
    form = FaqActiveForm()
    if not form.validate_on_submit():
        message = next((f.errors[0] for f in form if f.errors), _("Isian ini belum benar. Periksa kembali."))
        return render_template("admin/faq.html", entries=halo.faq_entries(), categories=halo.CATEGORY_LABELS,
                               toggle=FaqActiveForm(formdata=None), page_errors=[(f"faq-{entry.id}", message)]), 422
    halo.set_faq_active(entry, form.active.data == "1")
    db.session.commit()
    if entry.active:
        flash(_("FAQ diaktifkan lagi: %(question)s", question=entry.question), "success")
    else:
        flash(_("FAQ dinonaktifkan dan tidak disarankan lagi: %(question)s", question=entry.question), "success")
    return redirect(url_for("admin.faq_list", _anchor=f"faq-{entry.id}"), code=303)
