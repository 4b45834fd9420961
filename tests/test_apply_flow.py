"""The resident's journey through the test client: sign up, add a child, apply, upload, submit, track."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

from PIL import Image
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import Event, Person, ServiceRequest, User


def photo_bytes(size=(1600, 1200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 190, 180)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


SIGNUP = {
    "nik": "3275 0115 0590 0007", "no_kk": "3275011001150099", "full_name": "Rina Wati",
    "birth_date": "1990-05-15", "sex": "L", "phone": "0812-3456-0007", "email": "",
    "kelurahan": "32.75.01.1001", "rw": "1", "rt": "2", "street": "Jl. Melati 3",
    "password": "rahasia-123", "password_confirm": "rahasia-123",
}


def location_path(response) -> str:
    return response.headers["Location"]


def test_signup_validates_and_keeps_input(client):
    bad = {**SIGNUP, "nik": "12345", "phone": "12"}
    r = client.post("/daftar", data=bad)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<title>Galat:" in html
    assert 'href="#nik"' in html and 'href="#phone"' in html  # every problem at once, linked to its field
    assert 'value="Rina Wati"' in html  # what was typed is kept
    assert "16 angka" in html


def test_signup_unknown_province_is_refused_but_unknown_kecamatan_only_warns(client, app):
    r = client.post("/daftar", data={**SIGNUP, "nik": "9975011505900007"})
    assert r.status_code == 422
    r = client.post("/daftar", data={**SIGNUP, "nik": "3275991505900007"}, follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Person).where(Person.nik == "3275991505900007")) is not None


def test_nik_cannot_be_registered_twice(client, make_resident, app):
    user_id = make_resident()
    with app.app_context():
        nik = db.session.get(User, user_id).person.nik
    r = client.post("/daftar", data={**SIGNUP, "nik": nik, "password": "lain-sandi-9", "password_confirm": "lain-sandi-9"})
    assert r.status_code == 422
    assert "sudah terdaftar" in r.get_data(as_text=True)


def test_login_with_nik_or_phone(client, make_resident, app):
    user_id = make_resident(phone="+6281299990001")
    with app.app_context():
        nik = db.session.get(User, user_id).person.nik
    r = client.post("/masuk", data={"identifier": nik, "password": "rahasia-123"})
    assert r.status_code == 303
    client.post("/keluar")
    r = client.post("/masuk", data={"identifier": "0812-9999-0001", "password": "rahasia-123"})
    assert r.status_code == 303
    client.post("/keluar")
    r = client.post("/masuk", data={"identifier": nik, "password": "salah-salah"})
    assert r.status_code == 422


def test_full_journey_akta_kelahiran(client, app):
    r = client.post("/daftar", data=SIGNUP)
    assert r.status_code == 303, r.get_data(as_text=True)
    born = (date.today() - timedelta(days=10)).isoformat()
    r = client.post("/keluarga/tambah", data={"full_name": "Bayi Rina", "nik": "", "birth_date": born, "sex": "P",
                                             "relation": "anak"})
    assert r.status_code == 303
    r = client.post("/ajukan/", data={"service": "akta_kelahiran", "client_token": "tok-1"})
    assert r.status_code == 303
    # A double tap on the first step finds the same draft.
    r2 = client.post("/ajukan/", data={"service": "akta_kelahiran", "client_token": "tok-1"})
    assert location_path(r2) == location_path(r)
    tracking_no = re.search(r"/ajukan/([^/]+)/", location_path(r)).group(1)
    assert location_path(r).endswith("/untuk")  # only one variant: the variant page is skipped
    with app.app_context():
        child = db.session.scalar(select(Person).where(Person.full_name == "Bayi Rina"))
    r = client.post(f"/ajukan/{tracking_no}/untuk", data={"person": child.id})
    assert location_path(r).endswith("/data")
    data = {"tempat_lahir": "Bekasi", "jam_lahir": "08:30", "jenis_kelahiran": "tunggal", "kelahiran_ke": "1",
            "penolong_kelahiran": "bidan", "berat_bayi_kg": "3,2", "panjang_bayi_cm": "49",
            "nama_ayah": "Rudi", "nik_ayah": "", "nama_ibu": "Rina Wati", "nik_ibu": "3275015505900008"}
    r = client.post(f"/ajukan/{tracking_no}/data", data={**data, "nik_ibu": "123"})
    assert r.status_code == 422
    assert 'value="Bekasi"' in r.get_data(as_text=True)
    r = client.post(f"/ajukan/{tracking_no}/data", data=data)
    assert r.status_code == 303 and "/dokumen/surat_keterangan_lahir" in location_path(r)
    # Not submittable yet.
    r = client.post(f"/ajukan/{tracking_no}/periksa")
    assert r.status_code == 422
    for code in ("surat_keterangan_lahir", "bukti_perkawinan", "kk"):
        r = client.post(f"/ajukan/{tracking_no}/dokumen/{code}",
                        data={"file": (io.BytesIO(photo_bytes()), "foto.jpg")}, content_type="multipart/form-data")
        assert r.status_code == 303, r.get_data(as_text=True)
    assert location_path(r).endswith("/periksa")
    r = client.get(f"/ajukan/{tracking_no}/periksa")
    assert "Ubah" in r.get_data(as_text=True)
    r = client.post(f"/ajukan/{tracking_no}/periksa")
    assert r.status_code == 303 and location_path(r).endswith("/terkirim")
    # Double submit: still one request, one submit event.
    r = client.post(f"/ajukan/{tracking_no}/periksa")
    assert r.status_code == 303
    with app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
        assert req.status == "submitted" and req.due_date is not None
        assert req.rw_id == db.session.get(Person, child.id).household.rw_id  # the subject's RW: the satgas who may see it
        assert db.session.scalar(select(func.count(Event.id)).where(Event.request_id == req.id,
                                                                    Event.action == "submit")) == 1
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
        doc_id = req.documents[0].id
    r = client.get(f"/permohonan/{tracking_no}/tanda-terima")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and tracking_no in html and "<svg" in html
    r = client.get(f"/permohonan/{tracking_no}")
    assert r.status_code == 200 and "Permohonan dikirim" in r.get_data(as_text=True)
    with client.get(f"/permohonan/{tracking_no}/dokumen/{doc_id}") as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.headers["Cache-Control"] == "private, no-store"


def test_signup_sent_twice_makes_one_account(client, app):
    first = client.post("/daftar", data=SIGNUP)
    assert first.status_code == 303
    client.post("/keluar")
    second = client.post("/daftar", data=SIGNUP)
    assert second.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == "+6281234560007")) == 1


def test_member_added_twice_is_stored_once(client, app):
    client.post("/daftar", data=SIGNUP)
    member = {"full_name": "Anak Satu", "nik": "", "birth_date": "2020-01-02", "sex": "L", "relation": "anak"}
    assert client.post("/keluarga/tambah", data=member).status_code == 303
    assert client.post("/keluarga/tambah", data=member).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Person.id)).where(Person.full_name == "Anak Satu")) == 1


def test_nik_check_as_you_type_returns_only_the_block(client):
    r = client.get("/daftar?nik=3275015505900001&birth_date=1990-05-15&sex=L",
                   headers={"HX-Request": "true", "HX-Target": "nik-check"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="nik-check"') and "perempuan" in html
    full = client.get("/daftar?nik=3275015505900001").get_data(as_text=True)
    assert "<html" in full and 'value="3275015505900001"' in full


def test_resident_cancels_a_submitted_request(client, app, make_resident, make_request, login):
    user_id = make_resident()
    req_id = make_request(user_id, status="submitted")
    login(user_id)
    with app.app_context():
        no = db.session.get(ServiceRequest, req_id).tracking_no
    assert "Batalkan permohonan" in client.get(f"/permohonan/{no}").get_data(as_text=True)
    r = client.post(f"/permohonan/{no}/batal")
    assert r.status_code == 303
    assert client.post(f"/permohonan/{no}/batal").status_code == 303  # twice: no error, no second event
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        assert req.status == "cancelled"
        assert [e.action for e in req.events] == ["cancel"]


def test_static_files_are_gzipped_and_closed(client):
    """The second request for a static file is served from the gzip cache (and closes the file)."""
    for _ in range(2):
        with client.get("/static/css/eopen.css", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
            assert "Accept-Encoding" in r.headers["Vary"]


def test_answers_are_shown_in_the_readers_format(app, make_resident, make_request):
    from eopen.services import applications
    req_id = make_request(make_resident(), service="akta_kelahiran")
    with app.test_request_context():
        req = db.session.get(ServiceRequest, req_id)
        req.data = {"berat_bayi_kg": "3.2", "penolong_kelahiran": "bidan", "tempat_lahir": "Bekasi"}
        shown = {spec.name: value for spec, _label, value in applications.answers(req)}
    assert shown["berat_bayi_kg"] == "3,2" and shown["penolong_kelahiran"] == "Bidan atau perawat"
    assert shown["tempat_lahir"] == "Bekasi" and shown["nama_ayah"] == "—"


def test_each_role_starts_on_its_own_page_after_logging_in(client, make_staff):
    for role, start in (("operator", "/kantor/"), ("kasi", "/kantor/"), ("admin", "/admin/"),
                        ("satgas", "/lapangan/"), ("institution", "/permohonan")):
        make_staff(role, kecamatan_code="32.75.01" if role == "operator" else None, username=f"{role}-start")
        r = client.post("/masuk", data={"identifier": f"{role}-start", "password": "rahasia-123"})
        assert r.status_code == 303 and r.headers["Location"] == start, role
        client.post("/keluar")
