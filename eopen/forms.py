"""Form pieces shared by several blueprints."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from .models import RELATIONS



def options(pairs, optgroup=None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


SEX_CHOICES = options([("L", _l("Laki-laki")), ("P", _l("Perempuan"))])
RELATION_LABELS = {
    "kepala_keluarga": _l("Kepala keluarga"), "suami": _l("Suami"), "istri": _l("Istri"), "anak": _l("Anak"),
    "menantu": _l("Menantu"), "cucu": _l("Cucu"), "orang_tua": _l("Orang tua"), "mertua": _l("Mertua"),
    "famili_lain": _l("Famili lain"), "lainnya": _l("Lainnya"),
}
RELATION_CHOICES = options((r, RELATION_LABELS[r]) for r in RELATIONS)


def required(message):
    return InputRequired(message=message)


class LocalDateField(DateField):
    """A date from <input type=date> (YYYY-MM-DD) or typed by hand as DD-MM-YYYY / DD/MM/YYYY."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"], **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None  # emptiness is for InputRequired/Optional to judge
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Tanggal tidak dikenali. Tulis seperti 17-08-2024 (tanggal-bulan-tahun)."))


class PersonFields(FlaskForm):
    """Name, NIK (optional), birth date and sex of a person: used for KK members and institutions' subjects."""
    full_name = StringField(_l("Nama lengkap"), validators=[
        required(_l("Isi nama lengkap seperti tertulis di akta atau KK.")), Length(max=120)])
    nik = StringField(_l("NIK"), validators=[Optional()],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 24})
    birth_date = LocalDateField(_l("Tanggal lahir"), validators=[
        required(_l("Isi tanggal lahir, misalnya 17-08-2024."))])
    sex = RadioField(_l("Jenis kelamin"), choices=SEX_CHOICES,
                     validators=[required(_l("Pilih jenis kelamin."))])


class MemberForm(PersonFields):
    relation = SelectField(_l("Hubungan dalam keluarga"), choices=RELATION_CHOICES,
                           validators=[required(_l("Pilih hubungan dalam keluarga."))])
