"""The SIAK hand-off outbox: hand-off on approval, backoff with jitter, Retry-After, the lease, dead rows,
the HTTP adapter against the simulator, and the staff pages."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from eopen import siak_simulator
from eopen.extensions import db
from eopen.models import Event, ServiceRequest, SiakHandoff, SiakRecord, utcnow
from eopen.services import fulfilment, siak
from eopen.services.siak import SiakAnswer

NOW = datetime(2026, 12, 5, 9, 0)


def handed_off(app, make_resident, make_request, service="kia"):
    req_id = make_request(make_resident(), service=service, status="approved")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        fulfilment.after_decision(req)
        db.session.execute(SiakHandoff.__table__.update().values(next_attempt_at=NOW, created_at=NOW))
        db.session.commit()
    return req_id


class Scripted:
    """An adapter answering from a list (then confirming)."""

    def __init__(self, *answers):
        self.answers, self.keys = list(answers), []

    def submit(self, key, body, request_id):
        self.keys.append(key)
        return self.answers.pop(0) if self.answers else SiakAnswer(True, reference="REF-1", status_code=201)


def test_approval_hands_off_in_the_same_transaction_without_calling_siak(app, make_resident, make_request):
    req_id = handed_off(app, make_resident, make_request)
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        row = db.session.scalar(select(SiakHandoff).where(SiakHandoff.request_id == req_id))
        assert req.status == "sent_to_siak" and row.status == "pending" and row.attempts == 0
        assert row.idempotency_key == siak.idempotency_key(req)
        event = db.session.scalar(select(Event).where(Event.request_id == req_id, Event.action == "send_to_siak"))
        assert event.data == {"handoff": row.id}
        assert db.session.scalar(select(func.count()).select_from(SiakRecord)) == 0  # SIAK not called
        # The local adapter (no SIAK_URL) confirms on the worker's first round.
        assert siak.deliver_due(now=NOW).confirmed == 1
        db.session.refresh(req)
        db.session.refresh(row)
        assert req.status == "issued" and row.status == "confirmed" and row.reference.startswith("LOCAL-")
        issue = db.session.scalar(select(Event).where(Event.request_id == req_id, Event.action == "issue"))
        assert issue.data["siak_reference"] == row.reference and issue.actor_id is None
        assert siak.deliver_due(now=NOW + timedelta(hours=1)).total == 0  # nothing twice


def test_backoff_doubles_with_jitter_and_is_capped(app):
    with app.app_context():
        app.config.update(SIAK_BACKOFF_BASE=30, SIAK_BACKOFF_CAP=600)
        rng = random.Random(1)
        for attempts, full in ((1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (40, 600)):
            waits = {siak.backoff(attempts, rng).total_seconds() for _ in range(20)}
            assert all(full / 2 <= w <= full for w in waits), (attempts, waits)
            assert len(waits) > 1  # jitter: not all the same


def test_retry_after_in_seconds_or_http_date_is_honoured_and_capped(app):
    with app.app_context():
        app.config.update(SIAK_BACKOFF_BASE=30, SIAK_BACKOFF_CAP=600, SIAK_RETRY_AFTER_CAP=7200)
        assert siak.parse_retry_after("120", NOW) == timedelta(seconds=120)
        assert siak.parse_retry_after("Sat, 05 Dec 2026 10:00:00 GMT", NOW) == timedelta(hours=1)
        assert siak.parse_retry_after("Sat, 05 Dec 2026 08:00:00 GMT", NOW) == timedelta(0)  # in the past
        assert siak.parse_retry_after("999999", NOW) == timedelta(seconds=7200)
        assert siak.parse_retry_after("soon", NOW) is None and siak.parse_retry_after(None, NOW) is None
        wait = siak.next_wait(1, SiakAnswer(False, status_code=503, retry_after="3000"), NOW, random.Random(1))
        assert wait == timedelta(seconds=3000)  # later than the backoff: SIAK's wish wins
        wait = siak.next_wait(6, SiakAnswer(False, status_code=503, retry_after="1"), NOW, random.Random(1))
        assert wait >= timedelta(seconds=300)  # earlier than the backoff: the backoff wins


def test_lease_lets_one_worker_take_a_row_until_it_expires(app, make_resident, make_request):
    handed_off(app, make_resident, make_request)
    with app.app_context():
        app.config["SIAK_LEASE"] = 60
        row_id = db.session.scalar(select(SiakHandoff.id))
        assert siak.claim(row_id, NOW) is True
        assert siak.claim(row_id, NOW + timedelta(seconds=30)) is False  # held by the first worker
        assert siak.deliver_due(now=NOW + timedelta(seconds=30)).total == 0
        assert siak.claim(row_id, NOW + timedelta(seconds=61)) is True  # that worker died: taken again


def test_maintenance_never_kills_a_handoff_and_only_permanent_refusals_do(app, make_resident, make_request):
    first = handed_off(app, make_resident, make_request)
    with app.app_context():
        app.config.update(SIAK_DEAD_AFTER=3)
        app.extensions["eopen.siak"] = Scripted(*[SiakAnswer(False, error="HTTP 503", status_code=503,
                                                             retry_after="60")] * 10)
        clock = NOW
        for _ in range(10):
            clock += timedelta(days=1)
            siak.deliver_due(now=clock)
        row = db.session.scalar(select(SiakHandoff).where(SiakHandoff.request_id == first))
        assert row.status == "pending" and row.attempts == 10 and row.last_status_code == 503
        assert db.session.get(ServiceRequest, first).status == "sent_to_siak"
        # A 429 (not now) is retried like a 5xx; a 422 (never) makes it dead once SIAK_DEAD_AFTER attempts ran.
        app.extensions["eopen.siak"] = Scripted(SiakAnswer(False, status_code=429), SiakAnswer(False, status_code=429),
                                                SiakAnswer(False, status_code=422))
        row.attempts = 0
        db.session.commit()
        for _ in range(2):
            clock += timedelta(days=1)
            siak.deliver_due(now=clock)
        db.session.refresh(row)
        assert row.status == "pending" and row.attempts == 2 and row.last_status_code == 429
        clock += timedelta(days=1)
        assert siak.deliver_due(now=clock).dead == 1
        db.session.refresh(row)
        assert row.status == "dead" and row.attempts == 3 and row.last_status_code == 422
        assert db.session.get(ServiceRequest, first).status == "sent_to_siak"  # only a confirmed answer moves it
        # Retry now brings it back; the next answer confirms.
        assert siak.retry_now(row, clock) is True
        db.session.commit()
        assert siak.deliver_due(now=clock).confirmed == 1
        assert db.session.get(ServiceRequest, first).status == "issued"
        del app.extensions["eopen.siak"]


def test_http_adapter_sends_the_key_and_token_and_reads_answers(app):
    running = siak_simulator.start(token="rahasia")
    try:
        body = {"tracking_no": "EO-TEST-0001", "service": "kia"}
        client = siak.HttpSiak(running.url, "rahasia", timeout=2)
        first = client.submit("k" * 64, body, 1)
        again = client.submit("k" * 64, body, 1)
        assert first.confirmed and first.status_code == 201 and again.status_code == 200
        assert first.reference == again.reference and len(running.app.state.records) == 1
        assert siak.HttpSiak(running.url, "salah", timeout=2).submit("k" * 64, body, 1).status_code == 401
        running.app.state.apply({"maintenance": True, "retry_after": 90})
        answer = client.submit("j" * 64, body, 1)
        assert not answer.confirmed and answer.status_code == 503 and answer.retry_after == "90"
        running.app.state.apply({"maintenance": False})
        assert client.submit("j" * 64, body, 1).confirmed
        assert running.app.state.counters["duplicates"] == 1  # another key for the same request: counted
    finally:
        running.stop()
    down = siak.HttpSiak(running.url, timeout=0.5).submit("k" * 64, {}, 1)
    assert not down.confirmed and down.status_code is None and down.error


def test_outbox_page_banner_and_retry_now(app, client, login, make_resident, make_request, make_staff):
    req_id = handed_off(app, make_resident, make_request)
    penyelia = make_staff("penyelia", kecamatan_code="32.75.01")
    far = make_staff("penyelia", kecamatan_code="32.75.02")
    operator = make_staff("operator", kecamatan_code="32.75.01")
    with app.app_context():
        app.extensions["eopen.siak"] = Scripted(SiakAnswer(False, error="HTTP 503: maintenance", status_code=503,
                                                           retry_after="86400"))
        siak.deliver_due(now=NOW)
        del app.extensions["eopen.siak"]
        db.session.execute(SiakHandoff.__table__.update().values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        tracking_no = db.session.get(ServiceRequest, req_id).tracking_no
    login(penyelia)
    html = client.get("/kantor/siak").get_data(as_text=True)
    assert tracking_no in html and "HTTP 503: maintenance" in html and "Coba sekarang" in html
    assert "SIAK sedang pemeliharaan — 1 permohonan menunggu" in html
    r = client.post(f"/kantor/siak/{tracking_no}/coba")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/siak")
    assert "akan dikirim ulang ke SIAK" in client.get("/kantor/siak").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(SiakHandoff))
        assert row.next_attempt_at < NOW + timedelta(hours=1) and row.status == "pending"
    login(far)
    assert tracking_no not in client.get("/kantor/siak").get_data(as_text=True)
    assert client.post(f"/kantor/siak/{tracking_no}/coba").status_code == 404
    login(operator)
    assert client.get("/kantor/siak").status_code == 403
    assert "1 permohonan menunggu" in client.get("/kantor/antrean").get_data(as_text=True)  # the banner
