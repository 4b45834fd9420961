"""Building a request step by step (the apply flow) and submitting it.

The steps are derived from the catalogue entry of the chosen service and variant; a draft can be
left at any step and resumed: `next_step` finds the first thing still missing.

Assisted applications: a Satgas Pamor may start a draft for a resident (an account with a household)
of an RW they cover, primary or backup (`find_resident`, `create_draft(..., assisted_by=satgas)`).
The draft is the resident's (``applicant_id``); ``assisted_by_id`` names the satgas, who may fill it
in as long as the resident still lives in one of their RWs (`assisted_request`). The satgas submits
it only with the resident's consent (`submit_assisted`: the resident's one-time code, or their date
of birth and the last 4 digits of their NIK); the resident may also submit it themself.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Event, Household, Person, Region, RequestDocument, SatgasAssignment, ServiceRequest, User, utcnow
from . import custody, identity, lifecycle, numbers, uploads
from .catalogue import FieldSpec, Requirement, Service, Variant, get_catalogue

EDITABLE = ("draft",)
REVISABLE = "needs_revision"  # only the documents the operator returned may be replaced


class ApplyError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Step:
    name: str                 # "variant", "subject", "data", "document", "check"
    requirement: str | None = None


def service_of(req: ServiceRequest) -> Service:
    return get_catalogue().service(req.service_code)


def variant_of(req: ServiceRequest) -> Variant | None:
    if not req.variant_code:
        return None
    return service_of(req).variant(req.variant_code)


def create_draft(user: User, service_code: str, client_token: str | None, *,
                 assisted_by: User | None = None) -> ServiceRequest:
    """Start a draft for ``user`` (the applicant), by themself or by the satgas ``assisted_by``.

    The same client token (a double tap, a retried POST) returns the same draft.
    """
    get_catalogue().service(service_code)  # KeyError for an unknown service
    if assisted_by is not None and not may_assist(assisted_by, user):
        raise ApplyError("nik", not_in_rw_message())
    if client_token:
        existing = db.session.scalar(select(ServiceRequest).where(ServiceRequest.client_token == client_token))
        if existing is not None:
            helper_id = assisted_by.id if assisted_by is not None else None
            if existing.applicant_id != user.id or existing.assisted_by_id != helper_id:
                raise ApplyError("service", _("Formulir ini sudah dipakai. Muat ulang halaman lalu coba lagi."))
            return existing
    req = ServiceRequest(tracking_no=_unique_tracking_no(), client_token=client_token or None,
                         service_code=service_code, status="draft", applicant_id=user.id, data={})
    if assisted_by is not None:
        # Where the resident lives, until a member of the household is chosen: the satgas's kecamatan.
        req.assisted_by_id = assisted_by.id
        req.kelurahan_code = user.household.kelurahan_code
        req.rw_id = user.household.rw_id
    service = get_catalogue().service(service_code)
    if len(service.variants) == 1:
        req.variant_code = service.variants[0].code
    try:
        with db.session.begin_nested():  # a simultaneous double tap: the unique token decides
            db.session.add(req)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(ServiceRequest).where(ServiceRequest.client_token == client_token)) \
            if client_token else None
        if existing is None or existing.applicant_id != user.id:
            raise
        return existing
    return req


def _unique_tracking_no() -> str:
    while True:
        candidate = numbers.new_tracking_no()
        if db.session.scalar(select(ServiceRequest.id).where(ServiceRequest.tracking_no == candidate)) is None:
            return candidate


def ensure_editable(req: ServiceRequest, requirement_code: str | None = None) -> None:
    """A draft may be changed; a request in needs_revision only by replacing a returned document."""
    if req.status in EDITABLE:
        return
    if requirement_code is not None and requirement_code in revisable_codes(req):
        return
    raise ApplyError("", _("Permohonan ini sudah dikirim dan tidak bisa diubah lagi."))


def revisable_codes(req: ServiceRequest) -> set[str]:
    """The requirements a resident may replace now: in needs_revision, those the operator returned.

    A document marked "returned", and also one named in the latest return that the resident has
    replaced already (review_status back to None), so a wrong photo can be replaced again before
    resubmitting.
    """
    if req.status != REVISABLE:
        return set()
    codes = {d.requirement_code for d in req.documents if d.review_status == "returned"}
    event = db.session.scalar(select(Event).where(Event.request_id == req.id, Event.action == "return")
                              .order_by(Event.id.desc()).limit(1))
    if event is not None:
        codes |= {item.get("code") for item in (event.data or {}).get("documents") or [] if item.get("code")}
    return codes


def change_service(req: ServiceRequest, service_code: str) -> None:
    ensure_editable(req)
    service = get_catalogue().service(service_code)
    if service_code == req.service_code:
        return
    req.service_code = service_code
    req.variant_code = service.variants[0].code if len(service.variants) == 1 else None
    req.data = {}
    _drop_documents(req, keep=set())


def set_variant(req: ServiceRequest, variant_code: str) -> None:
    ensure_editable(req)
    variant = service_of(req).variant(variant_code)
    if req.variant_code != variant_code:
        req.variant_code = variant_code
        req.data = {}
        _drop_documents(req, keep={r.code for r in variant.requirements})
    _check_age(req)


def _drop_documents(req: ServiceRequest, keep: set[str]) -> None:
    for doc in list(req.documents):
        if doc.requirement_code not in keep:
            req.documents.remove(doc)
            _forget_file_later(doc.storage_name)


_PENDING = "eopen_pending_deletes"


def _pending() -> list[str]:
    """Files to delete once this session's transaction is committed — kept on the session, so two
    requests served at the same time never delete each other's files."""
    return db.session.info.setdefault(_PENDING, [])


