"""Assisted applications: a Satgas Pamor fills a request in at the resident's door, the resident agrees
with their code or their date of birth + the last 4 digits of their NIK (issue 4, field mode)."""
from __future__ import annotations

import io
import re
from datetime import date
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import RW, Event, HandoverCode, Person, SatgasAssignment, ServiceRequest, User
from eopen.services import applications as apps
from eopen.services import custody

KEC = "32.75.01"
KEL = "32.75.01.1001"
BORN = date(1988, 3, 9)
NOT_IN_RW = "tidak terdaftar di RW Anda"


def photo() -> tuple[io.BytesIO, str]:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (210, 200, 190)).save(buf, "JPEG", quality=85)
    buf.seek(0)
    return buf, "foto-kk.jpg"


def rw_id(number: int) -> int:
    return db.session.scalar(select(RW.id).where(RW.kelurahan_code == KEL, RW.number == number))


@pytest.fixture
def door(app, make_resident, make_staff):
    """A resident (with a child) in RW 1; Sari covers RW 1, Tono covers RW 2 of the same kelurahan,
    Bima is RW 1's backup; an operator of the kecamatan."""
    resident = make_resident(name="Siti Aminah", birth_date=BORN, sex="P")
    neighbour = make_resident(name="Tetangga RW Dua", rw_number=2)
    sari, tono, bima = (make_staff("satgas", KEC) for _ in range(3))
    operator = make_staff("operator", KEC)
    with app.app_context():
        for uid, name in ((sari, "Sari Satgas"), (tono, "Tono Satgas"), (bima, "Bima Satgas")):
            db.session.get(User, uid).display_name = name
        db.session.add_all([SatgasAssignment(rw_id=rw_id(1), satgas_id=sari, kind="primary"),
                            SatgasAssignment(rw_id=rw_id(1), satgas_id=bima, kind="backup"),
                            SatgasAssignment(rw_id=rw_id(2), satgas_id=tono, kind="primary")])
        user = db.session.get(User, resident)
        child = Person(nik=None, full_name="Anak Siti", birth_date=date(2015, 1, 2), sex="L", relation="anak",
                       household=user.person.household)
        db.session.add(child)
        db.session.commit()
        return SimpleNamespace(resident=resident, neighbour=neighbour, sari=sari, tono=tono, bima=bima,
                               operator=operator, nik=user.person.nik, person=user.person_id, child=child.id)


@pytest.fixture
def as_user(app, login):
    """as_user(user_id) → a test client signed in as that user (one client per person at the door)."""
    def make(user_id):
        c = app.test_client()
        login(user_id, c)
        return c
    return make


def start_draft(c, door, token="tok-door-1", service="kk") -> str:
    r = c.post("/lapangan/bantu", data={"nik": door.nik})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert r.headers["Location"].endswith(f"/lapangan/bantu/warga/{door.resident}")
    r = c.post(f"/lapangan/bantu/warga/{door.resident}", data={"service": service, "client_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    return re.search(r"/ajukan/([^/]+)/", r.headers["Location"]).group(1)


def fill_kk_lost(c, no, person_id):
    """KK hilang atau rusak: variant, for whom, data, one photo; ends ready to be checked."""
    assert c.post(f"/ajukan/{no}/jenis", data={"variant": "hilang_rusak"}).status_code == 303
    r = c.post(f"/ajukan/{no}/untuk", data={"person": person_id})
    assert r.status_code == 303 and r.headers["Location"].endswith("/data"), r.get_data(as_text=True)
    assert c.post(f"/ajukan/{no}/data", data={"alasan": "hilang"}).status_code == 303
    r = c.post(f"/ajukan/{no}/dokumen/bukti_hilang_rusak", data={"file": photo()}, content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    assert r.headers["Location"].endswith(f"/ajukan/{no}/periksa")


def request_of(no) -> ServiceRequest:
    db.session.expire_all()
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))


def submit_events(req) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.request_id == req.id, Event.action == "submit")))


def resident_codes(req) -> list[HandoverCode]:
    return list(db.session.scalars(select(HandoverCode).where(HandoverCode.request_id == req.id,
                                                              HandoverCode.purpose == "resident")))


# --- the whole visit ------------------------------------------------------------------------------------

