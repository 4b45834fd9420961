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


# WTForms ships no Indonesian messages: its built-in ones are mapped to ours (translated by Babel like
# every other string). Anything not listed falls back to a plain "please check" message.
WTFORMS_MESSAGES = {
    "Not a valid choice.": _l("Pilihan tidak dikenali. Pilih salah satu yang tersedia."),
    "Invalid Choice: could not coerce.": _l("Pilihan tidak dikenali. Pilih salah satu yang tersedia."),
    "Choices cannot be None.": _l("Pilihan tidak dikenali. Pilih salah satu yang tersedia."),
    "Not a valid integer value.": _l("Isi dengan angka saja, misalnya 3."),
    "Not a valid decimal value.": _l("Isi dengan angka saja, misalnya 3,2."),
    "Not a valid float value.": _l("Isi dengan angka saja, misalnya 3,2."),
    "Not a valid date value.": _l("Tanggal tidak dikenali. Tulis seperti 17-08-2024 (tanggal-bulan-tahun)."),
    "Not a valid datetime value.": _l("Tanggal tidak dikenali. Tulis seperti 17-08-2024 (tanggal-bulan-tahun)."),
    "Not a valid time value.": _l("Jam tidak dikenali. Tulis seperti 08:30."),
    "This field is required.": _l("Bagian ini wajib diisi."),
    "Invalid email address.": _l("Alamat email belum benar, misalnya nama@contoh.id."),
    "CSRF token missing.": _l("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."),
    "Invalid CSRF Token.": _l("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."),
    "CSRF token expired.": _l("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."),
    "CSRF failed.": _l("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."),
}
FALLBACK_MESSAGE = _l("Isian ini belum benar. Periksa kembali.")


class _Messages:
    """A WTForms translations object answering in the user's language."""

    def gettext(self, string):
        return str(WTFORMS_MESSAGES.get(string, FALLBACK_MESSAGE))

    def ngettext(self, singular, plural, n):
        return self.gettext(singular)


class Form(FlaskForm):
    """Base of every form: WTForms' own messages come out in Indonesian (or English)."""

    class Meta:
        def get_translations(self, form):
            return _Messages()


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


class PersonFields(Form):
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