def _forget_file_later(storage_name: str | None) -> None:
    """Files are deleted only after the database change is committed (see `delete_pending_files`)."""
    if storage_name:
        _pending().append(storage_name)


def delete_pending_files(root: str) -> None:
    pending = _pending()
    while pending:
        uploads.delete(root, pending.pop())


def discard_pending_files() -> None:
    _pending().clear()


def household_members(user: User) -> list[Person]:
    household = user.household
    return list(household.members) if household else []


def set_subject_member(req: ServiceRequest, user: User, person_id: int) -> None:
    """A resident applies for themself or a member of their own KK."""
    ensure_editable(req)
    person = next((p for p in household_members(user) if p.id == person_id), None)
    if person is None:
        raise ApplyError("person", _("Pilih salah satu anggota keluarga Anda."))
    req.subject_person_id = person.id
    req.subject_name = person.full_name
    req.subject_nik = person.nik
    req.subject_birth_date = person.birth_date
    req.subject_sex = person.sex
    req.kelurahan_code = person.household.kelurahan_code
    req.rw_id = person.household.rw_id
    _check_age(req)


def set_subject_other(req: ServiceRequest, *, full_name: str, nik: str | None, birth_date: date, sex: str,
                      kelurahan_code: str) -> list[str]:
    """An institution applies for somebody else: the data typed is kept on the request only."""
    ensure_editable(req)
    warnings: list[str] = []
    value = None
    if nik and nik.strip():
        check = identity.check_nik(nik, birth_date=birth_date, sex=sex)
        if check.errors:
            raise ApplyError("nik", check.errors[0])
        value, warnings = check.value, check.warnings
    region = db.session.get(Region, kelurahan_code)
    if region is None or region.level != "kelurahan" or not kelurahan_code.startswith("32.75."):
        raise ApplyError("kelurahan", _("Pilih kelurahan di Kota Bekasi tempat orang ini tinggal."))
    if birth_date > date.today():
        raise ApplyError("birth_date", _("Tanggal lahir tidak boleh di masa depan."))
    req.subject_person_id = None
    req.subject_name = full_name.strip()
    req.subject_nik = value
    req.subject_birth_date = birth_date
    req.subject_sex = sex
    req.kelurahan_code = kelurahan_code
    req.rw_id = None  # typed by an institution: no household, no RW
    _check_age(req)
    return warnings


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _check_age(req: ServiceRequest) -> None:
    variant = variant_of(req)
    if variant is None or req.subject_birth_date is None:
        return
    age = _age(req.subject_birth_date, date.today())
    if variant.min_age is not None and age < variant.min_age:
        raise ApplyError("person", _("Layanan \u201c%(variant)s\u201d untuk usia %(min)d tahun ke atas; "
                                     "%(name)s berusia %(age)d tahun. Pilih jenis layanan lain.",
                                     variant=_(variant.label), min=variant.min_age, name=req.subject_name, age=age))
    if variant.max_age is not None and age > variant.max_age:
        raise ApplyError("person", _("Layanan \u201c%(variant)s\u201d untuk usia sampai %(max)d tahun; "
                                     "%(name)s berusia %(age)d tahun. Pilih jenis layanan lain.",
                                     variant=_(variant.label), max=variant.max_age, name=req.subject_name, age=age))


