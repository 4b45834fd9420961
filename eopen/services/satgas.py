"""RWs, RTs and the Satgas Pamor who cover them: the rules the admin pages apply.

- An RW number is 1–999 and unique in its kelurahan; an RT number is 1–999 and unique in its RW.
- An RW or RT is removed only when nothing refers to it (households, requests, satgas assignments,
  the assignment log); otherwise the removal is refused with a message, never an IntegrityError.
- A satgas may cover several RWs, all in ONE kelurahan. Each RW has one primary and optionally one
  backup satgas, and they are different people.
- Every change of an RW's satgas writes an AssignmentLog row (from, to, by, kind, moved_jobs).
- Open jemput-antar jobs follow the RW's satgas: after an assignment changes, every open job of the RW
  held by the person replaced or removed, and every job still waiting for a satgas, is routed again
  (``fieldjobs.route``). A job that changes hands goes back to "requested" (the new satgas has not set
  off), remembers whom it was moved away from (``moved_from_id``) and writes a "job_moved" event on its
  request. Marking a primary unavailable moves their not-yet-started jobs to an available backup.

Functions flush and never commit (the route commits). Refusals raise ``SatgasError``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (RT, RW, AssignmentLog, FieldJob, Household, Region, SatgasAssignment, ServiceRequest, User,
                      utcnow)
from . import fieldjobs
from .lifecycle import note_event

KINDS = ("primary", "backup")
MIN_NUMBER, MAX_NUMBER = 1, 999
OPEN_JOB_STATES = fieldjobs.OPEN_STATES


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
    db.session.flush()
    moved = _reroute_rw(rw, from_id, by)
    log = AssignmentLog(rw_id=rw.id, kind=kind, from_satgas_id=from_id, to_satgas_id=satgas.id, by_id=by.id,
                        moved_jobs=moved)
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
    from_id = current.satgas_id
    db.session.delete(current)
    db.session.flush()
    moved = _reroute_rw(rw, from_id, by)
    log = AssignmentLog(rw_id=rw.id, kind=kind, from_satgas_id=from_id, to_satgas_id=None,
                        by_id=by.id, moved_jobs=moved)
    db.session.add(log)
    db.session.flush()
    return log


def set_available(satgas: User, available: bool, by: User | None = None) -> bool:
    """Marks a satgas (un)available; returns whether anything changed.

    Unavailable: in every RW where they are the primary, their jobs that have not started yet
    ("requested") move to the RW's backup when the backup is active and available (a "job_moved" event
    each, ``by`` as its actor). Jobs already on the way stay: the satgas has set off. No AssignmentLog
    row is written, because the RW's assignment does not change; the events are the record.

    Available again: nothing moves back. Only jobs of their RWs that are still waiting for any satgas
    (``satgas_id`` None) are routed again, as a new job would be.
    """
    if satgas.role != "satgas":
        raise SatgasError(_("Pengguna ini bukan Satgas Pamor."))
    if satgas.available == available:
        return False
    satgas.available = available
    db.session.flush()
    if not available:
        backups = db.session.execute(
            select(SatgasAssignment.rw_id, User)
            .join(User, User.id == SatgasAssignment.satgas_id)
            .where(SatgasAssignment.kind == "backup",
                   SatgasAssignment.rw_id.in_(select(SatgasAssignment.rw_id).where(
                       SatgasAssignment.satgas_id == satgas.id, SatgasAssignment.kind == "primary")))).all()
        for rw_id, backup in backups:
            if backup.id == satgas.id or not (backup.active and backup.available):
                continue
            jobs = db.session.scalars(select(FieldJob).where(
                FieldJob.rw_id == rw_id, FieldJob.satgas_id == satgas.id, FieldJob.status == "requested")
                .order_by(FieldJob.id)).all()
            for job in jobs:
                _move_job(job, backup.id, by, only_status=("requested",))
    else:
        covered = select(SatgasAssignment.rw_id).where(SatgasAssignment.satgas_id == satgas.id)
        waiting = db.session.scalars(select(FieldJob).where(
            FieldJob.rw_id.in_(covered), FieldJob.satgas_id.is_(None), FieldJob.status.in_(OPEN_JOB_STATES))
            .order_by(FieldJob.id)).all()
        targets: dict[int, int | None] = {}
        for job in waiting:
            if job.rw_id not in targets:
                targets[job.rw_id] = fieldjobs.route(job.rw_id)
            if targets[job.rw_id] is not None:
                _move_job(job, targets[job.rw_id], by)
    return True


# --- Jobs that follow the RW's satgas ----------------------------------------------------------------

def _reroute_rw(rw: RW, replaced_id: int | None, by: User | None) -> int:
    """Routes again (after the RW's assignment changed) the RW's open jobs held by ``replaced_id`` and
    those waiting for any satgas. Returns how many changed satgas."""
    target = fieldjobs.route(rw.id)
    held = [FieldJob.satgas_id.is_(None)]
    if replaced_id is not None:
        held.append(FieldJob.satgas_id == replaced_id)
    jobs = db.session.scalars(select(FieldJob).where(
        FieldJob.rw_id == rw.id, FieldJob.status.in_(OPEN_JOB_STATES), or_(*held)).order_by(FieldJob.id)).all()
    return sum(1 for job in jobs if job.satgas_id != target and _move_job(job, target, by))


def _move_job(job: FieldJob, to_id: int | None, by: User | None,
              only_status: tuple[str, ...] = OPEN_JOB_STATES) -> bool:
    """Gives ``job`` to ``to_id`` (None: waiting for a satgas) as one conditional UPDATE, so a satgas
    setting off at the same instant is not overwritten: the job moves only if it still has the holder
    and a status in ``only_status`` that were read. The job goes back to "requested" (the new satgas has
    not set off) and remembers whom it was moved away from (a job that was waiting keeps the satgas it
    left earlier). Writes the "job_moved" event. Returns whether it moved."""
    from_id, status = job.satgas_id, job.status
    if from_id == to_id or status not in only_status:
        return False
    values = {"satgas_id": to_id, "status": "requested", "updated_at": utcnow()}
    if from_id is not None:
        values["moved_from_id"] = from_id
    holder = FieldJob.satgas_id.is_(None) if from_id is None else FieldJob.satgas_id == from_id
    result = db.session.execute(
        update(FieldJob).where(FieldJob.id == job.id, holder, FieldJob.status == status).values(**values)
        .execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount == 0:
        return False
    note_event(job.request, "job_moved", by, data={"job_id": job.id, "kind": job.kind,
                                                   "from_satgas_id": from_id, "to_satgas_id": to_id})
    return True


# --- Overviews ---------------------------------------------------------------------------------------

def open_jobs(satgas: User) -> int:
    """How many jemput-antar jobs the satgas holds that are not finished (requested or on the way)."""
    return db.session.scalar(select(func.count(FieldJob.id)).where(
        FieldJob.satgas_id == satgas.id, FieldJob.status.in_(OPEN_JOB_STATES))) or 0


def _open_jobs_by_satgas() -> dict[int, int]:
    return dict(db.session.execute(select(FieldJob.satgas_id, func.count(FieldJob.id))
                                   .where(FieldJob.satgas_id.is_not(None), FieldJob.status.in_(OPEN_JOB_STATES))
                                   .group_by(FieldJob.satgas_id)).all())


def _waiting_by_rw(rw_ids=None) -> dict[int, int]:
    """Open jobs waiting for any satgas (``satgas_id`` None), per RW id."""
    stmt = (select(FieldJob.rw_id, func.count(FieldJob.id))
            .where(FieldJob.satgas_id.is_(None), FieldJob.status.in_(OPEN_JOB_STATES)).group_by(FieldJob.rw_id))
    if rw_ids is not None:
        stmt = stmt.where(FieldJob.rw_id.in_(list(rw_ids)))
    return dict(db.session.execute(stmt).all())


def _open_by_rw(rw_ids) -> dict[int, int]:
    return dict(db.session.execute(select(FieldJob.rw_id, func.count(FieldJob.id))
                                   .where(FieldJob.rw_id.in_(list(rw_ids)), FieldJob.status.in_(OPEN_JOB_STATES))
                                   .group_by(FieldJob.rw_id)).all())


def waiting_jobs() -> list[tuple[Region, list[tuple[RW, int]]]]:
    """City-wide open jobs that no satgas holds, as (kelurahan, [(RW, number of jobs)]) by kelurahan."""
    counts = _waiting_by_rw()
    if not counts:
        return []
    rws = db.session.scalars(select(RW).where(RW.id.in_(list(counts))).order_by(RW.kelurahan_code, RW.number))
    grouped: dict[str, list[tuple[RW, int]]] = defaultdict(list)
    for rw in rws:
        grouped[rw.kelurahan_code].append((rw, counts[rw.id]))
    regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(list(grouped))))}
    return [(regions[code], items) for code, items in grouped.items()]


@dataclass
class KelurahanRow:
    region: Region
    rw_count: int = 0
    without_primary: int = 0
    waiting_jobs: int = 0  # open jemput-antar jobs in its RWs that no satgas holds


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
    waiting = dict(db.session.execute(
        select(RW.kelurahan_code, func.count(FieldJob.id)).join(FieldJob, FieldJob.rw_id == RW.id)
        .where(FieldJob.satgas_id.is_(None), FieldJob.status.in_(OPEN_JOB_STATES))
        .group_by(RW.kelurahan_code)).all())
    names = kecamatan_names()
    groups: dict[str, KecamatanGroup] = {}
    for region in bekasi_kelurahan():
        code = region.parent_code or kecamatan_of(region.code)
        group = groups.setdefault(code, KecamatanGroup(code, names.get(code, code)))
        total, missing = counts.get(region.code, (0, 0))
        group.kelurahan.append(KelurahanRow(region, total, int(missing), waiting.get(region.code, 0)))
    return list(groups.values())


@dataclass
class RWRow:
    rw: RW
    primary: User | None
    backup: User | None
    log: list[AssignmentLog]
    open_jobs: int = 0     # open jemput-antar jobs of the RW, whoever holds them
    waiting_jobs: int = 0  # of which no satgas holds any (waiting for one to be assigned or available)


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
    open_counts = _open_by_rw(ids) if ids else {}
    waiting = _waiting_by_rw(ids) if ids else {}
    return [RWRow(rw, holders.get((rw.id, "primary")), holders.get((rw.id, "backup")), logs[rw.id],
                  open_counts.get(rw.id, 0), waiting.get(rw.id, 0)) for rw in rws]


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
    counts = _open_jobs_by_satgas()
    rows = []
    for user in users:
        mine = covered[user.id]
        codes = sorted({rw.kelurahan_code for rw in mine["primary"] + mine["backup"]})
        rows.append(SatgasRow(user, mine["primary"], mine["backup"],
                              [db.session.get(Region, c) for c in codes], counts.get(user.id, 0)))
    return rows


def rws_without_primary() -> list[tuple[Region, list[RW]]]:
    """City-wide RWs with no primary satgas, grouped by kelurahan."""
    has_primary = exists().where(SatgasAssignment.rw_id == RW.id, SatgasAssignment.kind == "primary")
    grouped: dict[str, list[RW]] = defaultdict(list)
    for rw in db.session.scalars(select(RW).where(~has_primary).order_by(RW.kelurahan_code, RW.number)):
        grouped[rw.kelurahan_code].append(rw)
    regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(list(grouped))))}
    return [(regions[code], rws) for code, rws in grouped.items()]
