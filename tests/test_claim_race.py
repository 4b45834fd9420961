"""The claim race: many operators of one kecamatan claim the same request at the same moment.

The lifecycle changes a row with a conditional UPDATE (same status, step and claim as the decision
saw), so exactly one claim wins; every other one gets ``TransitionError("conflict")`` — or, if its
thread read the row only after the winner committed, "wrong_state" / "forbidden". A SQLite
"database is locked" (after the engine's 30 s busy timeout) would count as a loss too; the test
reports the tally of reasons, and whatever happens there are never two winners.

Each thread has its own application context, hence its own session and connection. Run it on
PostgreSQL as well: EOPEN_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from eopen.extensions import db
from eopen.models import Event, ServiceRequest, User
from eopen.services import lifecycle

pytestmark = pytest.mark.db

KEC = "32.75.01"
KEL = "32.75.01.1001"
THREADS = 12   # below the pool's 5 + 10 connections: every thread holds one while it waits at the barrier
ROUNDS = 20
TIMEOUT = 90


@pytest.fixture
def operators(make_staff):
    return [make_staff("operator", KEC) for _ in range(THREADS)]


@pytest.fixture
def submitted(app, make_resident, make_request):
    resident = make_resident()

    def make() -> int:
        return make_request(resident, service="ktp_el", status="submitted", kelurahan_code=KEL)
    return make


def claim_race(app, request_id: int, operator_ids: list[int], *, read_first: bool) -> dict[int, str]:
    """Every operator claims ``request_id`` in its own thread; {operator_id: "won" | loss reason}.

    ``read_first``: all threads load the request and then wait at the barrier, so every one decides on
    the same "submitted" row; otherwise they start together and load it after the barrier.
    """
    barrier = threading.Barrier(len(operator_ids), timeout=TIMEOUT)
    outcome: dict[int, str] = {}

    def load(operator_id):
        req = db.session.get(ServiceRequest, request_id)
        operator = db.session.get(User, operator_id)
        assert req.status and operator.role  # loaded now, not lazily later
        return req, operator

    def claim(operator_id: int) -> None:
        with app.app_context():
            try:
                if read_first:
                    req, operator = load(operator_id)
                    barrier.wait()
                else:
                    barrier.wait()
                    req, operator = load(operator_id)
                lifecycle.perform(req, "claim", operator)
                db.session.commit()
                outcome[operator_id] = "won"
            except lifecycle.TransitionError as error:
                db.session.rollback()
                outcome[operator_id] = error.reason
            except OperationalError as error:  # e.g. SQLite "database is locked": a loss, reported
                db.session.rollback()
                outcome[operator_id] = "operational_error: " + str(error.orig)
            except BaseException as error:  # noqa: BLE001 — anything else fails the test below
                db.session.rollback()
                outcome[operator_id] = f"crash: {error!r}"

    threads = [threading.Thread(target=claim, args=(op,), name=f"claim-{op}") for op in operator_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a claim thread hung"
    return outcome


@pytest.mark.parametrize("read_first", [True, False], ids=["all-read-then-claim", "start-together"])
def test_exactly_one_operator_wins_the_claim(app, operators, submitted, read_first, capsys):
    tally: Counter[str] = Counter()
    for _round in range(ROUNDS):
        request_id = submitted()
        outcome = claim_race(app, request_id, operators, read_first=read_first)
        assert len(outcome) == len(operators)
        assert not [r for r in outcome.values() if r.startswith("crash")], outcome
        winners = [op for op, result in outcome.items() if result == "won"]
        assert len(winners) <= 1, outcome  # never two
        losses = [result for result in outcome.values() if result != "won"]
        assert all(r in ("conflict", "wrong_state", "forbidden") or r.startswith("operational_error")
                   for r in losses), outcome
        tally.update(result if not result.startswith("operational_error") else "operational_error"
                     for result in outcome.values())
        with app.app_context():
            req = db.session.get(ServiceRequest, request_id)
            claims = db.session.scalars(select(Event).where(Event.request_id == request_id,
                                                            Event.action == "claim")).all()
            if winners:
                assert (req.status, req.operator_id) == ("in_review", winners[0])
                assert [(e.actor_id, e.from_status, e.to_status) for e in claims] == [
                    (winners[0], "submitted", "in_review")]
            else:  # only possible when every thread hit an OperationalError
                assert all(r.startswith("operational_error") for r in outcome.values()), outcome
                assert (req.status, req.operator_id, claims) == ("submitted", None, [])
    with app.app_context():
        dialect = db.engine.dialect.name
        events = db.session.scalar(select(func.count()).select_from(Event))
    with capsys.disabled():
        print(f"\n[claim race, {dialect}, {'read first' if read_first else 'start together'}] "
              f"{ROUNDS} rounds x {THREADS} threads: {dict(tally)}")
    # Exactly one winner per round (a round with no winner at all would need every thread to fail).
    assert tally["won"] == ROUNDS
    assert events == ROUNDS
    if read_first:  # every loser decided on the same "submitted" row: the conditional UPDATE stopped it
        assert tally["conflict"] + tally["operational_error"] == ROUNDS * (THREADS - 1)


def test_claim_race_over_http(app, make_staff, submitted, login, capsys):
    """Two operators press "Ambil" on the same request at the same moment: one gets it, nothing breaks."""
    if "backoffice.claim" not in app.view_functions:
        pytest.skip("the claim route backoffice.claim (POST /kantor/permohonan/<tracking_no>/ambil) is not there yet")
    a, b = make_staff("operator", KEC), make_staff("operator", KEC)
    clients = {}
    for operator_id in (a, b):
        clients[operator_id] = app.test_client()
        login(operator_id, clients[operator_id])
    seen: Counter[str] = Counter()
    for _round in range(10):
        request_id = submitted()
        with app.app_context():
            tracking_no = db.session.get(ServiceRequest, request_id).tracking_no
        barrier = threading.Barrier(2, timeout=TIMEOUT)
        responses: dict[int, object] = {}

        def press(operator_id):
            barrier.wait()
            try:
                response = clients[operator_id].post(f"/kantor/permohonan/{tracking_no}/ambil")
                responses[operator_id] = (response.status_code, response.headers.get("Location"))
                response.close()
            except BaseException as error:  # noqa: BLE001
                responses[operator_id] = ("crash", repr(error))

        threads = [threading.Thread(target=press, args=(op,)) for op in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert not any(thread.is_alive() for thread in threads)
        assert all(isinstance(code, int) and code < 500 for code, _location in responses.values()), responses
        with app.app_context():
            req = db.session.get(ServiceRequest, request_id)
            claims = db.session.scalars(select(Event).where(Event.request_id == request_id,
                                                            Event.action == "claim")).all()
            assert req.status == "in_review" and req.operator_id in (a, b), responses
            assert [e.actor_id for e in claims] == [req.operator_id], responses
        loser = b if req.operator_id == a else a
        seen.update(f"{who} {code} {(location or '').replace(tracking_no, '<no>')}"
                    for who, (code, location) in (("winner", responses[req.operator_id]), ("loser", responses[loser])))
    with app.app_context():
        dialect = db.engine.dialect.name
    with capsys.disabled():
        print(f"\n[claim race over HTTP, {dialect}] 10 rounds x 2 operators, responses: {dict(seen)}")
