"""Kemendagri regions (loaded from eopen/data, never generated) and the local RW/RT tables."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

if TYPE_CHECKING:
    from .people import User

LEVELS = ("provinsi", "kabupaten_kota", "kecamatan", "kelurahan")
CITY_CODE = "32.75"  # Kota Bekasi


class Region(db.Model):
    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(13), index=True)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class RW(db.Model):
    __tablename__ = "rw"
    __table_args__ = (UniqueConstraint("kelurahan_code", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kelurahan_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    number: Mapped[int]
    kelurahan: Mapped[Region] = relationship()
    rts: Mapped[list["RT"]] = relationship(back_populates="rw", order_by="RT.number")

    @property
    def label(self) -> str:
        return f"{self.number:03d}"


class RT(db.Model):
    __tablename__ = "rt"
    __table_args__ = (UniqueConstraint("rw_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rw_id: Mapped[int] = mapped_column(ForeignKey("rw.id"), index=True)
    number: Mapped[int]
    rw: Mapped[RW] = relationship(back_populates="rts")

    @property
    def label(self) -> str:
        return f"{self.number:03d}"


class SatgasAssignment(db.Model):
    """Which Satgas Pamor covers an RW: one primary and optionally one backup per RW."""
    __tablename__ = "satgas_assignment"
    __table_args__ = (UniqueConstraint("rw_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rw_id: Mapped[int] = mapped_column(ForeignKey("rw.id"), index=True)
    satgas_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "primary" or "backup"
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    rw: Mapped[RW] = relationship()
    satgas: Mapped["User"] = relationship(foreign_keys=[satgas_id])


class AssignmentLog(db.Model):
    """Every change of an RW's satgas (who took over from whom, by whose decision, how many open jobs moved)."""
    __tablename__ = "assignment_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    rw_id: Mapped[int] = mapped_column(ForeignKey("rw.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    from_satgas_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_satgas_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    moved_jobs: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
