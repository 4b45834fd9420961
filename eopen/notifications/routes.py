"""The bell's pages. Every user sees only their own notifications (anyone else's: 404)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..forms import Form
from ..services import notify
from . import bp
from .forms import PreferencesForm


@bp.app_context_processor
def bell():
    """``unread_notifications()`` for _bell.html: one COUNT, run only when the bell is drawn."""
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return notify.unread_count(current_user)
        except SQLAlchemyError:  # e.g. an error page after the database failed: the page still renders
            current_app.logger.warning("bell: unread count unavailable", exc_info=True)
            return 0
    return {"unread_notifications": unread_notifications}


@bp.get("/notifikasi")
@login_required
def index():
    page = notify.listing(current_user, request.args.get("halaman", 1, type=int))
    items = [(n, notify.render(n)) for n in page.items]
    return render_template("notifications/index.html", page=page, items=items,
                           unread=notify.unread_count(current_user), form=Form())


@bp.post("/notifikasi/baca")
@login_required
def mark_all_read():
    changed = notify.mark_read(current_user)
    db.session.commit()
    if changed:
        flash(_("Semua pemberitahuan ditandai sudah dibaca."), "success")
    return redirect(url_for("notifications.index"), code=303)


@bp.get("/n/<int:notification_id>", endpoint="open")
@login_required
def open_notification(notification_id):
    """Opens a notification: marks it read and goes to what it is about.

    A GET that changes something, on purpose: this is the link in SMS and e-mail, and following it is
    reading the notification. It only ever sets ``read_at`` of the user's own notification once
    (repeating it changes nothing), so prefetching or reloading does no harm.
    """
    notification = notify.own(current_user, notification_id)
    if notification is None:
        abort(404)
    target = notify.target_url(notification, current_user)
    notify.mark_read(current_user, notification_id)
    db.session.commit()
    return redirect(target, code=303)


@bp.route("/akun/notifikasi", methods=["GET", "POST"])
@login_required
def preferences():
    form = PreferencesForm(data=notify.preferences(current_user) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            notify.set_preferences(current_user, {name: getattr(form, name).data for name in ("email", "sms",
                                                                                             "whatsapp")})
        except notify.PreferenceError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Pilihan pemberitahuan disimpan."), "success")
            return redirect(url_for("notifications.preferences"), code=303)
    return render_template("notifications/preferences.html", form=form,
                           email=current_user.email, phone=current_user.phone), 422 if form.errors else 200
