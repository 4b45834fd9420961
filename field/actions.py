"""Field actions sent from a satgas' phone, each accepted once (the server side of the offline queue).

Every field form carries ``action_id`` (a random id rendered with the form) and ``happened_at`` (the
phone's clock when the satgas pressed the button; filled in by field-queue.js, empty without JS).

- An ACCEPTED action id is answered again with the first answer and does nothing twice: a double tap,
  a retry after a lost answer, or the queue sending again after a dropped connection.
- A REFUSED action is stored too (what was sent and why it was refused), so nothing done on the phone
  is lost; sending the same id again is judged again (the satgas may have corrected a code).
- ``happened_at`` older than ``MAX_AGE`` is refused as stale; a time ahead of the server (a phone clock
  running fast) counts as now.

The route commits after ``run_once`` in every case.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from eopen.extensions import db
from eopen.models import FieldAction, FieldJob, User, utcnow
from eopen.services import custody
from eopen.services.lifecycle import TransitionError

from .services import FieldError

MAX_AGE = timedelta(days=3)
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
REFUSALS = (FieldError, custody.CustodyError, TransitionError)


def new_action_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass
class Outcome:
    accepted: bool
    message: str
    field: str | None = None
    replay: bool = False
    stale: bool = False


def happened_at(text: str | None, now: datetime) -> datetime:
    """The phone's time as naive UTC (like every stored time); empty → now; ahead of now → now."""
    text = (text or "").strip()
    if not text:
        return now
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    if moment > now:
        return now
    if now - moment > MAX_AGE:
        raise FieldError(_("Tindakan ini dicatat di ponsel lebih dari %(num)s hari yang lalu dan tidak dapat "
                           "diterima lagi. Ulangi bersama warga atau hubungi kantor kecamatan.",
                           num=MAX_AGE.days))
    return moment


def _prior(user: User, action_id: str) -> FieldAction | None:
    return db.session.scalar(select(FieldAction).where(FieldAction.user_id == user.id,
                                                       FieldAction.client_action_id == action_id))


def _payload(form) -> dict:
    """What was sent, for the record of refused actions (never the CSRF token; files by name only)."""
    data = {k: v for k, v in form.items() if k not in ("csrf_token",)}
    for name, file in request.files.items():
        if file and file.filename:
            data[name] = f"(file: {file.filename[:80]})"
    return data


def run_once(user: User, action: str, job: FieldJob | None, perform: Callable[[datetime], str]) -> Outcome:
    """Runs ``perform(happened_at)`` (which returns the success message) once per action id.

    On SQLite two simultaneous twins can deadlock (both read, then both want to write): the loser gets
    "database is locked" at once. It rolls back (letting the twin commit) and tries again, which then
    finds the twin's accepted action and answers as it did.
    """
    for attempt in range(4):
        try:
            return _run_once(user, action, job, perform)
        except OperationalError:
            if attempt == 3 or db.engine.dialect.name != "sqlite":
                raise
            db.session.rollback()
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _run_once(user: User, action: str, job: FieldJob | None, perform: Callable[[datetime], str]) -> Outcome:
    form = request.form
    action_id = (form.get("action_id") or "").strip()
    action_id = action_id if _ID.match(action_id) else None
    now = utcnow()
    if action_id:
        prior = _prior(user, action_id)
        if prior is not None and prior.outcome == "accepted":
            return Outcome(True, prior.message or "", replay=True)
    at = now
    try:
        at = happened_at(form.get("happened_at"), now)
        with db.session.begin_nested():
            message = perform(at)
            if action_id:
                prior = _prior(user, action_id)
                if prior is not None:  # refused before, accepted now
                    prior.outcome, prior.message, prior.received_at, prior.happened_at = "accepted", message, now, at
                else:
                    db.session.add(FieldAction(user_id=user.id, client_action_id=action_id, action=action,
                                               job_id=job.id if job else None, happened_at=at, received_at=now,
                                               outcome="accepted", message=message, payload={}))
                db.session.flush()
        return Outcome(True, message)
    except IntegrityError:
        # The same id arrived twice at the same moment and the other one won: answer as it did.
        prior = _prior(user, action_id) if action_id else None
        if prior is None:
            raise
        return Outcome(prior.outcome == "accepted", prior.message or "", replay=True)
    except REFUSALS as error:
        twin = _prior(user, action_id) if action_id else None
        if twin is not None and twin.outcome == "accepted":  # the twin of a double tap was committed meanwhile
            return Outcome(True, twin.message or "", replay=True)
        custody.apply_penalty(error, now)
        message = str(error)
        field = getattr(error, "field", None)
        # An input the satgas can correct (a code, a date) is 422; the state of things refusing it is 409.
        stale = field is None or getattr(error, "reason", None) in ("stale", "conflict", "moved")
        if action_id:
            _record_refusal(user, action_id, action, job, at, now, message)
        return Outcome(False, message, field=field, stale=stale)


def _record_refusal(user, action_id, action, job, at, now, message) -> None:
    try:
        with db.session.begin_nested():
            prior = _prior(user, action_id)
            if prior is None:
                db.session.add(FieldAction(user_id=user.id, client_action_id=action_id, action=action,
                                           job_id=job.id if job else None, happened_at=at, received_at=now,
                                           outcome="rejected", message=message, payload=_payload(request.form)))
            elif prior.outcome == "rejected":
                prior.message, prior.received_at, prior.payload = message, now, _payload(request.form)
            db.session.flush()
    except IntegrityError:
        pass  # recorded by the twin request


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > \
        request.accept_mimetypes["text/html"]


def json_answer(outcome: Outcome, location: str):
    if outcome.accepted:
        return jsonify(ok=True, message=outcome.message, location=location, replay=outcome.replay), 200
    return jsonify(ok=False, message=outcome.message, field=outcome.field), 409 if outcome.stale else 422


def moved_refusal(job: FieldJob) -> FieldError:
    error = FieldError(_("Tugas ini sudah dialihkan ke Satgas Pamor lain, jadi tindakan ini tidak diterima. "
                         "Hubungi kantor kecamatan bila barang warga ada pada Anda."))
    error.reason = "moved"
    return error
