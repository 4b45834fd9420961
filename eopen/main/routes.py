from urllib.parse import urlsplit

from flask import abort, redirect, render_template, request, session
from flask_login import current_user

from ..extensions import db
from ..services.catalogue import get_catalogue
from . import bp


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/")
def home():
    return render_template("main/home.html", services=get_catalogue().services)


@bp.post("/bahasa")
def language():
    lang = request.form.get("lang")
    if lang not in ("id", "en"):
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
        db.session.commit()
    return redirect(safe_next(request.form.get("next")), code=303)
