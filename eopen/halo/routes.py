"""Halo Pamor for residents: their threads, a new question or complaint (with FAQ suggestions first),
a thread with its replies, closing and rating.

New thread, GOV.UK-style: step 1 is the form. As the resident types the subject or the message, htmx
asks /halo/baru/saran for the "faq-suggestions" block of the same template. Submitting shows the
interstitial "Mungkin ini jawabannya" when FAQ entries match that the resident has not seen yet
(without JavaScript: always when any match), with "Pertanyaan saya terjawab" (nothing is posted) and
"Tetap kirim"; when nothing matches, the thread is posted at once.
"""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import htmx
from ..extensions import db
from ..forms import options
from ..models import HaloThread
from ..resident.routes import role_required
from ..services import halo
from ..services.labels import service_label
from . import bp
from .forms import CloseForm, ReplyForm, ThreadForm


# What the interstitial carries on to "Tetap kirim" in hidden inputs.
CARRIED = ("kind", "category", "request_id", "subject", "body", "client_token")


def own_thread(thread_id: int) -> HaloThread:
    thread = halo.thread_for(current_user, thread_id)
    if thread is None or thread.resident_id != current_user.id:
        abort(404)
    return thread


def _request_choices(form: ThreadForm) -> None:
    form.request_id.choices = options(
        [("", _("Tidak terkait permohonan tertentu"))]
        + [(str(r.id), f"{service_label(r)} · {r.tracking_no}") for r in halo.linkable_requests(current_user)])


def _seen_ids(raw: str | None) -> set[int]:
    return {int(part) for part in (raw or "").split(",") if part.strip().isdigit()}


def _text(form: ThreadForm) -> str:
    return f"{form.subject.data or ''} {form.body.data or ''}"


@bp.get("/")
@login_required
def index():
    if halo.is_staff(current_user):
        return redirect(url_for("halo.staff_list"))
    if current_user.role != "resident":
        abort(404)
    return render_template("halo/index.html", threads=halo.resident_threads(current_user),
                           status_words=halo.status_words, kinds=halo.KIND_LABELS,
                           categories=halo.CATEGORY_LABELS)


def _render_new(form: ThreadForm, status: int = 200, suggestions=None):
    return htmx.render("halo/new.html", blocks={"faq-suggestions": "suggestions"}, form=form,
                       suggestions=suggestions, has_household=current_user.household is not None,
                       kind_hints=halo.KIND_HINTS), status


@bp.route("/baru", methods=["GET", "POST"])
@role_required("resident")
def new():
    form = ThreadForm()
    _request_choices(form)
    if request.method == "GET":
        form.client_token.data = secrets.token_urlsafe(24)
        return _render_new(form)
    action = request.form.get("action")
    if action == "answered":  # "Pertanyaan saya terjawab": nothing is posted
        flash(_("Senang pertanyaan Anda terjawab. Tidak ada pesan yang dikirim."), "success")
        return redirect(url_for("halo.index"), code=303)
    if not form.validate():
        return _render_new(form, 422)
    if action == "edit":  # back from the interstitial to change the message
        return _render_new(form)
    if action != "send":
        suggestions = halo.suggest(_text(form), form.category.data)
        if {entry.id for entry in suggestions} - _seen_ids(request.form.get("seen")):
            carried = {name: getattr(form, name).data or "" for name in CARRIED}
            return render_template("halo/suggest.html", form=form, suggestions=suggestions, carried=carried)
    try:
        thread = halo.open_thread(current_user, kind=form.kind.data, category=form.category.data,
                                  subject=form.subject.data, body=form.body.data, request_id=form.request_id.data,
                                  client_token=form.client_token.data)
    except halo.HaloError as error:
        db.session.rollback()
        if error.field is None:
            flash(str(error), "warning")
            return redirect(url_for("halo.index"), code=303)
        getattr(form, error.field).errors = [str(error)]
        return _render_new(form, 422)
    db.session.commit()
    flash(_("Pesan Anda terkirim. Satgas Pamor RW Anda dan petugas kecamatan akan menjawab di sini."), "success")
    return redirect(url_for("halo.thread", thread_id=thread.id), code=303)


@bp.get("/baru/saran")
@role_required("resident")
def suggestions():
    """FAQ entries matching what is typed so far: the "faq-suggestions" block for htmx, else the whole
    page with the inputs kept."""
    form = ThreadForm(formdata=request.args)
    _request_choices(form)
    if not form.client_token.data:
        form.client_token.data = secrets.token_urlsafe(24)
    return _render_new(form, suggestions=halo.suggest(_text(form), request.args.get("category")))


def _render_thread(thread: HaloThread, *, reply_form=None, close_form=None, error_form=None, status=200):
    req = halo.linked_request_for(current_user, thread)
    if reply_form is None:
        reply_form = ReplyForm(formdata=None)
        reply_form.client_token.data = secrets.token_urlsafe(24)
    return render_template("halo/thread.html", thread=thread, req=req, reply_form=reply_form,
                           close_form=close_form or CloseForm(formdata=None), form=error_form,
                           status_words=halo.status_words(thread), kinds=halo.KIND_LABELS,
                           categories=halo.CATEGORY_LABELS, ratings=halo.RATING_LABELS,
                           author_role=halo.author_role_words), status


@bp.get("/<int:thread_id>")
@login_required
def thread(thread_id):
    # Notifications link here for everybody: staff who may see the thread go to their page of it.
    if halo.is_staff(current_user):
        if halo.thread_for(current_user, thread_id) is None:
            abort(404)
        return redirect(url_for("halo.staff_thread", thread_id=thread_id))
    if current_user.role != "resident":
        abort(404)
    return _render_thread(own_thread(thread_id))


@bp.post("/<int:thread_id>/balas")
@role_required("resident")
def reply(thread_id):
    thread = own_thread(thread_id)
    form = ReplyForm()
    if form.validate():
        try:
            halo.reply(thread, current_user, form.body.data, client_token=form.client_token.data)
        except halo.HaloError as error:
            db.session.rollback()
            form.body.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Balasan Anda terkirim."), "success")
            return redirect(url_for("halo.thread", thread_id=thread.id, _anchor="pesan-terakhir"), code=303)
    return _render_thread(thread, reply_form=form, error_form=form, status=422)


@bp.post("/<int:thread_id>/tutup")
@role_required("resident")
def close(thread_id):
    thread = own_thread(thread_id)
    was_closed = thread.status == "closed"
    form = CloseForm()
    if form.validate():
        rating = int(form.rating.data) if form.rating.data else None
        if was_closed and rating is None:  # the rating form of a closed thread, sent without a choice
            form.rating.errors = [_("Pilih salah satu nilai, 1 sampai 5.")]
            return _render_thread(thread, close_form=form, error_form=form, status=422)
        try:
            halo.close(thread, current_user, rating)
        except halo.HaloError as error:
            db.session.rollback()
            form.rating.errors = [str(error)]
        else:
            db.session.commit()
            if rating is not None:
                flash(_("Terima kasih atas penilaian Anda."), "success")
            if not was_closed:
                flash(_("Percakapan ditutup."), "success")
            return redirect(url_for("halo.thread", thread_id=thread.id), code=303)
    return _render_thread(thread, close_form=form, error_form=form, status=422)