def test_satgas_assists_and_the_resident_agrees_with_the_code(app, door, as_user):
    satgas, resident = as_user(door.sari), as_user(door.resident)
    html = satgas.get("/lapangan/bantu").get_data(as_text=True)
    assert "Bantu warga mengajukan" in html and "Tidak ada permohonan yang menunggu" in html
    r = satgas.get(f"/lapangan/bantu/warga/{door.resident}")
    assert r.status_code == 200 and "Siti Aminah" in r.get_data(as_text=True)
    no = start_draft(satgas, door)
    with app.app_context():
        req = request_of(no)
        assert (req.status, req.applicant_id, req.assisted_by_id) == ("draft", door.resident, door.sari)
        assert req.rw_id == rw_id(1)

    # The subject page lists the resident's household (not the satgas's, who has none).
    satgas.post(f"/ajukan/{no}/jenis", data={"variant": "hilang_rusak"})
    html = satgas.get(f"/ajukan/{no}/untuk").get_data(as_text=True)
    assert "Siti Aminah" in html and "Anak Siti" in html and "Tetangga RW Dua" not in html
    assert "/keluarga/tambah" not in html  # the satgas cannot add members to somebody's KK
    fill_kk_lost(satgas, no, door.child)
    # The photo taken at the door can be looked at again by the satgas.
    with app.app_context():
        doc_id = request_of(no).documents[0].id
    page = satgas.get(f"/ajukan/{no}/dokumen/bukti_hilang_rusak").get_data(as_text=True)
    assert f"/ajukan/{no}/berkas/{doc_id}" in page
    with satgas.get(f"/ajukan/{no}/berkas/{doc_id}") as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"

    html = satgas.get(f"/ajukan/{no}/periksa").get_data(as_text=True)
    assert "Kode dari warga" in html and "4 angka terakhir NIK" in html and "Kirim permohonan</button>" not in html
    # The resident opens the draft on their phone and shows the code.
    r = resident.get(f"/permohonan/{no}", follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Satgas Pamor Sari Satgas membantu mengisi permohonan ini" in page
    with app.app_context():
        [code] = resident_codes(request_of(no))
        code = code.code
    assert f"{code[:3]} {code[3:]}" in page

    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": f"{code[:3]} {code[3:]}"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/lapangan/bantu/{no}/terkirim")
    with app.app_context():
        req = request_of(no)
        assert req.status == "submitted" and req.submitted_at is not None and req.due_date is not None
        [event] = submit_events(req)
        assert event.actor_id == door.sari
        assert event.data == {"assisted_by": door.sari, "confirmed_by": "code"}
        [used] = resident_codes(req)
        assert used.used_at is not None
    html = satgas.get(f"/lapangan/bantu/{no}/terkirim").get_data(as_text=True)
    assert no in html and "Dibantu Satgas Pamor Sari Satgas" in html and "dengan kode dari warga" in html

    # The resident, the office: "Dibantu Satgas Pamor Sari Satgas".
    html = resident.get(f"/permohonan/{no}").get_data(as_text=True)
    assert "Terkirim" in html and "Dibantu Satgas Pamor Sari Satgas" in html
    html = as_user(door.operator).get(f"/kantor/permohonan/{no}").get_data(as_text=True)
    assert "Dibantu Satgas Pamor Sari Satgas" in html


def test_confirmation_by_birth_date_and_nik_digits(app, door, as_user):
    satgas = as_user(door.sari)
    no = start_draft(satgas, door)
    fill_kk_lost(satgas, no, door.child)
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "birth_nik", "birth_date": BORN.isoformat(),
                                                   "nik_last4": door.nik[-4:]})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/lapangan/bantu/{no}/terkirim")
    with app.app_context():
        req = request_of(no)
        assert req.status == "submitted"
        assert [e.data for e in submit_events(req)] == [{"assisted_by": door.sari, "confirmed_by": "birth_nik"}]
    assert "dengan tanggal lahir" in satgas.get(f"/lapangan/bantu/{no}/terkirim").get_data(as_text=True)


