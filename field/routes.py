from flask import abort, render_template
from flask_login import current_user, login_required

from . import bp


@bp.get("/")
@login_required
def home():
    # The field mode's job lists arrive with the Satgas Pamor issue; until then the page says so.
    if current_user.role not in ("satgas", "admin"):
        abort(404)
    return render_template("field/home.html")
