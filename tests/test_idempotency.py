"""Every POST that creates something is idempotent: a double tap and a retry after a lost answer.

Each create form is sent twice in a row (a retry: the same form again once the first answer is in)
and twice at the same moment (a double tap: two threads, two clients sharing one session, the same
form token). Both answers must be the success answer, and the database holds exactly one new thing.

The mechanisms, per route (see also the report in tests/test_kill_recovery.py):
- sign-up /daftar: the replayed sign-up (same NIK + password within 15 min) is the account made the
  first time; the unique NIK decides between simultaneous ones (savepoint, then replay).
- new draft /ajukan/: ``client_token`` (hidden field, unique column).
- upload /ajukan/<no>/dokumen/<code>: one row per (request, requirement) (unique); a second upload
  replaces the file, so one document and one stored file remain.
- submit /ajukan/<no>/periksa: conditional update in the lifecycle; one submit event.
- household member /keluarga/tambah: same name + birth date in the household is the same member; the
  household row is locked first so simultaneous ones are judged one after the other.
- jemput-antar /permohonan/<no>/jemput-antar, Halo Pamor /halo/baru and replies: ``client_token``.
- field handover /lapangan/tugas/<id>/serah-terima: ``action_id`` (FieldAction, unique per user).
- back-office decision /permohonan/<no>/keputusan: conditional update; a second click is "done already".
- SPTJM /ajukan/<no>/dokumen/<code>/sptjm: like the upload, the unique (request, requirement) decides
  (savepoint); the twin's declaration stands.
- admin FAQ /admin/faq/baru: no schema change; the admin's user row is locked, and the same category and
  question saved within the last minute is the same entry (the later text stands).
- admin RW / RT: the unique (kelurahan, number) / (RW, number) decides (savepoint); the twin is told
  "already exists" (422), never a 500.
"""
from __future__ import annotations

import io
import threading
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import (RT, Event, FaqEntry, FieldJob, Handover, HaloMessage, HaloThread, Person, RequestDocument, RW,
                          SatgasAssignment, ServiceRequest, User)
from eopen.services import custody, sla

KEC = "32.75.01"
KEL = "32.75.01.1001"

