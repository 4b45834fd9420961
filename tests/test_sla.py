"""Working days and the SLA clock (eopen/services/sla.py)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from eopen.extensions import db
from eopen.models import HolidayOverride
from eopen.services import sla
from eopen.services.sla import add_working_days, due_date, is_working_day, local_date, time_left, working_days_between

NONE: dict = {}  # no overrides: tests that need no database say so explicitly

# Idul Fitri 2026 with Nyepi and the cuti bersama around it: Wed 18 .. Tue 24 March are all off.
LEBARAN_2026 = [date(2026, 3, 18) + timedelta(days=i) for i in range(7)]


def at(day: date, hour: int = 3) -> datetime:
    """A naive UTC timestamp on ``day`` (03:00 UTC is 10:00 in Bekasi)."""
    return datetime(day.year, day.month, day.day, hour)


def event(from_status, to_status, day, hour=3):
    return SimpleNamespace(from_status=from_status, to_status=to_status, created_at=at(day, hour))


# --- the calendar --------------------------------------------------------------------------------

def test_lebaran_2026_cuti_bersama_are_not_working_days():
    for day in LEBARAN_2026:
        assert not is_working_day(day, NONE), day
    assert is_working_day(date(2026, 3, 17), NONE)  # Tuesday before
    assert is_working_day(date(2026, 3, 25), NONE)  # Wednesday after


def test_weekends_are_not_working_days():
    assert is_working_day(date(2026, 1, 9), NONE)  # Friday
    assert not is_working_day(date(2026, 1, 10), NONE)
    assert not is_working_day(date(2026, 1, 11), NONE)
    assert is_working_day(date(2026, 1, 12), NONE)


def test_other_public_holidays_and_joint_holidays():
    assert not is_working_day(date(2026, 8, 17), NONE)  # Independence Day (Monday)
    assert not is_working_day(date(2026, 12, 24), NONE)  # Christmas cuti bersama
    assert not is_working_day(date(2027, 1, 1), NONE)  # another year works too


def test_add_working_days_across_lebaran():
    assert add_working_days(date(2026, 3, 17), 1, NONE) == date(2026, 3, 25)
    assert add_working_days(date(2026, 3, 13), 5, NONE) == date(2026, 3, 27)  # 16, 17, 25, 26, 27
    assert add_working_days(date(2026, 3, 20), 0, NONE) == date(2026, 3, 25)  # start on a holiday


def test_add_working_days_over_a_weekend():
    friday = date(2026, 1, 9)
    assert add_working_days(friday, 0, NONE) == friday
    assert add_working_days(friday, 1, NONE) == date(2026, 1, 12)
    assert add_working_days(date(2026, 1, 10), 0, NONE) == date(2026, 1, 12)  # Saturday → Monday
    assert add_working_days(date(2026, 1, 10), 1, NONE) == date(2026, 1, 12)
    assert add_working_days(friday, 5, NONE) == date(2026, 1, 19)  # 12..15, then Isra' Mi'raj Fri 16
    with pytest.raises(ValueError):
        add_working_days(friday, -1, NONE)


def test_working_days_between():
    assert working_days_between(date(2026, 3, 13), date(2026, 3, 27), NONE) == 5
    assert working_days_between(date(2026, 3, 17), date(2026, 3, 24), NONE) == 0
    assert working_days_between(date(2026, 1, 9), date(2026, 1, 9), NONE) == 0
    assert working_days_between(date(2026, 1, 9), date(2026, 1, 12), NONE) == 1  # (Fri, Mon]
    assert working_days_between(date(2026, 1, 12), date(2026, 1, 9), NONE) == -1


# --- overrides -----------------------------------------------------------------------------------

def test_overrides_both_ways():
    overrides = {date(2026, 3, 23): False,  # cuti bersama worked after all
                 date(2026, 2, 11): True}   # an extra day off on a Wednesday
    assert is_working_day(date(2026, 3, 23), overrides)
    assert not is_working_day(date(2026, 2, 11), overrides)
    assert add_working_days(date(2026, 3, 17), 1, overrides) == date(2026, 3, 23)
    assert add_working_days(date(2026, 2, 10), 1, overrides) == date(2026, 2, 12)
    # A weekend stays a weekend: overrides correct the holiday list, they do not move Saturdays.
    assert not is_working_day(date(2026, 3, 21), {date(2026, 3, 21): False})


def test_overrides_come_from_the_table(ctx):
    db.session.add_all([HolidayOverride(day=date(2026, 3, 23), is_holiday=False, name="Masuk kerja"),
                        HolidayOverride(day=date(2026, 2, 11), is_holiday=True, name="Libur daerah")])
    db.session.flush()
    assert sla.load_overrides() == {date(2026, 3, 23): False, date(2026, 2, 11): True}
    # Inside an app context, overrides=None reads the table; {} ignores it.
    assert is_working_day(date(2026, 3, 23))
    assert not is_working_day(date(2026, 3, 23), NONE)
    assert add_working_days(date(2026, 2, 10), 1) == date(2026, 2, 12)
    assert working_days_between(date(2026, 3, 17), date(2026, 3, 24)) == 1


def test_without_app_context_none_means_no_overrides():
    assert not is_working_day(date(2026, 3, 23))


# --- local time ----------------------------------------------------------------------------------

def test_local_date_is_jakarta_time():
    assert local_date(datetime(2026, 3, 17, 23, 30)) == date(2026, 3, 18)  # 06:30 WIB next day
    assert local_date(datetime(2026, 3, 17, 16, 59)) == date(2026, 3, 17)  # 23:59 WIB
    assert local_date(datetime(2026, 3, 17, 17, 0)) == date(2026, 3, 18)   # midnight WIB


# --- the SLA clock -------------------------------------------------------------------------------

def test_due_date_starts_at_first_submission():
    events = [event(None, "draft", date(2026, 1, 2)), event("draft", "submitted", date(2026, 1, 5)),
              event("submitted", "in_review", date(2026, 1, 6))]
    assert due_date(events, 5, NONE) == date(2026, 1, 12)
    assert due_date(events[:1], 5, NONE) is None
    assert due_date([], 5, NONE) is None


def test_due_date_uses_local_date_of_submission():
    # Submitted Friday 23:30 UTC = Saturday 06:30 in Bekasi: the clock starts from Saturday.
    events = [event("draft", "submitted", date(2026, 1, 9), hour=23)]
    assert due_date(events, 1, NONE) == date(2026, 1, 12)
    events = [event("draft", "submitted", date(2026, 1, 8), hour=23)]  # Friday 06:30 WIB
    assert due_date(events, 1, NONE) == date(2026, 1, 12)


def test_needs_revision_pauses_the_clock():
    submitted = [event("draft", "submitted", date(2026, 1, 5)),          # Monday; due Mon 12 Jan
                 event("submitted", "in_review", date(2026, 1, 6)),
                 event("in_review", "needs_revision", date(2026, 1, 6))]  # paused Tuesday ...
    resubmitted = submitted + [event("needs_revision", "submitted", date(2026, 1, 8))]  # ... to Thursday
    assert due_date(submitted[:2], 5, NONE) == date(2026, 1, 12)
    assert due_date(resubmitted, 5, NONE) == date(2026, 1, 14)  # (Tue, Thu] = 2 working days later
    # Two pauses add up; a pause over Lebaran only counts its working days.
    twice = resubmitted + [event("submitted", "in_review", date(2026, 1, 9)),
                           event("in_review", "needs_revision", date(2026, 1, 9)),
                           event("needs_revision", "submitted", date(2026, 1, 12))]  # (Fri, Mon] = 1
    assert due_date(twice, 5, NONE) == date(2026, 1, 15)
    lebaran = [event("draft", "submitted", date(2026, 3, 16)),
               event("in_review", "needs_revision", date(2026, 3, 17)),
               event("needs_revision", "submitted", date(2026, 3, 25))]  # (17, 25] = 1 working day
    assert due_date(lebaran, 2, NONE) == date(2026, 3, 26)


def test_open_pause_counts_until_today():
    events = [event("draft", "submitted", date(2026, 1, 5)),
              event("in_review", "needs_revision", date(2026, 1, 6))]
    assert due_date(events, 5, NONE, today=date(2026, 1, 6)) == date(2026, 1, 12)
    assert due_date(events, 5, NONE, today=date(2026, 1, 9)) == date(2026, 1, 15)


def test_pause_respects_overrides():
    events = [event("draft", "submitted", date(2026, 1, 5)),
              event("in_review", "needs_revision", date(2026, 1, 6)),
              event("needs_revision", "submitted", date(2026, 1, 8))]
    # Wednesday 7 Jan off: the pause spanned one working day only, and the clock skips it too.
    overrides = {date(2026, 1, 7): True}
    assert due_date(events[:1], 5, overrides) == date(2026, 1, 13)
    assert due_date(events, 5, overrides) == date(2026, 1, 14)


def test_time_left():
    due = date(2026, 1, 14)  # Wednesday
    assert time_left(due, date(2026, 1, 12), NONE) == 2
    assert time_left(due, due, NONE) == 0
    assert time_left(due, date(2026, 1, 15), NONE) == -1
    assert time_left(due, date(2026, 1, 19), NONE) == -2  # Thu 15, Mon 19 (Fri 16 is Isra' Mi'raj)
    # Overdue on the weekend right after a Friday due date, though no working day has passed.
    assert time_left(date(2026, 1, 9), date(2026, 1, 10), NONE) == -1
    assert time_left(date(2026, 3, 25), date(2026, 3, 17), NONE) == 1  # Lebaran in between