def test_wrong_code_is_422_counted_and_nothing_is_submitted(app, door, as_user):
    satgas = as_user(door.sari)
    no = start_draft(satgas, door)
    fill_kk_lost(satgas, no, door.child)
    with app.app_context():
        req = request_of(no)
        real = custody.resident_code(req).code
        db.session.commit()
    wrong = "111111" if real != "111111" else "222222"
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": wrong})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<title>Galat:" in html and 'href="#code"' in html and "Kode serah terima salah" in html
    assert wrong not in html  # a code is never shown back
    with app.app_context():
        req = request_of(no)
        assert req.status == "draft" and submit_events(req) == []
        [live] = resident_codes(req)
        assert live.failed_attempts == 1 and live.used_at is None

    # Wrong date of birth: the inputs are kept, the try counted too.
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "birth_nik", "birth_date": "1999-12-31",
                                                   "nik_last4": door.nik[-4:]})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'href="#birth_date"' in html and "tidak cocok" in html
    assert 'value="1999-12-31"' in html and f'value="{door.nik[-4:]}"' in html
    with app.app_context():
        assert resident_codes(request_of(no))[0].failed_attempts == 2

    # Nothing typed: a message, not a counted try.
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": ""})
    assert r.status_code == 422 and "Masukkan kode dari warga" in r.get_data(as_text=True)
    with app.app_context():
        assert resident_codes(request_of(no))[0].failed_attempts == 2
    # The right code still works.
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": real})
    assert r.status_code == 303
    with app.app_context():
        assert request_of(no).status == "submitted"


def test_five_wrong_tries_lock_the_confirmation(app, door, as_user):
    satgas = as_user(door.sari)
    no = start_draft(satgas, door)
    fill_kk_lost(satgas, no, door.child)
    for _ in range(custody.MAX_FAILURES):
        r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "birth_nik", "birth_date": "2001-01-01",
                                                       "nik_last4": "9999"})
        assert r.status_code == 422
    r = satgas.post(f"/ajukan/{no}/periksa", data={"way": "birth_nik", "birth_date": BORN.isoformat(),
                                                   "nik_last4": door.nik[-4:]})
    assert r.status_code == 422 and "Terlalu banyak percobaan" in r.get_data(as_text=True)
    with app.app_context():
        assert request_of(no).status == "draft"


def test_the_code_is_single_use(app, door, as_user):
    satgas = as_user(door.sari)
    no = start_draft(satgas, door)
    fill_kk_lost(satgas, no, door.child)
    with app.app_context():
        code = custody.resident_code(request_of(no)).code
        db.session.commit()
    assert satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": code}).status_code == 303
    with app.app_context():
        req = request_of(no)
        with pytest.raises(custody.CustodyError, match="sudah dipakai"):
            custody.confirm_resident(req, code=code)
        db.session.rollback()
        [used] = resident_codes(req)
        assert used.used_at is not None and used.failed_attempts == 0
        # The next code the resident is shown (e.g. for a pickup) is a new one.
        fresh = custody.resident_code(req)
        assert fresh.id != used.id and fresh.used_at is None
        db.session.rollback()


def test_double_submit_makes_one_request(app, door, as_user):
    satgas = as_user(door.sari)
    no = start_draft(satgas, door)
    assert start_draft(satgas, door) == no  # a double tap on "Mulai mengisi": the same draft
    fill_kk_lost(satgas, no, door.child)
    with app.app_context():
        code = custody.resident_code(request_of(no)).code
        db.session.commit()
    first = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": code})
    second = satgas.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": code})
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    with app.app_context():
        req = request_of(no)
        assert len(submit_events(req)) == 1
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
        assert resident_codes(req)[0].failed_attempts == 0  # the second tap was not a wrong try


def test_the_resident_may_submit_the_assisted_draft_themself(app, door, as_user):
    satgas, resident = as_user(door.sari), as_user(door.resident)
    no = start_draft(satgas, door)
    fill_kk_lost(satgas, no, door.child)
    html = resident.get(f"/ajukan/{no}/periksa").get_data(as_text=True)
    assert "Satgas Pamor Sari Satgas membantu" in html and "Kirim permohonan" in html
    r = resident.post(f"/ajukan/{no}/periksa")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}/terkirim")
    with app.app_context():
        [event] = submit_events(request_of(no))
        assert event.actor_id == door.resident
        assert event.data == {"assisted_by": door.sari, "confirmed_by": "applicant"}


# --- scope ---------------------------------------------------------------------------------------------

