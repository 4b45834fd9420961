"""Working days in Kota Bekasi and the service-level clock of a request.

A working day is Monday to Friday, not a national holiday nor a cuti bersama day (the ``holidays``
package, country ID, categories public + government), corrected by the admin-editable
``HolidayOverride`` table: ``is_holiday=True`` adds a day off, ``False`` makes a listed holiday
(never a weekend) a working day.

Every function taking ``overrides`` reads the table when given None inside an app context (and uses
none outside one); pass a dict from ``load_overrides()`` to read it once for many calls, or ``{}``
to ignore it.

The SLA clock starts on the local date of the first event that put the request in ``submitted``,
runs for the service's ``target_days`` working days, and stops while the request is in
``needs_revision``: each such period pushes the due date by the working days it spanned.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Mapping, Protocol
from zoneinfo import ZoneInfo

import holidays
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import HolidayOverride, utcnow

LOCAL_TZ = ZoneInfo("Asia/Jakarta")
HOLIDAY_CATEGORIES = ("public", "government")  # government = cuti bersama
PAUSED = "needs_revision"
Overrides = Mapping[date, bool]


class EventLike(Protocol):
    from_status: str | None
    to_status: str
    created_at: datetime


@lru_cache(maxsize=32)
def _holidays_in(year: int) -> frozenset[date]:
    calendar = holidays.country_holidays("ID", years=year, categories=HOLIDAY_CATEGORIES)
    return frozenset(calendar.keys())


def holidays_in(year: int) -> frozenset[date]:
    """The national holidays and cuti bersama of `year` (without the override table)."""
    return _holidays_in(year)


def holiday_name(day: date) -> str:
    return holidays.country_holidays("ID", years=day.year, categories=HOLIDAY_CATEGORIES).get(day, "")


def load_overrides(session: Session | None = None) -> dict[date, bool]:
    """The HolidayOverride table as {day: is_holiday}. Needs an app context (or a session)."""
    rows = (session or db.session).execute(select(HolidayOverride.day, HolidayOverride.is_holiday))
    return {day: is_holiday for day, is_holiday in rows}


def _resolve(overrides: Overrides | None) -> Overrides:
    if overrides is not None:
        return overrides
    return load_overrides() if has_app_context() else {}


def _is_working(day: date, overrides: Overrides) -> bool:
    if day.weekday() >= 5:  # Saturday, Sunday
        return False
    if day in overrides:
        return not overrides[day]
    return day not in _holidays_in(day.year)


def is_working_day(day: date, overrides: Overrides | None = None) -> bool:
    return _is_working(day, _resolve(overrides))


def add_working_days(start: date, n: int, overrides: Overrides | None = None) -> date:
    """The n-th working day after ``start``; for n=0, ``start`` if it is a working day, else the next one."""
    if n < 0:
        raise ValueError("n must be >= 0")
    overrides = _resolve(overrides)
    day = start
    if n == 0:
        while not _is_working(day, overrides):
            day += timedelta(days=1)
        return day
    while n:
        day += timedelta(days=1)
        if _is_working(day, overrides):
            n -= 1
    return day


def working_days_between(start: date, end: date, overrides: Overrides | None = None) -> int:
    """Working days in (start, end]; negative (the days in (end, start]) when end is before start."""
    if end < start:
        return -working_days_between(end, start, overrides)
    overrides = _resolve(overrides)
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        count += _is_working(day, overrides)
        day += timedelta(days=1)
    return count


def local_date(dt_utc_naive: datetime) -> date:
    """The date in Bekasi (Asia/Jakarta, UTC+7) of a naive UTC timestamp as stored in the database."""
    aware = dt_utc_naive if dt_utc_naive.tzinfo else dt_utc_naive.replace(tzinfo=timezone.utc)
    return aware.astimezone(LOCAL_TZ).date()


def local_time(dt_utc_naive: datetime) -> datetime:
    """A naive UTC timestamp from the database as an aware time in Bekasi."""
    aware = dt_utc_naive if dt_utc_naive.tzinfo else dt_utc_naive.replace(tzinfo=timezone.utc)
    return aware.astimezone(LOCAL_TZ)


def today_local() -> date:
    return local_date(utcnow())


def due_date(events: Iterable[EventLike], target_days: int, overrides: Overrides | None = None,
             *, today: date | None = None) -> date | None:
    """The due date from a request's events (in the order they happened); None before submission.

    A pause that has not ended yet counts until ``today`` (default: today in Bekasi).
    """
    overrides = _resolve(overrides)
    due: date | None = None
    paused_since: date | None = None
    for event in events:
        day = local_date(event.created_at)
        if due is None:
            if event.to_status == "submitted":
                due = add_working_days(day, target_days, overrides)
            continue
        if paused_since is None and event.to_status == PAUSED:
            paused_since = day
        elif paused_since is not None and event.from_status == PAUSED and event.to_status != PAUSED:
            due = _push(due, paused_since, day, overrides)
            paused_since = None
    if due is not None and paused_since is not None:
        due = _push(due, paused_since, today or today_local(), overrides)
    return due


def _push(due: date, paused_from: date, paused_until: date, overrides: Overrides) -> date:
    spanned = working_days_between(paused_from, paused_until, overrides)
    return add_working_days(due, spanned, overrides) if spanned > 0 else due


def time_left(due: date, today: date, overrides: Overrides | None = None) -> int:
    """Working days left until ``due`` (0 on the day itself), negative when overdue.

    Overdue means today is after the due date: at least -1 then, even on the weekend right after it.
    """
    if today > due:
        return min(-1, -working_days_between(due, today, overrides))
    return working_days_between(today, due, overrides)
