"""What a penyelia sees of a kecamatan: status counts, operators' performance, SLA breaches, access logs.

Everything is read from the request rows and their events (never a copy of "what happened"). Dates are
local dates in Bekasi (Asia/Jakarta, see ``sla.local_date``); timestamps in the database are naive UTC.

Definitions (the performance page and the CSV say the same):

- **held** ("sedang dipegang"): requests whose ``operator_id`` is the operator and whose status waits
  for that operator: ``in_review`` (claimed or assigned), or ``submitted`` with the operator still set
  (a request resubmitted after revision waits for the operator who returned it). A request the operator
  approved that now waits for a verifier or SIAK is not held by the operator any more.
- **finished** ("selesai"): the operator's decision events, i.e. Event rows with ``actor_id`` = the
  operator and ``action`` in approve / return / reject. Every decision counts once: a request returned
  for revision and later approved counts twice (two pieces of work). Rejections by the penyelia are not
  an operator's work.
- **finished today**: decisions whose local date is ``today``; **this week**: decisions from Monday of
  ``today``'s week (ISO week, Monday to Sunday) up to and including ``today``.
- **handling time**: for each decision, the time since the operator's own start of work on the same
  request: their latest ``claim`` event, or the latest ``assign`` event naming them
  (``data["operator_id"]``), not already paired with an earlier decision of theirs. A decision without
  such a start (e.g. a request that came back from the verifiers, which returns to the operator without
  a claim) is counted as finished but has no handling time. Handling time is wall-clock time: nights,
  weekends and holidays are not taken out (working-time subtleties are deliberately ignored).
- **median handling time**: the median over the operator's timed decisions of the last
  ``MEDIAN_WINDOW_DAYS`` local days (``today`` included), so Monday morning still shows a figure.
- **open SLA breach** (per operator): a request the operator holds (above) that is past its due date.
- **breach** (page): a request of the kecamatan in one of ``OPEN_STATES`` whose due date is before
  ``today`` (``sla.time_left < 0``). ``needs_revision`` is not a breach: the SLA clock is paused (the
  due date is pushed on resubmission). Issued documents and everything after them (collection,
  delivery), rejected and cancelled requests are finished and never a breach.
"""
from __future__ import annotations

import csv
import io
import itertools
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Event, Region, ServiceRequest, User, utcnow
from . import audit, scope, sla
from .catalogue import get_catalogue

DECISIONS = ("approve", "return", "reject")
STARTS = ("claim", "assign")
HELD_STATES = ("submitted", "in_review")
# Not finished and not paused: the states in which a past due date is a breach.
OPEN_STATES = ("submitted", "in_review", "verifying", "approved", "sent_to_siak")
FINISHED_STATES = ("issued", "ready_for_collection", "out_for_delivery", "collected", "delivered", "rejected",
                   "cancelled")
MEDIAN_WINDOW_DAYS = 30