def set_data(req: ServiceRequest, values: dict[str, str]) -> None:
    ensure_editable(req)
    req.data = {**(req.data or {}), **values}


def answers(req: ServiceRequest) -> list[tuple[FieldSpec, str, str]]:
    """The variant's data fields as (spec, label, value as shown to people), in catalogue order."""
    variant = variant_of(req)
    data = req.data or {}
    rows = []
    for spec in (variant.fields if variant else ()):
        rows.append((spec, _(spec.label), _shown(spec, data.get(spec.name))))
    return rows


def _shown(spec: FieldSpec, raw) -> str:
    if raw in (None, ""):
        return "—"
    try:
        if spec.type == "select":
            return next((_(c.label) for c in spec.choices if c.value == raw), str(raw))
        if spec.type == "date":
            return format_date(date.fromisoformat(str(raw)), "long")
        if spec.type == "number":
            return format_decimal(float(raw))  # 3.2 → "3,2" in Indonesian
    except ValueError:
        pass
    return str(raw)


def data_complete(req: ServiceRequest) -> bool:
    variant = variant_of(req)
    if variant is None:
        return False
    data = req.data or {}
    return all(data.get(f.name) not in (None, "") for f in variant.fields if f.required) and "_saved" in data


def attach_file(req: ServiceRequest, requirement: Requirement, normalised: uploads.Normalised, original_name: str,
                user: User, root: str) -> RequestDocument:
    """Store the file, then point the requirement at it (replacing an earlier upload).

    In needs_revision only a returned document may be replaced; the new file awaits a new verdict.
    """
    ensure_editable(req, requirement.code)
    storage_name = uploads.store(root, normalised.data, normalised.extension)
    _one_at_a_time(req)
    doc = req.document_for(requirement.code)
    if doc is None:
        doc, twin = _new_document(req, requirement.code, user)
        if twin:  # the same upload arrived twice at once and the twin stored its file first
            _forget_file_later(storage_name)
            return doc
    else:
        _forget_file_later(doc.storage_name)
    doc.kind = "file"
    doc.storage_name = storage_name
    doc.content_type = normalised.content_type
    doc.size = len(normalised.data)
    doc.original_name = (original_name or "")[:200] or None
    doc.sha256 = hashlib.sha256(normalised.data).hexdigest()
    doc.declaration = None
    doc.uploaded_by_id = user.id
    doc.uploaded_at = utcnow()
    _clear_review(doc)
    db.session.flush()
    return doc


def _one_at_a_time(req: ServiceRequest) -> None:
    """Changes to a request's documents wait for each other: a no-op UPDATE takes the request row's write
    lock (PostgreSQL: the row; SQLite: the database) until commit, then the documents are read afresh. A
    double tap's second upload therefore sees the first one and replaces it (its file deleted after the
    commit) instead of racing it; the unique (request, requirement) in _new_document stays the last guard."""
    db.session.execute(update(ServiceRequest).where(ServiceRequest.id == req.id)
                       .values(updated_at=ServiceRequest.updated_at).execution_options(synchronize_session=False))
    db.session.refresh(req, ["documents"])


def _new_document(req: ServiceRequest, requirement_code: str, user: User) -> tuple[RequestDocument, bool]:
    """A new document row for the requirement, or (when the same upload arrives twice at once) the
    twin's row and True: the unique (request, requirement) decides."""
    doc = RequestDocument(request_id=req.id, requirement_code=requirement_code, uploaded_by_id=user.id)
    try:
        with db.session.begin_nested():
            db.session.add(doc)
            db.session.flush()
    except IntegrityError:
        twin = db.session.scalar(select(RequestDocument).where(RequestDocument.request_id == req.id,
                                                               RequestDocument.requirement_code == requirement_code)
                                 .execution_options(populate_existing=True))
        if twin is None:
            raise
        db.session.refresh(req, ["documents"])
        return twin, True
    db.session.refresh(req, ["documents"])
    return doc, False


