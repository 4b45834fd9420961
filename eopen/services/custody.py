"""Chain of custody: who holds each physical item of a request, and the handovers between holders.

Rules:
- Every item (an original document, an old card, the printed card or document) has exactly one
  holder: a resident, a Satgas Pamor, or a kecamatan office. The holder is kept on the item row; a
  handover changes it with a conditional UPDATE ("still held by the giver"), so two handovers of the
  same item at the same moment cannot both succeed, and every change writes one ``Handover`` row.
- A handover is confirmed by the other side, who is not holding the phone that records it: at the
  door the resident shows the one-time code from their status page or receipt (or, without a phone,
  says their date of birth and the last 4 digits of their NIK); at the kecamatan desk the operator
  shows their desk code. The satgas types it in. A photo is optional; the confirmation is not.
- Codes are 6 digits, single use (used by the same transaction that records the handover), and
  expire: a resident's code after ``RESIDENT_CODE_DAYS`` days, a desk code after
  ``DESK_CODE_MINUTES`` minutes. After ``MAX_FAILURES`` wrong tries the owner's confirmations are
  locked for ``LOCK_MINUTES`` minutes and a new code is made.

Functions flush and never commit. Refusals raise ``CustodyError``. A wrong code or date of birth
must still be counted although the caller rolls its work back: after the rollback (of the whole
transaction or of a savepoint) the caller calls ``apply_penalty(error)`` and commits.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CustodyItem, Handover, HandoverCode, ServiceRequest, User, utcnow
from . import sla

RESIDENT_CODE_DAYS = 14
DESK_CODE_MINUTES = 15
MAX_FAILURES = 5
LOCK_MINUTES = 30
CODE_DIGITS = 6
CLOCK_SKEW = timedelta(minutes=10)  # a phone's clock may be a little behind the server's


class CustodyError(Exception):
    """A refused handover or confirmation. ``field``: the input it is about; ``reason``: a short word
    ("code", "locked", "stale", "invalid"); ``penalty``: the wrong try to count (see apply_penalty)."""

    def __init__(self, message: str, field: str | None = None, *, reason: str = "invalid",
                 penalty: tuple | None = None):
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.penalty = penalty


def apply_penalty(error: Exception, now: datetime | None = None) -> None:
    """Counts the wrong try carried by ``error`` (no-op for other errors). Call after rolling back."""
    penalty = getattr(error, "penalty", None)
    if penalty:
        purpose, owner_id, request_id = penalty
        owner = db.session.get(User, owner_id)
        req = db.session.get(ServiceRequest, request_id) if request_id is not None else None
        _count_failure(purpose, owner, req, now or utcnow())


@dataclass(frozen=True)
class Party:
    """A holder: ``type`` is resident / satgas (with ``user_id``) or office (with ``kecamatan_code``)."""
    type: str
    user_id: int | None = None
    kecamatan_code: str | None = None

    @classmethod
    def user(cls, user: User) -> "Party":
        return cls("satgas" if user.role == "satgas" else "resident", user_id=user.id)

    @classmethod
    def office(cls, kecamatan_code: str) -> "Party":
        return cls("office", kecamatan_code=kecamatan_code)

    @classmethod
    def holding(cls, item: CustodyItem) -> "Party":
        return cls(item.holder_type, item.holder_user_id, item.holder_kecamatan_code)

    def columns(self, prefix: str) -> dict:
        return {f"{prefix}_type": self.type, f"{prefix}_user_id": self.user_id,
                f"{prefix}_kecamatan_code": self.kecamatan_code}


# --- one-time codes ----------------------------------------------------------------------------------

def _new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def _owner_codes(purpose: str, owner: User, req: ServiceRequest | None):
    stmt = select(HandoverCode).where(HandoverCode.purpose == purpose, HandoverCode.user_id == owner.id)
    if req is not None:
        stmt = stmt.where(HandoverCode.request_id == req.id)
    return stmt


def _live(stmt, now: datetime):
    return stmt.where(HandoverCode.used_at.is_(None), HandoverCode.expires_at > now,
                      HandoverCode.failed_attempts < MAX_FAILURES)


def live_code(purpose: str, owner: User, req: ServiceRequest | None = None, *, now: datetime | None = None,
              renew: bool = False) -> HandoverCode:
    """The owner's current code (made when there is none, or a new one when ``renew``)."""
    now = now or utcnow()
    current = db.session.scalar(_live(_owner_codes(purpose, owner, req), now)
                                .order_by(HandoverCode.id.desc()).limit(1))
    if current is not None and not renew:
        return current
    if current is not None:
        current.expires_at = now  # replaced: the old one stops working at once
    life = timedelta(days=RESIDENT_CODE_DAYS) if purpose == "resident" else timedelta(minutes=DESK_CODE_MINUTES)
    code = HandoverCode(purpose=purpose, user_id=owner.id, request_id=req.id if req is not None else None,
                        code=_new_code(), created_at=now, expires_at=now + life)
    db.session.add(code)
    db.session.flush()
    return code


