"""Probes for the process supervisor and the load balancer: /healthz and /readyz.

/healthz answers "the process is up" without touching anything. /readyz checks what a request needs:
the database answers, the upload folder takes a file, and reports the notification outbox's backlog
(and the SIAK hand-off's, when that table exists). Neither needs a login or shows personal data; both
are cheap and never cached.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime

from flask import Blueprint, current_app, jsonify, make_response
from sqlalchemy import func, select, text

from .extensions import db
from .models.base import utcnow

bp = Blueprint("ops", __name__)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    response = make_response("ok\n", 200)
    response.mimetype = "text/plain"
    return _no_store(response)


@bp.get("/readyz")
def readyz():
    report, ready = readiness()
    return _no_store(make_response(jsonify(report), 200 if ready else 503))


def readiness() -> tuple[dict, bool]:
    """The readiness report and whether the app can serve requests."""
    report: dict = {}
    ready = True
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            report["database"] = "ok"
            report["outbox"] = _backlog(conn, "outbox_message")
            siak = _siak_backlog(conn)
            if siak is not None:
                report["siak"] = siak
    except Exception as error:  # noqa: BLE001 — any failure means "not ready"; the log has the detail
        current_app.logger.warning("readyz: database check failed: %s", error)
        report.setdefault("database", "error")
        if report["database"] == "ok":
            report["outbox"] = "error"
        ready = False
    report["storage"] = _storage()
    if report["storage"] != "ok":
        ready = False
    limit = int(current_app.config.get("READY_OUTBOX_MAX_AGE") or 0)
    outbox = report.get("outbox")
    if limit and isinstance(outbox, dict) and outbox["oldest_seconds"] > limit:
        report["outbox"]["status"] = "backlog"
        ready = False
    return report, ready


def _backlog(conn, table_name: str) -> dict:
    table = db.metadata.tables[table_name]
    count, oldest = conn.execute(
        select(func.count(), func.min(table.c.created_at)).where(table.c.status == "pending")).one()
    return {"pending": int(count), "oldest_seconds": _age(oldest)}


def _siak_backlog(conn) -> dict | None:
    from . import models  # the SIAK hand-off (models.SiakHandoff) is counted only where it exists
    if not hasattr(models, "SiakHandoff") or "siak_handoff" not in db.metadata.tables:
        return None
    try:
        with conn.begin_nested():  # a database not yet migrated must not spoil the rest of the report
            return _backlog(conn, "siak_handoff")
    except Exception as error:  # noqa: BLE001
        current_app.logger.warning("readyz: SIAK hand-off backlog unavailable: %s", error)
        return None


def _age(oldest) -> int:
    if oldest is None:
        return 0
    if isinstance(oldest, str):  # SQLite through a plain select may hand back text
        oldest = datetime.fromisoformat(oldest)
    return max(0, int((utcnow() - oldest.replace(tzinfo=None)).total_seconds()))


def _storage() -> str:
    folder = current_app.config["UPLOAD_FOLDER"]
    try:
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=folder, prefix=".ready-", suffix=".part")
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    except OSError as error:
        current_app.logger.warning("readyz: upload folder not writable: %s", error)
        return "error"
    return "ok"
