"""RWs, RTs and the Satgas Pamor who cover them: the rules the admin pages apply.

- An RW number is 1–999 and unique in its kelurahan; an RT number is 1–999 and unique in its RW.
- An RW or RT is removed only when nothing refers to it (households, requests, satgas assignments,
  the assignment log); otherwise the removal is refused with a message, never an IntegrityError.
- A satgas may cover several RWs, all in ONE kelurahan. Each RW has one primary and optionally one
  backup satgas, and they are different people.
- Every change of an RW's satgas writes an AssignmentLog row (from, to, by, kind).

Functions flush and never commit (the route commits). Refusals raise ``SatgasError``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import RT, RW, AssignmentLog, Household, Region, SatgasAssignment, ServiceRequest, User, utcnow
from . import scope
from .lifecycle import FINAL_STATES

KINDS = ("primary", "backup")
MIN_NUMBER, MAX_NUMBER = 1, 999
CLOSED_STATES = ("draft", *FINAL_STATES)


class SatgasError(Exception):
    """A refused change; ``str(error)`` is the message for the user, ``field`` the input it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def kecamatan_of(kelurahan_code: str) -> str:
    return kelurahan_code.rsplit(".", 1)[0]


# --- RWs and RTs -------------------------------------------------------------------------------------

def _check_number(number, what: str) -> int:
    if not isinstance(number, int) or not MIN_NUMBER <= number <= MAX_NUMBER:
        raise SatgasError(_("Nomor %(what)s harus angka 1 sampai 999.", what=what), "number")
    return number


def add_rw(kelurahan_code: str, number: int) -> RW:
    number = _check_number(number, "RW")
    if db.session.scalar(select(exists().where(RW.kelurahan_code == kelurahan_code, RW.number == number))):
        raise SatgasError(_("RW %(no)s sudah ada di kelurahan ini.", no=f"{number:03d}"), "number")
    rw = RW(kelurahan_code=kelurahan_code, number=number)
    try:
        with db.session.begin_nested():  # a simultaneous identical add: the unique constraint decides
            db.session.add(rw)
    except IntegrityError:
        raise SatgasError(_("RW %(no)s sudah ada di kelurahan ini.", no=f"{number:03d}"), "number") from None
    return rw


def add_rt(rw: RW, number: int) -> RT:
    number = _check_number(number, "RT")
    if db.session.scalar(select(exists().where(RT.rw_id == rw.id, RT.number == number))):
        raise SatgasError(_("RT %(rt)s sudah ada di RW %(rw)s.", rt=f"{number:03d}", rw=rw.label), "number")
    rt = RT(rw_id=rw.id, number=number)
    try:
        with db.session.begin_nested():
            db.session.add(rt)
    except IntegrityError:
        raise SatgasError(_("RT %(rt)s sudah ada di RW %(rw)s.", rt=f"{number:03d}", rw=rw.label),
                          "number") from None
    return rt


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def remove_rt(rt: RT) -> None:
    households = _count(select(Household.id).where(Household.rt_id == rt.id))
    if households:
        raise SatgasError(_("RT %(rt)s / RW %(rw)s tidak dapat dihapus: masih dipakai %(n)s kartu keluarga.",
                            rt=rt.label, rw=rt.rw.label, n=households))
    db.session.delete(rt)
    db.session.flush()


def remove_rw(rw: RW) -> None:
    """Removes the RW and its (unused) RTs, or refuses naming what still refers to it."""
    uses = []
    households = _count(select(Household.id).where(Household.rw_id == rw.id))
    if households:
        uses.append(_("%(n)s kartu keluarga", n=households))
    requests = _count(select(ServiceRequest.id).where(ServiceRequest.rw_id == rw.id))
    if requests:
        uses.append(_("%(n)s permohonan", n=requests))
    if _count(select(SatgasAssignment.id).where(SatgasAssignment.rw_id == rw.id)):
        uses.append(_("penugasan satgas"))
    if _count(select(AssignmentLog.id).where(AssignmentLog.rw_id == rw.id)):
        uses.append(_("riwayat penugasan satgas"))
    if uses:
        raise SatgasError(_("RW %(rw)s tidak dapat dihapus: masih dipakai oleh %(uses)s.",
                            rw=rw.label, uses=", ".join(str(u) for u in uses)))
    for rt in list(rw.rts):
        db.session.delete(rt)
    db.session.delete(rw)
    db.session.flush()


