"""Notifications: the in-app bell and the messages sent on other channels.

``notify(user, kind, ...)`` is the one entry point: it writes a Notification row and, per the person's
preferences, OutboxMessage rows — all in the caller's transaction (flush, never commit), so a
notification exists exactly when the change that caused it was committed.
"""
from __future__ import annotations

from datetime import datetime

from ..extensions import db
from ..models import HaloThread, Notification, ServiceRequest, User, utcnow


def notify(user: User | None, kind: str, *, request: ServiceRequest | None = None,
           thread: HaloThread | None = None, params: dict | None = None,
           now: datetime | None = None) -> Notification | None:
    """A notification of ``kind`` for ``user`` (None or an inactive user: nothing)."""
    if user is None or not user.active:
        return None
    notification = Notification(user_id=user.id, kind=kind, request_id=request.id if request is not None else None,
                                thread_id=thread.id if thread is not None else None, params=dict(params or {}),
                                created_at=now or utcnow())
    db.session.add(notification)
    db.session.flush()
    return notification
