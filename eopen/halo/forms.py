"""Forms of the Halo Pamor pages. What is allowed (categories, own requests, rating 1–5) is checked
again by eopen/services/halo.py; the choices here are what the pages offer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..forms import Form, options, required
from ..services import halo


def optional_int(value):
    """"" or None → None; anything else must be a whole number (else WTForms reports a bad choice)."""
    if value in (None, ""):
        return None
    return int(value)


class ThreadForm(Form):
    kind = RadioField(_l("Apa yang ingin Anda sampaikan?"), choices=options(halo.KIND_LABELS.items()),
                      validators=[required(_l("Pilih pertanyaan atau pengaduan."))])
    category = SelectField(_l("Tentang apa?"),
                           choices=options([("", _l("Pilih kategori")), *halo.CATEGORY_LABELS.items()]),
                           validators=[required(_l("Pilih kategori."))])
    # The choices are the resident's own requests (set by the route); the service checks again.
    request_id = SelectField(_l("Permohonan yang terkait"), coerce=optional_int, validate_choice=False,
                             validators=[Optional()])
    subject = StringField(_l("Judul singkat"), validators=[
        required(_l("Tulis judul singkat, misalnya \"KTP-el belum jadi\".")),
        Length(max=halo.SUBJECT_MAX, message=_l("Judul paling banyak %(max)d karakter."))],
        render_kw={"maxlength": halo.SUBJECT_MAX, "autocomplete": "off"})
    body = TextAreaField(_l("Pesan Anda"), validators=[
        required(_l("Tulis pesan Anda.")),
        Length(max=halo.BODY_MAX, message=_l("Pesan paling banyak %(max)d karakter."))],
        render_kw={"rows": 6, "maxlength": halo.BODY_MAX})
    client_token = HiddenField()


class ReplyForm(Form):
    body = TextAreaField(_l("Balasan Anda"), validators=[
        required(_l("Tulis balasan Anda.")),
        Length(max=halo.BODY_MAX, message=_l("Balasan paling banyak %(max)d karakter."))],
        render_kw={"rows": 5, "maxlength": halo.BODY_MAX})
    client_token = HiddenField()


class CloseForm(Form):
    """Close the thread (with an optional rating), or rate a closed one."""
    rating = RadioField(_l("Seberapa puas Anda dengan jawabannya?"),
                        choices=options((str(n), label) for n, label in halo.RATING_LABELS.items()),
                        validators=[Optional()])
