"""What a Satgas Pamor hands over and receives: at the resident's door and at the kecamatan desk.

The chain of custody itself (one holder per item, handover rows, codes) lives in
``eopen.services.custody``; this module applies it to the field jobs:

- Pickup at the door: the resident gives originals; the satgas picks them from the request's
  requirements (or types what else) and confirms with the resident's code (or date of birth + last 4
  NIK digits). The items enter the chain held by the satgas; the job is done. A pickup job is done
  only through this handover.
- At the desk, in: the satgas gives the originals they hold to the kecamatan office; the operator on
  duty confirms with their desk code.
- At the desk, out: the satgas takes the finished card / printed document of each request they are to
  deliver (registered at the office if it is not in the chain yet); the request goes
  ``out_for_delivery`` through the life cycle ("dispatch").
- Delivery at the door: everything of the request the satgas holds goes to the resident, confirmed
  like a pickup; the request goes ``delivered`` ("deliver") and the job is done.

Everything flushes and never commits; refusals raise FieldError or custody.CustodyError.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update

from eopen.extensions import db
from eopen.models import CustodyItem, FieldJob, ServiceRequest, User
from eopen.services import custody, lifecycle
from eopen.services.catalogue import get_catalogue
from eopen.services.custody import Party

from .services import OPEN_STATES, FieldError, view

OTHER = "other"
DELIVERABLE_STATES = ("issued", "ready_for_collection")
HOLDER_LABELS = {"resident": "resident", "satgas": "satgas", "office": "office"}


@dataclass
class Confirmation:
    code: str | None = None
    birth_date: date | None = None
    nik_last4: str | None = None


def pickup_choices(req: ServiceRequest) -> list[tuple[str, str]]:
    """What a satgas may take at the door: the originals of the request's requirements, then "other"."""
    choices = []
    service = get_catalogue().service(req.service_code)
    variant = service.variant(req.variant_code) if req.variant_code else None
    for requirement in (variant.requirements if variant else ()):
        if requirement.original:
            choices.append((requirement.code, _(requirement.original)))
        else:
            choices.append((requirement.code, _("Asli: %(label)s", label=_(requirement.label))))
    return choices


def _pickup_labels(req: ServiceRequest, chosen: list[str], other: str | None) -> list[tuple[str, str]]:
    known = dict(pickup_choices(req))
    result = [("original", known[code]) for code in chosen if code in known]
    other = (other or "").strip()
    if OTHER in chosen or other:
        if not other:
            raise FieldError(_("Tulis barang lain yang Anda terima."), "other")
        if len(other) > 200:
            raise FieldError(_("Nama barang lain paling banyak 200 karakter."), "other")
        result.append(("original", other))
    if not result:
        raise FieldError(_("Pilih paling sedikit satu barang yang Anda terima dari warga."), "items")
    return result


def output_label(req: ServiceRequest) -> str:
    service = get_catalogue().service(req.service_code)
    if service.output == "card":
        return _("Kartu %(service)s", service=_(service.label))
    return _("Cetakan %(service)s", service=_(service.label))


def _door(job: FieldJob) -> str:
    v = view(job)
    return _("Rumah warga: %(street)s, RT %(rt)s/RW %(rw)s, %(kelurahan)s",
             street=v.street, rt=v.rt, rw=v.rw, kelurahan=v.kelurahan)[:300]


def _check_job(job: FieldJob, satgas: User, kind: str) -> None:
    if job.satgas_id != satgas.id or job.kind != kind:
        raise FieldError(_("Tugas ini bukan tugas Anda."))
    if job.status not in OPEN_STATES:
        error = FieldError(_("Tugas ini sudah tidak terbuka (sudah selesai atau dibatalkan)."))
        error.reason = "stale"
        raise error