ROLE_LABELS = {
    "resident": _l("Warga"), "institution": _l("Instansi"), "satgas": _l("Satgas Pamor"),
    "operator": _l("Operator"), "penyelia": _l("Penyelia"), "kasi": _l("Kasi"), "kabid": _l("Kabid"),
    "kadis": _l("Kadis"), "admin": _l("Admin"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


# --- helpers -------------------------------------------------------------------------------------

def _utc_start(day: date) -> datetime:
    """Midnight at the start of local ``day`` as naive UTC (how timestamps are stored)."""
    return datetime.combine(day, time(0), tzinfo=sla.LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def kecamatan_requests(kecamatan_code: str):
    """A SELECT of the requests the kecamatan's staff see: the same rule as ``scope`` for a penyelia."""
    staff = SimpleNamespace(role="penyelia", kecamatan_code=kecamatan_code, is_authenticated=True, active=True)
    return scope.visible_requests(staff)


def _in_kecamatan(kecamatan_code: str):
    return ServiceRequest.kelurahan_code.startswith(kecamatan_code + ".", autoescape=True)


def format_duration(seconds: float | None) -> str:
    """"2 jam 45 menit" / "30 menit" (rounded to the minute); "–" when there is nothing to show."""
    if seconds is None:
        return "–"
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d jam %(minutes)d menit", hours=hours, minutes=minutes)
    return _("%(minutes)d menit", minutes=minutes)


# --- status counts -------------------------------------------------------------------------------

def status_counts(kecamatan_code: str) -> dict[str, int]:
    """{status: number of requests} for every status a kecamatan's staff can see (zeros included)."""
    from .lifecycle import STATES
    visible = kecamatan_requests(kecamatan_code).subquery()
    rows = db.session.execute(select(visible.c.status, func.count()).group_by(visible.c.status))
    counts = {status: 0 for status in STATES if status != "draft"}
    counts.update({status: n for status, n in rows})
    return counts


# --- operators -----------------------------------------------------------------------------------

@dataclass
class OperatorStats:
    operator_id: int
    name: str
    username: str | None
    active: bool
    held: int = 0
    finished_today: int = 0
    finished_week: int = 0
    breaches: int = 0
    durations: list[float] = field(default_factory=list)  # seconds, decisions in the median window

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.durations) if self.durations else None

    @property
    def median_minutes(self) -> int | None:
        median = self.median_seconds
        return None if median is None else int(round(median / 60))

    @property
    def median_label(self) -> str:
        return format_duration(self.median_seconds)


def operators(kecamatan_code: str, *, active_only: bool = True) -> list[User]:
    query = select(User).where(User.role == "operator", User.kecamatan_code == kecamatan_code)
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query.order_by(User.display_name, User.id)))


def operator_stats(kecamatan_code: str, today: date) -> list[OperatorStats]:
    """One row per operator of the kecamatan (inactive ones only when they still have numbers).

    Three queries whatever the number of operators: the operators, the held/breach counts grouped per
    operator, and the claim/assign/decision events of the requests decided in the median window.
    """
    staff = operators(kecamatan_code, active_only=False)
    stats = {u.id: OperatorStats(u.id, u.display_name, u.username, u.active) for u in staff}
    if not stats:
        return []
    ids = list(stats)

    held = db.session.execute(
        select(ServiceRequest.operator_id, func.count(),
               func.sum(case((ServiceRequest.due_date < today, 1), else_=0)))
        .where(ServiceRequest.operator_id.in_(ids), ServiceRequest.status.in_(HELD_STATES),
               _in_kecamatan(kecamatan_code))
        .group_by(ServiceRequest.operator_id))
    for operator_id, n, late in held:
        stats[operator_id].held = n
        stats[operator_id].breaches = int(late or 0)

    window_start = _utc_start(today - timedelta(days=MEDIAN_WINDOW_DAYS - 1))
    week_from = _utc_start(week_start(today))
    day_from = _utc_start(today)
    end = _utc_start(today + timedelta(days=1))
    decided = (select(Event.request_id).join(ServiceRequest, ServiceRequest.id == Event.request_id)
               .where(_in_kecamatan(kecamatan_code), Event.actor_id.in_(ids), Event.action.in_(DECISIONS),
                      Event.created_at >= window_start, Event.created_at < end))
    events = db.session.execute(
        select(Event.request_id, Event.actor_id, Event.action, Event.data, Event.created_at)
        .where(Event.request_id.in_(decided), Event.action.in_(STARTS + DECISIONS), Event.created_at < end)
        .order_by(Event.request_id, Event.created_at, Event.id))

    started: dict[tuple[int, int], datetime] = {}  # (request, operator) → start not yet paired
    for request_id, actor_id, action, data, at in events:
        if action in STARTS:
            operator_id = actor_id if action == "claim" else _int((data or {}).get("operator_id"))
            if operator_id in stats:
                started[request_id, operator_id] = at
            continue
        row = stats.get(actor_id)
        if row is None:
            continue
        start = started.pop((request_id, actor_id), None)
        if at < window_start:
            continue
        if start is not None:
            row.durations.append((at - start).total_seconds())
        if at >= week_from:
            row.finished_week += 1
        if at >= day_from:
            row.finished_today += 1

    return [s for s in stats.values()
            if s.active or s.held or s.finished_week or s.durations or s.breaches]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- SLA breaches --------------------------------------------------------------------------------

