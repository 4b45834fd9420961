"""The seam to SIAK, the national population information system, and the hand-off outbox.

Approval does not call SIAK: ``hand_off(req)`` writes a ``siak_handoff`` row in the same transaction as
the request's ``send_to_siak`` event. The worker (``deliver_due``, one step of ``outbox.run_round``)
then, for each due row:

1. takes it with a lease (one conditional UPDATE of ``claimed_until`` and a commit), so of two workers
   exactly one sends it;
2. sends it through the adapter with the request's idempotency key, outside any transaction;
3. on a confirmed answer marks the row ``confirmed`` and issues the request (``fulfilment.issue``) in one
   transaction; on any other answer counts the attempt and waits: exponential backoff with jitter
   (``SIAK_BACKOFF_BASE`` seconds doubling, at most ``SIAK_BACKOFF_CAP``), never earlier than SIAK's
   ``Retry-After``. Only a permanent refusal (a 4xx other than 408/409/425/429) makes the row ``dead``,
   after ``SIAK_DEAD_AFTER`` attempts; maintenance (503), timeouts and 5xx are retried for ever.

A worker that dies after SIAK stored the record but before step 3 leaves the row taken until its lease
expires; it is then sent again with the same key and SIAK answers with the record it already has.

The adapters: ``LocalSiak`` (no ``SIAK_URL``: records locally and confirms at once, so a fresh install
issues) and ``HttpSiak`` (the contract in docs/siak-api.md; ``eopen.siak_simulator`` implements it).
Unlike request services, ``deliver_due`` commits: it runs in the worker.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

from flask import current_app
from sqlalchemy import func, or_, select, update

from ..extensions import db
from ..models import ServiceRequest, SiakHandoff, SiakRecord, User, utcnow

log = logging.getLogger(__name__)

# 4xx answers that say "not now" rather than "never": retried like 5xx.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class SiakAnswer:
    confirmed: bool
    reference: str | None = None
    error: str | None = None
    status_code: int | None = None
    retry_after: str | None = None  # the Retry-After header as sent (seconds or an HTTP date)

    @property
    def permanent(self) -> bool:
        code = self.status_code
        return code is not None and 400 <= code < 500 and code not in RETRYABLE_4XX


class SiakAdapter(Protocol):
    def submit(self, idempotency_key: str, body: dict, request_id: int) -> SiakAnswer: ...


def idempotency_key(req: ServiceRequest) -> str:
    """The same request always sends the same key, so a retry never makes a second SIAK record."""
    return hashlib.sha256(f"eopen:{req.tracking_no}:{req.service_code}:{req.variant_code}".encode()).hexdigest()


def payload(req: ServiceRequest) -> dict:
    return {"tracking_no": req.tracking_no, "service": req.service_code, "variant": req.variant_code,
            "subject": {"name": req.subject_name, "nik": req.subject_nik,
                        "birth_date": req.subject_birth_date.isoformat() if req.subject_birth_date else None,
                        "sex": req.subject_sex},
            "kelurahan": req.kelurahan_code, "data": {k: v for k, v in (req.data or {}).items()
                                                      if not k.startswith("_")}}


class LocalSiak:
    """Records the hand-off in the siak_record table and confirms at once (one row per key)."""

    def submit(self, idempotency_key: str, body: dict, request_id: int) -> SiakAnswer:
        row = db.session.scalar(select(SiakRecord).where(SiakRecord.idempotency_key == idempotency_key))
        if row is None:
            row = SiakRecord(request_id=request_id, idempotency_key=idempotency_key, payload=body,
                             reference="LOCAL-" + idempotency_key[:12].upper())
            db.session.add(row)
            db.session.flush()
        return SiakAnswer(confirmed=True, reference=row.reference)


class HttpSiak:
    """SIAK over HTTP/JSON: ``POST {url}/v1/records`` with the idempotency key (docs/siak-api.md)."""

    def __init__(self, url: str, token: str = "", timeout: float = 15.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def submit(self, idempotency_key: str, body: dict, request_id: int) -> SiakAnswer:
        data = json.dumps({"idempotency_key": idempotency_key, "payload": body}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Idempotency-Key": idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        call = urllib.request.Request(self.url + "/v1/records", data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(call, timeout=self.timeout) as response:  # noqa: S310 — configured URL
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read()[:300].decode(errors="replace")
            return SiakAnswer(False, error=f"HTTP {error.code}: {detail}".strip(), status_code=error.code,
                              retry_after=error.headers.get("Retry-After"))
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            return SiakAnswer(False, error=f"{type(reason).__name__}: {reason}"[:300])
        try:
            reference = json.loads(text)["reference"]
        except (ValueError, KeyError, TypeError):
            return SiakAnswer(False, error=f"HTTP {status}: answer without a reference", status_code=status)
        if status not in (200, 201) or not isinstance(reference, str) or not reference:
            return SiakAnswer(False, error=f"HTTP {status}: unexpected answer", status_code=status)
        return SiakAnswer(True, reference=reference, status_code=status)


def adapter() -> SiakAdapter:
    """The adapter to use: one set on the app (tests), else HTTP when SIAK_URL is set, else local."""
    chosen = current_app.extensions.get("eopen.siak")
    if chosen is not None:
        return chosen
    url = current_app.config.get("SIAK_URL")
    if url:
        return HttpSiak(url, current_app.config.get("SIAK_TOKEN", ""), float(current_app.config.get("SIAK_TIMEOUT", 15)))
    return LocalSiak()


# --- timing ------------------------------------------------------------------------------------------

def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base·2^(n-1) seconds capped, with "equal
    jitter" (between half and all of it) so that many rows failing together do not return together."""
    base = float(current_app.config.get("SIAK_BACKOFF_BASE", 30))
    cap = float(current_app.config.get("SIAK_BACKOFF_CAP", 3600))
    full = min(cap, base * 2 ** min(max(attempts - 1, 0), 32))
    return timedelta(seconds=full / 2 + (rng or random).uniform(0, full / 2))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds ("120") or an HTTP date; None when absent or unreadable. Never negative,
    at most ``SIAK_RETRY_AFTER_CAP`` seconds (a broken header must not park a request for a year)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is not None:
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        wait = max(when - now, timedelta(0))
    return min(wait, timedelta(seconds=int(current_app.config.get("SIAK_RETRY_AFTER_CAP", 86400))))