def _finish(job: FieldJob, at: datetime) -> None:
    result = db.session.execute(update(FieldJob).where(FieldJob.id == job.id, FieldJob.status.in_(OPEN_STATES))
                                .values(status="done", done_at=at).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        error = FieldError(_("Tugas ini baru saja diubah. Muat ulang halaman."))
        error.reason = "stale"
        raise error
    db.session.refresh(job)


def _confirm(req: ServiceRequest, confirmation: Confirmation, at: datetime) -> tuple[str, User]:
    return custody.confirm_resident(req, code=confirmation.code, birth_date=confirmation.birth_date,
                                    nik_last4=confirmation.nik_last4, at=at)


def collect_at_door(job: FieldJob, satgas: User, chosen: list[str], other: str | None,
                    confirmation: Confirmation, at: datetime, photo: str | None = None) -> str:
    """Pickup: the resident hands originals to the satgas. Returns the message for the satgas."""
    _check_job(job, satgas, "pickup")
    req = job.request
    items = _pickup_labels(req, chosen, other)
    method, resident = _confirm(req, confirmation, at)
    custody.receive_new(req, items, Party("resident", user_id=resident.id), Party("satgas", user_id=satgas.id),
                        recorded_by=satgas, confirmed_by=resident if method == "code" else None, method=method,
                        happened_at=at, place=_door(job), job=job, photo_storage_name=photo)
    _finish(job, at)
    lifecycle.note_event(req, "pickup_done", satgas, data={"job_id": job.id, "kind": job.kind, "method": method,
                                                          "items": [label for _kind, label in items]})
    return ngettext("Serah terima tercatat: %(num)s barang diterima dari warga.",
                    "Serah terima tercatat: %(num)s barang diterima dari warga.", len(items))


def deliverables(satgas: User, req: ServiceRequest) -> list[CustodyItem]:
    return custody.held_by(Party("satgas", user_id=satgas.id), req)


def deliver_at_door(job: FieldJob, satgas: User, confirmation: Confirmation, at: datetime,
                    photo: str | None = None) -> str:
    """Delivery: everything of the request the satgas holds goes to the resident; the request is delivered."""
    _check_job(job, satgas, "delivery")
    req = job.request
    items = deliverables(satgas, req)
    if not any(item.kind == "output" for item in items):
        raise FieldError(_("Anda belum membawa %(item)s. Ambil dulu di kantor kecamatan.", item=output_label(req)))
    if req.status != "out_for_delivery":
        raise FieldError(_("Permohonan ini belum dalam pengantaran."))
    method, resident = _confirm(req, confirmation, at)
    custody.transfer(req, items, Party("satgas", user_id=satgas.id), Party("resident", user_id=resident.id),
                     recorded_by=satgas, confirmed_by=resident if method == "code" else None, method=method,
                     happened_at=at, place=_door(job), job=job, photo_storage_name=photo)
    lifecycle.perform(req, "deliver", satgas, data={"job_id": job.id, "method": method})
    _finish(job, at)
    return ngettext("Serah terima tercatat: %(num)s barang diterima warga.",
                    "Serah terima tercatat: %(num)s barang diterima warga.", len(items))


# --- the kecamatan desk ------------------------------------------------------------------------------

def desk_staff(satgas: User) -> list[User]:
    """Who may confirm at the satgas' kecamatan desk: its active operators and penyelia."""
    if not satgas.kecamatan_code:
        return []
    return list(db.session.scalars(select(User).where(
        User.role.in_(("operator", "penyelia")), User.active.is_(True),
        User.kecamatan_code == satgas.kecamatan_code).order_by(User.display_name, User.id)))


def items_to_bring(satgas: User) -> list[CustodyItem]:
    """What the satgas holds that belongs at the office (originals; not outputs still to deliver)."""
    return [item for item in custody.held_by(Party("satgas", user_id=satgas.id)) if item.kind != "output"]


def deliveries_to_collect(satgas: User) -> list[FieldJob]:
    """The satgas' open delivery jobs whose card or document is finished and still at the office."""
    jobs = db.session.scalars(select(FieldJob).join(ServiceRequest, ServiceRequest.id == FieldJob.request_id).where(
        FieldJob.satgas_id == satgas.id, FieldJob.kind == "delivery", FieldJob.status.in_(OPEN_STATES),
        ServiceRequest.status.in_(DELIVERABLE_STATES)).order_by(FieldJob.preferred_date, FieldJob.id)).all()
    return list(jobs)


def _desk_operator(satgas: User, operator_id) -> User:
    staff = {u.id: u for u in desk_staff(satgas)}
    try:
        operator = staff.get(int(operator_id or 0))
    except (TypeError, ValueError):
        operator = None
    if operator is None:
        raise FieldError(_("Pilih petugas meja yang menunjukkan kode."), "operator_id")
    return operator


def bring_to_office(satgas: User, item_ids: list[int], operator_id, code: str | None, at: datetime) -> str:
    """Desk, in: the chosen items go from the satgas to their kecamatan office."""
    operator = _desk_operator(satgas, operator_id)
    wanted = {int(i) for i in item_ids}
    items = [item for item in items_to_bring(satgas) if item.id in wanted]
    if not items or len(items) != len(wanted):
        raise FieldError(_("Pilih barang yang Anda serahkan ke kantor."), "items")
    custody.use_code("desk", operator, None, code, at=at)
    office = Party.office(satgas.kecamatan_code)
    by_request: dict[int, list[CustodyItem]] = {}
    for item in items:
        by_request.setdefault(item.request_id, []).append(item)
    for request_id, group in by_request.items():
        req = db.session.get(ServiceRequest, request_id)
        if req.kecamatan_code != satgas.kecamatan_code:
            raise FieldError(_("%(item)s milik permohonan kecamatan lain.", item=group[0].label), "items")
        custody.transfer(req, group, Party("satgas", user_id=satgas.id), office, recorded_by=satgas,
                         confirmed_by=operator, method="code", happened_at=at,
                         place=custody.office_name(satgas.kecamatan_code))
        lifecycle.note_event(req, "handover_office", satgas,
                             data={"items": [i.label for i in group], "operator_id": operator.id})
    return ngettext("%(num)s barang diserahkan ke kantor kecamatan.",
                    "%(num)s barang diserahkan ke kantor kecamatan.", len(items))


def collect_from_office(satgas: User, job_ids: list[int], operator_id, code: str | None, at: datetime) -> str:
    """Desk, out: the finished card/document of each chosen delivery job goes to the satgas."""
    operator = _desk_operator(satgas, operator_id)
    wanted = {int(i) for i in job_ids}
    jobs = [job for job in deliveries_to_collect(satgas) if job.id in wanted]
    if not jobs or len(jobs) != len(wanted):
        raise FieldError(_("Pilih kartu atau dokumen yang Anda ambil untuk diantar."), "jobs")
    custody.use_code("desk", operator, None, code, at=at)
    office = Party.office(satgas.kecamatan_code)
    for job in jobs:
        req = job.request
        outputs = [i for i in custody.held_by(office, req) if i.kind == "output"]
        if not outputs:
            outputs = [custody.register(req, "output", output_label(req), office, recorded_by=operator,
                                        place=custody.office_name(satgas.kecamatan_code))]
        custody.transfer(req, outputs, office, Party("satgas", user_id=satgas.id), recorded_by=satgas,
                         confirmed_by=operator, method="code", happened_at=at,
                         place=custody.office_name(satgas.kecamatan_code), job=job)
        lifecycle.perform(req, "dispatch", satgas, data={"job_id": job.id})
    return ngettext("%(num)s kartu/dokumen dibawa untuk diantar.",
                    "%(num)s kartu/dokumen dibawa untuk diantar.", len(jobs))
