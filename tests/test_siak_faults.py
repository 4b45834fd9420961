"""SIAK faults: the worker against the simulator (a real HTTP server in a thread), with a test clock.

Numbers are printed (run with -s to see them): requests approved, issued, lost, records in the
simulator, duplicates, and the simulator's counters.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from eopen import siak_simulator
from eopen.extensions import db
from eopen.models import ServiceRequest, SiakHandoff
from eopen.services import fulfilment, siak


@pytest.fixture
def simulator():
    running = siak_simulator.start()
    yield running
    running.stop()


def approve_many(app, make_request, applicant_id, n, now):
    """n requests left `approved` (fixtures, not HTTP), then handed off as the approval route does."""
    ids = [make_request(applicant_id, service="kia", status="approved") for _ in range(n)]
    with app.app_context():
        for req in db.session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(ids))):
            fulfilment.after_decision(req)
        db.session.execute(SiakHandoff.__table__.update().values(next_attempt_at=now, created_at=now))
        db.session.commit()
    return ids


def tally(app, ids):
    with app.app_context():
        statuses = dict(db.session.execute(select(ServiceRequest.status, func.count()).where(
            ServiceRequest.id.in_(ids)).group_by(ServiceRequest.status)).all())
        dead = db.session.scalar(select(func.count()).select_from(SiakHandoff).where(SiakHandoff.status == "dead"))
    return statuses, dead


def drain(app, now, rng, *, step, rounds):
    """Worker rounds at now, now+step, …, until nothing is pending (or ``rounds`` ran out)."""
    for i in range(rounds):
        with app.app_context():
            while siak.deliver_due(now=now + i * step, rng=rng).total:
                pass
            pending = db.session.scalar(select(func.count()).select_from(SiakHandoff)
                                        .where(SiakHandoff.status == "pending"))
        if not pending:
            return i + 1
    return rounds


class Totals:
    def __init__(self):
        self.confirmed = self.retried = self.dead = 0

    def add(self, r):
        self.confirmed += r.confirmed
        self.retried += r.retried
        self.dead += r.dead


def test_a_day_of_maintenance_while_200_are_approved_loses_and_duplicates_nothing(capsys, app, make_resident, make_request,
                                                                                 simulator):
    start = datetime(2026, 12, 1, 0, 0)
    state = simulator.app.state
    state.apply({"windows": ["2026-12-01T00:00/2026-12-02T00:00"], "now": start.isoformat()})
    app.config.update(SIAK_URL=simulator.url, SIAK_TIMEOUT=2)
    applicant = make_resident()
    ids = approve_many(app, make_request, applicant, 200, start)
    rng = random.Random(7)

    # During the day: every call answers 503 with Retry-After; nothing confirmed, nothing dead.
    totals = Totals()
    for hour in (0, 1, 6, 12, 23):
        now = start + timedelta(hours=hour, minutes=1)
        state.apply({"now": now.isoformat()})
        with app.app_context():
            while (r := siak.deliver_due(now=now, rng=rng)).total:
                totals.add(r)
    statuses, dead = tally(app, ids)
    assert statuses == {"sent_to_siak": 200} and dead == 0 and totals.confirmed == 0
    assert totals.retried == 200  # one call each: Retry-After (until the window ends) kept them from retrying
    with app.app_context():
        waits = db.session.scalars(select(SiakHandoff.next_attempt_at)).all()
        assert min(waits) >= datetime(2026, 12, 2, 0, 0)  # Retry-After honoured
        assert set(db.session.scalars(select(SiakHandoff.last_status_code))) == {503}
    maintenance_calls = state.counters["maintenance"]

    # After the window: everything goes through.
    after = datetime(2026, 12, 2, 0, 0) + timedelta(hours=2)
    state.apply({"now": after.isoformat()})
    drain(app, after, rng, step=timedelta(hours=1), rounds=3)
    statuses, dead = tally(app, ids)
    records, duplicates = len(state.records), state.counters["duplicates"]
    with capsys.disabled():  # the numbers belong in the suite's output
        print(f"\nSIAK maintenance day: approved=200 issued={statuses.get('issued', 0)} "
              f"lost={200 - statuses.get('issued', 0)} dead={dead} simulator_records={records} duplicates={duplicates} "
              f"503_answers={maintenance_calls} counters={state.counters}")
    assert statuses == {"issued": 200} and dead == 0
    assert records == 200 and duplicates == 0 and state.counters["created"] == 200


@pytest.mark.parametrize("name, settings", [
    ("slow", {"latency": 0.02}),
    ("timeouts", {"timeout_rate": 0.15, "timeout_sleep": 0.4}),
    ("errors 30%", {"error_rate": 0.3}),
])
def test_slow_timing_out_or_failing_siak_loses_and_duplicates_nothing(capsys, app, make_resident, make_request, simulator,
                                                                      name, settings):
    n = 40
    state = simulator.app.state
    state.apply({"seed": 2026, **settings})
    app.config.update(SIAK_URL=simulator.url, SIAK_TIMEOUT=0.2)
    start = datetime(2026, 12, 3, 8, 0)
    ids = approve_many(app, make_request, make_resident(), n, start)
    rounds = drain(app, start, random.Random(11), step=timedelta(hours=2), rounds=30)
    statuses, dead = tally(app, ids)
    issued = statuses.get("issued", 0)
    with app.app_context():
        attempts = db.session.scalar(select(func.sum(SiakHandoff.attempts)))
    with capsys.disabled():  # the numbers belong in the suite's output
        print(f"\nSIAK {name}: approved={n} issued={issued} lost={n - issued} dead={dead} rounds={rounds} "
              f"attempts={attempts} simulator_records={len(state.records)} duplicates={state.counters['duplicates']} "
              f"counters={state.counters}")
    assert issued == n and dead == 0
    assert len(state.records) == n and state.counters["duplicates"] == 0 and state.counters["created"] == n
    if name != "slow":
        assert attempts > n  # faults happened, and were retried
    if name == "timeouts":
        assert state.counters["lost_answers"] > 0 and state.counters["replayed"] > 0  # a retry found its record
