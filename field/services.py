"""Queries and rules of the Satgas Pamor's field mode ("Tugas hari ini").

Everything here flushes and never commits (the route commits). A satgas only ever sees the jobs
assigned to them: `my_job` returns None for anybody else's job (the route answers 404).

Choice for "Tidak dapat diselesaikan": the job does not stay in ``failed``. It is re-planned at once:
status goes back to ``requested`` with the new ``preferred_date`` and the reason kept in
``failed_reason`` (shown on the job until it is done), so the job simply appears on the satgas' list
on the new date and the resident sees the new date.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import date
from itertools import groupby

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from eopen.extensions import db
from eopen.models import RW, FieldJob, User, utcnow
from eopen.services import fieldjobs, labels, sla
from eopen.services.lifecycle import note_event

OPEN_STATES = ("requested", "on_the_way")
# A new date is chosen like a resident's preferred date: tomorrow up to 30 days ahead (fieldjobs).
MAX_DAYS_AHEAD = fieldjobs.MAX_DAYS_AHEAD
earliest_date = fieldjobs.earliest_date
latest_date = fieldjobs.latest_date
# The kinds and time windows are the residents' own words (eopen.services.fieldjobs): one source.
KIND_SHORT = fieldjobs.KIND_SHORT
TIME_WINDOWS = fieldjobs.TIME_WINDOWS
STATUS_LABELS = {"requested": _l("Belum berangkat"), "on_the_way": _l("Dalam perjalanan")}
FAIL_REASONS = {
    "not_home": _l("Warga tidak ada di rumah"),
    "address_not_found": _l("Alamat tidak ditemukan"),
    "documents_incomplete": _l("Dokumen belum lengkap"),
    "resident_asked": _l("Warga minta dijadwalkan ulang"),
    "other": _l("Alasan lain"),
}


class FieldError(Exception):
    """A rule refused the action: `message` for the user, `field` the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


@dataclass
class JobView:
    """What a satgas needs to see about one job, read once from the request and the household."""
    job: FieldJob
    kind_label: str
    name: str          # whom the request is for (maybe a baby)
    contact: str       # who asked and answers the phone: the applicant
    street: str
    rt: str
    rw: str
    kelurahan: str
    window: str
    bring: str
    phone: str | None
    tel_href: str | None
    wa_href: str | None
    status_label: str
    rw_number: int = 0
    rt_number: int = 0


@dataclass
class Group:
    rw: str
    rt: str
    kelurahan: str
    jobs: list[JobView] = dc_field(default_factory=list)


def _digits(phone: str | None) -> str | None:
    """'+62 812-3456' → '628123456'; a local '0812…' becomes '62812…'."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits or None


def view(job: FieldJob) -> JobView:
    req = job.request
    person = req.subject_person
    household = person.household if person else None
    rw = household.rw if household else db.session.get(RW, job.rw_id)
    rt = household.rt if household else None
    digits = _digits(req.applicant.phone if req.applicant else None)
    if job.kind == "pickup":
        bring = _l("Ambil: %(service)s — dokumen asli sesuai permohonan", service=labels.service_label(req))
    else:
        bring = _l("Antar: kartu/dokumen yang sudah jadi (%(service)s)", service=labels.service_label(req))
    return JobView(
        job=job, kind_label=str(KIND_SHORT.get(job.kind, job.kind)),
        name=person.full_name if person else (req.subject_name or "—"),
        contact=req.applicant.display_name if req.applicant else "—",
        street=household.street if household else "—",
        rt=rt.label if rt else "—", rw=rw.label if rw else "—",
        kelurahan=(household.kelurahan.name if household else (rw.kelurahan.name if rw else "—")),
        window=str(TIME_WINDOWS.get(job.time_window, job.time_window)), bring=str(bring),
        phone=("+" + digits) if digits else None,
        tel_href=f"tel:+{digits}" if digits else None, wa_href=f"https://wa.me/{digits}" if digits else None,
        status_label=str(STATUS_LABELS.get(job.status, job.status)),
        rw_number=rw.number if rw else 0, rt_number=rt.number if rt else 0)


def _grouped(views: list[JobView]) -> list[Group]:
    """By RW then RT (then time window), each group once."""
    views = sorted(views, key=lambda v: (v.kelurahan, v.rw_number, v.rt_number, v.job.preferred_date,
                                         v.job.time_window, v.job.id))
    groups = []
    for (kel, rw, rt), items in groupby(views, key=lambda v: (v.kelurahan, v.rw, v.rt)):
        groups.append(Group(rw=rw, rt=rt, kelurahan=kel, jobs=list(items)))
    return groups


@dataclass
class Agenda:
    today: date
    late: list[Group]
    now: list[Group]
    later: list[Group]

    @property
    def empty(self) -> bool:
        return not (self.late or self.now or self.later)


def agenda(user: User, today: date | None = None) -> Agenda:
    """The user's open jobs: late (before today), today, and later, each grouped by RW then RT."""
    today = today or sla.today_local()
    jobs = db.session.scalars(select(FieldJob).where(
        FieldJob.satgas_id == user.id, FieldJob.status.in_(OPEN_STATES))).all()
    views = [view(j) for j in jobs]
    return Agenda(today=today,
                  late=_grouped([v for v in views if v.job.preferred_date < today]),
                  now=_grouped([v for v in views if v.job.preferred_date == today]),
                  later=_grouped([v for v in views if v.job.preferred_date > today]))


