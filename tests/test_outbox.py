"""The outbox (services/outbox.py): retries with backoff, exactly one delivery after failures, nothing lost
when the process dies, never two workers sending the same message, dead letters kept. Time is driven
with ``now=``; channels are replaced through NOTIFY_CHANNELS."""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from eopen import create_app
from eopen.extensions import db
from eopen.models import OutboxMessage, ServiceRequest, User, utcnow
from eopen.services import lifecycle, notify, outbox
from eopen.services.channels import DeliveryError

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 2, 8, 0, 0)


class Recorder:
    """A channel that fails ``failures`` times, then delivers; counts every call (thread-safe)."""

    def __init__(self, failures: int = 0, error: Exception | None = None):
        self.failures = failures
        self.error = error or DeliveryError("gateway down")
        self.calls: list[int] = []
        self.delivered: list[int] = []
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.calls.append(message.id)
            if self.failures:
                self.failures -= 1
                raise self.error
            self.delivered.append(message.id)


class Crash(BaseException):
    """The process dying in the middle of sending (not an error the worker could catch)."""


class Crashing:
    def send(self, message):
        raise Crash()


@pytest.fixture
def resident(app, make_resident):
    user_id = make_resident(name="Sari Dewi")
    with app.app_context():
        db.session.get(User, user_id).email = "sari@contoh.id"
        db.session.commit()
    return user_id


def one_message(app, user_id, now=T0) -> int:
    with app.app_context():
        notify.notify(db.session.get(User, user_id), "halo_reply", params={"subject": "Tanya", "by": "Petugas"},
                      now=now)
        db.session.commit()
        return db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == user_id))


def row(app, message_id) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


def test_fails_three_times_then_delivers_exactly_once(app, resident):
    channel = Recorder(failures=3)
    app.config["NOTIFY_CHANNELS"] = {"email": channel}
    message_id = one_message(app, resident)
    with app.app_context():
        assert outbox.send_due(now=T0).retried == 1
        m = row(app, message_id)
        assert (m.status, m.attempts, m.next_attempt_at) == ("pending", 1, T0 + timedelta(minutes=1))
        assert "gateway down" in m.last_error and m.claimed_until is None
        assert outbox.send_due(now=T0 + timedelta(seconds=59)).total == 0  # not due yet
        assert outbox.send_due(now=T0 + timedelta(minutes=1)).retried == 1  # next wait: 2 minutes
        assert row(app, message_id).next_attempt_at == T0 + timedelta(minutes=3)
        assert outbox.send_due(now=T0 + timedelta(minutes=3)).retried == 1  # next wait: 4 minutes
        assert row(app, message_id).next_attempt_at == T0 + timedelta(minutes=7)
        assert outbox.send_due(now=T0 + timedelta(minutes=6)).total == 0
        assert outbox.send_due(now=T0 + timedelta(minutes=7)).sent == 1
        for later in (8, 60, 60 * 24):
            assert outbox.send_due(now=T0 + timedelta(minutes=later)).total == 0
    assert channel.calls == [message_id] * 4 and channel.delivered == [message_id]
    m = row(app, message_id)
    assert (m.status, m.attempts, m.sent_at, m.last_error) == ("sent", 4, T0 + timedelta(minutes=7), None)


def test_dead_after_the_last_attempt_and_kept(app, resident):
    app.config.update(NOTIFY_CHANNELS={"email": Recorder(failures=100)}, OUTBOX_MAX_ATTEMPTS=5, OUTBOX_BACKOFF_CAP=4)
    message_id = one_message(app, resident)
    now, waits = T0, []
    with app.app_context():
        for _attempt in range(5):
            assert outbox.send_due(now=now).total == 1
            m = row(app, message_id)
            if m.status == "pending":
                waits.append(m.next_attempt_at - now)
                now = m.next_attempt_at
        assert outbox.send_due(now=now + timedelta(days=30)).total == 0
    assert waits == [timedelta(minutes=w) for w in (1, 2, 4, 4)]  # doubling, capped
    m = row(app, message_id)
    assert (m.status, m.attempts, m.sent_at) == ("dead", 5, None) and "gateway down" in m.last_error


def test_permanent_failure_is_dead_at_once(app, resident):
    channel = Recorder(failures=1, error=DeliveryError("HTTP 400 bad number", permanent=True))
    app.config["NOTIFY_CHANNELS"] = {"email": channel}
    message_id = one_message(app, resident)
    with app.app_context():
        assert outbox.send_due(now=T0).dead == 1
        assert outbox.send_due(now=T0 + timedelta(days=1)).total == 0
    assert row(app, message_id).status == "dead" and channel.calls == [message_id]


def test_an_unexpected_exception_in_a_channel_is_a_retry(app, resident):
    channel = Recorder(failures=1, error=RuntimeError("bug in a driver"))
    app.config["NOTIFY_CHANNELS"] = {"email": channel}
    message_id = one_message(app, resident)
    with app.app_context():
        assert outbox.send_due(now=T0).retried == 1
        assert row(app, message_id).last_error == "RuntimeError: bug in a driver"
        assert outbox.send_due(now=T0 + timedelta(minutes=1)).sent == 1
    m = row(app, message_id)
    assert (m.status, m.attempts, m.last_error) == ("sent", 2, None)