SIGNUP = {
    "nik": "3275011505900071", "no_kk": "3275011001150771", "full_name": "Dewi Ganda",
    "birth_date": "1990-05-15", "sex": "L", "phone": "0812-3456-0771", "email": "",
    "kelurahan": KEL, "rw": "1", "rt": "2", "street": "Jl. Melati 7",
    "password": "rahasia-123", "password_confirm": "rahasia-123",
}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 190, 180)).save(buf, "JPEG")
    return buf.getvalue()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def send_twice(app, url, data, *, concurrent: bool, user_id=None, files=None, lost_answer=False):
    """POST ``data`` to ``url`` twice, in a row or at once; returns both status codes.

    ``lost_answer``: the retry comes from a second client, without the cookie the first answer set.
    """
    clients = [app.test_client(), app.test_client()]
    if user_id is not None:
        for c in clients:
            with c.session_transaction() as session:
                session["_user_id"] = str(user_id)
                session["_fresh"] = True

    def body():
        payload = dict(data)
        if files:
            payload.update({name: (io.BytesIO(raw), filename) for name, (raw, filename) in files.items()})
        return payload

    kwargs = {"content_type": "multipart/form-data"} if files else {}
    if not concurrent:
        pair = clients if lost_answer else [clients[0], clients[0]]
        return [c.post(url, data=body(), **kwargs).status_code for c in pair]
    barrier = threading.Barrier(2, timeout=30)
    codes: list = [None, None]

    def run(i):
        payload = body()
        barrier.wait()
        try:
            codes[i] = clients[i].post(url, data=payload, **kwargs).status_code
        except Exception as error:  # noqa: BLE001 - reported in the assertion below
            codes[i] = repr(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


MODES = pytest.mark.parametrize("concurrent", [False, True], ids=["retry", "double-tap"])


@pytest.fixture
def resident(make_resident):
    return make_resident(name="Rina Warga")


def tracking(app, req_id) -> str:
    with app.app_context():
        return db.session.get(ServiceRequest, req_id).tracking_no


def working_day() -> date:
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


@MODES
def test_signup(app, concurrent):
    codes = send_twice(app, "/daftar", SIGNUP, concurrent=concurrent, lost_answer=True)
    assert codes == [303, 303]  # both answered "account made, you are logged in"
    with app.app_context():
        assert count(Person, Person.nik == SIGNUP["nik"]) == 1
        assert count(User, User.role == "resident") == 1


@MODES
def test_new_draft(app, resident, concurrent):
    data = {"service": "akta_kelahiran", "client_token": "draft-token-1"}
    assert send_twice(app, "/ajukan/", data, concurrent=concurrent, user_id=resident) == [303, 303]
    with app.app_context():
        assert count(ServiceRequest) == 1


@pytest.fixture
def draft(app, resident, make_request):
    req_id = make_request(resident, service="akta_kelahiran", status="draft")
    return req_id


@MODES
def test_upload(app, resident, draft, concurrent):
    no = tracking(app, draft)
    codes = send_twice(app, f"/ajukan/{no}/dokumen/kk", {}, concurrent=concurrent, user_id=resident,
                       files={"file": (jpeg(), "kk.jpg")})
    assert codes == [303, 303]
    with app.app_context():
        docs = db.session.scalars(select(RequestDocument).where(RequestDocument.request_id == draft)).all()
        assert len(docs) == 1
        stored = sorted(p.name for p in (app.config["UPLOAD_FOLDER"] and
                                         __import__("pathlib").Path(app.config["UPLOAD_FOLDER"]).rglob("*.jpg")))
        assert stored == [docs[0].storage_name]  # the replaced twin's file is gone


@MODES
def test_submit(app, resident, draft, concurrent):
    no = tracking(app, draft)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(resident)
    for code in ("surat_keterangan_lahir", "bukti_perkawinan", "kk"):
        r = client.post(f"/ajukan/{no}/dokumen/{code}", data={"file": (io.BytesIO(jpeg()), "f.jpg")},
                        content_type="multipart/form-data")
        assert r.status_code == 303
    with app.app_context():  # the fixture's request has its data filled in by hand
        req = db.session.get(ServiceRequest, draft)
        from eopen.services import applications
        req.data = {f.name: "1" for f in applications.variant_of(req).fields} | {"_saved": "1"}
        db.session.commit()
    assert send_twice(app, f"/ajukan/{no}/periksa", {}, concurrent=concurrent, user_id=resident) == [303, 303]
    with app.app_context():
        assert db.session.get(ServiceRequest, draft).status == "submitted"
        assert count(Event, Event.request_id == draft, Event.action == "submit") == 1


@MODES
def test_household_member(app, resident, concurrent):
    born = (date.today() - timedelta(days=20)).isoformat()
    data = {"full_name": "Bayi Rina", "nik": "", "birth_date": born, "sex": "P", "relation": "anak"}
    assert send_twice(app, "/keluarga/tambah", data, concurrent=concurrent, user_id=resident) == [303, 303]
    with app.app_context():
        assert count(Person, Person.full_name == "Bayi Rina") == 1


@pytest.fixture
def satgas(app, make_staff):
    satgas = make_staff("satgas", KEC)
    with app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KEL, RW.number == 1))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas, kind="primary"))
        db.session.commit()
    return satgas


@MODES
def test_jemput_antar(app, resident, satgas, make_request, concurrent):
    req = make_request(resident, status="submitted")
    with app.app_context():
        day = working_day()
    data = {"kind": "pickup", "preferred_date": day.isoformat(), "time_window": "08-12", "address_note": "",
            "client_token": "job-token-1"}
    codes = send_twice(app, f"/permohonan/{tracking(app, req)}/jemput-antar", data, concurrent=concurrent,
                       user_id=resident)
    assert codes == [303, 303]
    with app.app_context():
        assert count(FieldJob, FieldJob.request_id == req) == 1
        assert count(Event, Event.request_id == req, Event.action == "job_requested") == 1


@MODES
def test_halo_thread_and_reply(app, resident, satgas, concurrent):
    data = {"kind": "question", "category": "ktp_el", "request_id": "", "subject": "Pindah domisili",
            "body": "Saya pindah ke Jakarta, apa yang perlu saya urus?", "client_token": "halo-token-1",
            "action": "send"}
    assert send_twice(app, "/halo/baru", data, concurrent=concurrent, user_id=resident) == [303, 303]
    with app.app_context():
        assert count(HaloThread) == 1
        thread_id = db.session.scalar(select(HaloThread.id))
    reply = {"body": "Terima kasih, sudah jelas.", "client_token": "halo-reply-1"}
    assert send_twice(app, f"/halo/{thread_id}/balas", reply, concurrent=concurrent, user_id=resident) == [303, 303]
    with app.app_context():
        assert count(HaloMessage, HaloMessage.thread_id == thread_id) == 2  # the question and one reply


@MODES
def test_field_handover(app, resident, satgas, make_request, concurrent):
    req = make_request(resident, status="submitted")
    with app.app_context():
        request_row = db.session.get(ServiceRequest, req)
        job = FieldJob(request_id=req, kind="pickup", status="requested", satgas_id=satgas, rw_id=request_row.rw_id,
                       preferred_date=working_day(), time_window="08-12", created_by_id=resident)
        db.session.add(job)
        code = custody.resident_code(request_row).code
        db.session.commit()
        job_id = job.id
    data = {"items": ["other"], "other": "KK asli", "code": code, "action_id": "handover-action-1"}
    codes = send_twice(app, f"/lapangan/tugas/{job_id}/serah-terima", data, concurrent=concurrent, user_id=satgas)
    assert codes == [303, 303]
    with app.app_context():
        assert db.session.get(FieldJob, job_id).status == "done"
        assert count(Handover) == 1


