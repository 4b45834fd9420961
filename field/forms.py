from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import Length

from eopen.forms import Form, LocalDateField, options, required

from .services import FAIL_REASONS


class NotDoneForm(Form):
    reason = RadioField(_l("Alasan"), choices=options(FAIL_REASONS.items()),
                        validators=[required(_l("Pilih alasan tugas tidak dapat diselesaikan."))])
    detail = TextAreaField(_l("Keterangan"), validators=[Length(max=500)])
    new_date = LocalDateField(_l("Tanggal kunjungan baru"),
                              validators=[required(_l("Isi tanggal kunjungan baru, misalnya 17-08-2024."))])


class AssistNikForm(Form):
    """Bantu warga mengajukan: whose request the satgas fills in (a resident of their RWs)."""
    nik = StringField(_l("NIK warga"), validators=[required(_l("Isi NIK warga, 16 angka.")), Length(max=40)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 24})


class AssistServiceForm(Form):
    service = RadioField(_l("Layanan apa yang diperlukan warga?"),
                         validators=[required(_l("Pilih salah satu layanan."))])
    client_token = HiddenField()
