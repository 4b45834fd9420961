"""Halo Pamor: residents' questions and complaints, the staff's replies, escalation, and the FAQ.

Rules:
- Only a resident with a household opens a thread. It goes where the household is: ``rw_id`` (the RW's
  Satgas Pamor, primary or backup) and ``kecamatan_code`` (the kecamatan's operators and penyelia).
  A linked request must be one of the resident's own submitted requests.
- Who sees a thread (``visible_threads``): the resident who opened it; a satgas covering its RW; an
  operator or penyelia of its kecamatan. Nobody else (admins neither). Outside scope = not found.
- Status: ``open`` (waiting for staff) → ``answered`` (a staff reply) → ``closed``. A resident's reply
  to an answered thread makes it ``open`` again (the staff owe an answer). Closing is the resident's
  (with an optional rating 1–5, also given later), or automatic: ``tick`` closes answered threads
  whose last answer is ``HALO_AUTO_CLOSE_DAYS`` calendar days old (config, default 5) with
  ``closed_by="auto"``. Nobody writes to a closed thread.
- Overdue: a thread without any staff answer is overdue from the same time of day (in Bekasi) on the
  next working day after the day it was opened (``answer_due``): opened Friday 15:00 → overdue Monday
  15:00, or Tuesday 15:00 when that Monday is a holiday. ``tick`` escalates it once: ``escalated_at``
  is set by a conditional UPDATE, so two workers never notify twice.
- Notifications (``notify``): "halo_new" to the satgas the RW routes to (``fieldjobs.route``: primary,
  else backup) or, with none, to the kecamatan's active penyelia; "halo_reply" to the resident when
  staff reply; "halo_resident_reply" to the staff who already answered (still in scope), else as
  "halo_new"; "halo_escalated" to every active penyelia of the kecamatan.
- The same ``client_token`` twice (a double tap) returns the thread / message made the first time.
- Every function that depends on the time takes ``now`` (naive UTC, as stored), so tests control the
  clock.

FAQ suggestions (``suggest``): the resident's text and every active FAQ entry's question + keywords
are turned into words (``words``: lower case, accents dropped, split on anything that is not a letter
or digit, a trailing "-nya" dropped, a few spellings made one (``SAME_WORD``: "ektp" → "ktp"), words
shorter than 2 letters and Indonesian stop-words dropped — "el" too, so "KTP-el" is the one word "ktp").
An entry's score is the number of the resident's distinct words it contains; it matches when it
shares at least two words (one when the resident's text has only one word). The best three are
suggested, higher score first, then entries of the chosen category, then the admins' order.

Functions flush and never commit (the route or the worker commits). Refusals raise ``HaloError``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import Select, false, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import FaqEntry, HaloMessage, HaloThread, SatgasAssignment, ServiceRequest, User, utcnow
from . import fieldjobs, scope, sla
from .notify import notify

KINDS = ("question", "complaint")
KIND_LABELS = {"question": _l("Pertanyaan"), "complaint": _l("Pengaduan")}
KIND_HINTS = {"question": _l("Anda ingin tahu cara, syarat, atau perkembangan layanan."),
              "complaint": _l("Ada yang tidak berjalan sebagaimana mestinya dan Anda ingin petugas menanganinya.")}
CATEGORIES = ("ktp_el", "kk", "akta", "kia", "jemput_antar", "aplikasi", "lainnya")
CATEGORY_LABELS = {
    "ktp_el": _l("KTP-el"),
    "kk": _l("Kartu Keluarga (KK)"),
    "akta": _l("Akta kelahiran, kematian, dan lainnya"),
    "kia": _l("Kartu Identitas Anak (KIA)"),
    "jemput_antar": _l("Jemput-antar Satgas Pamor"),
    "aplikasi": _l("Aplikasi E-Open dan akun"),
    "lainnya": _l("Lainnya"),
}
STATUS_LABELS = {"open": _l("Menunggu jawaban petugas"), "answered": _l("Sudah dijawab"),
                 "closed": _l("Selesai")}
RATING_LABELS = {1: _l("1 — Sangat tidak puas"), 2: _l("2 — Tidak puas"), 3: _l("3 — Cukup"),
                 4: _l("4 — Puas"), 5: _l("5 — Sangat puas")}
STAFF_ROLES = ("satgas", "operator", "penyelia")
OPEN_STATES = ("open", "answered")
SUBJECT_MAX = 200
BODY_MAX = 2000
SUGGESTION_LIMIT = 3
DEFAULT_AUTO_CLOSE_DAYS = 5

# Words that say nothing about the topic: question words, pronouns, particles, greetings.
STOP_WORDS = frozenset("""
ada adakah agar akan aku anda apa apakah atau bagaimana bagaimanakah bapak belum berapa bila bisa boleh
bu buat cara dalam dan dapat dari dengan di dimana dong ga gak gimana hai halo harus ibu ingin ini itu
jika juga kah kalau kalo kami kamu kapan karena kasih ke kenapa kita lagi lah mana masih mau mengapa min
mohon nggak nya oleh pada pak para perlu saja sama saya sebagai sedang selamat sih siapa sudah supaya
tak tanya terima tersebut tidak tolong untuk ya yang el
""".split())
# Spellings of the same thing that residents use interchangeably.
SAME_WORD = {"ektp": "ktp", "ktpel": "ktp", "kartukeluarga": "kk"}

_NOT_WORD = re.compile(r"[^0-9a-z]+")


class HaloError(Exception):
    """A refused action; ``str(error)`` is the message for the user, ``field`` the input it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- FAQ suggestions -----------------------------------------------------------------------------

