from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..forms import options
from ..main.routes import safe_next
from .. import htmx
from ..services import accounts, identity, reference
from . import bp
from .forms import LoginForm, SignupForm

login_manager.login_view = "auth.login"

# Where each role starts after logging in (a "next" page, when given, wins).
START_PAGE = {
    "resident": "resident.requests", "institution": "resident.requests",
    "operator": "backoffice.home", "penyelia": "backoffice.home",
    "kasi": "backoffice.home", "kabid": "backoffice.home", "kadis": "backoffice.home",
    "admin": "admin.home", "satgas": "field.home",
}
login_manager.login_message = None


def kelurahan_choices() -> list:
    """Kota Bekasi's kelurahan grouped by kecamatan, after an empty "choose" option."""
    names = reference.kecamatan_names()
    choices = options([("", _("Pilih kelurahan"))])
    for kel in reference.bekasi_kelurahan():
        choices += options([(kel.code, kel.name)], optgroup=_("Kecamatan %(name)s", name=names.get(kel.parent_code, "")))
    return choices


def _kelurahan_field(form: SignupForm) -> None:
    form.kelurahan.choices = kelurahan_choices()


@bp.route("/daftar", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    # GET /daftar?nik=… checks the NIK as it is typed (htmx swaps in only the "nik-check" block; without
    # JavaScript the same URL is a full page with the check shown and the values kept).
    form = SignupForm(formdata=request.args) if request.method == "GET" and request.args.get("nik") else SignupForm()
    _kelurahan_field(form)
    nik_check = None
    if request.method == "GET" and form.nik.data:
        nik_check = identity.check_nik(form.nik.data, birth_date=_date_arg("birth_date"),
                                       sex=request.args.get("sex") if request.args.get("sex") in ("L", "P") else None)
        return htmx.render("auth/signup.html", blocks={"nik-check": "nik_check"}, form=form, nik_check=nik_check)
    if form.validate_on_submit():
        data = accounts.SignupData(
            nik=form.nik.data, no_kk=form.no_kk.data, full_name=form.full_name.data, birth_date=form.birth_date.data,
            sex=form.sex.data, phone=form.phone.data, email=form.email.data, kelurahan_code=form.kelurahan.data,
            rw=form.rw.data, rt=form.rt.data, street=form.street.data, password=form.password.data)
        try:
            user, warnings = accounts.register_resident(data)
        except accounts.AccountError as error:
            db.session.rollback()
            for field, message in error.errors.items():
                getattr(form, field).errors = [message]
        else:
            db.session.commit()
            login_user(user)
            flash(_("Akun Anda sudah dibuat. Selamat datang, %(name)s.", name=user.display_name), "success")
            for warning in warnings:
                flash(warning, "warning")
            return redirect(url_for("resident.household"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/signup.html", form=form), status


def _date_arg(name: str):
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.identifier.data, form.password.data)
        if user is not None:
            login_user(user)
            if user.locale:
                from flask import session
                session["lang"] = user.locale
            default = url_for(START_PAGE.get(user.role, "main.home"))
            return redirect(safe_next(request.args.get("next"), default), code=303)
        failed = True
        form.password.errors = [_("NIK/nomor HP/nama pengguna atau kata sandi salah. Periksa lalu coba lagi.")]
        current_app.logger.info("failed log-in")
    status = 422 if form.errors or failed else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/keluar")
@login_required
def logout():
    logout_user()
    flash(_("Anda sudah keluar."), "success")
    return redirect(url_for("main.home"), code=303)
