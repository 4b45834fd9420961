"""Open jemput-antar jobs follow the RW's satgas (eopen/services/satgas.py: assign, unassign, set_available).

A job that changes satgas goes back to "requested", remembers whom it left (moved_from_id) and writes one
"job_moved" event on its request; the AssignmentLog row counts the moved jobs. The satgas who lost the
job no longer sees it (agenda, my_job), and a satgas never sees jobs or requests of RWs they do not cover.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import RW, AssignmentLog, Event, FieldJob, SatgasAssignment, ServiceRequest, User
from eopen.services import satgas as rules
from eopen.services import scope, sla
from field import services as field

KEL = "32.75.01.1001"
KEC = "32.75.01"


def working_day():
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


def rw_of(number: int) -> RW:
    return db.session.scalar(select(RW).where(RW.kelurahan_code == KEL, RW.number == number))


def cover(satgas_id: int, number: int, kind: str = "primary") -> None:
    """An assignment made before the test starts (no log row, nothing moved)."""
    db.session.add(SatgasAssignment(rw_id=rw_of(number).id, satgas_id=satgas_id, kind=kind))
    db.session.commit()


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def job(job_id: int) -> FieldJob:
    return db.session.get(FieldJob, job_id)


def moved_events(job_id: int | None = None) -> list[Event]:
    events = db.session.scalars(select(Event).where(Event.action == "job_moved").order_by(Event.id)).all()
    return [e for e in events if job_id is None or e.data.get("job_id") == job_id]


@pytest.fixture
def people(make_staff):
    """Three satgas of kecamatan 32.75.01 and an admin."""
    return {"a": make_staff("satgas", KEC), "b": make_staff("satgas", KEC), "c": make_staff("satgas", KEC),
            "admin": make_staff("admin")}


@pytest.fixture
def make_job(app, make_resident, make_request):
    """make_job(satgas_id, rw_number=1, status="requested") → the id of a job on a new resident's request."""
    def make(satgas_id, *, rw_number=1, status="requested", kind="pickup", name="Warga Uji"):
        resident = make_resident(name=name, kelurahan_code=KEL, rw_number=rw_number)
        req_id = make_request(resident, status="submitted")
        with app.app_context():
            req = db.session.get(ServiceRequest, req_id)
            new = FieldJob(request_id=req.id, kind=kind, status=status, satgas_id=satgas_id, rw_id=req.rw_id,
                           preferred_date=working_day(), time_window="08-12", created_by_id=resident)
            db.session.add(new)
            db.session.commit()
            return new.id
    return make