def words(text: str | None) -> list[str]:
    """The words of ``text`` that can match (see the module's docstring), in order, repeats kept."""
    if not text:
        return []
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    out = []
    for word in _NOT_WORD.split(plain):
        if len(word) > 5 and word.endswith("nya"):
            word = word[:-3]
        word = SAME_WORD.get(word, word)
        if len(word) >= 2 and word not in STOP_WORDS:
            out.append(word)
    return out


def suggest(text: str | None, category: str | None = None, limit: int = SUGGESTION_LIMIT) -> list[FaqEntry]:
    """The active FAQ entries that best match the resident's text (at most ``limit``)."""
    wanted = set(words(text))
    if not wanted:
        return []
    needed = min(2, len(wanted))
    scored = []
    for entry in db.session.scalars(select(FaqEntry).where(FaqEntry.active.is_(True))):
        score = len(wanted & set(words(f"{entry.question} {entry.keywords or ''}")))
        if score >= needed:
            scored.append((-score, entry.category != category, entry.position, entry.id, entry))
    scored.sort(key=lambda row: row[:4])
    return [row[-1] for row in scored[:limit]]


# --- FAQ editing (admins) ------------------------------------------------------------------------

def faq_entries() -> list[FaqEntry]:
    return list(db.session.scalars(select(FaqEntry).order_by(FaqEntry.active.desc(), FaqEntry.category,
                                                             FaqEntry.position, FaqEntry.id)))


FAQ_TWIN_WINDOW = timedelta(minutes=1)


def save_faq(entry: FaqEntry | None, *, category: str, question: str, answer: str, keywords: str | None = None,
             position: int = 0, now: datetime | None = None, by: User | None = None) -> FaqEntry:
    """A new FAQ entry (``entry`` None) or the entry changed.

    A new entry with the category and question of one made in the last minute is that entry (a double
    tap or a retry of the form; the later text stands). ``by``'s row is locked first, so that the same
    form sent twice at once is judged one after the other.
    """
    now = now or utcnow()
    if category not in CATEGORIES:
        raise HaloError(_("Pilih kategori."), "category")
    question, answer = (question or "").strip(), (answer or "").strip()
    keywords = " ".join((keywords or "").replace(",", " ").split()) or None
    if not question:
        raise HaloError(_("Tulis pertanyaannya."), "question")
    if len(question) > 300:
        raise HaloError(_("Pertanyaan paling banyak %(num)s karakter.", num=300), "question")
    if not answer:
        raise HaloError(_("Tulis jawabannya."), "answer")
    if keywords and len(keywords) > 300:
        raise HaloError(_("Kata kunci paling banyak %(num)s karakter.", num=300), "keywords")
    if entry is None and by is not None:
        db.session.execute(update(User).where(User.id == by.id).values(display_name=User.display_name)
                           .execution_options(synchronize_session=False))
        entry = db.session.scalar(select(FaqEntry).where(
            FaqEntry.category == category, FaqEntry.question == question,
            FaqEntry.created_at >= now - FAQ_TWIN_WINDOW).order_by(FaqEntry.id).limit(1))
    if entry is None:
        entry = FaqEntry(created_at=now, active=True)
        db.session.add(entry)
    entry.category, entry.question, entry.answer, entry.keywords = category, question, answer, keywords
    entry.position = position or 0
    entry.updated_at = now
    db.session.flush()
    return entry