def next_wait(attempts: int, answer: SiakAnswer, now: datetime, rng: random.Random | None = None) -> timedelta:
    """Backoff with jitter, but never earlier than SIAK asked for."""
    wait = backoff(attempts, rng)
    asked = parse_retry_after(answer.retry_after, now)
    return max(wait, asked) if asked is not None else wait


# --- the outbox --------------------------------------------------------------------------------------

def hand_off(req: ServiceRequest, now: datetime | None = None) -> SiakHandoff:
    """Write the hand-off row for an approved request (the caller's transaction). Flushes."""
    row = db.session.scalar(select(SiakHandoff).where(SiakHandoff.request_id == req.id))
    if row is None:
        now = now or utcnow()
        row = SiakHandoff(request_id=req.id, idempotency_key=idempotency_key(req), status="pending", attempts=0,
                          next_attempt_at=now, created_at=now)
        db.session.add(row)
        db.session.flush()
    return row


@dataclass
class DeliveryRound:
    confirmed: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.confirmed + self.retried + self.dead


def _due(now: datetime):
    return (SiakHandoff.status == "pending", SiakHandoff.next_attempt_at <= now,
            or_(SiakHandoff.claimed_until.is_(None), SiakHandoff.claimed_until <= now))


def claim(handoff_id: int, now: datetime) -> bool:
    """Take one row for ``SIAK_LEASE`` seconds; False when another worker has it (or it is done)."""
    lease = timedelta(seconds=int(current_app.config.get("SIAK_LEASE", 300)))
    result = db.session.execute(update(SiakHandoff).where(SiakHandoff.id == handoff_id, *_due(now))
                                .values(claimed_until=now + lease).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def deliver_due(now: datetime | None = None, limit: int = 50, rng: random.Random | None = None) -> DeliveryRound:
    """Send up to ``limit`` due hand-offs to SIAK (``now``: the clock, for tests). Commits after every step."""
    from . import fulfilment
    clock = (lambda: now) if now is not None else utcnow
    start = clock()
    ids = list(db.session.scalars(select(SiakHandoff.id).where(*_due(start))
                                  .order_by(SiakHandoff.next_attempt_at, SiakHandoff.id).limit(limit)))
    db.session.commit()
    done = DeliveryRound()
    siak = adapter()
    for handoff_id in ids:
        if not claim(handoff_id, clock()):
            continue
        row = db.session.get(SiakHandoff, handoff_id)
        key, attempts, request_id = row.idempotency_key, row.attempts + 1, row.request_id
        body = payload(row.request)
        db.session.commit()  # no transaction stays open while SIAK thinks
        try:
            answer = siak.submit(key, body, request_id)
        except Exception as error:  # noqa: BLE001 — an adapter's failure is recorded, never raised
            answer = SiakAnswer(False, error=f"{type(error).__name__}: {error}")
        if answer.confirmed:
            try:
                _confirm(handoff_id, attempts, answer, clock(), fulfilment)
            except Exception as error:  # noqa: BLE001 — e.g. the PDF could not be written: try again later
                db.session.rollback()
                log.exception("SIAK hand-off %s confirmed but the request could not be issued", handoff_id)
                answer = SiakAnswer(False, error=f"issue failed: {type(error).__name__}: {error}")
            else:
                done.confirmed += 1
                continue
        _failed(handoff_id, attempts, answer, clock(), rng, done)
    return done


def _confirm(handoff_id: int, attempts: int, answer: SiakAnswer, now: datetime, fulfilment) -> None:
    result = db.session.execute(
        update(SiakHandoff).where(SiakHandoff.id == handoff_id, SiakHandoff.status == "pending")
        .values(status="confirmed", attempts=attempts, reference=answer.reference, confirmed_at=now,
                claimed_until=None, last_error=None, last_status_code=answer.status_code)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        row = db.session.get(SiakHandoff, handoff_id)
        req = row.request
        if req.status == "sent_to_siak":
            fulfilment.issue(req, answer.reference, now=now)
    db.session.commit()


def _failed(handoff_id: int, attempts: int, answer: SiakAnswer, now: datetime, rng, done: DeliveryRound) -> None:
    text = (answer.error or "unconfirmed")[:2000]
    dead = answer.permanent and attempts >= int(current_app.config.get("SIAK_DEAD_AFTER", 5))
    values = dict(attempts=attempts, claimed_until=None, last_error=text, last_status_code=answer.status_code)
    if dead:
        values["status"] = "dead"
        done.dead += 1
        log.warning("SIAK hand-off %s is dead after %s attempt(s): %s", handoff_id, attempts, text)
    else:
        values["next_attempt_at"] = now + next_wait(attempts, answer, now, rng)
        done.retried += 1
        log.info("SIAK hand-off %s failed (attempt %s), retry later: %s", handoff_id, attempts, text)
    db.session.execute(update(SiakHandoff).where(SiakHandoff.id == handoff_id, SiakHandoff.status == "pending")
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


# --- what staff see ----------------------------------------------------------------------------------

def _in_scope(query, user: User):
    """Penyelia: own kecamatan; admin: all (the route refuses everyone else)."""
    if user.role == "admin":
        return query
    prefix = (user.kecamatan_code or "") + "."
    return query.join(ServiceRequest, ServiceRequest.id == SiakHandoff.request_id).where(
        ServiceRequest.kelurahan_code.startswith(prefix, autoescape=True))


def open_handoffs(user: User) -> list[SiakHandoff]:
    """Pending and dead rows the user may see, the longest waiting first."""
    query = select(SiakHandoff).where(SiakHandoff.status.in_(("pending", "dead")))
    return list(db.session.scalars(_in_scope(query, user).order_by(SiakHandoff.created_at, SiakHandoff.id)))


def visible_handoff(user: User, handoff_id: int) -> SiakHandoff | None:
    return db.session.scalar(_in_scope(select(SiakHandoff).where(SiakHandoff.id == handoff_id), user))


def retry_now(row: SiakHandoff, now: datetime | None = None) -> bool:
    """Make a pending (or dead) row due at once; False when it is already confirmed. Flushes."""
    if row.status == "confirmed":
        return False
    row.status = "pending"
    row.next_attempt_at = now or utcnow()
    db.session.flush()
    return True


@dataclass(frozen=True)
class Backlog:
    waiting: int  # hand-offs pending longer than SIAK_BANNER_AFTER minutes
    maintenance: bool  # the latest failed answer was a 503


def backlog(now: datetime | None = None) -> Backlog:
    """For the staff banner: how many requests wait for SIAK longer than a few minutes (city-wide)."""
    now = now or utcnow()
    since = now - timedelta(minutes=int(current_app.config.get("SIAK_BANNER_AFTER", 5)))
    waiting = db.session.scalar(select(func.count(SiakHandoff.id)).where(
        SiakHandoff.status == "pending", SiakHandoff.created_at <= since)) or 0
    if not waiting:
        return Backlog(0, False)
    last = db.session.scalar(select(SiakHandoff.last_status_code).where(
        SiakHandoff.status == "pending", SiakHandoff.attempts > 0).order_by(SiakHandoff.next_attempt_at.desc()).limit(1))
    return Backlog(waiting, last == 503)
