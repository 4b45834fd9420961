"""Accounts, households (Kartu Keluarga) and the people in them."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import utcnow
from .region import RT, RW, Region

ROLES = ("resident", "institution", "satgas", "operator", "penyelia", "kasi", "kabid", "kadis", "admin")
STAFF_ROLES = ("satgas", "operator", "penyelia", "kasi", "kabid", "kadis", "admin")
APPLICANT_ROLES = ("resident", "institution")
# Relation to the head of the family, as printed on a KK (values kept short; labels live in the forms).
RELATIONS = ("kepala_keluarga", "suami", "istri", "anak", "menantu", "cucu", "orang_tua", "mertua",
             "famili_lain", "lainnya")


class Household(db.Model):
    """A Kartu Keluarga and the address printed on it."""
    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    no_kk: Mapped[str] = mapped_column(String(16), unique=True)
    kelurahan_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    rw_id: Mapped[int] = mapped_column(ForeignKey("rw.id"))
    rt_id: Mapped[int] = mapped_column(ForeignKey("rt.id"))
    street: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    kelurahan: Mapped[Region] = relationship()
    rw: Mapped[RW] = relationship()
    rt: Mapped[RT] = relationship()
    members: Mapped[list["Person"]] = relationship(back_populates="household", order_by="Person.id")


class Person(db.Model):
    """Somebody a request can be for. A NIK belongs to one person only."""
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str | None] = mapped_column(String(16), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))  # "L" or "P", as on Indonesian documents
    relation: Mapped[str] = mapped_column(String(20), default="lainnya")
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household | None] = relationship(back_populates="members")

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    # Residents log in with their person's NIK or their phone; staff and institutions with a username.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), unique=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(5))
    # Staff scope: operators and penyelia work for one kecamatan.
    kecamatan_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    # Institutions (perangkat daerah, badan hukum) apply for others.
    institution_kind: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # A satgas marked unavailable (leave, sick): new jobs of their RWs go to the RW's backup.
    available: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    kecamatan: Mapped[Region | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def household(self) -> Household | None:
        return self.person.household if self.person else None

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