def resident_code(req: ServiceRequest, *, now: datetime | None = None) -> HandoverCode:
    """The code the applicant shows the satgas for this request (status page and receipt)."""
    return live_code("resident", req.applicant, req, now=now)


def desk_code(operator: User, *, now: datetime | None = None, renew: bool = False) -> HandoverCode:
    return live_code("desk", operator, None, now=now, renew=renew)


def _locked_until(purpose: str, owner: User, req: ServiceRequest | None, now: datetime) -> datetime | None:
    latest = db.session.scalar(_owner_codes(purpose, owner, req).where(HandoverCode.last_failure_at.is_not(None))
                               .order_by(HandoverCode.last_failure_at.desc()).limit(1))
    if latest is None or latest.failed_attempts < MAX_FAILURES or latest.last_failure_at is None:
        return None
    until = latest.last_failure_at + timedelta(minutes=LOCK_MINUTES)
    return until if until > now else None


def _count_failure(purpose: str, owner: User, req: ServiceRequest | None, now: datetime) -> int:
    """One more wrong try against the owner's live code; returns how many tries are left."""
    code = live_code(purpose, owner, req, now=now)
    code.failed_attempts += 1
    code.last_failure_at = now
    db.session.flush()
    return max(0, MAX_FAILURES - code.failed_attempts)


def _digits(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())


def _wrong(purpose: str, owner: User, req: ServiceRequest | None, now: datetime, message: str, field: str):
    """The error for a wrong try; the try itself is counted by apply_penalty after the caller's rollback."""
    live = live_code(purpose, owner, req, now=now)
    left = max(0, MAX_FAILURES - live.failed_attempts - 1)
    penalty = (purpose, owner.id, req.id if req is not None else None)
    if left == 0:
        return CustodyError(_("Terlalu banyak percobaan yang salah. Konfirmasi dikunci %(num)s menit; "
                              "setelah itu minta kode yang baru.", num=LOCK_MINUTES),
                            field, reason="locked", penalty=penalty)
    return CustodyError(message + " " + _("Sisa percobaan: %(num)s.", num=left), field, reason="code",
                        penalty=penalty)


