"""Halo Pamor: residents ask questions and file complaints; the RW's Satgas Pamor and the kecamatan's
operators and penyelia answer. Resident pages in routes.py, staff pages (/halo/kantor) in staff.py;
the rules live in eopen/services/halo.py."""
from flask import Blueprint

bp = Blueprint("halo", __name__, url_prefix="/halo")

from . import routes, staff  # noqa: E402,F401