def test_reassigning_the_primary_moves_its_open_jobs_only(app, people, make_job):
    a, b, c, admin = people["a"], people["b"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
        cover(b, 1, "backup")
        cover(a, 2)
    requested, on_the_way = make_job(a), make_job(a, status="on_the_way")
    done, cancelled = make_job(a, status="done"), make_job(a, status="cancelled")
    backups = make_job(b)  # the backup's job stays with the backup
    elsewhere = make_job(a, rw_number=2)  # a's job in another RW stays with a
    with app.app_context():
        log = rules.assign(rw_of(1), user(c), "primary", user(admin))
        db.session.commit()
        assert (log.from_satgas_id, log.to_satgas_id, log.moved_jobs) == (a, c, 2)
        for job_id in (requested, on_the_way):
            moved = job(job_id)
            assert (moved.satgas_id, moved.status, moved.moved_from_id) == (c, "requested", a)
            [event] = moved_events(job_id)
            assert event.request_id == moved.request_id and event.actor_id == admin
            assert event.data == {"job_id": job_id, "kind": "pickup", "from_satgas_id": a, "to_satgas_id": c}
            assert event.from_status == event.to_status == "submitted"
            assert moved.request.status == "submitted"  # the request's status is never touched
        for job_id, status in ((done, "done"), (cancelled, "cancelled")):
            assert (job(job_id).satgas_id, job(job_id).status, job(job_id).moved_from_id) == (a, status, None)
        assert (job(backups).satgas_id, job(backups).moved_from_id) == (b, None)
        assert (job(elsewhere).satgas_id, job(elsewhere).status) == (a, "requested")
        assert len(moved_events()) == 2


def test_same_assignment_twice_moves_nothing(app, people, make_job):
    a, admin = people["a"], people["admin"]
    with app.app_context():
        cover(a, 1)
    job_id = make_job(a)
    with app.app_context():
        assert rules.assign(rw_of(1), user(a), "primary", user(admin)) is None
        assert job(job_id).satgas_id == a and moved_events() == []


def test_first_primary_gets_the_waiting_jobs(app, people, make_job):
    a, admin = people["a"], people["admin"]
    waiting = [make_job(None), make_job(None, kind="delivery", name="Warga Dua")]
    finished = make_job(None, status="cancelled")
    with app.app_context():
        log = rules.assign(rw_of(1), user(a), "primary", user(admin))
        db.session.commit()
        assert log.moved_jobs == 2
        for job_id in waiting:
            assert (job(job_id).satgas_id, job(job_id).status, job(job_id).moved_from_id) == (a, "requested", None)
            [event] = moved_events(job_id)
            assert (event.data["from_satgas_id"], event.data["to_satgas_id"]) == (None, a)
        assert job(finished).satgas_id is None


def test_unavailable_new_primary_without_backup_leaves_jobs_waiting(app, people, make_job):
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
        user(c).available = False
        db.session.commit()
    job_id = make_job(a, status="on_the_way")
    waiting = make_job(None, name="Warga Menunggu")
    with app.app_context():
        log = rules.assign(rw_of(1), user(c), "primary", user(admin))
        db.session.commit()
        moved = job(job_id)
        assert (moved.satgas_id, moved.status, moved.moved_from_id) == (None, "requested", a)
        assert job(waiting).satgas_id is None and moved_events(waiting) == []
        assert log.moved_jobs == 1


def test_removing_the_backup_reroutes_its_jobs(app, people, make_job):
    a, b, admin = people["a"], people["b"], people["admin"]
    with app.app_context():
        cover(a, 1)
        cover(b, 1, "backup")
    held = make_job(b)  # the backup got it while the primary was away
    primarys = make_job(a, name="Warga Utama")
    with app.app_context():
        log = rules.unassign(rw_of(1), "backup", user(admin))
        db.session.commit()
        assert (log.from_satgas_id, log.to_satgas_id, log.moved_jobs) == (b, None, 1)
        assert (job(held).satgas_id, job(held).moved_from_id) == (a, b)
        assert job(primarys).satgas_id == a and moved_events(primarys) == []
        [event] = moved_events(held)
        assert event.data["to_satgas_id"] == a and event.actor_id == admin


def test_removing_the_backup_when_the_primary_is_away_leaves_jobs_waiting(app, people, make_job):
    a, b, admin = people["a"], people["b"], people["admin"]
    with app.app_context():
        cover(a, 1)
        cover(b, 1, "backup")
        user(a).available = False
        db.session.commit()
    held = make_job(b)
    with app.app_context():
        assert rules.unassign(rw_of(1), "backup", user(admin)).moved_jobs == 1
        db.session.commit()
        assert (job(held).satgas_id, job(held).moved_from_id) == (None, b)


def test_unavailable_primary_hands_requested_jobs_to_the_backup(app, people, make_job):
    a, b, admin = people["a"], people["b"], people["admin"]
    with app.app_context():
        cover(a, 1)
        cover(b, 1, "backup")
    requested, on_the_way = make_job(a), make_job(a, status="on_the_way")
    with app.app_context():
        logs_before = db.session.scalar(select(func.count(AssignmentLog.id)))
        assert rules.set_available(user(a), False, by=user(admin)) is True
        db.session.commit()
        assert (job(requested).satgas_id, job(requested).moved_from_id) == (b, a)
        assert (job(on_the_way).satgas_id, job(on_the_way).status) == (a, "on_the_way")  # already set off
        [event] = moved_events(requested)
        assert event.data == {"job_id": requested, "kind": "pickup", "from_satgas_id": a, "to_satgas_id": b}
        assert event.actor_id == admin
        assert db.session.scalar(select(func.count(AssignmentLog.id))) == logs_before  # no log row
        # Available again: nothing moves back.
        assert rules.set_available(user(a), True, by=user(admin)) is True
        db.session.commit()
        assert job(requested).satgas_id == b and len(moved_events()) == 1


def test_unavailable_primary_keeps_jobs_when_the_backup_is_away_too(app, people, make_job):
    a, b = people["a"], people["b"]
    with app.app_context():
        cover(a, 1)
        cover(b, 1, "backup")
        user(b).available = False
        db.session.commit()
    requested = make_job(a)
    with app.app_context():
        rules.set_available(user(a), False)
        db.session.commit()
        assert job(requested).satgas_id == a and moved_events() == []


def test_available_again_picks_up_jobs_waiting_for_any_satgas(app, people, make_job):
    a = people["a"]
    with app.app_context():
        cover(a, 1)
        user(a).available = False
        db.session.commit()
    waiting = make_job(None)
    with app.app_context():
        rules.set_available(user(a), True)
        db.session.commit()
        assert job(waiting).satgas_id == a and len(moved_events(waiting)) == 1


def test_moved_job_leaves_the_old_agenda_and_joins_the_new_one(app, people, make_job):
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
    job_id = make_job(a, status="on_the_way", name="Sinta Pindah")
    with app.app_context():
        assert field.my_job(user(a), job_id) is not None
        rules.assign(rw_of(1), user(c), "primary", user(admin))
        db.session.commit()
        old, new = field.agenda(user(a)), field.agenda(user(c))
        assert old.empty
        assert [v.job.id for g in new.later + new.now + new.late for v in g.jobs] == [job_id]
        assert field.my_job(user(a), job_id) is None
        assert field.my_job(user(c), job_id).id == job_id


def test_late_start_by_the_replaced_satgas_is_refused(app, people, make_job):
    """The old satgas had the job page open when it moved: their tap does not take it back."""
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
    job_id = make_job(a)
    with app.app_context():
        stale = field.my_job(user(a), job_id)  # the old satgas' request has read the job
        with app.app_context():  # meanwhile, the admin's request (its own session) moves it
            rules.assign(rw_of(1), user(c), "primary", user(admin))
            db.session.commit()
        assert stale.satgas_id == a
        with pytest.raises(field.FieldError) as error:
            field.start(stale)
        assert "dialihkan" in str(error.value)
        db.session.rollback()
    with app.app_context():
        assert (job(job_id).status, job(job_id).satgas_id) == ("requested", c)
        assert db.session.scalar(select(func.count(Event.id)).where(Event.action == "job_on_the_way")) == 0


def test_satgas_sees_only_the_rws_they_cover_even_after_being_replaced(app, people, make_job,
                                                                         make_resident, make_request):
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
        cover(c, 2)
    mine = make_job(a, name="Warga RW1")
    theirs = make_job(c, rw_number=2, name="Warga RW2")
    with app.app_context():
        request_rw1, request_rw2 = job(mine).request_id, job(theirs).request_id

        def seen(user_id):
            return set(db.session.scalars(scope.visible_requests(user(user_id)).with_only_columns(
                ServiceRequest.id)))

        def agenda_ids(user_id):
            plan = field.agenda(user(user_id))
            return {v.job.id for g in plan.late + plan.now + plan.later for v in g.jobs}

        assert seen(a) == {request_rw1} and agenda_ids(a) == {mine}
        assert field.my_job(user(a), theirs) is None
        assert seen(c) == {request_rw2} and agenda_ids(c) == {theirs}
        assert field.my_job(user(c), mine) is None

        rules.assign(rw_of(1), user(c), "primary", user(admin))
        db.session.commit()
        # a covers nothing any more: no requests, no jobs.
        assert seen(a) == set() and agenda_ids(a) == set()
        assert field.my_job(user(a), mine) is None and field.my_job(user(a), theirs) is None
        assert scope.can_view(user(a), db.session.get(ServiceRequest, request_rw1)) is False
        # c now covers both RWs.
        assert seen(c) == {request_rw1, request_rw2} and agenda_ids(c) == {mine, theirs}


# --- pages -------------------------------------------------------------------------------------------

def test_admin_reassignment_page_moves_jobs_and_shows_the_count(app, client, login, people, make_job):
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
        rw_id = rw_of(1).id
    job_id = make_job(a)
    login(admin)
    response = client.post(f"/admin/rw/{rw_id}/satgas/primary", data={f"primary{rw_id}-satgas_id": str(c)})
    assert response.status_code == 303
    with app.app_context():
        assert job(job_id).satgas_id == c
        [log] = db.session.scalars(select(AssignmentLog).where(AssignmentLog.rw_id == rw_id)).all()
        assert log.moved_jobs == 1
    page = client.get(f"/admin/kelurahan/{KEL}").get_data(as_text=True)
    assert "Jemput-antar dipindahkan" in page and '<td class="num">1</td>' in page

    login(a)
    assert client.get(f"/lapangan/tugas/{job_id}").status_code == 404
    client.post(f"/lapangan/tugas/{job_id}/berangkat")  # refused: the job is not the old satgas' any more
    login(c)
    assert client.get(f"/lapangan/tugas/{job_id}").status_code == 200
    with app.app_context():
        assert (job(job_id).status, job(job_id).satgas_id) == ("requested", c)
        assert db.session.scalar(select(func.count(Event.id)).where(Event.action == "job_on_the_way")) == 0


def test_admin_pages_show_open_and_waiting_jobs(app, client, login, people, make_job):
    a, b, admin = people["a"], people["b"], people["admin"]
    with app.app_context():
        cover(a, 1)
    for status in ("requested", "on_the_way", "done", "cancelled"):
        make_job(a, status=status)
    make_job(None, rw_number=2, name="Warga Menunggu")
    make_job(None, rw_number=2, name="Warga Menunggu Dua", status="cancelled")
    login(admin)
    page = client.get("/admin/satgas").get_data(as_text=True)
    row_a = page[page.index(f'id="satgas-{a}"'):]
    row_a = row_a[:row_a.index("</tr>")]
    row_b = page[page.index(f'id="satgas-{b}"'):]
    row_b = row_b[:row_b.index("</tr>")]
    assert '<td class="num">2</td>' in row_a  # requested + on the way
    assert '<td class="num">0</td>' in row_b
    waiting = page[page.index('id="menunggu-satgas"'):page.index("</section>", page.index('id="menunggu-satgas"'))]
    assert "1 permintaan jemput-antar belum dipegang" in waiting and "RW 002</a>: 1" in waiting
    assert "1 jemput-antar menunggu satgas" in client.get("/admin/").get_data(as_text=True)
    kelurahan = client.get(f"/admin/kelurahan/{KEL}").get_data(as_text=True)
    with app.app_context():
        rw2 = rw_of(2).id
    section = kelurahan[kelurahan.index(f'id="rw-{rw2}"'):]
    section = section[:section.index("</section>")]
    assert "1 jemput-antar menunggu satgas" in section


def test_admin_pages_without_waiting_jobs_show_no_warning(client, login, people):
    login(people["admin"])
    assert 'id="menunggu-satgas"' not in client.get("/admin/satgas").get_data(as_text=True)


def test_resident_timeline_shows_the_move(app, client, login, people, make_job):
    a, c, admin = people["a"], people["c"], people["admin"]
    with app.app_context():
        cover(a, 1)
    job_id = make_job(a)
    with app.app_context():
        rules.assign(rw_of(1), user(c), "primary", user(admin))
        db.session.commit()
        req = job(job_id).request
        resident, tracking_no = req.applicant_id, req.tracking_no
    login(resident)
    html = client.get(f"/permohonan/{tracking_no}").get_data(as_text=True)
    timeline = html[html.index('class="timeline"'):]
    assert "Petugas Satgas Pamor untuk jemput/antar diatur ulang</strong> — Jemput" in timeline
