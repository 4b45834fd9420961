"""Jemput-antar: a resident asks a Satgas Pamor to come by (pickup) or to bring the result home (delivery).

Rules:
- Only the applicant (a resident) of a request in their scope may ask, change or cancel, and only when the
  request has an RW (``rw_id``). Requests filed by institutions have no RW and cannot use jemput-antar.
- Pickup ("jemput": help with the documents, or take originals that must be handed in) is possible while
  the request is submitted, in review or waiting for a revision.
- Delivery ("antar") is possible from submitted up to issued / ready for collection. For services whose
  output is a PDF document, delivery means a printed copy of the issued document is brought home.
- One OPEN job (requested / on the way) per request and kind; asking again means changing the open one.
- The preferred date is a working day from tomorrow up to 30 days ahead; the time window is one of
  ``TIME_WINDOWS``.
- The same ``client_token`` twice (a double tap) returns the job made the first time.
- Routing: the RW's primary satgas when active and available, else the backup when active and available,
  else nobody yet (the job waits for a satgas to be assigned; it never fails for that).
- Change and cancel are possible only while the job is "requested" (until the satgas is on the way).
- Every change of a job is an event on its request ("job_requested", "job_changed", "job_cancelled",
  with data ``{"job_id", "kind", ...}``; ``lifecycle.note_event``, the status does not change), so the
  timeline and the audit trail show it. A double tap or a change that changes nothing writes none.

Functions flush and never commit (the route commits). Refusals raise ``FieldJobError``.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import FieldJob, SatgasAssignment, ServiceRequest, User, utcnow
from . import scope, sla
from .lifecycle import note_event

KINDS = ("pickup", "delivery")
KIND_LABELS = {"pickup": _l("Dijemput (Satgas datang membantu berkas atau mengambil dokumen asli)"),
               "delivery": _l("Diantar (kartu atau dokumen cetak diantar ke rumah)")}
KIND_SHORT = {"pickup": _l("Jemput"), "delivery": _l("Antar")}
TIME_WINDOWS = {"08-12": _l("Pagi 08.00–12.00"), "12-16": _l("Siang 12.00–16.00"),
                "16-20": _l("Sore 16.00–20.00")}
STATUS_LABELS = {"requested": _l("Diminta"), "on_the_way": _l("Satgas dalam perjalanan"), "done": _l("Selesai"),
                 "failed": _l("Gagal, menunggu jadwal baru"), "cancelled": _l("Dibatalkan")}
OPEN_STATES = ("requested", "on_the_way")
PICKUP_STATES = ("submitted", "in_review", "needs_revision")
DELIVERY_STATES = ("submitted", "in_review", "needs_revision", "verifying", "approved", "sent_to_siak", "issued",
                   "ready_for_collection")
MAX_DAYS_AHEAD = 30
NOTE_MAX = 500


class FieldJobError(Exception):
    """A refused request; ``str(error)`` is the message for the user, ``field`` the input it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def route(rw_id: int) -> int | None:
    """The satgas who gets a new job of this RW: primary, else backup (each only if active and available)."""
    rows = db.session.execute(select(SatgasAssignment.kind, User)
                              .join(User, User.id == SatgasAssignment.satgas_id)
                              .where(SatgasAssignment.rw_id == rw_id)).all()
    by_kind = {kind: user for kind, user in rows}
    for kind in ("primary", "backup"):
        user = by_kind.get(kind)
        if user is not None and user.active and user.available:
            return user.id
    return None


def jobs_for(req: ServiceRequest) -> list[FieldJob]:
    return list(db.session.scalars(select(FieldJob).where(FieldJob.request_id == req.id)
                                   .order_by(FieldJob.created_at, FieldJob.id)))


def open_job(req: ServiceRequest, kind: str) -> FieldJob | None:
    return db.session.scalar(select(FieldJob).where(FieldJob.request_id == req.id, FieldJob.kind == kind,
                                                    FieldJob.status.in_(OPEN_STATES)))


def kind_allowed(req: ServiceRequest, kind: str) -> bool:
    return req.status in (PICKUP_STATES if kind == "pickup" else DELIVERY_STATES)


def askable_kinds(req: ServiceRequest, user: User | None) -> list[str]:
    """The kinds this user may ask for now (no open job of that kind, request in a fitting state)."""
    if not is_applicant(req, user) or req.rw_id is None:
        return []
    return [kind for kind in KINDS if kind_allowed(req, kind) and open_job(req, kind) is None]


def is_applicant(req: ServiceRequest, user: User | None) -> bool:
    return (user is not None and getattr(user, "role", None) == "resident" and req.applicant_id == user.id
            and scope.can_view(user, req))


def earliest_date(today: date | None = None) -> date:
    return (today or sla.today_local()) + timedelta(days=1)


def latest_date(today: date | None = None) -> date:
    return (today or sla.today_local()) + timedelta(days=MAX_DAYS_AHEAD)


def _check_applicant(req: ServiceRequest, user: User | None) -> None:
    if not is_applicant(req, user):
        raise FieldJobError(_("Hanya pemohon yang dapat meminta jemput-antar untuk permohonan ini."))
    if req.rw_id is None:
        raise FieldJobError(_("Permohonan ini tidak terhubung dengan RW mana pun (misalnya diajukan oleh instansi), "
                              "jadi tidak dapat dijemput atau diantar Satgas Pamor."))


