"""Satgas Pamor field mode: "Tugas hari ini", job page, berangkat and "tidak dapat diselesaikan"."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from eopen.extensions import db
from eopen.models import RT, FieldJob, User
from eopen.services import sla

TODAY = date(2026, 12, 2)  # a Wednesday


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(sla, "today_local", lambda: TODAY)


@pytest.fixture
def make_job(app, make_resident, make_request):
    def make(satgas_id, *, name="Budi Santoso", rw_number=1, rt_number=1, day=TODAY, kind="pickup",
             status="requested", phone=None, note="Pagar hijau"):
        resident = make_resident(name=name, rw_number=rw_number, phone=phone)
        req_id = make_request(resident)
        with app.app_context():
            user = db.session.get(User, resident)
            household = user.person.household
            if rt_number != 1:
                household.rt_id = db.session.scalar(
                    select(RT.id).where(RT.rw_id == household.rw_id, RT.number == rt_number))
            job = FieldJob(request_id=req_id, kind=kind, status=status, satgas_id=satgas_id,
                           rw_id=household.rw_id, preferred_date=day, time_window="08-12",
                           address_note=note, created_by_id=resident)
            db.session.add(job)
            db.session.commit()
            return job.id
    return make


def _job(app, job_id):
    with app.app_context():
        job = db.session.get(FieldJob, job_id)
        return job.status, job.preferred_date, job.failed_reason


def _section(html, heading_id):
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_only_my_open_jobs_are_listed_in_sections(client, login, make_staff, make_job):
    me, other = make_staff("satgas"), make_staff("satgas")
    make_job(me, name="Ani Hari Ini")
    make_job(me, name="Bayu Besok", day=TODAY + timedelta(days=1))
    make_job(me, name="Citra Kemarin", day=TODAY - timedelta(days=1))
    make_job(me, name="Dodi Batal", status="cancelled")
    make_job(me, name="Eka Selesai Kemarin", status="done", day=TODAY - timedelta(days=1))
    make_job(other, name="Fajar Orang Lain")
    login(me)
    html = client.get("/lapangan/").get_data(as_text=True)
    assert "Ani Hari Ini" in _section(html, "fj-today")
    assert "Bayu Besok" in _section(html, "fj-next")
    assert "Citra Kemarin" in _section(html, "fj-late")
    for absent in ("Dodi Batal", "Eka Selesai", "Fajar Orang Lain"):
        assert absent not in html


def test_grouped_by_rw_then_rt(client, login, make_staff, make_job):
    me = make_staff("satgas")
    make_job(me, name="Warga RW2", rw_number=2)
    make_job(me, name="Warga RT2", rt_number=2)
    make_job(me, name="Warga RT1")
    login(me)
    html = _section(client.get("/lapangan/").get_data(as_text=True), "fj-today")
    assert html.index("RW 001 · RT 001") < html.index("Warga RT1") < html.index("RW 001 · RT 002") \
        < html.index("Warga RT2") < html.index("RW 002 · RT 001") < html.index("Warga RW2")


def test_job_shows_details_and_call_links(client, login, make_staff, make_job):
    me = make_staff("satgas")
    job_id = make_job(me, name="Sari Dewi", phone="+6281234567890", kind="delivery")
    login(me)
    for url in ("/lapangan/", f"/lapangan/tugas/{job_id}"):
        html = client.get(url).get_data(as_text=True)
        assert 'href="tel:+6281234567890"' in html
        assert 'href="https://wa.me/6281234567890"' in html
        assert 'aria-label="Telepon Sari Dewi"' in html and 'aria-label="WhatsApp Sari Dewi"' in html
        assert "Jl. Uji 1, RT 001/RW 001" in html and "Pagar hijau" in html
        assert "Antar" in html and "kartu/dokumen yang sudah jadi" in html


def test_other_satgas_job_is_404_and_other_roles_403(client, login, make_staff, make_resident, make_job):
    me, other = make_staff("satgas"), make_staff("satgas")
    job_id = make_job(other)
    login(me)
    assert client.get(f"/lapangan/tugas/{job_id}").status_code == 404
    assert client.post(f"/lapangan/tugas/{job_id}/berangkat").status_code == 404
    assert client.get(f"/lapangan/tugas/{job_id}/gagal").status_code == 404
    assert _job(client.application, job_id)[0] == "requested"
    for user in (make_staff("operator", kecamatan_code="32.75.01"), make_resident(name="Warga Lain")):
        login(user)
        assert client.get("/lapangan/").status_code == 403
        assert client.get(f"/lapangan/tugas/{job_id}").status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get("/lapangan/")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_on_the_way_and_double_click(client, login, make_staff, make_job):
    me = make_staff("satgas")
    job_id = make_job(me)
    login(me)
    assert "Berangkat sekarang" in client.get(f"/lapangan/tugas/{job_id}").get_data(as_text=True)
    for _ in range(2):
        response = client.post(f"/lapangan/tugas/{job_id}/berangkat")
        assert response.status_code == 303
    assert _job(client.application, job_id)[0] == "on_the_way"
    html = client.get(f"/lapangan/tugas/{job_id}").get_data(as_text=True)
    assert "Berangkat sekarang" not in html and "Dalam perjalanan" in html
    assert "Selesai" not in html


def test_not_done_reschedules_with_reason(client, login, make_staff, make_job):
    me = make_staff("satgas")
    job_id = make_job(me)
    login(me)
    client.post(f"/lapangan/tugas/{job_id}/berangkat")
    assert client.get(f"/lapangan/tugas/{job_id}/gagal").status_code == 200
    new_day = TODAY + timedelta(days=1)  # Thursday
    response = client.post(f"/lapangan/tugas/{job_id}/gagal",
                           data={"reason": "not_home", "detail": "Rumah kosong", "new_date": new_day.isoformat()})
    assert response.status_code == 303
    status, day, reason = _job(client.application, job_id)
    assert (status, day) == ("requested", new_day)
    assert reason == "Warga tidak ada di rumah: Rumah kosong"
    html = client.get("/lapangan/").get_data(as_text=True)
    assert "Warga tidak ada di rumah" in _section(html, "fj-next")


@pytest.mark.parametrize("data, message", [
    ({"reason": "not_home", "new_date": "2026-12-05"}, "bukan hari kerja"),  # Saturday
    ({"reason": "not_home", "new_date": "2026-12-01"}, "paling cepat besok"),  # past
    ({"reason": "not_home", "new_date": "2026-12-02"}, "paling cepat besok"),  # today
    ({"reason": "not_home", "new_date": "2027-02-01"}, "paling lambat"),
    ({"new_date": "2026-12-03"}, "Pilih alasan"),
    ({"reason": "other", "new_date": "2026-12-03"}, "Tulis alasannya"),
    ({"reason": "not_home", "new_date": ""}, "Isi tanggal kunjungan baru"),
])
def test_not_done_invalid_input_is_422_with_inputs_kept(client, login, make_staff, make_job, data, message):
    me = make_staff("satgas")
    job_id = make_job(me)
    login(me)
    response = client.post(f"/lapangan/tugas/{job_id}/gagal", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "error-summary" in html and "<title>Galat:" in html
    if data.get("new_date"):
        assert data["new_date"] in html
    assert _job(client.application, job_id)[:2] == ("requested", TODAY)


def _events(app, job_id):
    from eopen.models import Event
    with app.app_context():
        job = db.session.get(FieldJob, job_id)
        return [(e.action, e.actor_id, e.from_status, e.to_status, e.note, e.data) for e in db.session.scalars(
            select(Event).where(Event.request_id == job.request_id).order_by(Event.id))]


def test_start_and_reschedule_write_one_event_each_and_double_taps_none(app, make_staff, make_job):
    from field import services
    me = make_staff("satgas")
    job_id = make_job(me)
    new_day = TODAY + timedelta(days=1)
    with app.app_context():
        job = services.my_job(db.session.get(User, me), job_id)
        services.start(job)
        services.start(job)  # double click
        db.session.commit()
        services.reschedule(job, "not_home", "Rumah kosong", new_day)
        services.reschedule(job, "not_home", "Rumah kosong", new_day)  # the same form twice
        db.session.commit()
        services.reschedule(job, "resident_asked", "", new_day)  # another reason: a change
        db.session.commit()
    events = _events(app, job_id)
    assert [e[0] for e in events] == ["job_on_the_way", "job_rescheduled", "job_rescheduled"]
    started, rescheduled = events[0], events[1]
    assert started[1:] == (me, "submitted", "submitted", None, {"job_id": job_id, "kind": "pickup"})
    action, actor, before, after, note, data = rescheduled
    assert (actor, before, after) == (me, "submitted", "submitted")
    assert note == "Warga tidak ada di rumah: Rumah kosong"
    assert data == {"job_id": job_id, "kind": "pickup", "reason": "not_home",
                    "reason_text": "Warga tidak ada di rumah: Rumah kosong", "new_date": new_day.isoformat()}
    assert events[2][5]["reason_text"] == "Warga minta dijadwalkan ulang"


def test_refused_reschedule_writes_no_event(app, make_staff, make_job):
    from field import services
    me = make_staff("satgas")
    job_id = make_job(me, status="done")
    with app.app_context():
        job = db.session.get(FieldJob, job_id)
        with pytest.raises(services.FieldError):
            services.start(job)
        with pytest.raises(services.FieldError):
            services.reschedule(job, "not_home", "", TODAY + timedelta(days=1))
        db.session.rollback()
    assert _events(app, job_id) == []


def test_resident_sees_the_satgas_set_off_in_the_timeline(app, client, login, make_staff, make_job):
    from field import services
    me = make_staff("satgas")
    job_id = make_job(me, kind="delivery")
    with app.app_context():
        job = db.session.get(FieldJob, job_id)
        services.start(job)
        db.session.commit()
        resident, tracking_no = job.request.applicant_id, job.request.tracking_no
    login(resident)
    html = client.get(f"/permohonan/{tracking_no}").get_data(as_text=True)
    assert "<strong>Satgas Pamor berangkat</strong> — Antar" in html