# --- Assignments -------------------------------------------------------------------------------------

def active_satgas() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == "satgas", User.active.is_(True)).order_by(User.display_name, User.id)))


def assignment(rw: RW, kind: str) -> SatgasAssignment | None:
    return db.session.scalar(select(SatgasAssignment).where(SatgasAssignment.rw_id == rw.id,
                                                            SatgasAssignment.kind == kind))


def covered_kelurahan(satgas: User, *, except_rw_id: int | None = None) -> set[str]:
    stmt = (select(RW.kelurahan_code).join(SatgasAssignment, SatgasAssignment.rw_id == RW.id)
            .where(SatgasAssignment.satgas_id == satgas.id))
    if except_rw_id is not None:
        stmt = stmt.where(RW.id != except_rw_id)
    return set(db.session.scalars(stmt))


def assign(rw: RW, satgas: User | None, kind: str, by: User) -> AssignmentLog | None:
    """Makes ``satgas`` the RW's primary or backup. None when nothing changes (e.g. sent twice)."""
    if kind not in KINDS:
        raise SatgasError(_("Jenis penugasan tidak dikenali."), "satgas_id")
    if satgas is None or satgas.role != "satgas" or not satgas.active:
        raise SatgasError(_("Pilih Satgas Pamor yang aktif."), "satgas_id")
    current = assignment(rw, kind)
    if current is not None and current.satgas_id == satgas.id:
        return None
    other = assignment(rw, "backup" if kind == "primary" else "primary")
    if other is not None and other.satgas_id == satgas.id:
        if kind == "primary":
            message = _("%(name)s sudah menjadi satgas cadangan RW ini. Satgas utama dan cadangan harus orang "
                        "yang berbeda: lepaskan dulu cadangannya.", name=satgas.display_name)
        else:
            message = _("%(name)s sudah menjadi satgas utama RW ini. Satgas utama dan cadangan harus orang "
                        "yang berbeda.", name=satgas.display_name)
        raise SatgasError(message, "satgas_id")
    elsewhere = covered_kelurahan(satgas) - {rw.kelurahan_code}
    if elsewhere:
        names = [db.session.get(Region, code).name for code in sorted(elsewhere)]
        raise SatgasError(_("%(name)s sudah bertugas di Kelurahan %(kelurahan)s. Satu satgas hanya boleh "
                            "memegang RW dalam satu kelurahan.", name=satgas.display_name,
                            kelurahan=", ".join(names)), "satgas_id")
    from_id = current.satgas_id if current is not None else None
    try:
        with db.session.begin_nested():  # somebody else assigning the same RW/kind at the same moment
            if current is None:
                db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas.id, kind=kind, assigned_by_id=by.id))
            else:
                current.satgas_id = satgas.id
                current.assigned_by_id = by.id
                current.assigned_at = utcnow()
    except IntegrityError:
        raise SatgasError(_("Penugasan RW ini baru saja diubah orang lain. Muat ulang halaman lalu coba lagi."),
                          "satgas_id") from None
    if not satgas.kecamatan_code:
        satgas.kecamatan_code = kecamatan_of(rw.kelurahan_code)
    # Pickup/delivery jobs do not exist yet: once they do, the open jobs of this RW held by the previous
    # satgas move to the new one here, and their number goes into moved_jobs.
    log = AssignmentLog(rw_id=rw.id, kind=kind, from_satgas_id=from_id, to_satgas_id=satgas.id, by_id=by.id,
                        moved_jobs=0)
    db.session.add(log)
    db.session.flush()
    return log


def unassign(rw: RW, kind: str, by: User) -> AssignmentLog | None:
    """Removes the RW's backup (the primary is replaced, not removed). None when there is none."""
    if kind != "backup":
        raise SatgasError(_("Satgas utama tidak dapat dilepas, hanya diganti."))
    current = assignment(rw, kind)
    if current is None:
        return None
    log = AssignmentLog(rw_id=rw.id, kind=kind, from_satgas_id=current.satgas_id, to_satgas_id=None,
                        by_id=by.id, moved_jobs=0)
    db.session.delete(current)
    db.session.add(log)
    db.session.flush()
    return log


def set_available(satgas: User, available: bool) -> bool:
    """Marks a satgas (un)available; returns whether anything changed."""
    if satgas.role != "satgas":
        raise SatgasError(_("Pengguna ini bukan Satgas Pamor."))
    if satgas.available == available:
        return False
    satgas.available = available
    db.session.flush()
    return True


