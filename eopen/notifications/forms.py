from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import Form


class PreferencesForm(Form):
    email = BooleanField(_l("Email"))
    sms = BooleanField(_l("SMS"))
    whatsapp = BooleanField(_l("WhatsApp"))