def _clear_review(doc: RequestDocument) -> None:
    """A new file has not been judged yet (the old verdict stays in the return event's data)."""
    doc.review_status = None
    doc.review_reason = None
    doc.review_note = None
    doc.reviewed_by_id = None
    doc.reviewed_at = None


def declare_sptjm(req: ServiceRequest, requirement: Requirement, user: User) -> RequestDocument:
    ensure_editable(req)
    if not requirement.sptjm_allowed:
        raise ApplyError("file", _("Dokumen ini wajib diunggah dan tidak dapat diganti SPTJM."))
    _one_at_a_time(req)
    doc = req.document_for(requirement.code)
    if doc is None:
        doc, twin = _new_document(req, requirement.code, user)
        if twin and doc.kind == "sptjm":  # the same declaration arrived twice at once: the twin's stands
            return doc
        if twin:  # a simultaneous upload stored its file first: the declaration replaces it
            _forget_file_later(doc.storage_name)
    else:
        _forget_file_later(doc.storage_name)
    doc.kind = "sptjm"
    doc.storage_name = None
    doc.content_type = None
    doc.size = None
    doc.original_name = None
    doc.sha256 = None
    doc.declaration = requirement.sptjm_text
    doc.uploaded_by_id = user.id
    db.session.flush()
    return doc


def missing(req: ServiceRequest) -> list[Step]:
    """What still has to be done before the request can be submitted, in the order of the flow."""
    variant = variant_of(req)
    if variant is None:
        return [Step("variant")]
    steps: list[Step] = []
    if not req.subject_name:
        steps.append(Step("subject"))
    if variant.fields and not data_complete(req):
        steps.append(Step("data"))
    for requirement in variant.requirements:
        if not requirement.optional and req.document_for(requirement.code) is None:
            steps.append(Step("document", requirement.code))
    return steps


def next_step(req: ServiceRequest) -> Step:
    todo = missing(req)
    return todo[0] if todo else Step("check")


def step_after(req: ServiceRequest, current: Step) -> Step:
    """The page that follows `current` in the flow (every requirement page is visited in order)."""
    variant = variant_of(req)
    order: list[Step] = [Step("variant"), Step("subject")]
    if variant is not None:
        if variant.fields:
            order.append(Step("data"))
        order += [Step("document", r.code) for r in variant.requirements]
    order.append(Step("check"))
    try:
        index = order.index(current)
    except ValueError:
        return next_step(req)
    return order[index + 1] if index + 1 < len(order) else Step("check")


def submit(req: ServiceRequest, user: User) -> bool:
    """Submit once. A second submit (double tap, back button, retry) changes nothing and returns False.

    A resident who submits a draft a satgas started for them gives their consent by doing so.
    """
    if req.status != "draft":
        return False
    _check_complete(req)
    data = {"assisted_by": req.assisted_by_id, "confirmed_by": "applicant"} if req.assisted_by_id else None
    return _perform_submit(req, user, data)


def _check_complete(req: ServiceRequest) -> None:
    if missing(req):
        raise ApplyError("", _("Permohonan belum lengkap. Lengkapi bagian yang ditandai lalu kirim lagi."))


def _perform_submit(req: ServiceRequest, user: User, data: dict | None) -> bool:
    try:
        lifecycle.perform(req, "submit", user, data=data)
    except lifecycle.TransitionError as error:
        if error.reason == "conflict":
            return False
        raise
    return True


# --- assisted applications (Satgas Pamor at the door) ---------------------------------------------

def not_in_rw_message() -> str:
    return _("Warga dengan NIK ini tidak terdaftar di RW Anda. Periksa kembali NIK pada KTP-el atau KK "
             "warga. Warga perlu punya akun E-Open dengan alamat di RW yang Anda layani.")