def set_faq_active(entry: FaqEntry, active: bool, now: datetime | None = None) -> None:
    if entry.active != active:
        entry.active = active
        entry.updated_at = now or utcnow()
        db.session.flush()


# --- scope ---------------------------------------------------------------------------------------

def visible_threads(user: User | None) -> Select[tuple[HaloThread]]:
    """A SELECT of the threads ``user`` may see; add filters and ordering to it."""
    query = select(HaloThread)
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(false())
    if user.role == "resident":
        return query.where(HaloThread.resident_id == user.id)
    if user.role == "satgas":
        covered = select(SatgasAssignment.rw_id).where(SatgasAssignment.satgas_id == user.id)
        return query.where(HaloThread.rw_id.in_(covered))
    if user.role in ("operator", "penyelia") and user.kecamatan_code:
        return query.where(HaloThread.kecamatan_code == user.kecamatan_code)
    return query.where(false())


def can_view(user: User | None, thread: HaloThread) -> bool:
    if thread.id is None:
        return False
    stmt = visible_threads(user).where(HaloThread.id == thread.id)
    return bool(db.session.scalar(select(stmt.exists())))


def thread_for(user: User | None, thread_id: int) -> HaloThread | None:
    """The thread if ``user`` may see it, else None (the route answers 404)."""
    return db.session.scalar(visible_threads(user).where(HaloThread.id == thread_id))


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in STAFF_ROLES


def linkable_requests(user: User) -> list[ServiceRequest]:
    """The resident's own submitted requests, newest first: what a thread may be about."""
    return list(db.session.scalars(
        scope.visible_requests(user).where(ServiceRequest.applicant_id == user.id,
                                           ServiceRequest.status != "draft",
                                           ServiceRequest.submitted_at.is_not(None))
        .order_by(ServiceRequest.submitted_at.desc(), ServiceRequest.id.desc())))


def linked_request_for(user: User, thread: HaloThread) -> ServiceRequest | None:
    """The thread's request when ``user`` may open it too (else None: only its number is shown)."""
    if thread.request_id is None:
        return None
    req = db.session.get(ServiceRequest, thread.request_id)
    return req if req is not None and scope.can_view(user, req) else None


# --- who is told ---------------------------------------------------------------------------------

def active_penyelia(kecamatan_code: str) -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "penyelia", User.active.is_(True),
                                                      User.kecamatan_code == kecamatan_code)
                                   .order_by(User.id)))


def first_responders(thread: HaloThread) -> list[User]:
    """Who a new thread goes to: the RW's satgas (primary, else backup), else the kecamatan's penyelia."""
    satgas_id = fieldjobs.route(thread.rw_id) if thread.rw_id is not None else None
    if satgas_id is not None:
        return [db.session.get(User, satgas_id)]
    return active_penyelia(thread.kecamatan_code)


def _answerers(thread: HaloThread) -> list[User]:
    """The staff who already answered the thread and may still see it, in the order they first did."""
    seen: dict[int, User] = {}
    for message in thread.messages:
        author = message.author
        if author.id != thread.resident_id and author.id not in seen and is_staff(author) and author.active \
                and can_view(author, thread):
            seen[author.id] = author
    return list(seen.values())