def _check_slot(preferred_date: date | None, time_window: str | None, note: str | None,
                today: date | None = None) -> str | None:
    if preferred_date is None:
        raise FieldJobError(_("Isi tanggal yang Anda inginkan, misalnya 17-08-2026."), "preferred_date")
    first, last = earliest_date(today), latest_date(today)
    if preferred_date < first:
        raise FieldJobError(_("Tanggal paling cepat besok."), "preferred_date")
    if preferred_date > last:
        raise FieldJobError(_("Tanggal paling lambat %(num)s hari dari hari ini.", num=MAX_DAYS_AHEAD),
                            "preferred_date")
    if not sla.is_working_day(preferred_date):
        raise FieldJobError(_("Tanggal itu hari libur atau akhir pekan. Pilih hari kerja."), "preferred_date")
    if time_window not in TIME_WINDOWS:
        raise FieldJobError(_("Pilih waktu kunjungan."), "time_window")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise FieldJobError(_("Catatan alamat paling banyak %(num)s karakter.", num=NOTE_MAX), "address_note")
    return note


def request_job(req: ServiceRequest, user: User, kind: str, preferred_date: date | None, time_window: str | None,
                address_note: str | None, client_token: str | None, *, today: date | None = None) -> FieldJob:
    """A new pickup or delivery job, routed to the RW's satgas (or waiting for one)."""
    token = (client_token or "").strip()[:64] or None
    if token:
        existing = db.session.scalar(select(FieldJob).where(FieldJob.client_token == token))
        if existing is not None and existing.request_id == req.id and existing.created_by_id == user.id:
            return existing  # the same form sent twice
        if existing is not None:
            token = None  # someone else's token: never reveal it, just do not reuse it
    _check_applicant(req, user)
    if kind not in KINDS:
        raise FieldJobError(_("Pilih dijemput atau diantar."), "kind")
    if not kind_allowed(req, kind):
        if kind == "pickup":
            raise FieldJobError(_("Penjemputan hanya dapat diminta sebelum permohonan disetujui."), "kind")
        raise FieldJobError(_("Pengantaran tidak dapat diminta lagi pada status permohonan ini."), "kind")
    running = open_job(req, kind)
    if running is not None:
        if token and running.client_token == token and running.created_by_id == user.id:
            return running  # the twin of a double tap was committed meanwhile
        raise FieldJobError(_("Sudah ada permintaan %(kind)s yang berjalan untuk permohonan ini. "
                              "Ubah permintaan itu bila jadwalnya perlu diganti.", kind=str(KIND_SHORT[kind]).lower()),
                            "kind")
    note = _check_slot(preferred_date, time_window, address_note, today)
    job = FieldJob(request_id=req.id, kind=kind, status="requested", satgas_id=route(req.rw_id), rw_id=req.rw_id,
                   preferred_date=preferred_date, time_window=time_window, address_note=note,
                   client_token=token, created_by_id=user.id)
    try:
        with db.session.begin_nested():  # a simultaneous double tap: the unique token decides
            db.session.add(job)
    except IntegrityError:
        existing = db.session.scalar(select(FieldJob).where(FieldJob.client_token == token)) if token else None
        if existing is not None:
            return existing
        raise
    note_event(req, "job_requested", user, data={**_job_data(job), "preferred_date": preferred_date.isoformat(),
                                                  "time_window": time_window})
    return job


def _differs(column, value):
    return column.is_not(None) if value is None else or_(column.is_(None), column != value)


def _job_data(job: FieldJob) -> dict:
    """What every job event says about its job (nothing about people: the ids of the job only)."""
    return {"job_id": job.id, "kind": job.kind}


def _check_changeable(job: FieldJob, user: User) -> None:
    if not is_applicant(job.request, user):
        raise FieldJobError(_("Hanya pemohon yang dapat mengubah permintaan ini."))
    if job.status != "requested":
        if job.status == "on_the_way":
            raise FieldJobError(_("Satgas sudah dalam perjalanan, jadi permintaan tidak dapat diubah atau dibatalkan "
                                  "lagi. Hubungi Halo Pamor bila perlu."))
        raise FieldJobError(_("Permintaan ini sudah %(status)s, jadi tidak dapat diubah atau dibatalkan.",
                              status=str(STATUS_LABELS.get(job.status, job.status)).lower()))


def change_job(job: FieldJob, user: User, preferred_date: date | None, time_window: str | None,
               address_note: str | None, *, today: date | None = None) -> FieldJob:
    _check_changeable(job, user)
    note = _check_slot(preferred_date, time_window, address_note, today)
    # One conditional UPDATE: it lands only while the satgas has not set off, and only when it changes
    # something (the same form sent twice writes no second event).
    result = db.session.execute(
        update(FieldJob).where(FieldJob.id == job.id, FieldJob.status == "requested", or_(
            FieldJob.preferred_date != preferred_date, FieldJob.time_window != time_window,
            _differs(FieldJob.address_note, note)))
        .values(preferred_date=preferred_date, time_window=time_window, address_note=note, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount == 0:
        _check_changeable(job, user)  # the satgas set off meanwhile: refused with the reason
        return job  # nothing changed
    note_event(job.request, "job_changed", user, data={**_job_data(job), "preferred_date": preferred_date.isoformat(),
                                                        "time_window": time_window})
    return job


def cancel_job(job: FieldJob, user: User) -> FieldJob:
    if job.status == "cancelled" and is_applicant(job.request, user):
        return job  # sent twice
    _check_changeable(job, user)
    result = db.session.execute(
        update(FieldJob).where(FieldJob.id == job.id, FieldJob.status == "requested")
        .values(status="cancelled", updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount == 0:
        if job.status == "cancelled":
            return job  # a simultaneous double tap cancelled it first
        _check_changeable(job, user)  # the satgas set off meanwhile
    note_event(job.request, "job_cancelled", user, data=_job_data(job))
    return job