def _covered_rw_ids(satgas: User):
    return select(SatgasAssignment.rw_id).where(SatgasAssignment.satgas_id == satgas.id)


def _is_satgas(user: User | None) -> bool:
    return user is not None and user.role == "satgas" and bool(user.active)


def may_assist(satgas: User | None, resident: User | None) -> bool:
    """Whether ``satgas`` may fill in requests for ``resident``: an active satgas, and a resident account
    whose household is in one of the RWs they cover (primary or backup)."""
    if not _is_satgas(satgas) or resident is None or resident.role != "resident" or not resident.active:
        return False
    household = resident.household
    if household is None:
        return False
    return household.rw_id in set(db.session.scalars(_covered_rw_ids(satgas)))


def find_resident(satgas: User, nik: str | None) -> User:
    """The resident account whose NIK is ``nik``, if ``satgas`` covers their RW.

    Otherwise one message for every case, so that a satgas cannot learn whether the NIK is registered
    elsewhere.
    """
    digits = "".join(ch for ch in (nik or "") if ch not in " .-")
    if len(digits) != 16 or not (digits.isascii() and digits.isdigit()):
        raise ApplyError("nik", _("NIK terdiri dari 16 angka. Ketik NIK seperti tertulis di KTP-el atau KK."))
    resident = db.session.scalar(select(User).join(Person, User.person_id == Person.id)
                                 .where(Person.nik == digits, User.role == "resident"))
    if resident is None or not may_assist(satgas, resident):
        raise ApplyError("nik", not_in_rw_message())
    return resident


def assistable_resident(satgas: User, user_id: int) -> User | None:
    resident = db.session.get(User, user_id)
    return resident if may_assist(satgas, resident) else None


def assisted_request(satgas: User, tracking_no: str) -> ServiceRequest | None:
    """A request ``satgas`` started for a resident who still lives in one of their RWs (any status)."""
    if not _is_satgas(satgas):
        return None
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no,
                                                         ServiceRequest.assisted_by_id == satgas.id))
    if req is None or not may_assist(satgas, req.applicant):
        return None
    return req


def open_assisted_drafts(satgas: User) -> list[ServiceRequest]:
    """The drafts ``satgas`` started that the resident has not confirmed yet, newest first."""
    if not _is_satgas(satgas):
        return []
    return list(db.session.scalars(
        select(ServiceRequest)
        .join(User, User.id == ServiceRequest.applicant_id)
        .join(Person, Person.id == User.person_id)
        .join(Household, Household.id == Person.household_id)
        .where(ServiceRequest.assisted_by_id == satgas.id, ServiceRequest.status == "draft",
               User.role == "resident", User.active.is_(True), Household.rw_id.in_(_covered_rw_ids(satgas)))
        .order_by(ServiceRequest.updated_at.desc(), ServiceRequest.id.desc())))


def submit_assisted(req: ServiceRequest, satgas: User, *, code: str | None = None, birth_date: date | None = None,
                    nik_last4: str | None = None, now=None) -> bool:
    """The satgas submits a draft they filled in, with the resident's consent given at the door.

    Raises ApplyError (incomplete), custody.CustodyError (wrong or missing code / date of birth + NIK:
    the caller rolls back, then calls ``custody.apply_penalty(error)`` and commits) or
    lifecycle.TransitionError. False when it was submitted already (a double tap).
    """
    if req.status != "draft":
        return False
    if req.assisted_by_id != satgas.id or not may_assist(satgas, req.applicant):
        raise lifecycle.TransitionError("forbidden", _("Anda tidak berhak melakukan tindakan ini pada permohonan ini."),
                                        action="submit", status=req.status)
    _check_complete(req)
    method, _applicant = custody.confirm_resident(req, code=code, birth_date=birth_date, nik_last4=nik_last4,
                                                  now=now)
    return _perform_submit(req, satgas, {"assisted_by": satgas.id, "confirmed_by": method})


def confirmation_method(req: ServiceRequest) -> str | None:
    """How the resident agreed to an assisted request: "code", "birth_nik", "applicant" or None."""
    event = next((e for e in req.events if e.action == "submit"), None)
    return (event.data or {}).get("confirmed_by") if event is not None else None
