"""The chain of custody of physical items (originals, old cards, printed cards and documents).

Every item has exactly one current holder, kept on the item row itself (``holder_type`` plus the
user or the kecamatan office), so "two holders" cannot be written and "no holder" is refused by the
database (NOT NULL and a CHECK constraint). Every change of holder is a ``Handover`` row naming the
items it moved, from whom, to whom, who confirmed it and how, when (the phone's time) and where.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User
from .request import FieldJob, ServiceRequest

HOLDER_TYPES = ("resident", "satgas", "office")
_HOLDER_OK = ("(holder_type = 'office' AND holder_kecamatan_code IS NOT NULL AND holder_user_id IS NULL)"
              " OR (holder_type IN ('resident', 'satgas') AND holder_user_id IS NOT NULL"
              " AND holder_kecamatan_code IS NULL)")

handover_item = Table(
    "handover_item", db.Model.metadata,
    Column("handover_id", ForeignKey("handover.id"), primary_key=True),
    Column("item_id", ForeignKey("custody_item.id"), primary_key=True),
)


class CustodyItem(db.Model):
    """One physical thing that belongs to a request and travels between resident, satgas and office."""
    __tablename__ = "custody_item"
    __table_args__ = (CheckConstraint(_HOLDER_OK, name="one_holder"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    # "original" (a document handed in), "old_card" (e.g. a damaged KTP-el), "output" (the printed card
    # or document the office made)
    kind: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(200))
    holder_type: Mapped[str] = mapped_column(String(10))
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    holder_kecamatan_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest] = relationship()
    holder_user: Mapped[User | None] = relationship(foreign_keys=[holder_user_id])


class Handover(db.Model):
    """One change of holder of one or more items of a request. ``from_type`` None: the item was registered."""
    __tablename__ = "handover"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("field_job.id"), index=True)
    from_type: Mapped[str | None] = mapped_column(String(10))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    from_kecamatan_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    to_type: Mapped[str] = mapped_column(String(10))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_kecamatan_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    # Who recorded it (the satgas' phone, or the operator at the desk) and whose consent confirmed it.
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # "code" (a one-time code shown by the other side), "birth_nik" (date of birth + last 4 NIK digits),
    # "register" (an item entering the chain, e.g. a printed card at the office)
    method: Mapped[str] = mapped_column(String(10))
    place: Mapped[str | None] = mapped_column(String(300))
    happened_at: Mapped[datetime]  # when it happened (the phone's clock for queued actions)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the server stored it
    photo_storage_name: Mapped[str | None] = mapped_column(String(64))

    items: Mapped[list[CustodyItem]] = relationship(secondary=handover_item, order_by="CustodyItem.id")
    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    job: Mapped[FieldJob | None] = relationship()


class HandoverCode(db.Model):
    """A one-time code a person shows to confirm a handover (or an assisted application).

    Residents have one live code per request (status page and receipt); operators one desk code.
    Stored as shown: it is short-lived, single-use and only valid together with its owner's job or desk.
    """
    __tablename__ = "handover_code"
    __table_args__ = (Index("ix_handover_code_owner", "user_id", "request_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(8))  # "resident" or "desk"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"))
    code: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]


class FieldAction(db.Model):
    """Each field action a phone sent, once: the idempotency record of the offline queue.

    The phone gives every action a random id; the same id again gets the first answer back. Refused
    actions are kept too (with what was sent), so nothing done on the phone is lost.
    """
    __tablename__ = "field_action"
    __table_args__ = (UniqueConstraint("user_id", "client_action_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    client_action_id: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("field_job.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    happened_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))  # "accepted" or "rejected"
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
