"""Forms of the admin pages. Several forms share one page: each gets a prefix so its ids are unique."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from ..forms import Form, options
from ..services import halo


def _optional_int(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RWForm(Form):
    number = IntegerField(_l("Nomor RW baru"), validators=[
        InputRequired(message=_l("Isi nomor RW, misalnya 4.")),
        NumberRange(min=1, max=999, message=_l("Nomor RW harus angka 1 sampai 999."))],
        render_kw={"inputmode": "numeric"})


class RTForm(Form):
    number = IntegerField(_l("Nomor RT baru"), validators=[
        InputRequired(message=_l("Isi nomor RT, misalnya 4.")),
        NumberRange(min=1, max=999, message=_l("Nomor RT harus angka 1 sampai 999."))],
        render_kw={"inputmode": "numeric"})


class AssignForm(Form):
    # The service decides who may be assigned (an active satgas, one kelurahan, primary ≠ backup);
    # the list on the page is only what is offered.
    satgas_id = SelectField(_l("Satgas Pamor"), coerce=_optional_int, validate_choice=False,
                            validators=[InputRequired(message=_l("Pilih Satgas Pamor."))])


class AvailabilityForm(Form):
    available = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Pilihan tidak dikenali."))])


class ConfirmForm(Form):
    """Only the CSRF token: remove an RT/RW, unassign a backup."""


# --- Halo Pamor FAQ (rules in eopen/services/halo.py) ---------------------------------------------

class FaqForm(Form):
    category = SelectField(_l("Kategori"), choices=options([("", _l("Pilih kategori")), *halo.CATEGORY_LABELS.items()]),
                           validators=[InputRequired(message=_l("Pilih kategori."))])
    question = StringField(_l("Pertanyaan"), validators=[
        InputRequired(message=_l("Tulis pertanyaannya.")),
        Length(max=300, message=_l("Pertanyaan paling banyak %(max)d karakter."))], render_kw={"maxlength": 300})
    answer = TextAreaField(_l("Jawaban"), validators=[InputRequired(message=_l("Tulis jawabannya."))],
                           render_kw={"rows": 8})
    keywords = StringField(_l("Kata kunci"), validators=[
        Optional(), Length(max=300, message=_l("Kata kunci paling banyak %(max)d karakter."))],
        render_kw={"maxlength": 300})
    position = IntegerField(_l("Urutan"), validators=[
        Optional(), NumberRange(min=0, max=999, message=_l("Urutan harus angka 0 sampai 999."))],
        render_kw={"inputmode": "numeric"})


class FaqActiveForm(Form):
    active = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Pilihan tidak dikenali."))])