def breaches(kecamatan_code: str, today: date) -> list[ServiceRequest]:
    """Requests of the kecamatan past their due date and not finished nor paused, most overdue first."""
    query = (kecamatan_requests(kecamatan_code)
             .where(ServiceRequest.status.in_(OPEN_STATES), ServiceRequest.due_date.is_not(None),
                    ServiceRequest.due_date < today)
             .options(selectinload(ServiceRequest.operator), selectinload(ServiceRequest.kelurahan))
             .order_by(ServiceRequest.due_date, ServiceRequest.submitted_at, ServiceRequest.id))
    return list(db.session.scalars(query))


def holder_label(req: ServiceRequest) -> str:
    """Who the request waits for, in words."""
    if req.status in HELD_STATES and req.operator is not None:
        return req.operator.display_name
    if req.status == "submitted":
        return _("Antrean (belum ada operator)")
    if req.status == "verifying":
        from .lifecycle import current_step
        step = current_step(req)
        return _("Verifikasi %(role)s", role=role_label(step)) if step else _("Verifikasi")
    if req.status in ("approved", "sent_to_siak"):
        return _("Sistem (SIAK)")
    return "–"


@dataclass
class Breach:
    request: ServiceRequest
    days_over: int  # working days past the due date, at least 1
    holder: str


def breach_rows(kecamatan_code: str, today: date) -> list[Breach]:
    overrides = sla.load_overrides()
    return [Breach(req, -sla.time_left(req.due_date, today, overrides), holder_label(req))
            for req in breaches(kecamatan_code, today)]


# --- the dashboard -------------------------------------------------------------------------------

@dataclass
class Dashboard:
    kecamatan: Region | None
    counts: dict[str, int]
    breach_count: int
    waiting: list[ServiceRequest]     # submitted: to be claimed or assigned
    in_review: list[ServiceRequest]   # may be reassigned
    operators: list[User]


def dashboard(kecamatan_code: str, today: date) -> Dashboard:
    pending = list(db.session.scalars(
        kecamatan_requests(kecamatan_code)
        .where(ServiceRequest.status.in_(HELD_STATES))
        .options(selectinload(ServiceRequest.operator), selectinload(ServiceRequest.kelurahan))
        .order_by(ServiceRequest.due_date, ServiceRequest.submitted_at, ServiceRequest.id)))
    breach_count = db.session.scalar(
        select(func.count()).select_from(
            kecamatan_requests(kecamatan_code)
            .where(ServiceRequest.status.in_(OPEN_STATES), ServiceRequest.due_date < today).subquery()))
    return Dashboard(
        kecamatan=db.session.get(Region, kecamatan_code),
        counts=status_counts(kecamatan_code),
        breach_count=breach_count,
        waiting=[r for r in pending if r.status == "submitted"],
        in_review=[r for r in pending if r.status == "in_review"],
        operators=operators(kecamatan_code),
    )


# --- the access log of a request -----------------------------------------------------------------

@dataclass
class AccessEntry:
    at: datetime  # naive UTC
    name: str
    role: str
    what: str


ACCESS_ACTIONS = {
    "view_request": _l("Membuka permohonan"),
    "download_pdf": _l("Mengunduh PDF dokumen terbit"),
}


def access_log_entries(req: ServiceRequest) -> list[AccessEntry]:
    """The request's access rows, newest first, in words (users and documents loaded in one go each)."""
    rows = audit.access_log(req)
    user_ids = {row.user_id for row in rows}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    documents = {d.id: d for d in req.documents}
    try:
        variant = get_catalogue().service(req.service_code).variant(req.variant_code)
        labels = {r.code: _(r.label) for r in variant.requirements}
    except KeyError:
        labels = {}
    entries = []
    for row in rows:
        user = users.get(row.user_id)
        if row.document_id is not None:
            doc = documents.get(row.document_id)
            name = labels.get(doc.requirement_code, doc.requirement_code) if doc else _("dokumen yang sudah diganti")
            what = _("Membuka dokumen: %(name)s", name=name)
            if row.action not in ("view_document", "view_request"):
                what += f" ({ACCESS_ACTIONS.get(row.action, row.action)})"
        else:
            what = str(ACCESS_ACTIONS.get(row.action, row.action))
        entries.append(AccessEntry(row.created_at, user.display_name if user else "?",
                                   role_label(user.role) if user else "?", what))
    return entries


