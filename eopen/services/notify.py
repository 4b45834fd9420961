"""Notifications: the in-app bell and the messages sent on other channels.

``notify(user, kind, ...)`` is the one entry point: it writes a Notification row and, per the person's
preferences, OutboxMessage rows — all in the caller's transaction (flush, never commit), so a
notification exists exactly when the change that caused it was committed. The worker
(``services/outbox.py``) sends the outbox later; a channel that fails never holds up the request.

``on_event(event)`` is called by the lifecycle for every event it writes and decides who hears of it:

- the applicant (resident or institution): submitted (a confirmation, even of their own action), claimed
  (or assigned by the penyelia), returned (which documents and why), approved by the operator while
  verification follows, finally approved, rejected, issued, ready at the kecamatan, collected,
  dispatched, delivered, cancelled by someone else; jemput-antar: scheduled or changed (a confirmation
  with the date), the satgas on the way, rescheduled, originals picked up;
- the operator: a request the penyelia gave them, a revision sent back to them, a verifier's return;
- the satgas: a job given to them (new or moved to them), changed or cancelled by the resident, or moved
  away from them.

Nobody hears of their own action, except the confirmations (``CONFIRMATIONS``).

Texts (``TEXTS``): a title, a body and a short phrase for SMS per kind, Indonesian msgids. The bell
renders them in the reader's language when shown (from ``kind`` + ``params``); outbox messages are
rendered once, in the recipient's language (``User.locale``), when written. An SMS is at most 160
GSM-7 characters including the tracking number and a short absolute link (``/n/<id>``, which opens the
notification: see eopen/notifications).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import object_session
from werkzeug.routing import BuildError

from ..extensions import db
from ..models import (APPLICANT_ROLES, Event, FieldJob, HaloThread, Notification, NotificationPreference,
                      OutboxMessage, ServiceRequest, User, utcnow)
from .channels import CHANNELS

SMS_LIMIT = 160
PER_PAGE = 20


@dataclass(frozen=True)
class Text:
    title: Any
    body: Any
    sms: Any  # the phrase after "E-Open <no>: " — keep it short


# Placeholders: %(no)s tracking number, %(service)s the service, %(note)s the staff's note or reason,
# %(fix)s what to fix, %(job)s "penjemputan"/"pengantaran", %(date)s, %(window)s, %(reason)s, %(items)s,
# %(subject)s a Halo Pamor thread's subject, %(by)s who replied.
TEXTS: dict[str, Text] = {
    # --- to the applicant ---
    "submitted": Text(
        _l("Permohonan diterima"),
        _l("Permohonan %(service)s Anda sudah kami terima dengan nomor %(no)s. Kami kabari bila ada perkembangan."),
        _l("permohonan diterima. Simpan nomor ini untuk melacaknya.")),
    "claimed": Text(
        _l("Permohonan sedang diperiksa"),
        _l("Petugas kecamatan mulai memeriksa permohonan %(service)s Anda (%(no)s)."),
        _l("permohonan mulai diperiksa petugas.")),
    "returned": Text(
        _l("Permohonan perlu diperbaiki"),
        _l("Permohonan %(service)s (%(no)s) dikembalikan agar Anda perbaiki. Ganti dokumen yang disebut di bawah, "
           "lalu kirim lagi."),
        _l("perlu diperbaiki: %(fix)s")),
    "approved_step": Text(
        _l("Disetujui petugas"),
        _l("Permohonan %(service)s (%(no)s) sudah disetujui petugas kecamatan dan kini menunggu verifikasi "
           "pimpinan."),
        _l("disetujui petugas, menunggu verifikasi pimpinan.")),
    "approved": Text(
        _l("Permohonan disetujui"),
        _l("Permohonan %(service)s (%(no)s) disetujui dan sedang diproses untuk diterbitkan."),
        _l("permohonan disetujui, dokumen sedang diproses.")),
    "rejected": Text(
        _l("Permohonan ditolak"),
        _l("Permohonan %(service)s (%(no)s) ditolak. Alasan: %(note)s"),
        _l("permohonan ditolak. Alasan: %(note)s")),
    "issued": Text(
        _l("Dokumen terbit"),
        _l("%(service)s untuk permohonan %(no)s sudah terbit. Unduh dokumennya di halaman permohonan."),
        _l("dokumen sudah terbit dan dapat diunduh.")),
    "issued_card": Text(
        _l("Dokumen terbit"),
        _l("%(service)s untuk permohonan %(no)s sudah terbit. Kami kabari saat kartunya siap diambil atau "
           "diantar."),
        _l("sudah terbit. Kami kabari saat kartu siap diambil atau diantar.")),
    "ready": Text(
        _l("Siap diambil"),
        _l("%(service)s (%(no)s) siap diambil di kantor kecamatan pada jam kerja. Sebutkan nomor permohonan "
           "kepada petugas."),
        _l("siap diambil di kantor kecamatan pada jam kerja.")),
    "collected": Text(
        _l("Sudah diambil"),
        _l("%(service)s (%(no)s) tercatat sudah diambil di kantor kecamatan. Bila bukan Anda yang mengambilnya, "
           "hubungi Halo Pamor."),
        _l("tercatat sudah diambil. Bukan Anda? Hubungi Halo Pamor.")),
    "dispatched": Text(
        _l("Sedang diantar"),
        _l("Satgas Pamor sedang mengantar %(service)s (%(no)s) ke alamat Anda. Siapkan kode serah terima dari "
           "halaman permohonan."),
        _l("sedang diantar Satgas Pamor. Siapkan kode serah terima.")),
    "delivered": Text(
        _l("Sudah diterima"),
        _l("%(service)s (%(no)s) tercatat sudah Anda terima. Bila belum menerimanya, hubungi Halo Pamor."),
        _l("tercatat sudah diterima. Belum menerima? Hubungi Halo Pamor.")),
    "cancelled": Text(
        _l("Permohonan dibatalkan"),
        _l("Permohonan %(service)s (%(no)s) dibatalkan."),
        _l("permohonan dibatalkan.")),
    "job_scheduled": Text(
        _l("Jemput-antar dijadwalkan"),
        _l("Jadwal %(job)s untuk permohonan %(no)s: %(date)s, %(window)s. Anda dapat mengubah atau membatalkannya "
           "sampai Satgas Pamor berangkat."),
        _l("jadwal %(job)s %(date)s, %(window)s.")),
    "job_on_the_way": Text(
        _l("Satgas Pamor berangkat"),
        _l("Satgas Pamor sedang menuju alamat Anda untuk %(job)s permohonan %(no)s. Siapkan kode serah terima dari "
           "halaman permohonan."),
        _l("Satgas Pamor menuju alamat Anda untuk %(job)s.")),
    "job_rescheduled": Text(
        _l("Kunjungan dijadwalkan ulang"),
        _l("Satgas Pamor tidak dapat menyelesaikan %(job)s permohonan %(no)s (%(reason)s). Jadwal baru: %(date)s."),
        _l("%(job)s dijadwalkan ulang ke %(date)s.")),
    "pickup_done": Text(
        _l("Dokumen diterima Satgas Pamor"),
        _l("Satgas Pamor menerima dari Anda untuk permohonan %(no)s: %(items)s."),
        _l("Satgas Pamor menerima: %(items)s")),
    # --- to the operator ---
    "assigned": Text(
        _l("Permohonan untuk Anda"),
        _l("Penyelia menyerahkan permohonan %(service)s (%(no)s) kepada Anda untuk diperiksa."),
        _l("diserahkan kepada Anda untuk diperiksa.")),
    "resubmitted": Text(
        _l("Perbaikan masuk"),
        _l("Pemohon mengirim perbaikan permohonan %(service)s (%(no)s). Permohonan menunggu Anda di antrean."),
        _l("perbaikan dari pemohon masuk, menunggu Anda.")),
    "verify_returned": Text(
        _l("Dikembalikan verifikator"),
        _l("Permohonan %(service)s (%(no)s) dikembalikan oleh verifikator. Catatan: %(note)s"),
        _l("dikembalikan verifikator: %(note)s")),
    # --- to the satgas ---
    "job_new": Text(
        _l("Tugas jemput-antar baru"),
        _l("Tugas %(job)s baru untuk permohonan %(no)s: %(date)s, %(window)s."),
        _l("tugas %(job)s baru, %(date)s, %(window)s.")),
    "job_changed": Text(
        _l("Jadwal tugas berubah"),
        _l("Pemohon mengubah jadwal %(job)s permohonan %(no)s: %(date)s, %(window)s."),
        _l("jadwal %(job)s berubah: %(date)s, %(window)s.")),
    "job_cancelled": Text(
        _l("Tugas dibatalkan"),
        _l("Pemohon membatalkan %(job)s untuk permohonan %(no)s."),
        _l("%(job)s dibatalkan pemohon.")),
    "job_moved_away": Text(
        _l("Tugas dialihkan"),
        _l("Tugas %(job)s untuk permohonan %(no)s dialihkan ke Satgas Pamor lain."),
        _l("tugas %(job)s dialihkan ke Satgas Pamor lain.")),
    # --- Halo Pamor (written by services/halo.py) ---
    "halo_new": Text(
        _l("Pesan baru di Halo Pamor"),
        _l("Warga menulis di Halo Pamor: \u201c%(subject)s\u201d."),
        _l("pesan baru di Halo Pamor: %(subject)s")),
    "halo_reply": Text(
        _l("Balasan Halo Pamor"),
        _l("%(by)s membalas pesan Anda \u201c%(subject)s\u201d."),
        _l("%(by)s membalas: %(subject)s")),
    "halo_resident_reply": Text(
        _l("Warga membalas di Halo Pamor"),
        _l("Warga menanggapi jawaban Anda pada \u201c%(subject)s\u201d."),
        _l("warga membalas di Halo Pamor: %(subject)s")),
    "halo_escalated": Text(
        _l("Halo Pamor belum dijawab"),
        _l("Pesan \u201c%(subject)s\u201d belum dijawab selama satu hari kerja dan diteruskan kepada Anda."),
        _l("belum dijawab 1 hari kerja: %(subject)s")),
}
FALLBACK = Text(_l("Pemberitahuan"), _l("Ada kabar baru untuk Anda."), _l("ada kabar baru untuk Anda."))
JOB_NOUNS = {"pickup": _l("penjemputan"), "delivery": _l("pengantaran")}
# Kinds that go to the person who acted: the receipt of their own action (with the number and date).
CONFIRMATIONS = ("submitted", "job_scheduled")


# --- the entry point ---------------------------------------------------------------------------------


def notify(user: User | None, kind: str, *, request: ServiceRequest | None = None,
           thread: HaloThread | None = None, params: dict | None = None,
           now: datetime | None = None) -> Notification | None:
    """A notification of ``kind`` for ``user`` (None or an inactive user: nothing), and one outbox message
    per channel the user chose (rendered now, in their language). Flushes; never commits."""
    if user is None or not user.active:
        return None
    now = now or utcnow()
    notification = Notification(user_id=user.id, kind=kind, request_id=request.id if request is not None else None,
                                thread_id=thread.id if thread is not None else None, params=dict(params or {}),
                                created_at=now)
    db.session.add(notification)
    db.session.flush()
    channels = active_channels(user)
    if channels:
        with force_locale(recipient_locale(user)):
            rendered = render(notification, request=request, thread=thread)
            link = short_link(notification)
            for channel in channels:
                subject, body = compose(channel, user, rendered, link)
                db.session.add(OutboxMessage(notification_id=notification.id, user_id=user.id, channel=channel,
                                             address=address_for(user, channel), subject=subject, body=body,
                                             status="pending", attempts=0, next_attempt_at=now, created_at=now))
        db.session.flush()
    return notification


def recipient_locale(user: User) -> str:
    languages = current_app.config.get("LANGUAGES") or ("id", "en")
    return user.locale if user.locale in languages else "id"


# --- who hears of an event -----------------------------------------------------------------------------


def on_event(event: Event) -> list[Notification]:
    """The notifications ``event`` causes (see the module's docstring). Flushes; never commits."""
    session = object_session(event) or db.session
    req = event.request if event.request is not None else session.get(ServiceRequest, event.request_id)
    plan: list[tuple[int | None, str, dict]] = []
    applicant, data = req.applicant_id, dict(event.data or {})
    action = event.action

    def to_applicant(kind: str, **params):
        plan.append((applicant, kind, params))

    if action == "submit":
        to_applicant("submitted")
    elif action == "claim":
        to_applicant("claimed")
    elif action == "assign":
        plan.append((req.operator_id, "assigned", {}))
        if event.from_status == "submitted":
            to_applicant("claimed")
    elif action == "return":
        to_applicant("returned", documents=list(data.get("documents") or []), note=data.get("general_note") or "")
    elif action == "resubmit":
        plan.append((req.operator_id, "resubmitted", {}))
    elif action == "reject":
        to_applicant("rejected", note=event.note or "")
    elif action in ("approve", "verify"):
        if event.to_status == "approved":
            to_applicant("approved")
        elif action == "approve":
            to_applicant("approved_step")
    elif action == "verify_return":
        plan.append((req.operator_id, "verify_returned", {"note": event.note or ""}))
    elif action == "issue":
        to_applicant("issued_card" if _output(req) == "card" else "issued")
    elif action in ("ready", "collect", "dispatch", "deliver", "cancel"):
        to_applicant({"ready": "ready", "collect": "collected", "dispatch": "dispatched", "deliver": "delivered",
                      "cancel": "cancelled"}[action])
    elif action.startswith("job_") or action == "pickup_done":
        plan.extend(_job_plan(session, req, event, data))

    out = []
    seen: set[tuple[int, str]] = set()
    for user_id, kind, params in plan:
        if user_id is None or (user_id, kind) in seen:
            continue
        if user_id == event.actor_id and kind not in CONFIRMATIONS:
            continue
        seen.add((user_id, kind))
        notification = notify(session.get(User, user_id), kind, request=req, params=params, now=event.created_at)
        if notification is not None:
            out.append(notification)
    return out


def _output(req: ServiceRequest) -> str:
    from .catalogue import get_catalogue
    try:
        return get_catalogue().service(req.service_code).output
    except KeyError:
        return "document"


def _job_plan(session, req: ServiceRequest, event: Event, data: dict) -> list[tuple[int | None, str, dict]]:
    job = session.get(FieldJob, data.get("job_id") or 0)
    if job is None:
        return []
    params = {"job_id": job.id, "job_kind": job.kind, "date": job.preferred_date.isoformat(),
              "window": job.time_window}
    applicant = req.applicant_id
    action = event.action
    if action == "job_requested":
        return [(applicant, "job_scheduled", params), (job.satgas_id, "job_new", params)]
    if action == "job_changed":
        return [(applicant, "job_scheduled", params), (job.satgas_id, "job_changed", params)]
    if action == "job_cancelled":
        return [(job.satgas_id, "job_cancelled", params)]
    if action == "job_on_the_way":
        return [(applicant, "job_on_the_way", params)]
    if action == "job_rescheduled":
        return [(applicant, "job_rescheduled", {**params, "date": data.get("new_date") or params["date"],
                                                "reason": data.get("reason_text") or event.note or ""})]
    if action == "job_moved":
        return [(data.get("to_satgas_id"), "job_new", params),
                (data.get("from_satgas_id"), "job_moved_away", params)]
    if action == "pickup_done":
        return [(applicant, "pickup_done", {**params, "items": list(data.get("items") or [])})]
    return []


# --- texts ---------------------------------------------------------------------------------------------


@dataclass
class Rendered:
    title: str
    body: str
    sms: str  # the short phrase (not yet the whole SMS)
    no: str  # the tracking number, "" when there is none
    details: list[str] = field(default_factory=list)  # e.g. the returned documents, one line each


def render(notification: Notification, *, request: ServiceRequest | None = None,
           thread: HaloThread | None = None) -> Rendered:
    """The notification's words in the current locale (wrap in ``force_locale`` for someone else's)."""
    session = object_session(notification) or db.session
    req = request if request is not None else (
        session.get(ServiceRequest, notification.request_id) if notification.request_id else None)
    if req is None and notification.thread_id:
        thread = thread if thread is not None else session.get(HaloThread, notification.thread_id)
        if thread is not None and thread.request_id:
            req = session.get(ServiceRequest, thread.request_id)
    params = dict(notification.params or {})
    text = TEXTS.get(notification.kind, FALLBACK)
    values = _values(req, params)
    details = _details(notification.kind, req, params)
    if notification.kind == "returned":
        values["fix"] = ", ".join(_returned_labels(req, params)) or values["note"]
    return Rendered(title=str(text.title) % values, body=str(text.body) % values, sms=str(text.sms) % values,
                    no=values["no"], details=details)


def _values(req: ServiceRequest | None, params: dict) -> dict[str, str]:
    from .fieldjobs import TIME_WINDOWS
    from .labels import service_label
    values = {key: "" for key in ("no", "service", "note", "fix", "job", "date", "window", "reason", "items",
                                  "subject", "by")}
    if req is not None:
        values["no"] = req.tracking_no
        try:
            values["service"] = service_label(req)
        except KeyError:
            values["service"] = req.service_code
    for key in ("note", "reason", "subject", "by"):
        values[key] = str(params.get(key) or "")
    if params.get("job_kind") in JOB_NOUNS:
        values["job"] = str(JOB_NOUNS[params["job_kind"]])
    if params.get("date"):
        try:
            values["date"] = format_date(date.fromisoformat(params["date"]), "EEEE, d MMM yyyy")
        except ValueError:
            values["date"] = str(params["date"])
    if params.get("window"):
        values["window"] = str(TIME_WINDOWS.get(params["window"], params["window"]))
    if params.get("items"):
        values["items"] = ", ".join(str(item) for item in params["items"])
    return values


def _returned_labels(req: ServiceRequest | None, params: dict) -> list[str]:
    from .review import requirement_label
    return [requirement_label(req, item.get("code", "")) if req is not None else item.get("code", "")
            for item in params.get("documents") or []]


def _details(kind: str, req: ServiceRequest | None, params: dict) -> list[str]:
    """Extra lines: what to fix for a returned request (document: reason (operator's note))."""
    if kind != "returned":
        return []
    from .review import reason_label
    lines = []
    for label, item in zip(_returned_labels(req, params), params.get("documents") or []):
        line = f"{label}: {reason_label(item.get('reason'))}"
        if item.get("note"):
            line += f" ({item['note']})"
        lines.append(line)
    if params.get("note"):
        lines.append(_("Catatan petugas: %(note)s", note=params["note"]))
    return lines


def compose(channel: str, user: User, rendered: Rendered, link: str) -> tuple[str | None, str]:
    """(subject, body) of the message for ``channel``, in the current locale."""
    if channel == "sms":
        return None, sms_text(rendered, link)
    lines = [rendered.body, *(f"- {line}" for line in rendered.details)]
    if channel == "whatsapp":
        return None, "\n".join([f"*{rendered.title}*", *lines, "", link])
    subject = f"{rendered.title} ({rendered.no})" if rendered.no else rendered.title
    body = "\n".join([_("Halo %(name)s,", name=user.display_name), "", *lines, "",
                      _("Buka: %(link)s", link=link), "", "-- ",
                      _("Pesan otomatis dari E-Open Bekasi. Atur pemberitahuan di %(link)s",
                        link=public_base() + _path("notifications.preferences", "/akun/notifikasi"))])
    return "E-Open: " + subject, body + "\n"


def sms_text(rendered: Rendered, link: str, limit: int = SMS_LIMIT) -> str:
    """"E-Open <no>: <phrase> <link>" in GSM-7 characters, the phrase shortened to fit ``limit``."""
    head = f"E-Open {rendered.no}: " if rendered.no else "E-Open: "
    tail = " " + link
    phrase = gsm7(rendered.sms)
    room = limit - len(head) - len(tail)
    if len(phrase) > room:
        phrase = phrase[:max(room - 3, 0)].rstrip(" ,.:;") + "..."
    return head + phrase + tail


_GSM_REPLACEMENTS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
    "\u00a0": " ", "[": "(", "]": ")", "{": "(", "}": ")", "\\": "/", "^": "", "~": "-", "|": "/", "`": "'",
    "\n": " ", "\r": " ", "\t": " "})