# --- residents -----------------------------------------------------------------------------------

def _check_text(subject: str | None, body: str | None) -> tuple[str, str]:
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    if not subject:
        raise HaloError(_("Tulis judul singkat, misalnya \"KTP-el belum jadi\"."), "subject")
    if len(subject) > SUBJECT_MAX:
        raise HaloError(_("Judul paling banyak %(num)s karakter.", num=SUBJECT_MAX), "subject")
    return subject, _check_body(body)


def _check_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise HaloError(_("Tulis pesan Anda."), "body")
    if len(body) > BODY_MAX:
        raise HaloError(_("Pesan paling banyak %(num)s karakter.", num=BODY_MAX), "body")
    return body


def _token(value: str | None) -> str | None:
    return (value or "").strip()[:64] or None


def open_thread(user: User, *, kind: str, category: str, subject: str, body: str, request_id: int | None = None,
                client_token: str | None = None, now: datetime | None = None) -> HaloThread:
    """A resident's new question or complaint with its first message, sent to the RW's satgas."""
    now = now or utcnow()
    token = _token(client_token)
    if token:
        existing = db.session.scalar(select(HaloThread).where(HaloThread.client_token == token))
        if existing is not None and existing.resident_id == user.id:
            return existing  # the same form sent twice
        if existing is not None:
            token = None  # someone else's token: never reveal it, just do not reuse it
    if user.role != "resident":
        raise HaloError(_("Hanya warga yang dapat mengirim pertanyaan atau pengaduan di Halo Pamor."))
    household = user.household
    if household is None:
        raise HaloError(_("Akun Anda belum terhubung dengan Kartu Keluarga, jadi belum jelas RW Anda. "
                          "Lengkapi data keluarga terlebih dahulu."))
    if kind not in KINDS:
        raise HaloError(_("Pilih pertanyaan atau pengaduan."), "kind")
    if category not in CATEGORIES:
        raise HaloError(_("Pilih kategori."), "category")
    subject, body = _check_text(subject, body)
    if request_id is not None and request_id not in {r.id for r in linkable_requests(user)}:
        raise HaloError(_("Pilih salah satu permohonan Anda, atau \"Tidak terkait permohonan tertentu\"."),
                        "request_id")
    thread = HaloThread(resident_id=user.id, kind=kind, category=category, subject=subject, request_id=request_id,
                        rw_id=household.rw_id, kecamatan_code=household.kelurahan_code.rsplit(".", 1)[0],
                        status="open", client_token=token, created_at=now)
    try:
        with db.session.begin_nested():  # a simultaneous double tap: the unique token decides
            db.session.add(thread)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(HaloThread).where(HaloThread.client_token == token)) if token else None
        if existing is not None and existing.resident_id == user.id:
            return existing
        raise
    db.session.add(HaloMessage(thread_id=thread.id, author_id=user.id, body=body, created_at=now))
    db.session.flush()
    for person in first_responders(thread):
        notify(person, "halo_new", thread=thread, params={"subject": subject}, now=now)
    return thread


def reply(thread: HaloThread, user: User, body: str | None, *, client_token: str | None = None,
          now: datetime | None = None) -> HaloMessage:
    """A message in the thread by its resident or by staff in scope. Staff replies make it "answered"."""
    now = now or utcnow()
    token = _token(client_token)
    if token:
        existing = db.session.scalar(select(HaloMessage).where(HaloMessage.client_token == token))
        if existing is not None and existing.author_id == user.id and existing.thread_id == thread.id:
            return existing
        if existing is not None:
            token = None
    staff = is_staff(user)
    if not (user.id == thread.resident_id or staff) or not can_view(user, thread):
        raise HaloError(_("Anda tidak dapat membalas percakapan ini."))
    if thread.status == "closed":
        raise HaloError(_("Percakapan ini sudah ditutup. Buat pertanyaan baru bila masih perlu bantuan."), "body")
    body = _check_body(body)
    message = HaloMessage(thread_id=thread.id, author_id=user.id, body=body, client_token=token, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(HaloMessage).where(HaloMessage.client_token == token)) if token else None
        if existing is not None and existing.author_id == user.id:
            return existing
        raise
    db.session.refresh(thread, ["messages"])
    params = {"subject": thread.subject}
    if staff:
        thread.status = "answered"
        thread.first_answer_at = thread.first_answer_at or now
        thread.last_answer_at = now
        db.session.flush()
        notify(thread.resident, "halo_reply", thread=thread, params={**params, "by": user.display_name}, now=now)
    else:
        if thread.status == "answered":
            thread.status = "open"  # the resident asks again: the staff owe an answer
        db.session.flush()
        for person in _answerers(thread) or first_responders(thread):
            notify(person, "halo_resident_reply", thread=thread, params=params, now=now)
    return message