# --- Overviews ---------------------------------------------------------------------------------------

def open_jobs(satgas: User) -> int:
    """Open requests in the satgas's RWs ("open jobs" until pickup/delivery jobs exist)."""
    stmt = scope.visible_requests(satgas).where(ServiceRequest.status.not_in(CLOSED_STATES))
    return _count(stmt.with_only_columns(ServiceRequest.id))


@dataclass
class KelurahanRow:
    region: Region
    rw_count: int = 0
    without_primary: int = 0


@dataclass
class KecamatanGroup:
    code: str
    name: str
    kelurahan: list[KelurahanRow] = field(default_factory=list)


def kelurahan_summary() -> list[KecamatanGroup]:
    from .reference import bekasi_kelurahan, kecamatan_names
    has_primary = exists().where(SatgasAssignment.rw_id == RW.id, SatgasAssignment.kind == "primary")
    counts = {code: (total, missing or 0) for code, total, missing in db.session.execute(
        select(RW.kelurahan_code, func.count(RW.id),
               func.sum(case((has_primary, 0), else_=1))).group_by(RW.kelurahan_code))}
    names = kecamatan_names()
    groups: dict[str, KecamatanGroup] = {}
    for region in bekasi_kelurahan():
        code = region.parent_code or kecamatan_of(region.code)
        group = groups.setdefault(code, KecamatanGroup(code, names.get(code, code)))
        total, missing = counts.get(region.code, (0, 0))
        group.kelurahan.append(KelurahanRow(region, total, int(missing)))
    return list(groups.values())


@dataclass
class RWRow:
    rw: RW
    primary: User | None
    backup: User | None
    log: list[AssignmentLog]


def kelurahan_rws(kelurahan_code: str) -> list[RWRow]:
    rws = list(db.session.scalars(select(RW).where(RW.kelurahan_code == kelurahan_code).order_by(RW.number)))
    ids = [rw.id for rw in rws]
    holders: dict[tuple[int, str], User] = {}
    logs: dict[int, list[AssignmentLog]] = defaultdict(list)
    if ids:
        for a in db.session.scalars(select(SatgasAssignment).where(SatgasAssignment.rw_id.in_(ids))):
            holders[(a.rw_id, a.kind)] = a.satgas
        for entry in db.session.scalars(select(AssignmentLog).where(AssignmentLog.rw_id.in_(ids))
                                        .order_by(AssignmentLog.created_at.desc(), AssignmentLog.id.desc())):
            logs[entry.rw_id].append(entry)
    return [RWRow(rw, holders.get((rw.id, "primary")), holders.get((rw.id, "backup")), logs[rw.id]) for rw in rws]


def users_by_id(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@dataclass
class SatgasRow:
    user: User
    primary: list[RW]
    backup: list[RW]
    kelurahan: list[Region]
    open_jobs: int


def satgas_overview() -> list[SatgasRow]:
    users = list(db.session.scalars(select(User).where(User.role == "satgas").order_by(User.display_name, User.id)))
    covered: dict[int, dict[str, list[RW]]] = defaultdict(lambda: {"primary": [], "backup": []})
    for a, rw in db.session.execute(select(SatgasAssignment, RW).join(RW, RW.id == SatgasAssignment.rw_id)
                                    .order_by(RW.kelurahan_code, RW.number)):
        covered[a.satgas_id][a.kind].append(rw)
    rows = []
    for user in users:
        mine = covered[user.id]
        codes = sorted({rw.kelurahan_code for rw in mine["primary"] + mine["backup"]})
        rows.append(SatgasRow(user, mine["primary"], mine["backup"],
                              [db.session.get(Region, c) for c in codes], open_jobs(user)))
    return rows


def rws_without_primary() -> list[tuple[Region, list[RW]]]:
    """City-wide RWs with no primary satgas, grouped by kelurahan."""
    has_primary = exists().where(SatgasAssignment.rw_id == RW.id, SatgasAssignment.kind == "primary")
    grouped: dict[str, list[RW]] = defaultdict(list)
    for rw in db.session.scalars(select(RW).where(~has_primary).order_by(RW.kelurahan_code, RW.number)):
        grouped[rw.kelurahan_code].append(rw)
    regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(list(grouped))))}
    return [(regions[code], rws) for code, rws in grouped.items()]