# --- CSV -----------------------------------------------------------------------------------------

CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection: prefix with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_DANGEROUS) else text


def performance_csv(stats: list[OperatorStats]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Operator"), _("Nama pengguna"), _("Aktif"), _("Sedang dipegang"), _("Selesai hari ini"),
                     _("Selesai minggu ini"), _("Median waktu tangani (menit)"), _("Pelanggaran SLA terbuka")])
    for s in stats:
        writer.writerow([csv_cell(v) for v in (
            s.name, s.username, _("ya") if s.active else _("tidak"), s.held, s.finished_today, s.finished_week,
            s.median_minutes, s.breaches)])
    return out.getvalue()


# --- the chart -----------------------------------------------------------------------------------

_chart_ids = itertools.count(1)


def bar_chart_svg(values: list[tuple[str, int]], title: str, *, chart_id: str | None = None) -> Markup:
    """A horizontal bar chart as inline SVG: one ``rect.bar`` per value, no script, no style attribute.

    ``role="img"`` with the title (and a text description of every value) for screen readers; pages
    also show the numbers in a table.
    """
    chart_id = chart_id or f"chart-{next(_chart_ids)}"
    label_w, bar_x, bar_max, row_h, bar_h, top = 180, 190, 330, 30, 20, 8
    width = bar_x + bar_max + 60
    height = top * 2 + row_h * max(len(values), 1)
    biggest = max((v for _label, v in values), default=0) or 1
    description = "; ".join(f"{label}: {value}" for label, value in values) or _("Belum ada data.")
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for i, (label, value) in enumerate(values):
        y = top + i * row_h
        w = round(bar_max * max(value, 0) / biggest, 1)
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w}" y="{y + bar_h - 5}" text-anchor="end" font-size="14" fill="#1b1b1b">'
            f'{escape(short)}</text>'
            f'<rect class="bar" x="{bar_x}" y="{y}" width="{w}" height="{bar_h}" fill="#0b5c3b"/>'
            f'<text x="{bar_x + w + 6}" y="{y + bar_h - 5}" font-size="14" fill="#1b1b1b">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --- time waiting for SIAK -----------------------------------------------------------------------

@dataclass
class SiakWait:
    """How long a request waited for SIAK: from "send_to_siak" to "issue" (``ended`` None: still waiting)."""
    started: datetime
    ended: datetime | None
    seconds: float

    @property
    def label(self) -> str:
        return format_duration(self.seconds)


def siak_wait(events, now: datetime | None = None) -> SiakWait | None:
    """Read from the request's events (the one record of what happened), None before the hand-off."""
    started = ended = None
    for event in events:
        if event.action == "send_to_siak":
            started, ended = event.created_at, None
        elif event.action == "issue" and started is not None:
            ended = event.created_at
    if started is None:
        return None
    end = ended or now or utcnow()
    return SiakWait(started, ended, max(0.0, (end - started).total_seconds()))


def siak_wait_median(kecamatan_code: str, today: date) -> tuple[float | None, int]:
    """The median time the kecamatan's requests issued in the median window waited for SIAK, and how many."""
    since = _utc_start(today - timedelta(days=MEDIAN_WINDOW_DAYS))
    rows = db.session.execute(
        select(Event.request_id, Event.action, Event.created_at)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(_in_kecamatan(kecamatan_code), Event.action.in_(("send_to_siak", "issue")),
               ServiceRequest.id.in_(select(Event.request_id).where(Event.action == "issue",
                                                                    Event.created_at >= since)))
        .order_by(Event.request_id, Event.id)).all()
    by_request: dict[int, list] = {}
    for request_id, action, created_at in rows:
        by_request.setdefault(request_id, []).append(SimpleNamespace(action=action, created_at=created_at))
    waits = [w.seconds for w in (siak_wait(events) for events in by_request.values()) if w and w.ended]
    return (statistics.median(waits) if waits else None), len(waits)
