"""Notifications: the bell on every page (_bell.html), the list (/notifikasi), opening one (/n/<id>, the short
link in SMS and e-mail) and the channel preferences (/akun/notifikasi). The rules live in
eopen/services/notify.py; sending is the worker's job (eopen/services/outbox.py)."""
from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import routes  # noqa: E402,F401
