"""The seam to SIAK, the national population information system.

Approval hands a request to SIAK through an adapter; only a confirmed answer lets it be issued.
For now the only adapter records the request locally and confirms at once. A resilient outbox and
an HTTP client come later: they implement the same `SiakAdapter` protocol, nothing else changes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import ServiceRequest, SiakRecord


@dataclass(frozen=True)
class SiakAnswer:
    confirmed: bool
    reference: str | None = None
    error: str | None = None


class SiakAdapter(Protocol):
    def submit(self, req: ServiceRequest, idempotency_key: str) -> SiakAnswer: ...


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

    def submit(self, req: ServiceRequest, idempotency_key: str) -> SiakAnswer:
        row = db.session.scalar(select(SiakRecord).where(SiakRecord.idempotency_key == idempotency_key))
        if row is None:
            row = SiakRecord(request_id=req.id, idempotency_key=idempotency_key, payload=payload(req),
                             reference="LOCAL-" + idempotency_key[:12].upper())
            db.session.add(row)
            db.session.flush()
        return SiakAnswer(confirmed=True, reference=row.reference)


def adapter() -> SiakAdapter:
    return current_app.extensions.get("eopen.siak") or LocalSiak()
