"""Reference data: Kemendagri region codes from eopen/data (see eopen/data/SOURCE.md)."""
from __future__ import annotations

import csv
from importlib import resources

from sqlalchemy import select

from ..extensions import db
from ..models import Region


def _rows(filename: str):
    with resources.files("eopen.data").joinpath(filename).open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _parent(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def load_regions() -> int:
    """Insert the regions that are not there yet; returns how many were added."""
    known = set(db.session.scalars(select(Region.code)))
    new: dict[str, dict] = {}
    for row in _rows("wilayah_nasional.csv"):
        new[row["kode"]] = {"code": row["kode"], "name": row["nama"], "level": row["tingkat"],
                            "parent_code": _parent(row["kode"])}
    for row in _rows("bekasi_wilayah.csv"):
        new[row["kode"]] = {"code": row["kode"], "name": row["nama"], "level": row["tingkat"],
                            "parent_code": row["kode_induk"] or None}
    missing = [row for code, row in new.items() if code not in known]
    if missing:
        db.session.execute(Region.__table__.insert(), missing)
    db.session.flush()
    return len(missing)


def bekasi_kelurahan() -> list[Region]:
    """Kota Bekasi's kelurahan, grouped by kecamatan order, for address pickers."""
    return list(db.session.scalars(
        select(Region).where(Region.level == "kelurahan", Region.code.like("32.75.%"))
        .order_by(Region.parent_code, Region.name)))


def kecamatan_names() -> dict[str, str]:
    return dict(db.session.execute(
        select(Region.code, Region.name).where(Region.level == "kecamatan", Region.code.like("32.75.%"))).all())
