"""Forms of the admin pages. Several forms share one page: each gets a prefix so its ids are unique."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.validators import AnyOf, InputRequired, NumberRange

from ..forms import Form


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