def use_code(purpose: str, owner: User, req: ServiceRequest | None, entered: str | None, *,
             now: datetime | None = None, at: datetime | None = None) -> HandoverCode:
    """Checks ``entered`` against the owner's codes and marks the matching one used (single use).

    ``at`` is when the handover happened (the phone's time): a code that was valid then is accepted
    even when the action reaches the server later, as long as it has not been used since.
    """
    now = now or utcnow()
    at = at or now
    until = _locked_until(purpose, owner, req, now)
    if until is not None:
        raise CustodyError(_("Terlalu banyak percobaan yang salah. Coba lagi setelah %(time)s.",
                             time=_clock(until)), "code", reason="locked")
    entered = _digits(entered)
    if len(entered) != CODE_DIGITS:
        raise CustodyError(_("Masukkan %(num)s angka kode serah terima.", num=CODE_DIGITS), "code", reason="code")
    candidates = db.session.scalars(_owner_codes(purpose, owner, req).where(
        HandoverCode.used_at.is_(None), HandoverCode.failed_attempts < MAX_FAILURES,
        HandoverCode.expires_at > min(at, now))).all()
    match = next((c for c in candidates if hmac.compare_digest(c.code, entered)
                  and c.created_at - CLOCK_SKEW <= at < c.expires_at), None)
    if match is None:
        expired = db.session.scalar(_owner_codes(purpose, owner, req).where(HandoverCode.code == entered)
                                    .order_by(HandoverCode.id.desc()).limit(1))
        if expired is not None and expired.used_at is not None:
            message = _("Kode ini sudah dipakai. Minta kode yang baru.")
        elif expired is not None:
            message = _("Kode ini sudah kedaluwarsa. Minta kode yang baru.")
        else:
            message = _("Kode serah terima salah.")
        raise _wrong(purpose, owner, req, now, message, "code")
    # Single use even when two phones send the same code at the same instant.
    result = db.session.execute(update(HandoverCode).where(HandoverCode.id == match.id, HandoverCode.used_at.is_(None))
                                .values(used_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise CustodyError(_("Kode ini sudah dipakai. Minta kode yang baru."), "code", reason="code")
    db.session.refresh(match)
    return match


def _clock(moment: datetime) -> str:
    return sla.local_time(moment).strftime("%H.%M")


def people_of(req: ServiceRequest) -> list:
    """Whose date of birth and NIK may confirm for this request: the applicant and the person it is for."""
    people = []
    if req.applicant is not None and req.applicant.person is not None:
        people.append(req.applicant.person)
    if req.subject_person is not None and req.subject_person not in people:
        people.append(req.subject_person)
    return [p for p in people if p.nik]


def confirm_resident(req: ServiceRequest, *, code: str | None = None, birth_date: date | None = None,
                     nik_last4: str | None = None, now: datetime | None = None,
                     at: datetime | None = None) -> tuple[str, User]:
    """The applicant's consent for a handover or an assisted application on ``req``.

    Either ``code`` (their one-time code for this request) or ``birth_date`` plus ``nik_last4`` of the
    applicant or of the person the request is for. Returns (method, the applicant).
    """
    now = now or utcnow()
    owner = req.applicant
    if _digits(code):
        use_code("resident", owner, req, code, now=now, at=at)
        return "code", owner
    if birth_date is None and not _digits(nik_last4):
        raise CustodyError(_("Masukkan kode dari warga, atau tanggal lahir dan 4 angka terakhir NIK warga."),
                           "code", reason="code")
    until = _locked_until("resident", owner, req, now)
    if until is not None:
        raise CustodyError(_("Terlalu banyak percobaan yang salah. Coba lagi setelah %(time)s.",
                             time=_clock(until)), "birth_date", reason="locked")
    if birth_date is None:
        raise CustodyError(_("Isi tanggal lahir warga."), "birth_date", reason="code")
    last4 = _digits(nik_last4)
    if len(last4) != 4:
        raise CustodyError(_("Isi 4 angka terakhir NIK warga."), "nik_last4", reason="code")
    if any(p.birth_date == birth_date and hmac.compare_digest(p.nik[-4:], last4) for p in people_of(req)):
        return "birth_nik", owner
    raise _wrong("resident", owner, req, now, _("Tanggal lahir atau 4 angka terakhir NIK tidak cocok."),
                 "birth_date")


# --- items and handovers -----------------------------------------------------------------------------

def items_of(req: ServiceRequest) -> list[CustodyItem]:
    return list(db.session.scalars(select(CustodyItem).where(CustodyItem.request_id == req.id)
                                   .order_by(CustodyItem.id)))


def held_by(party: Party, req: ServiceRequest | None = None) -> list[CustodyItem]:
    stmt = select(CustodyItem).where(*_holder_is(party))
    if req is not None:
        stmt = stmt.where(CustodyItem.request_id == req.id)
    return list(db.session.scalars(stmt.order_by(CustodyItem.request_id, CustodyItem.id)))


def chain(req: ServiceRequest) -> list[Handover]:
    return list(db.session.scalars(select(Handover).where(Handover.request_id == req.id)
                                   .options(selectinload(Handover.items), selectinload(Handover.from_user),
                                            selectinload(Handover.to_user))
                                   .order_by(Handover.id)))


def _holder_is(party: Party):
    return (CustodyItem.holder_type == party.type,
            CustodyItem.holder_user_id.is_(None) if party.user_id is None
            else CustodyItem.holder_user_id == party.user_id,
            CustodyItem.holder_kecamatan_code.is_(None) if party.kecamatan_code is None
            else CustodyItem.holder_kecamatan_code == party.kecamatan_code)


def _holder_values(party: Party) -> dict:
    return {"holder_type": party.type, "holder_user_id": party.user_id,
            "holder_kecamatan_code": party.kecamatan_code}


def _check_party(party: Party) -> None:
    ok = ((party.type == "office" and party.kecamatan_code and party.user_id is None)
          or (party.type in ("resident", "satgas") and party.user_id and party.kecamatan_code is None))
    if not ok:
        raise ValueError(f"not a holder: {party!r}")


def register(req: ServiceRequest, kind: str, label: str, holder: Party, *, recorded_by: User,
             now: datetime | None = None, place: str | None = None) -> CustodyItem:
    """An item enters the chain (e.g. a printed card at the office): its first holder is ``holder``."""
    _check_party(holder)
    now = now or utcnow()
    item = CustodyItem(request_id=req.id, kind=kind, label=label[:200], created_at=now, updated_at=now,
                       **_holder_values(holder))
    db.session.add(item)
    db.session.flush()
    db.session.add(Handover(request_id=req.id, items=[item], to_type=holder.type, to_user_id=holder.user_id,
                            to_kecamatan_code=holder.kecamatan_code, recorded_by_id=recorded_by.id,
                            method="register", place=place, happened_at=now, received_at=now))
    db.session.flush()
    return item


def receive_new(req: ServiceRequest, labels: list[tuple[str, str]], giver: Party, receiver: Party, *,
                recorded_by: User, confirmed_by: User | None, method: str, happened_at: datetime,
                place: str | None = None, job=None, photo_storage_name: str | None = None,
                now: datetime | None = None) -> Handover:
    """Items the chain did not know yet change hands (a satgas takes originals at the door):
    they are created held by ``receiver``, with one handover row from ``giver``."""
    _check_party(giver)
    _check_party(receiver)
    if not labels:
        raise CustodyError(_("Pilih paling sedikit satu barang yang diserahkan."), "items")
    now = now or utcnow()
    items = [CustodyItem(request_id=req.id, kind=kind, label=label[:200], created_at=now, updated_at=now,
                         **_holder_values(receiver)) for kind, label in labels]
    db.session.add_all(items)
    db.session.flush()
    handover = Handover(request_id=req.id, job_id=job.id if job is not None else None, items=items,
                        recorded_by_id=recorded_by.id, confirmed_by_id=confirmed_by.id if confirmed_by else None,
                        method=method, place=place, happened_at=happened_at, received_at=now,
                        photo_storage_name=photo_storage_name, **giver.columns("from"), **receiver.columns("to"))
    db.session.add(handover)
    db.session.flush()
    return handover


def transfer(req: ServiceRequest, items: list[CustodyItem], giver: Party, receiver: Party, *,
             recorded_by: User, confirmed_by: User | None, method: str, happened_at: datetime,
             place: str | None = None, job=None, photo_storage_name: str | None = None,
             now: datetime | None = None) -> Handover:
    """Moves ``items`` (all of ``req``, all held by ``giver``) to ``receiver``, or nothing at all."""
    _check_party(giver)
    _check_party(receiver)
    if giver == receiver:
        raise ValueError("a handover needs two different parties")
    if not items:
        raise CustodyError(_("Pilih paling sedikit satu barang yang diserahkan."), "items")
    now = now or utcnow()
    for item in items:
        if item.request_id != req.id:
            raise ValueError("item of another request")
        result = db.session.execute(
            update(CustodyItem).where(CustodyItem.id == item.id, and_(*_holder_is(giver)))
            .values(updated_at=now, **_holder_values(receiver)).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise CustodyError(_("%(item)s sudah tidak dipegang oleh pihak yang menyerahkan (sudah berpindah "
                                 "tangan). Muat ulang halaman.", item=item.label), "items", reason="stale")
    handover = Handover(request_id=req.id, job_id=job.id if job is not None else None, items=list(items),
                        recorded_by_id=recorded_by.id, confirmed_by_id=confirmed_by.id if confirmed_by else None,
                        method=method, place=place, happened_at=happened_at, received_at=now,
                        photo_storage_name=photo_storage_name, **giver.columns("from"), **receiver.columns("to"))
    db.session.add(handover)
    db.session.flush()
    for item in items:
        db.session.refresh(item)
    return handover


def check_chain(item: CustodyItem) -> bool:
    """The invariant, as data: the last handover of the item ends where the item is held now, and each
    handover starts where the previous one ended."""
    # In the order the server recorded them (phones' clocks may disagree; the server's order is the chain).
    rows = list(db.session.scalars(select(Handover).join(Handover.items).where(CustodyItem.id == item.id)
                                   .order_by(Handover.id)))
    if not rows:
        return False
    previous = None
    for row in rows:
        start = (row.from_type, row.from_user_id, row.from_kecamatan_code)
        if previous is not None and start != previous:
            return False
        previous = (row.to_type, row.to_user_id, row.to_kecamatan_code)
    return previous == (item.holder_type, item.holder_user_id, item.holder_kecamatan_code)


# --- words for the pages -----------------------------------------------------------------------------

def office_name(kecamatan_code: str | None) -> str:
    """"Kantor Kecamatan Bekasi Timur" (the names read once per request, not once per line)."""
    from flask import g

    from .reference import kecamatan_names
    names = g.get("_kecamatan_names")
    if names is None:
        names = g._kecamatan_names = kecamatan_names()
    return _("Kantor Kecamatan %(name)s", name=names.get(kecamatan_code or "", kecamatan_code or "—"))


def _party_name(kind: str | None, user: User | None, kecamatan_code: str | None, viewer: User | None) -> str:
    if kind == "resident":
        if viewer is not None and user is not None and viewer.id == user.id:
            return _("Anda")
        return _("warga (%(name)s)", name=user.display_name if user else "—")
    if kind == "satgas":
        return _("Satgas Pamor %(name)s", name=user.display_name if user else "—")
    if kind == "office":
        return office_name(kecamatan_code)
    return "—"


def holder_label(item: CustodyItem, viewer: User | None = None) -> str:
    """"Ada pada Anda", "Dibawa Satgas Pamor Budi", "Di Kantor Kecamatan Bekasi Barat"."""
    if item.holder_type == "resident":
        if viewer is not None and viewer.id == item.holder_user_id:
            return _("ada pada Anda")
        return _("ada pada %(who)s", who=_party_name("resident", item.holder_user, None, viewer))
    if item.holder_type == "satgas":
        return _("dibawa %(who)s", who=_party_name("satgas", item.holder_user, None, viewer))
    return _("disimpan di %(who)s", who=_party_name("office", None, item.holder_kecamatan_code, viewer))


def handover_sentence(handover: Handover, viewer: User | None = None) -> str:
    """One line of the chain: who gave what to whom, and how it was confirmed."""
    what = ", ".join(item.label for item in handover.items)
    to = _party_name(handover.to_type, handover.to_user, handover.to_kecamatan_code, viewer)
    if handover.from_type is None:
        return _("%(what)s dicatat, ada pada %(to)s.", what=what, to=to)
    giver = _party_name(handover.from_type, handover.from_user, handover.from_kecamatan_code, viewer)
    if handover.method == "birth_nik":
        how = _("dikonfirmasi dengan tanggal lahir dan NIK")
    else:
        how = _("dikonfirmasi dengan kode")
    return _("%(from)s menyerahkan %(what)s kepada %(to)s (%(how)s).", what=what, to=to, how=how,
             **{"from": giver})


@dataclass
class KecamatanCustody:
    with_satgas: list[CustodyItem]
    at_office: list[CustodyItem]
    to_deliver: list  # (FieldJob, ServiceRequest) whose output waits at the office for its satgas


def kecamatan_overview(kecamatan_code: str | None) -> KecamatanCustody:
    """What the kecamatan's satgas carry, what its office holds, and deliveries waiting for pickup."""
    from ..models import FieldJob
    if not kecamatan_code:
        return KecamatanCustody([], [], [])
    in_kecamatan = ServiceRequest.kelurahan_code.startswith(kecamatan_code + ".", autoescape=True)
    with_satgas = db.session.scalars(select(CustodyItem).join(ServiceRequest, ServiceRequest.id == CustodyItem.request_id)
                                     .options(selectinload(CustodyItem.request), selectinload(CustodyItem.holder_user))
                                     .where(in_kecamatan, CustodyItem.holder_type == "satgas")
                                     .order_by(CustodyItem.holder_user_id, CustodyItem.id)).all()
    at_office = db.session.scalars(select(CustodyItem).options(selectinload(CustodyItem.request))
                                   .where(CustodyItem.holder_type == "office",
                                                             CustodyItem.holder_kecamatan_code == kecamatan_code)
                                   .order_by(CustodyItem.request_id, CustodyItem.id)).all()
    to_deliver = db.session.execute(
        select(FieldJob, ServiceRequest).join(ServiceRequest, ServiceRequest.id == FieldJob.request_id)
        .where(in_kecamatan, FieldJob.kind == "delivery", FieldJob.status.in_(("requested", "on_the_way")),
               ServiceRequest.status.in_(("issued", "ready_for_collection")))
        .order_by(FieldJob.preferred_date, FieldJob.id)).all()
    return KecamatanCustody(list(with_satgas), list(at_office), list(to_deliver))