def close(thread: HaloThread, user: User, rating: int | None = None, *, now: datetime | None = None) -> HaloThread:
    """The resident closes the thread, and/or rates it 1–5 (also later: a closed thread can be rated)."""
    now = now or utcnow()
    if user.id != thread.resident_id:
        raise HaloError(_("Hanya warga yang membuka percakapan ini yang dapat menutupnya."))
    if rating is not None and rating not in RATING_LABELS:
        raise HaloError(_("Nilai harus 1 sampai 5."), "rating")
    if thread.status != "closed":
        db.session.execute(
            update(HaloThread).where(HaloThread.id == thread.id, HaloThread.status != "closed")
            .values(status="closed", closed_at=now, closed_by="resident").execution_options(synchronize_session=False))
        db.session.refresh(thread)  # closed by this call, or by a simultaneous one (auto or a double tap)
    if rating is not None:
        thread.rating = rating
    db.session.flush()
    return thread


def resident_threads(user: User) -> list[HaloThread]:
    return list(db.session.scalars(visible_threads(user).where(HaloThread.resident_id == user.id)
                                   .order_by(HaloThread.created_at.desc(), HaloThread.id.desc())))


# --- time ----------------------------------------------------------------------------------------

def _utc_naive(aware: datetime) -> datetime:
    return aware.astimezone(timezone.utc).replace(tzinfo=None)


def answer_due(created_at: datetime, overrides: sla.Overrides | None = None) -> datetime:
    """When a thread without a staff answer becomes overdue (naive UTC): the same time of day in Bekasi
    on the next working day after the day it was opened."""
    local = sla.local_time(created_at)
    day = sla.add_working_days(local.date(), 1, overrides)
    return _utc_naive(datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=sla.LOCAL_TZ))


def is_overdue(thread: HaloThread, now: datetime, overrides: sla.Overrides | None = None) -> bool:
    return (thread.status != "closed" and thread.first_answer_at is None
            and now >= answer_due(thread.created_at, overrides))


def age_words(since: datetime, now: datetime, overrides: sla.Overrides | None = None) -> str:
    """"3 jam", "2 hari kerja": how long ago ``since`` was, in working days once it is a full day."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        minutes = seconds // 60
        return ngettext("%(num)d menit", "%(num)d menit", minutes)
    hours = seconds // 3600
    days = sla.working_days_between(sla.local_date(since), sla.local_date(now), overrides) if hours >= 24 else 0
    if days < 1:
        return ngettext("%(num)d jam", "%(num)d jam", hours)
    return ngettext("%(num)d hari kerja", "%(num)d hari kerja", days)


def auto_close_days() -> int:
    if has_app_context():
        return int(current_app.config.get("HALO_AUTO_CLOSE_DAYS", DEFAULT_AUTO_CLOSE_DAYS))
    return DEFAULT_AUTO_CLOSE_DAYS


# --- staff lists ---------------------------------------------------------------------------------

@dataclass
class ThreadRow:
    thread: HaloThread
    age: str           # since it was opened, in words
    overdue: bool      # no staff answer a working day after it was opened
    waiting: bool      # status "open": a staff answer is owed


def _rows(threads, now: datetime) -> list[ThreadRow]:
    overrides = sla.load_overrides()
    return [ThreadRow(t, age_words(t.created_at, now, overrides), is_overdue(t, now, overrides), t.status == "open")
            for t in threads]


def staff_threads(user: User, now: datetime | None = None) -> list[ThreadRow]:
    """The threads in the staff member's scope that are not closed: waiting ones first, oldest first."""
    now = now or utcnow()
    threads = db.session.scalars(visible_threads(user).where(HaloThread.status.in_(OPEN_STATES))
                                 .order_by(HaloThread.created_at, HaloThread.id)).all()
    rows = _rows(threads, now)
    return [r for r in rows if r.waiting] + [r for r in rows if not r.waiting]