def test_satgas_outside_the_residents_rw_is_refused_without_a_hint(app, door, as_user, make_staff):
    tono = as_user(door.tono)  # covers RW 2 only
    answers = []
    for nik in (door.nik, "3275014603880999", "3275 0146 0388 0998"):
        r = tono.post("/lapangan/bantu", data={"nik": nik})
        assert r.status_code == 422
        html = r.get_data(as_text=True)
        assert NOT_IN_RW in html and "<title>Galat:" in html and 'href="#nik"' in html
        answers.append(re.search(r'<p class="error-message"[^>]*>(.*?)</p>', html, re.S).group(1))
    assert len(set(answers)) == 1  # the same words whether the NIK exists elsewhere or not at all
    r = tono.post("/lapangan/bantu", data={"nik": "12345"})
    assert r.status_code == 422 and "16 angka" in r.get_data(as_text=True)
    assert tono.get(f"/lapangan/bantu/warga/{door.resident}").status_code == 404
    assert tono.post(f"/lapangan/bantu/warga/{door.resident}",
                     data={"service": "kk", "client_token": "x"}).status_code == 404
    # Tono may help his own RW's resident.
    r = tono.post("/lapangan/bantu", data={"nik": db_nik(app, door.neighbour)})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def db_nik(app, user_id) -> str:
    with app.app_context():
        return db.session.get(User, user_id).person.nik


def test_another_satgas_cannot_open_the_draft(app, door, as_user):
    no = start_draft(as_user(door.sari), door)
    for other in (door.tono, door.bima, door.neighbour):  # Bima is RW 1's backup: still not his draft
        c = as_user(other)
        for url in (f"/ajukan/{no}/lanjut", f"/ajukan/{no}/jenis", f"/ajukan/{no}/untuk", f"/ajukan/{no}/periksa",
                    f"/ajukan/{no}/dokumen/bukti_hilang_rusak"):
            assert c.get(url).status_code == 404, (other, url)
        assert c.post(f"/ajukan/{no}/periksa", data={"way": "code", "code": "123456"}).status_code == 404
        if other != door.neighbour:
            assert c.get(f"/lapangan/bantu/{no}/terkirim").status_code == 404
            assert c.post(f"/lapangan/bantu/{no}/batal").status_code == 404
            assert no not in c.get("/lapangan/bantu").get_data(as_text=True)
    with app.app_context():
        req = request_of(no)
        assert req.status == "draft" and resident_codes(req) == []


def test_satgas_loses_the_draft_when_the_rw_is_no_longer_theirs(app, door, as_user):
    sari = as_user(door.sari)
    no = start_draft(sari, door)
    assert no in sari.get("/lapangan/bantu").get_data(as_text=True)
    with app.app_context():
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.satgas_id == door.sari))
        db.session.commit()
    assert sari.get(f"/ajukan/{no}/lanjut").status_code == 404
    assert no not in sari.get("/lapangan/bantu").get_data(as_text=True)


def test_a_resident_cannot_be_assisted_by_somebody_who_is_not_a_satgas(app, door, as_user, make_staff):
    for who in (door.operator, door.resident, make_staff("penyelia", KEC), make_staff("institution")):
        c = as_user(who)
        assert c.get("/lapangan/bantu").status_code == 403
        assert c.post("/lapangan/bantu", data={"nik": door.nik}).status_code == 403
        assert c.post(f"/lapangan/bantu/warga/{door.resident}", data={"service": "kk"}).status_code == 403
    with app.app_context():
        resident, operator = db.session.get(User, door.resident), db.session.get(User, door.operator)
        with pytest.raises(apps.ApplyError):
            apps.create_draft(resident, "kk", None, assisted_by=operator)
        with pytest.raises(apps.ApplyError):
            apps.find_resident(operator, door.nik)
        assert not apps.may_assist(operator, resident)
        # An inactive satgas neither.
        sari = db.session.get(User, door.sari)
        sari.active = False
        assert not apps.may_assist(sari, resident)
        with pytest.raises(apps.ApplyError):
            apps.create_draft(resident, "kk", None, assisted_by=sari)
        db.session.rollback()
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_only_resident_accounts_can_be_assisted(app, door, make_staff):
    with app.app_context():
        sari = db.session.get(User, door.sari)
        child_nik = "3275010201150001"
        db.session.get(Person, door.child).nik = child_nik  # a person without an account of their own
        db.session.commit()
        with pytest.raises(apps.ApplyError, match=NOT_IN_RW):
            apps.find_resident(sari, child_nik)
        assert apps.find_resident(sari, door.nik).id == door.resident


