"""Forms of the handovers: at the resident's door and at the kecamatan desk.

The templates add ``action_id`` (a random id rendered once per form, so a double tap or a queued resend
is the same action) and ``happened_at`` (the phone's clock, set by field-queue.js; empty without JS) as
plain hidden inputs (field/templates/field/_action.html), read by ``field.actions.run_once``.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import Length, Optional

from eopen.forms import Form, LocalDateField

CODE_ATTRS = {"inputmode": "numeric", "autocomplete": "off", "maxlength": 12}


class _Action(Form):
    pass


class ConfirmFields:
    """The resident's consent: the code they show, or their date of birth and last 4 NIK digits."""
    code = StringField(_l("Kode dari warga"), validators=[Optional()], render_kw=CODE_ATTRS)
    birth_date = LocalDateField(_l("Tanggal lahir warga"), validators=[Optional()])
    nik_last4 = StringField(_l("4 angka terakhir NIK warga"), validators=[Optional(), Length(max=8)],
                            render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 8})
    photo = FileField(_l("Foto bukti serah terima"))


class PickupForm(_Action, ConfirmFields):
    items = SelectMultipleField(_l("Barang yang Anda terima dari warga"), validate_choice=False,
                                option_widget=widgets.CheckboxInput())
    other = StringField(_l("Barang lain"), validators=[Optional(), Length(max=200)])


class DeliveryForm(_Action, ConfirmFields):
    pass


class DeskForm(_Action):
    operator_id = SelectField(_l("Petugas meja yang menunjukkan kode"), validate_choice=False)
    code = StringField(_l("Kode meja dari petugas"), validators=[Optional()], render_kw=CODE_ATTRS)


class DeskInForm(DeskForm):
    items = SelectMultipleField(_l("Barang yang Anda serahkan ke kantor"), validate_choice=False,
                                option_widget=widgets.CheckboxInput())


class DeskOutForm(DeskForm):
    jobs = SelectMultipleField(_l("Kartu atau dokumen yang Anda ambil untuk diantar"), validate_choice=False,
                               option_widget=widgets.CheckboxInput())


class StartForm(_Action):
    """"Berangkat sekarang": nothing to fill in but the action id and the phone's time."""