def test_a_crash_between_commit_and_send_loses_nothing(app, database, tmp_path, make_request, resident, make_staff):
    """The event's transaction commits (with its outbox message), then the process dies before any
    worker ran. A new process's worker finds the message and sends it."""
    operator = make_staff("operator", kecamatan_code="32.75.01")
    req_id = make_request(resident, service="kia", status="submitted")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        lifecycle.perform(req, "claim", db.session.get(User, operator))
        db.session.commit()
        no = req.tracking_no
        db.session.remove()
        db.engine.dispose()  # the process is gone; nothing in memory survives
    fresh = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database})
    fresh.instance_path = str(tmp_path / "instance")
    result = fresh.test_cli_runner().invoke(args=["eopen", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    lines = (tmp_path / "instance" / "outbox.log").read_text().splitlines()
    assert len(lines) == 1
    logged = json.loads(lines[0])
    assert logged["channel"] == "email" and logged["to"] == "sari@contoh.id" and no in logged["subject"]
    with fresh.app_context():
        assert db.session.scalars(select(OutboxMessage.status)).all() == ["sent"]
        db.session.remove()
        db.engine.dispose()


def test_a_crash_while_sending_sends_again_after_the_lease(app, resident):
    """The worker took the message and died in the middle of sending it: the message stays taken until
    the lease expires, then the next worker sends it (at least once)."""
    app.config.update(NOTIFY_CHANNELS={"email": Crashing()}, OUTBOX_LEASE=300)
    message_id = one_message(app, resident)
    with app.app_context():
        with pytest.raises(Crash):
            outbox.send_due(now=T0)
        db.session.rollback()
        m = row(app, message_id)
        assert (m.status, m.attempts, m.claimed_until) == ("pending", 0, T0 + timedelta(seconds=300))
        channel = Recorder()
        app.config["NOTIFY_CHANNELS"] = {"email": channel}
        assert outbox.send_due(now=T0 + timedelta(seconds=299)).total == 0  # still held by the dead worker
        assert outbox.send_due(now=T0 + timedelta(seconds=300)).sent == 1
        assert outbox.send_due(now=T0 + timedelta(hours=1)).total == 0
    assert channel.delivered == [message_id] and row(app, message_id).status == "sent"


WORKERS = 8
MESSAGES = 40


def test_two_workers_at_once_never_send_the_same_message_twice(app, make_resident, capsys):
    channel = Recorder()
    app.config["NOTIFY_CHANNELS"] = {"email": channel}
    user_id = make_resident()
    with app.app_context():
        user = db.session.get(User, user_id)
        user.email = "many@contoh.id"
        for i in range(MESSAGES):
            notify.notify(user, "halo_reply", params={"subject": f"Pesan {i}", "by": "Petugas"}, now=T0)
        db.session.commit()
        ids = set(db.session.scalars(select(OutboxMessage.id)))
    assert len(ids) == MESSAGES
    barrier = threading.Barrier(WORKERS, timeout=60)
    results: dict[int, object] = {}

    def work(n):
        with app.app_context():
            try:
                barrier.wait()
                results[n] = outbox.send_due(now=T0 + timedelta(seconds=1), limit=MESSAGES).sent
            except BaseException as error:  # noqa: BLE001 — reported below
                results[n] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(sent, int) for sent in results.values()), results
    counts = Counter(channel.calls)
    assert set(counts) == ids and set(counts.values()) == {1}, counts.most_common(3)
    assert sum(results.values()) == MESSAGES
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == "sent")) == MESSAGES
        dialect = db.engine.dialect.name
    with capsys.disabled():
        print(f"\n[outbox, {dialect}] {WORKERS} workers, {MESSAGES} messages: sent per worker "
              f"{sorted(results.values(), reverse=True)}")


def test_worker_round_runs_halo_timers_when_present(app, monkeypatch):
    from eopen.services import halo
    seen = []
    monkeypatch.setattr(halo, "tick", lambda now: seen.append(now), raising=False)
    with app.app_context():
        outbox.run_round(now=T0)
    assert seen == [T0]


def test_worker_command_once(app, resident, tmp_path):
    app.instance_path = str(tmp_path)
    one_message(app, resident)
    result = app.test_cli_runner().invoke(args=["eopen", "worker", "--once"])
    assert result.exit_code == 0 and "outbox: 1 sent, 0 to retry, 0 dead" in result.output
    assert (tmp_path / "outbox.log").exists()
    result = app.test_cli_runner().invoke(args=["eopen", "worker", "--once"])
    assert "outbox: 0 sent" in result.output


def test_a_failing_channel_never_holds_up_the_request(app, client, login, make_request, make_staff, resident):
    """The request's page only writes the message; the broken channel is the worker's business."""
    class Broken:
        def send(self, message):
            raise AssertionError("a channel must not be called while a request is handled")

    app.config["NOTIFY_CHANNELS"] = {"email": Broken()}
    operator = make_staff("operator", kecamatan_code="32.75.01")
    req_id = make_request(resident, service="kia", status="submitted")
    with app.app_context():
        no = db.session.get(ServiceRequest, req_id).tracking_no
    login(operator)
    r = client.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(ServiceRequest, req_id).status == "in_review"
        assert db.session.scalars(select(OutboxMessage.status)).all() == ["pending"]
        app.config["NOTIFY_CHANNELS"] = {"email": Recorder(failures=1)}
        assert outbox.send_due(now=utcnow() + timedelta(seconds=1)).retried == 1
        assert db.session.get(ServiceRequest, req_id).status == "in_review"
