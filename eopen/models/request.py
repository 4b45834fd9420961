"""A service request, its documents and its events (the one record of what happened)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import Person, User
from .region import Region


class ServiceRequest(db.Model):
    __tablename__ = "service_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(12), unique=True)
    # A random token from the form that started the draft: a double tap finds the same draft.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    service_code: Mapped[str] = mapped_column(String(32), index=True)
    variant_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24), index=True, default="draft")
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # Who the request is for. Residents pick a member of their KK; institutions type the person's
    # data, which is kept here only (it is never matched against other residents' records).
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    subject_name: Mapped[str | None] = mapped_column(String(120))
    subject_nik: Mapped[str | None] = mapped_column(String(16))
    subject_birth_date: Mapped[date | None]
    subject_sex: Mapped[str | None] = mapped_column(String(1))
    # Where the subject lives: decides the kecamatan whose operators handle the request.
    kelurahan_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    # The subject's RW (residents' household members): decides which Satgas Pamor may see the request.
    rw_id: Mapped[int | None] = mapped_column(ForeignKey("rw.id"), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    verification_index: Mapped[int] = mapped_column(default=0)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # A Satgas Pamor who filled the request in at the resident's door (the resident confirmed it).
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime | None]
    due_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    operator: Mapped[User | None] = relationship(foreign_keys=[operator_id])
    assisted_by: Mapped[User | None] = relationship(foreign_keys=[assisted_by_id])
    subject_person: Mapped[Person | None] = relationship()
    kelurahan: Mapped[Region | None] = relationship()
    documents: Mapped[list["RequestDocument"]] = relationship(
        back_populates="request", order_by="RequestDocument.id", cascade="all, delete-orphan")
    events: Mapped[list["Event"]] = relationship(
        back_populates="request", order_by="Event.id", cascade="all, delete-orphan")

    @property
    def kecamatan_code(self) -> str | None:
        return self.kelurahan_code.rsplit(".", 1)[0] if self.kelurahan_code else None

    def document_for(self, requirement_code: str) -> "RequestDocument | None":
        return next((d for d in self.documents if d.requirement_code == requirement_code), None)


class RequestDocument(db.Model):
    """One requirement of a request: an uploaded file, or an SPTJM declaration in its place."""
    __tablename__ = "request_document"
    __table_args__ = (UniqueConstraint("request_id", "requirement_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    requirement_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8), default="file")  # "file" or "sptjm"
    storage_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(40))
    size: Mapped[int | None]
    original_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    declaration: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The operator's verdict on this document: None (not yet), "accepted" or "returned" (with a reason).
    review_status: Mapped[str | None] = mapped_column(String(10))
    review_reason: Mapped[str | None] = mapped_column(String(40))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None]

    request: Mapped[ServiceRequest] = relationship(back_populates="documents")


class Event(db.Model):
    """Every change of a request: the timeline, the audit trail and the SLA clock read these rows."""
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class HolidayOverride(db.Model):
    """Admin corrections to the holiday calendar: an extra day off, or a day off that is worked."""
    __tablename__ = "holiday_override"
    day: Mapped[date] = mapped_column(primary_key=True)
    is_holiday: Mapped[bool]
    name: Mapped[str] = mapped_column(String(120))


class AccessLog(db.Model):
    """Who opened which request or document, when. Written on every staff view; never edited."""
    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("request_document.id"))
    action: Mapped[str] = mapped_column(String(24))  # "view_request", "view_document", "download_pdf"
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()


class SigningKey(db.Model):
    """Public halves of the keys that signed issued documents (the private key lives outside the repo)."""
    __tablename__ = "signing_key"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 public key, hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssuedDocument(db.Model):
    """A document issued as a signed PDF (KK, Akta Kelahiran, Akta Kematian)."""
    __tablename__ = "issued_document"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    holder_name: Mapped[str] = mapped_column(String(120))
    content: Mapped[dict] = mapped_column(JSON)  # exactly what was signed
    signature: Mapped[str] = mapped_column(String(128))  # base64url Ed25519 signature
    key_id: Mapped[str] = mapped_column(ForeignKey("signing_key.key_id"))
    storage_name: Mapped[str | None] = mapped_column(String(64))  # the PDF in the upload store
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    request: Mapped[ServiceRequest] = relationship()


class SiakRecord(db.Model):
    """What the local SIAK adapter recorded for a request (one per idempotency key)."""
    __tablename__ = "siak_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    reference: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FieldJob(db.Model):
    """A jemput (pickup) or antar (delivery) visit a resident asked for, routed to a Satgas Pamor."""
    __tablename__ = "field_job"
    # At most one open job per request and kind, whatever the forms send at the same instant.
    __table_args__ = (Index("uq_field_job_open", "request_id", "kind", unique=True,
                            sqlite_where=text("status IN ('requested', 'on_the_way')"),
                            postgresql_where=text("status IN ('requested', 'on_the_way')")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "pickup" or "delivery"
    # requested → on_the_way → done | failed (a new date is set) ; cancelled by the resident before on_the_way
    status: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    satgas_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The satgas the job was last moved away from (RW reassignment): their late actions are refused clearly.
    moved_from_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    rw_id: Mapped[int] = mapped_column(ForeignKey("rw.id"), index=True)
    preferred_date: Mapped[date]
    time_window: Mapped[str] = mapped_column(String(12))  # e.g. "08-12"
    address_note: Mapped[str | None] = mapped_column(Text)
    failed_reason: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]  # when the handover that finished it happened
    # A random token from the form: the same request sent twice finds the same job.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    request: Mapped[ServiceRequest] = relationship()
    satgas: Mapped[User | None] = relationship(foreign_keys=[satgas_id])
