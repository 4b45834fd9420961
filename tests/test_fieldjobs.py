"""Jemput-antar: residents ask a Satgas Pamor for a pickup or a delivery (services/fieldjobs.py + pages)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import FieldJob, HolidayOverride, SatgasAssignment, ServiceRequest, User
from eopen.services import fieldjobs, sla

KEC = "32.75.01"


def working_day(offset_from: int = 1):
    day = sla.today_local() + timedelta(days=offset_from)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


def weekend_day():
    day = sla.today_local() + timedelta(days=1)
    while day.weekday() < 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def setup(app, make_resident, make_staff, make_request):
    """A resident with a request in RW 1, and a primary and a backup satgas for that RW."""
    resident = make_resident()
    req_id = make_request(resident, status="submitted")
    primary = make_staff("satgas", kecamatan_code=KEC)
    backup = make_staff("satgas", kecamatan_code=KEC)
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        db.session.add_all([SatgasAssignment(rw_id=req.rw_id, satgas_id=primary, kind="primary"),
                            SatgasAssignment(rw_id=req.rw_id, satgas_id=backup, kind="backup")])
        db.session.commit()
    return {"resident": resident, "req": req_id, "primary": primary, "backup": backup}


def ask(req_id, user_id, kind="pickup", day=None, window="08-12", note=None, token=None):
    req = db.session.get(ServiceRequest, req_id)
    user = db.session.get(User, user_id)
    return fieldjobs.request_job(req, user, kind, day or working_day(), window, note, token)


def test_routes_to_primary(app, setup):
    with app.app_context():
        job = ask(setup["req"], setup["resident"])
        db.session.commit()
        assert job.satgas_id == setup["primary"]
        assert job.status == "requested" and job.rw_id is not None


@pytest.mark.parametrize("flag", ["available", "active"])
def test_routes_to_backup_when_primary_unavailable_or_inactive(app, setup, flag):
    with app.app_context():
        setattr(db.session.get(User, setup["primary"]), flag, False)
        db.session.flush()
        job = ask(setup["req"], setup["resident"])
        assert job.satgas_id == setup["backup"]


def test_unassigned_when_nobody_can_take_it(app, setup):
    with app.app_context():
        db.session.get(User, setup["primary"]).available = False
        db.session.get(User, setup["backup"]).active = False
        db.session.flush()
        job = ask(setup["req"], setup["resident"])
        db.session.commit()
        assert job.satgas_id is None and job.status == "requested"


def test_one_open_job_per_kind(app, setup):
    with app.app_context():
        ask(setup["req"], setup["resident"], "pickup")
        with pytest.raises(fieldjobs.FieldJobError) as error:
            ask(setup["req"], setup["resident"], "pickup")
        assert "Ubah" in str(error.value)
        ask(setup["req"], setup["resident"], "delivery")  # the other kind is fine
        assert db.session.scalar(select(func.count(FieldJob.id))) == 2


def test_double_tap_same_token_makes_one_job(app, setup):
    with app.app_context():
        first = ask(setup["req"], setup["resident"], token="tok-1")
        db.session.commit()
        second = ask(setup["req"], setup["resident"], token="tok-1")
        assert first.id == second.id
        assert db.session.scalar(select(func.count(FieldJob.id))) == 1


def test_date_rules(app, setup):
    with app.app_context():
        today = sla.today_local()
        holiday = working_day(3)
        db.session.add(HolidayOverride(day=holiday, is_holiday=True, name="Libur uji"))
        db.session.flush()
        for day in (weekend_day(), holiday, today, today - timedelta(days=2), today + timedelta(days=40)):
            with pytest.raises(fieldjobs.FieldJobError) as error:
                ask(setup["req"], setup["resident"], day=day)
            assert error.value.field == "preferred_date"
        with pytest.raises(fieldjobs.FieldJobError) as error:
            ask(setup["req"], setup["resident"], window="20-24")
        assert error.value.field == "time_window"


def test_pickup_and_delivery_follow_the_request_status(app, setup, make_request):
    issued = make_request(setup["resident"], status="issued")
    collected = make_request(setup["resident"], status="collected")
    with app.app_context():
        with pytest.raises(fieldjobs.FieldJobError):
            ask(issued, setup["resident"], "pickup")
        assert ask(issued, setup["resident"], "delivery").kind == "delivery"
        with pytest.raises(fieldjobs.FieldJobError):
            ask(collected, setup["resident"], "delivery")


def test_institution_request_without_rw_is_refused(app, setup, make_resident, make_request):
    with app.app_context():
        no_rw = make_request(setup["resident"], kelurahan_code="32.75.01.1001")
        assert db.session.get(ServiceRequest, no_rw).rw_id is None
        with pytest.raises(fieldjobs.FieldJobError) as error:
            ask(no_rw, setup["resident"])
        assert "RW" in str(error.value)


def test_change_and_cancel_only_while_requested_and_only_by_the_applicant(app, setup, make_resident):
    other = make_resident(name="Tetangga")
    with app.app_context():
        job = ask(setup["req"], setup["resident"])
        db.session.commit()
        resident, stranger = db.session.get(User, setup["resident"]), db.session.get(User, other)
        with pytest.raises(fieldjobs.FieldJobError):
            fieldjobs.change_job(job, stranger, working_day(2), "12-16", None)
        with pytest.raises(fieldjobs.FieldJobError):
            fieldjobs.cancel_job(job, stranger)
        fieldjobs.change_job(job, resident, working_day(2), "12-16", "Rumah pagar hijau")
        assert job.time_window == "12-16" and job.address_note == "Rumah pagar hijau"
        job.status = "on_the_way"  # the satgas set off (the satgas pages do this)
        db.session.flush()
        with pytest.raises(fieldjobs.FieldJobError) as error:
            fieldjobs.change_job(job, resident, working_day(2), "08-12", None)
        assert "perjalanan" in str(error.value)
        with pytest.raises(fieldjobs.FieldJobError):
            fieldjobs.cancel_job(job, resident)
        job.status = "requested"
        fieldjobs.cancel_job(job, resident)
        assert job.status == "cancelled"
        fieldjobs.cancel_job(job, resident)  # sent twice: no error


# --- pages -------------------------------------------------------------------------------------------

def tracking(app, req_id):
    with app.app_context():
        return db.session.get(ServiceRequest, req_id).tracking_no


def test_pages_ask_show_change_cancel(app, client, login, setup):
    login(setup["resident"])
    no = tracking(app, setup["req"])
    page = client.get(f"/permohonan/{no}")
    assert "Jemput-antar" in page.text and f"/permohonan/{no}/jemput-antar" in page.text
    form = client.get(f"/permohonan/{no}/jemput-antar")
    assert form.status_code == 200 and 'name="client_token"' in form.text
    day = working_day()
    # invalid: 422, inputs kept, error summary
    bad = client.post(f"/permohonan/{no}/jemput-antar", data={
        "kind": "pickup", "preferred_date": weekend_day().isoformat(), "time_window": "08-12",
        "address_note": "Dekat masjid", "client_token": "t1"})
    assert bad.status_code == 422 and "error-summary" in bad.text and "Dekat masjid" in bad.text
    data = {"kind": "pickup", "preferred_date": day.isoformat(), "time_window": "08-12",
            "address_note": "Dekat masjid", "client_token": "t1"}
    ok = client.post(f"/permohonan/{no}/jemput-antar", data=data)
    assert ok.status_code == 303
    assert client.post(f"/permohonan/{no}/jemput-antar", data=data).status_code == 303  # double tap
    with app.app_context():
        jobs = db.session.scalars(select(FieldJob)).all()
        assert len(jobs) == 1
        job_id = jobs[0].id
    page = client.get(f"/permohonan/{no}")
    assert "Dekat masjid" in page.text and "Pagi 08.00" in page.text
    edit = client.post(f"/permohonan/{no}/jemput-antar/{job_id}", data={
        "preferred_date": day.isoformat(), "time_window": "16-20", "address_note": ""})
    assert edit.status_code == 303
    with app.app_context():
        assert db.session.get(FieldJob, job_id).time_window == "16-20"
    assert client.post(f"/permohonan/{no}/jemput-antar/{job_id}/batal").status_code == 303
    with app.app_context():
        assert db.session.get(FieldJob, job_id).status == "cancelled"


def test_status_page_shows_waiting_when_no_satgas(app, client, login, setup):
    with app.app_context():
        db.session.get(User, setup["primary"]).available = False
        db.session.get(User, setup["backup"]).available = False
        ask(setup["req"], setup["resident"])
        db.session.commit()
    login(setup["resident"])
    page = client.get(f"/permohonan/{tracking(app, setup['req'])}")
    assert "Menunggu Satgas Pamor ditetapkan" in page.text


def test_other_resident_gets_404(app, client, login, setup, make_resident):
    with app.app_context():
        job = ask(setup["req"], setup["resident"])
        db.session.commit()
        job_id = job.id
    other = make_resident(name="Tetangga")
    login(other)
    no = tracking(app, setup["req"])
    assert client.get(f"/permohonan/{no}/jemput-antar").status_code == 404
    assert client.get(f"/permohonan/{no}/jemput-antar/{job_id}").status_code == 404
    assert client.post(f"/permohonan/{no}/jemput-antar/{job_id}/batal").status_code == 404
    with app.app_context():
        assert db.session.get(FieldJob, job_id).status == "requested"


def test_csrf_required(csrf_app, make_resident, make_request):
    resident = make_resident()
    req_id = make_request(resident)
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(resident)
        session["_fresh"] = True
    no = tracking(csrf_app, req_id)
    response = client.post(f"/permohonan/{no}/jemput-antar", data={
        "kind": "pickup", "preferred_date": working_day().isoformat(), "time_window": "08-12"})
    assert response.status_code in (400, 422)  # refused either by the global CSRF guard or the form
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(FieldJob.id))) == 0


# --- events ------------------------------------------------------------------------------------------

def job_events(req_id):
    from eopen.models import Event
    return db.session.scalars(select(Event).where(Event.request_id == req_id, Event.action.like("job_%"))
                              .order_by(Event.id)).all()


def test_each_job_action_writes_one_event_and_double_taps_none(app, setup):
    day, later = working_day(), working_day(3)
    with app.app_context():
        resident = db.session.get(User, setup["resident"])
        job = ask(setup["req"], setup["resident"], day=day, token="tok-ev")
        ask(setup["req"], setup["resident"], day=day, token="tok-ev")  # double tap
        db.session.commit()
        [requested] = job_events(setup["req"])
        assert (requested.action, requested.actor_id) == ("job_requested", setup["resident"])
        assert requested.data == {"job_id": job.id, "kind": "pickup", "preferred_date": day.isoformat(),
                                  "time_window": "08-12"}
        assert requested.from_status == requested.to_status == "submitted"

        fieldjobs.change_job(job, resident, later, "12-16", "Pagar biru")
        fieldjobs.change_job(job, resident, later, "12-16", "Pagar biru")  # the same form twice
        db.session.commit()
        changed = job_events(setup["req"])[1:]
        assert [e.action for e in changed] == ["job_changed"]
        assert changed[0].data == {"job_id": job.id, "kind": "pickup", "preferred_date": later.isoformat(),
                                   "time_window": "12-16"}
        fieldjobs.change_job(job, resident, later, "12-16", None)  # only the note changes: still a change
        assert [e.action for e in job_events(setup["req"])] == ["job_requested", "job_changed", "job_changed"]

        fieldjobs.cancel_job(job, resident)
        fieldjobs.cancel_job(job, resident)  # sent twice
        db.session.commit()
        events = job_events(setup["req"])
        assert [e.action for e in events] == ["job_requested", "job_changed", "job_changed", "job_cancelled"]
        assert events[-1].data == {"job_id": job.id, "kind": "pickup"} and events[-1].actor_id == setup["resident"]
        assert db.session.get(ServiceRequest, setup["req"]).status == "submitted"


def test_refused_change_and_cancel_write_no_event(app, setup, make_resident):
    stranger_id = make_resident(name="Tetangga")
    with app.app_context():
        job = ask(setup["req"], setup["resident"])
        job.status = "on_the_way"
        db.session.commit()
        resident, stranger = db.session.get(User, setup["resident"]), db.session.get(User, stranger_id)
        for who in (resident, stranger):
            with pytest.raises(fieldjobs.FieldJobError):
                fieldjobs.change_job(job, who, working_day(2), "12-16", None)
            with pytest.raises(fieldjobs.FieldJobError):
                fieldjobs.cancel_job(job, who)
        assert [e.action for e in job_events(setup["req"])] == ["job_requested"]
        assert job.status == "on_the_way"


def test_timeline_shows_job_events_without_repeating_the_status(app, client, login, setup):
    with app.app_context():
        ask(setup["req"], setup["resident"], "delivery")
        db.session.commit()
    login(setup["resident"])
    html = client.get(f"/permohonan/{tracking(app, setup['req'])}").get_data(as_text=True)
    timeline = html[html.index('class="timeline"'):]
    timeline = timeline[:timeline.index("</ol>")]
    assert "<strong>Jemput/antar diminta</strong> — Antar<br>" in timeline
