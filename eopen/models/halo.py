"""Halo Pamor: residents' questions and complaints, the replies, and the FAQ."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User


class FaqEntry(db.Model):
    """A question with its answer, edited by admins; suggested to residents before they post."""
    __tablename__ = "faq_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HaloThread(db.Model):
    """A resident's question or complaint. open → answered → closed (by the resident, or automatically
    some days after an answer); escalated to the penyelia when unanswered for a working day."""
    __tablename__ = "halo_thread"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "question" or "complaint"
    category: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    # Where it goes: the satgas of this RW, the operators and penyelia of this kecamatan.
    rw_id: Mapped[int | None] = mapped_column(ForeignKey("rw.id"), index=True)
    kecamatan_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    rating: Mapped[int | None]
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    first_answer_at: Mapped[datetime | None]
    last_answer_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(10))  # "resident" or "auto"

    resident: Mapped[User] = relationship(foreign_keys=[resident_id])
    messages: Mapped[list["HaloMessage"]] = relationship(back_populates="thread", order_by="HaloMessage.id")


class HaloMessage(db.Model):
    __tablename__ = "halo_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("halo_thread.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[HaloThread] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