@MODES
def test_back_office_decision(app, resident, make_staff, make_request, concurrent):
    operator = make_staff("operator", KEC)
    req = make_request(resident, status="in_review", kelurahan_code=KEL)
    with app.app_context():
        db.session.get(ServiceRequest, req).operator_id = operator
        db.session.commit()
    data = {"decision": "reject", "note": "Bukan penduduk Kota Bekasi."}
    codes = send_twice(app, f"/kantor/permohonan/{tracking(app, req)}/keputusan", data, concurrent=concurrent,
                       user_id=operator)
    assert codes == [303, 303]
    with app.app_context():
        assert db.session.get(ServiceRequest, req).status == "rejected"
        assert count(Event, Event.request_id == req, Event.action == "reject") == 1


@MODES
def test_sptjm(app, resident, draft, concurrent):
    no = tracking(app, draft)
    codes = send_twice(app, f"/ajukan/{no}/dokumen/surat_keterangan_lahir/sptjm", {"sptjm-agree": "y"},
                       concurrent=concurrent, user_id=resident)
    assert codes == [303, 303]
    with app.app_context():
        docs = db.session.scalars(select(RequestDocument).where(RequestDocument.request_id == draft)).all()
        assert [(d.requirement_code, d.kind) for d in docs] == [("surat_keterangan_lahir", "sptjm")]
        assert docs[0].declaration


@pytest.fixture
def admin(make_staff):
    return make_staff("admin")


FAQ = {"category": "ktp_el", "question": "Berapa lama KTP-el jadi?", "answer": "Biasanya 14 hari kerja.",
       "keywords": "ektp blanko", "position": "3"}


@MODES
def test_faq_new(app, admin, concurrent):
    assert send_twice(app, "/admin/faq/baru", FAQ, concurrent=concurrent, user_id=admin) == [303, 303]
    with app.app_context():
        assert count(FaqEntry) == 1


def test_faq_same_question_later_is_a_new_entry(app, admin):
    from datetime import datetime
    send_twice(app, "/admin/faq/baru", FAQ, concurrent=False, user_id=admin)
    with app.app_context():  # the first one was made more than a minute ago
        db.session.execute(FaqEntry.__table__.update().values(created_at=datetime(2020, 1, 1)))
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin)
    assert client.post("/admin/faq/baru", data=FAQ | {"answer": "Paling lama 14 hari kerja."}).status_code == 303
    assert client.post("/admin/faq/baru", data=FAQ | {"category": "kk"}).status_code == 303
    with app.app_context():  # an old twin is not touched; another category is another entry
        rows = db.session.execute(select(FaqEntry.category, FaqEntry.answer).order_by(FaqEntry.id)).all()
        assert [tuple(r) for r in rows] == [("ktp_el", FAQ["answer"]), ("ktp_el", "Paling lama 14 hari kerja."),
                                            ("kk", FAQ["answer"])]


@pytest.fixture
def new_rw(app):
    """RW 901 of KEL: added by the test, removed afterwards (RWs are reference data kept for the session)."""
    yield 901
    with app.app_context():
        rws = db.session.scalars(select(RW.id).where(RW.kelurahan_code == KEL, RW.number == 901)).all()
        db.session.execute(RT.__table__.delete().where(RT.rw_id.in_(rws)))
        db.session.execute(RW.__table__.delete().where(RW.id.in_(rws)))
        db.session.commit()


@MODES
def test_admin_rw_and_rt(app, admin, new_rw, concurrent):
    codes = send_twice(app, f"/admin/kelurahan/{KEL}/rw", {"rw-number": str(new_rw)}, concurrent=concurrent,
                       user_id=admin)
    assert sorted(codes) == [303, 422]  # the twin hears "RW 901 sudah ada", not a server error
    with app.app_context():
        assert count(RW, RW.kelurahan_code == KEL, RW.number == new_rw) == 1
        rw_id = db.session.scalar(select(RW.id).where(RW.kelurahan_code == KEL, RW.number == new_rw))
    codes = send_twice(app, f"/admin/rw/{rw_id}/rt", {f"rt{rw_id}-number": "7"}, concurrent=concurrent,
                       user_id=admin)
    assert sorted(codes) == [303, 422]
    with app.app_context():
        assert count(RT, RT.rw_id == rw_id, RT.number == 7) == 1