def my_job(user: User, job_id: int) -> FieldJob | None:
    job = db.session.get(FieldJob, job_id)
    if job is None or job.satgas_id != user.id:
        return None
    return job


def can_leave(job: FieldJob) -> bool:
    return job.status == "requested"


def can_fail(job: FieldJob) -> bool:
    return job.status in OPEN_STATES


def start(job: FieldJob, actor: User | None = None) -> FieldJob:
    """requested → on_the_way, as one conditional update: a double click finds it already done.

    The update lands only while the job is still held by the satgas it was read with (it may have been
    moved to another satgas meanwhile). Writes a "job_on_the_way" event on the request (the satgas as
    actor: ``actor``, else the job's satgas) only when the status changed.
    """
    holder = job.satgas_id
    actor = actor if actor is not None else (db.session.get(User, holder) if holder is not None else None)
    result = db.session.execute(
        update(FieldJob).where(FieldJob.id == job.id, FieldJob.status == "requested",
                               FieldJob.satgas_id == holder)
        .values(status="on_the_way", updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount == 0:
        if job.satgas_id != holder:
            raise FieldError(_l("Tugas ini sudah dialihkan ke Satgas Pamor lain."))
        if job.status != "on_the_way":
            raise FieldError(_l("Tugas ini tidak dapat dimulai lagi."))
        return job  # a double click: already on the way, no second event
    note_event(job.request, "job_on_the_way", actor, data={"job_id": job.id, "kind": job.kind})
    db.session.flush()
    return job


def reschedule(job: FieldJob, reason: str | None, detail: str | None, new_date: date | None,
               today: date | None = None, actor: User | None = None) -> FieldJob:
    """"Tidak dapat diselesaikan": failed, then at once back to requested on `new_date` (reason kept).

    Writes a "job_rescheduled" event on the request (the satgas as actor: ``actor``, else the job's
    satgas; data: job, kind, reason code and text, new date) only when something changed: the same
    form sent twice writes nothing.
    """
    today = today or sla.today_local()
    detail = (detail or "").strip()
    if reason not in FAIL_REASONS:
        raise FieldError(_l("Pilih alasan tugas tidak dapat diselesaikan."), "reason")
    if reason == "other" and not detail:
        raise FieldError(_l("Tulis alasannya."), "detail")
    if new_date is None:
        raise FieldError(_l("Isi tanggal kunjungan baru, misalnya 17-08-2024."), "new_date")
    if new_date < earliest_date(today):
        raise FieldError(_l("Tanggal baru paling cepat besok."), "new_date")
    if new_date > latest_date(today):
        raise FieldError(_l("Tanggal baru paling lambat 30 hari dari hari ini."), "new_date")
    if not sla.is_working_day(new_date):
        raise FieldError(_l("Tanggal itu bukan hari kerja. Pilih Senin–Jumat yang bukan hari libur."),
                         "new_date")
    text = (str(FAIL_REASONS[reason]) + (": " + detail if detail else ""))[:1000]
    holder = job.satgas_id
    actor = actor if actor is not None else (db.session.get(User, holder) if holder is not None else None)
    result = db.session.execute(
        update(FieldJob).where(FieldJob.id == job.id, FieldJob.status.in_(OPEN_STATES),
                               FieldJob.satgas_id == holder,
                               or_(FieldJob.status != "requested", FieldJob.preferred_date != new_date,
                                   FieldJob.failed_reason.is_(None), FieldJob.failed_reason != text))
        .values(status="requested", preferred_date=new_date, failed_reason=text, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount == 0:
        if job.satgas_id != holder:
            raise FieldError(_l("Tugas ini sudah dialihkan ke Satgas Pamor lain."))
        if job.status == "requested" and job.preferred_date == new_date and job.failed_reason == text:
            return job  # the same form sent twice: no second event
        raise FieldError(_l("Tugas ini sudah tidak terbuka."))
    note_event(job.request, "job_rescheduled", actor, note=text,
               data={"job_id": job.id, "kind": job.kind, "reason": reason, "reason_text": text,
                     "new_date": new_date.isoformat()})
    db.session.flush()
    return job