def escalations(user: User, now: datetime | None = None) -> list[ThreadRow]:
    """For a penyelia: threads of their kecamatan that were escalated or are overdue and are not closed."""
    now = now or utcnow()
    if user.role != "penyelia":
        return []
    threads = db.session.scalars(visible_threads(user).where(HaloThread.status.in_(OPEN_STATES))
                                 .order_by(HaloThread.created_at, HaloThread.id)).all()
    return [r for r in _rows(threads, now) if r.overdue or r.thread.escalated_at is not None]


# --- the clock -----------------------------------------------------------------------------------

@dataclass
class TickResult:
    escalated: list[int]
    closed: list[int]


def tick(now: datetime | None = None, *, auto_close_after_days: int | None = None) -> TickResult:
    """Escalate overdue unanswered threads (once each) and close answered threads nobody touched for
    ``HALO_AUTO_CLOSE_DAYS`` days. Called by the worker every round; flushes, the caller commits."""
    now = now or utcnow()
    overrides = sla.load_overrides()
    escalated: list[int] = []
    # One working day is at least 24 hours: older threads are the only candidates.
    candidates = db.session.scalars(select(HaloThread).where(
        HaloThread.status == "open", HaloThread.first_answer_at.is_(None), HaloThread.escalated_at.is_(None),
        HaloThread.created_at <= now - timedelta(days=1)).order_by(HaloThread.created_at, HaloThread.id)).all()
    for thread in candidates:
        if now < answer_due(thread.created_at, overrides):
            continue
        result = db.session.execute(
            update(HaloThread).where(HaloThread.id == thread.id, HaloThread.escalated_at.is_(None),
                                     HaloThread.first_answer_at.is_(None), HaloThread.status == "open")
            .values(escalated_at=now).execution_options(synchronize_session="fetch"))
        if result.rowcount != 1:
            continue  # answered, closed or escalated by somebody else meanwhile
        escalated.append(thread.id)
        for person in active_penyelia(thread.kecamatan_code):
            notify(person, "halo_escalated", thread=thread, params={"subject": thread.subject}, now=now)

    days = auto_close_days() if auto_close_after_days is None else auto_close_after_days
    cutoff = now - timedelta(days=days)
    stale = db.session.scalars(select(HaloThread.id).where(HaloThread.status == "answered",
                                                           HaloThread.last_answer_at <= cutoff)).all()
    closed: list[int] = []
    for thread_id in stale:
        result = db.session.execute(
            update(HaloThread).where(HaloThread.id == thread_id, HaloThread.status == "answered",
                                     HaloThread.last_answer_at <= cutoff)
            .values(status="closed", closed_at=now, closed_by="auto").execution_options(synchronize_session="fetch"))
        if result.rowcount == 1:
            closed.append(thread_id)
    db.session.flush()
    return TickResult(escalated, closed)


def status_words(thread: HaloThread) -> str:
    if thread.status == "closed" and thread.closed_by == "auto":
        return _("Selesai (ditutup otomatis)")
    return str(STATUS_LABELS.get(thread.status, thread.status))


def author_role_words(thread: HaloThread, author: User) -> str:
    if author.id == thread.resident_id:
        return _("Warga")
    return {"satgas": _("Satgas Pamor"), "operator": _("Operator kecamatan"),
            "penyelia": _("Penyelia kecamatan")}.get(author.role, _("Petugas"))

