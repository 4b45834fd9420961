"""The field mode's service worker, served from inside /lapangan/ so that its scope is the field mode
only (a worker's scope may not reach above the folder of its script URL without an extra header).

The worker's code is the static file eopen/static/js/field-sw.js; field-queue.js registers it. It is
not secret and holds no personal data, so it is served to anybody. ``no-cache`` makes the browser ask
again (cheaply, with the ETag) whenever it checks for an update of the worker.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, send_from_directory

from . import bp


@bp.get("/sw.js")
def service_worker():
    response = send_from_directory(Path(current_app.static_folder) / "js", "field-sw.js",
                                   mimetype="application/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
