"""The outbox worker: sends the messages ``notify()`` wrote, with retries and backoff.

A message is written in the same transaction as the event that caused it, so it exists exactly when
the event was committed. ``send_due()`` then, for each due message (pending, ``next_attempt_at`` passed,
not held by another worker):

1. takes it with a lease: one conditional UPDATE (``claimed_until`` empty or expired) and a commit, so of
   two workers exactly one gets it (SQLite and PostgreSQL alike);
2. hands it to the channel's driver (outside any transaction);
3. marks it ``sent``, or on failure counts the attempt and waits 1, 2, 4, 8 … minutes (at most
   OUTBOX_BACKOFF_CAP) before the next one; after OUTBOX_MAX_ATTEMPTS attempts, or at once when the
   channel says trying again cannot help, the message is ``dead`` — kept with its last error, never deleted.

Delivery is at least once: a worker that dies after sending and before step 3 leaves the message taken
until its lease (OUTBOX_LEASE) expires, and then it is sent again. Nothing is lost; a repeat is possible
in that one case (the drivers send a stable id — Message-ID, Idempotency-Key — so the other side can
drop it).

Unlike request services, this module commits: it runs in the worker, and each step must be durable
before the next one starts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import OutboxMessage, utcnow
from .channels import DeliveryError, Message, channel_for

log = logging.getLogger(__name__)


@dataclass
class Round:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    siak: object | None = None  # the SIAK hand-off step's DeliveryRound (services/siak.py)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.dead


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, 8 … minutes, capped."""
    cap = int(current_app.config.get("OUTBOX_BACKOFF_CAP", 60))
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), cap))


def _due(now: datetime):
    return (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))


def claim(message_id: int, now: datetime) -> bool:
    """Take one message for ``OUTBOX_LEASE`` seconds; False when another worker has it (or it is done)."""
    lease = timedelta(seconds=int(current_app.config.get("OUTBOX_LEASE", 300)))
    result = db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, *_due(now))
                                .values(claimed_until=now + lease).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def send_due(now: datetime | None = None, limit: int = 50) -> Round:
    """Send up to ``limit`` due messages (``now``: the clock, for tests). Commits after every step."""
    clock = (lambda: now) if now is not None else utcnow
    start = clock()
    ids = list(db.session.scalars(select(OutboxMessage.id).where(*_due(start))
                                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))
    db.session.commit()  # no read transaction stays open while others write
    done = Round()
    for message_id in ids:
        if not claim(message_id, clock()):
            continue
        row = db.session.get(OutboxMessage, message_id)
        message = Message(id=row.id, channel=row.channel, address=row.address, subject=row.subject, body=row.body)
        attempts = row.attempts + 1
        db.session.commit()
        try:
            channel_for(message.channel).send(message)
        except Exception as error:  # noqa: BLE001 — any failure of a channel is recorded, never raised
            permanent = isinstance(error, DeliveryError) and error.permanent
            _failed(message_id, attempts, error, permanent, clock(), done)
        else:
            _update(message_id, status="sent", attempts=attempts, sent_at=clock(), claimed_until=None,
                    last_error=None)
            done.sent += 1
    return done


def _failed(message_id: int, attempts: int, error: Exception, permanent: bool, now: datetime, done: Round) -> None:
    text = f"{type(error).__name__}: {error}"[:2000]
    if permanent or attempts >= int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", 8)):
        _update(message_id, status="dead", attempts=attempts, claimed_until=None, last_error=text)
        done.dead += 1
        log.warning("outbox message %s is dead after %s attempt(s): %s", message_id, attempts, text)
    else:
        _update(message_id, attempts=attempts, next_attempt_at=now + backoff(attempts), claimed_until=None,
                last_error=text)
        done.retried += 1
        log.info("outbox message %s failed (attempt %s), retry later: %s", message_id, attempts, text)


def _update(message_id: int, **values) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def run_round(now: datetime | None = None) -> Round:
    """One round of the worker: send what is due, the SIAK hand-offs, then Halo Pamor's timers."""
    done = send_due(now)
    from . import siak
    try:
        done.siak = siak.deliver_due(now)
    except Exception:  # noqa: BLE001 — the worker keeps sending messages whatever SIAK does
        db.session.rollback()
        log.exception("SIAK hand-off step failed")
    try:
        from . import halo
    except ModuleNotFoundError as error:  # Halo Pamor not installed (yet); a broken one still fails loudly
        if error.name != __package__ + ".halo":
            raise
        halo = None
    tick = getattr(halo, "tick", None)
    if tick is not None:
        try:
            tick(now or utcnow())
            db.session.commit()
        except Exception:  # noqa: BLE001 — the worker keeps sending messages whatever the timers do
            db.session.rollback()
            log.exception("halo.tick failed")
    return done
