"""The SIAK hand-off outbox: one row per approved request, delivered to SIAK by the worker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .request import ServiceRequest

HANDOFF_STATUSES = ("pending", "confirmed", "dead")


class SiakHandoff(db.Model):
    """Written in the same transaction as the request's ``send_to_siak`` event; the worker sends it to
    SIAK (with its idempotency key) until SIAK confirms. pending → confirmed, or → dead only when SIAK
    refuses it for good (a 4xx that retrying cannot change). Kept, never deleted."""
    __tablename__ = "siak_handoff"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # A worker that took the row holds it until then; after a crash another worker takes it again.
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None]
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]

    request: Mapped[ServiceRequest] = relationship()