def gsm7(text: str) -> str:
    """Plain ASCII without GSM-7 escape characters, so 160 characters fit one SMS."""
    text = unicodedata.normalize("NFKD", str(text).translate(_GSM_REPLACEMENTS))
    return "".join(ch for ch in text if ch.isascii() and (ch.isprintable()))


# --- links ---------------------------------------------------------------------------------------------


def public_base() -> str:
    """The site's absolute address: PUBLIC_URL, else the current request's host, else HOST:PORT."""
    config = current_app.config
    if config.get("PUBLIC_URL"):
        return config["PUBLIC_URL"].rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return f"http://{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 8000}"


def _path(endpoint: str, fallback: str, **values) -> str:
    """A URL path without needing a request (the worker has none)."""
    try:
        return current_app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return fallback


def short_link(notification: Notification) -> str:
    """The absolute link that opens the notification (and then what it is about)."""
    return public_base() + _path("notifications.open", f"/n/{notification.id}", notification_id=notification.id)


def target_url(notification: Notification, user: User) -> str:
    """Where the notification leads ``user`` (the page there checks scope again)."""
    def build(endpoint, fallback, **values):
        try:
            return url_for(endpoint, **values)
        except BuildError:
            return fallback

    if notification.thread_id:
        return build("halo.thread", f"/halo/{notification.thread_id}", thread_id=notification.thread_id)
    req = db.session.get(ServiceRequest, notification.request_id) if notification.request_id else None
    if req is None:
        return url_for("notifications.index")
    no = req.tracking_no
    params = notification.params or {}
    if user.role in APPLICANT_ROLES:
        if notification.kind == "returned" and req.status == "needs_revision":
            return build("resident.revision", f"/permohonan/{no}/perbaikan", tracking_no=no)
        return build("resident.request_detail", f"/permohonan/{no}", tracking_no=no)
    if user.role in ("operator", "penyelia"):
        return build("backoffice.review", f"/kantor/permohonan/{no}", tracking_no=no)
    if user.role in ("kasi", "kabid", "kadis"):
        return build("backoffice.verify_request", f"/kantor/verifikasi/{no}", tracking_no=no)
    if user.role == "satgas":
        if params.get("job_id") and notification.kind != "job_moved_away":
            return build("field.job", f"/lapangan/tugas/{params['job_id']}", job_id=params["job_id"])
        return build("field.home", "/lapangan/")
    return url_for("notifications.index")


