from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import Length

from eopen.forms import Form, LocalDateField, options, required

from .services import FAIL_REASONS


class NotDoneForm(Form):
    reason = RadioField(_l("Alasan"), choices=options(FAIL_REASONS.items()),
                        validators=[required(_l("Pilih alasan tugas tidak dapat diselesaikan."))])
    detail = TextAreaField(_l("Keterangan"), validators=[Length(max=500)])
    new_date = LocalDateField(_l("Tanggal kunjungan baru"),
                              validators=[required(_l("Isi tanggal kunjungan baru, misalnya 17-08-2024."))])
