"""Public verification of issued documents: the page the QR code opens, and a form to type it in.

No log-in. The page shows only whether the document is authentic and in force, its type, number and
issue date, and the holder's name masked; never the NIK, address or anything else. Nothing about
the holder is logged.
"""
from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..forms import Form
from ..services import issuing
from . import bp

HEADINGS = {issuing.VALID: _l("Asli dan berlaku"), issuing.REVOKED: _l("Dicabut"), issuing.INVALID: _l("Tidak asli")}


class LookupForm(Form):
    nomor = StringField(_l("Nomor dokumen"), validators=[
        InputRequired(_l("Tulis nomor dokumen, misalnya 3275-LU-28112026-0001.")), Length(max=60)])
    kode = TextAreaField(_l("Kode verifikasi"), validators=[
        InputRequired(_l("Tulis kode verifikasi yang tercetak di bawah kode QR.")), Length(max=300)])


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the code in the URL stays on this page
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/")
def lookup():
    submitted = bool(request.args)
    form = LookupForm(formdata=request.args if submitted else None, meta={"csrf": False})
    if submitted and form.validate():
        return _private(redirect(url_for(".document", number=issuing.normalise_number(form.nomor.data),
                                         s=issuing.normalise_signature(form.kode.data)), code=303))
    status = 422 if form.errors else 200
    return _private(make_response(render_template("verify/lookup.html", form=form), status))


@bp.get("/<number>")
def document(number):
    verdict = issuing.check(number, request.args.get("s"))
    return _private(make_response(render_template(
        "verify/result.html", verdict=verdict, heading=HEADINGS[verdict.status], doc_type_label=issuing.DOC_TYPE_LABELS.get(verdict.doc_type or ""))))