# --- preferences ---------------------------------------------------------------------------------------


class PreferenceError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def address_for(user: User, channel: str) -> str | None:
    return (user.email if channel == "email" else user.phone if channel in ("sms", "whatsapp") else None) or None


def preferences(user: User) -> dict[str, bool]:
    """What the user chose per channel; without a choice, e-mail is on (when they have an address)."""
    chosen = dict(db.session.execute(select(NotificationPreference.channel, NotificationPreference.enabled)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {channel: bool(chosen.get(channel, channel == "email" and bool(user.email))) for channel in CHANNELS}


def active_channels(user: User) -> list[str]:
    """The channels a message goes out on now: chosen, and with an address to send to."""
    return [channel for channel, on in preferences(user).items() if on and address_for(user, channel)]


def set_preferences(user: User, choices: dict[str, bool]) -> None:
    """Store the user's choice for every channel. Raises PreferenceError for a channel without address."""
    for channel in CHANNELS:
        if choices.get(channel) and not address_for(user, channel):
            if channel == "email":
                raise PreferenceError(channel, _("Akun Anda belum punya alamat email, jadi email tidak dapat "
                                                 "dipilih."))
            raise PreferenceError(channel, _("Akun Anda belum punya nomor HP, jadi SMS dan WhatsApp tidak dapat "
                                             "dipilih."))
    rows = {row.channel: row for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for channel in CHANNELS:
        row = rows.get(channel)
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, channel=channel, enabled=bool(choices.get(channel))))
        else:
            row.enabled = bool(choices.get(channel))
    db.session.flush()


# --- the bell ------------------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def listing(user: User, page: int = 1, per_page: int = PER_PAGE):
    """The user's notifications, newest first, paged (a Flask-SQLAlchemy Pagination)."""
    pagination = db.paginate(select(Notification).where(Notification.user_id == user.id)
                             .order_by(Notification.created_at.desc(), Notification.id.desc()),
                             page=page, per_page=per_page, error_out=False, count=True)
    request_ids = {n.request_id for n in pagination.items if n.request_id}
    if request_ids:  # one query for the requests the page's texts need
        db.session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(request_ids))).all()
    return pagination


def own(user: User, notification_id: int) -> Notification | None:
    """The user's notification ``notification_id``; None when there is none or it is someone else's."""
    return db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == user.id))


def mark_read(user: User, notification_id: int | None = None, now: datetime | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed. Flushes."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    db.session.expire_all()
    return result.rowcount