def test_a_token_of_another_draft_is_refused(app, door):
    with app.app_context():
        sari, resident = db.session.get(User, door.sari), db.session.get(User, door.resident)
        own = apps.create_draft(resident, "kk", "tok-same")
        db.session.commit()
        with pytest.raises(apps.ApplyError, match="sudah dipakai"):
            apps.create_draft(resident, "kk", "tok-same", assisted_by=sari)
        db.session.rollback()
        assert request_of(own.tracking_no).assisted_by_id is None


# --- drafts the satgas started ----------------------------------------------------------------------------

def test_open_drafts_are_listed_to_resume_and_can_be_cancelled(app, door, as_user):
    sari = as_user(door.sari)
    no = start_draft(sari, door)
    html = sari.get("/lapangan/bantu").get_data(as_text=True)
    assert f"/ajukan/{no}/lanjut" in html and "Siti Aminah" in html
    r = sari.get(f"/ajukan/{no}/lanjut")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/ajukan/{no}/jenis")
    r = sari.post(f"/lapangan/bantu/{no}/batal")
    assert r.status_code == 303
    with app.app_context():
        req = request_of(no)
        assert req.status == "cancelled"
        assert [(e.action, e.actor_id) for e in req.events] == [("cancel", door.sari)]
    assert f"/ajukan/{no}/lanjut" not in sari.get("/lapangan/bantu").get_data(as_text=True)
    # A submitted request is not listed either.
    no2 = start_draft(sari, door, token="tok-2")
    fill_kk_lost(sari, no2, door.person)
    sari.post(f"/ajukan/{no2}/periksa", data={"way": "birth_nik", "birth_date": BORN.isoformat(),
                                              "nik_last4": door.nik[-4:]})
    assert f"/ajukan/{no2}/lanjut" not in sari.get("/lapangan/bantu").get_data(as_text=True)
    r = sari.get(f"/ajukan/{no2}/periksa")  # back button after sending: the confirmation page
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/lapangan/bantu/{no2}/terkirim")


def test_the_residents_own_flow_is_unaffected(app, door, as_user):
    resident = as_user(door.resident)
    r = resident.post("/ajukan/", data={"service": "kk", "client_token": "own-1"})
    assert r.status_code == 303
    no = re.search(r"/ajukan/([^/]+)/", r.headers["Location"]).group(1)
    r = resident.get(f"/ajukan/{no}/lanjut")  # no code page for their own draft
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/ajukan/{no}/jenis")
    fill_kk_lost(resident, no, door.person)
    html = resident.get(f"/ajukan/{no}/periksa").get_data(as_text=True)
    assert "Kirim permohonan" in html and "Kode dari warga" not in html and "Satgas Pamor" not in html
    r = resident.post(f"/ajukan/{no}/periksa")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}/terkirim")
    with app.app_context():
        req = request_of(no)
        assert req.status == "submitted" and req.assisted_by_id is None
        assert [e.data for e in submit_events(req)] == [{}]
    assert "Dibantu" not in resident.get(f"/permohonan/{no}").get_data(as_text=True)
    # The RW's satgas cannot fill in a resident's own draft.
    sari = as_user(door.sari)
    no2 = re.search(r"/ajukan/([^/]+)/", resident.post("/ajukan/", data={"service": "kk", "client_token": "own-2"})
                    .headers["Location"]).group(1)
    assert sari.get(f"/ajukan/{no2}/lanjut").status_code == 404
    assert sari.get("/ajukan/").status_code == 404  # the satgas starts from the field mode


def test_csrf_is_required(csrf_app, make_resident, make_staff):
    satgas = make_staff("satgas", KEC)
    resident = make_resident()
    with csrf_app.app_context():
        db.session.add(SatgasAssignment(rw_id=rw_id(1), satgas_id=satgas, kind="primary"))
        db.session.commit()
        nik = db.session.get(User, resident).person.nik
    c = csrf_app.test_client()
    with c.session_transaction() as session:
        session["_user_id"] = str(satgas)
        session["_fresh"] = True
    assert c.post("/lapangan/bantu", data={"nik": nik}).status_code == 400  # the global CSRF guard
    assert c.post(f"/lapangan/bantu/warga/{resident}", data={"service": "kk", "client_token": "t"}).status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0
