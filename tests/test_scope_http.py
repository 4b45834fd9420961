"""Scope, authentication, CSRF and bad input, seen from outside: through the Flask test client.

Nothing here calls a route function directly: every check is an HTTP request, so a route that forgets
`scope.visible_requests` / `scope.can_view`, `login_required` or CSRF shows up as a failing test.
The rule throughout: somebody else's request is a 404, exactly like a request that does not exist.
"""
from __future__ import annotations

import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

import eopen
from eopen import create_app
from eopen.extensions import db
from eopen.models import Person, RequestDocument, ServiceRequest, User
from eopen.services import scope, uploads

# A ktp_el / "hilang" request: one optional date field and two mandatory documents.
SERVICE, VARIANT = "ktp_el", "hilang"
REQUIREMENTS = ("kk", "surat_kehilangan_polisi")
KEL_TIMUR = "32.75.01.1001"  # Bekasijaya, kecamatan Bekasi Timur (32.75.01)
KEC_TIMUR, KEC_BARAT = "32.75.01", "32.75.02"
FRIENDLY_404 = "Halaman tidak ditemukan"
CSRF_TITLE = "Formulir kedaluwarsa"


# --- helpers ----------------------------------------------------------------------------------


def photo_bytes(size=(800, 600), colour=(200, 190, 180)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def tracking_no_from(response) -> str:
    return re.search(r"/ajukan/([^/?]+)/", response.headers["Location"]).group(1)


def start_draft(c: FlaskClient, service=SERVICE, variant=VARIANT, extra=None) -> str:
    r = c.post("/ajukan/", data={"service": service, "client_token": secrets.token_urlsafe(12), **(extra or {})})
    assert r.status_code == 303, r.get_data(as_text=True)
    no = tracking_no_from(r)
    if variant:
        r = c.post(f"/ajukan/{no}/jenis", data={"variant": variant, **(extra or {})})
        assert r.status_code == 303, r.get_data(as_text=True)
    return no


def upload(c: FlaskClient, no: str, code: str, data: bytes | None = None, name="foto.jpg", extra=None):
    # The body is encoded here, in memory: for a large `data={"file": ...}` the test client would spool
    # the body to a temporary file that it never closes (a ResourceWarning, an error under our filter).
    fields = MultiDict({"file": FileStorage(io.BytesIO(photo_bytes() if data is None else data), name),
                        **(extra or {})})
    boundary, body = encode_multipart(fields)
    return c.post(f"/ajukan/{no}/dokumen/{code}", data=body,
                  content_type=f"multipart/form-data; boundary={boundary}")


def file_request(c: FlaskClient, person_id: int, *, documents=REQUIREMENTS, submit=True) -> str:
    """Go through the apply flow for ktp_el/hilang as a resident; return the tracking number."""
    no = start_draft(c)
    r = c.post(f"/ajukan/{no}/untuk", data={"person": person_id})
    assert r.status_code == 303, r.get_data(as_text=True)
    r = c.post(f"/ajukan/{no}/data", data={"tanggal_kehilangan": "17-08-2024"})
    assert r.status_code == 303, r.get_data(as_text=True)
    for code in documents:
        r = upload(c, no, code)
        assert r.status_code == 303, r.get_data(as_text=True)
    if submit:
        r = c.post(f"/ajukan/{no}/periksa")
        assert r.status_code == 303 and r.headers["Location"].endswith("/terkirim")
    return no


def is_login_redirect(response, path_with_query: str) -> bool:
    if response.status_code not in (302, 303):
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == "/masuk" and parse_qs(location.query).get("next") == [path_with_query]


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token input on the page"
    return match.group(1)


def assert_friendly_404(response):
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert FRIENDLY_404 in html and '<html lang="id">' in html


@dataclass
class World:
    a: int
    b: int
    client_a: FlaskClient
    client_b: FlaskClient
    a_sent: str            # A's submitted request
    b_sent: str            # B's submitted request, with two uploaded documents
    b_sent_docs: list[int]
    b_draft: str           # B's draft with the KK uploaded
    b_draft_doc: int


@pytest.fixture
def person_of(app):
    def get(user_id: int) -> int:
        with app.app_context():
            return db.session.get(User, user_id).person_id
    return get


@pytest.fixture
def request_row(app):
    """request_row(tracking_no) → a detached ServiceRequest snapshot, with document ids."""
    def get(no: str):
        with app.app_context():
            req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
            docs = {d.requirement_code: (d.id, d.storage_name) for d in req.documents}
            db.session.expunge(req)
            return req, docs
    return get


@pytest.fixture
def set_status(app):
    def do(no: str, status: str, **attrs):
        with app.app_context():
            req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
            req.status = status
            for key, value in attrs.items():
                setattr(req, key, value)
            db.session.commit()
    return do


@pytest.fixture
def world(app, client, make_resident, login, person_of, request_row) -> World:
    a = make_resident(name="Warga A", kelurahan_code=KEL_TIMUR)
    b = make_resident(name="Warga B", kelurahan_code=KEL_TIMUR)
    client_a, client_b = client, app.test_client()
    login(a, client_a)
    login(b, client_b)
    a_sent = file_request(client_a, person_of(a))
    b_sent = file_request(client_b, person_of(b))
    b_draft = file_request(client_b, person_of(b), documents=("kk",), submit=False)
    _, sent_docs = request_row(b_sent)
    _, draft_docs = request_row(b_draft)
    assert len(sent_docs) == 2 and len(draft_docs) == 1
    return World(a=a, b=b, client_a=client_a, client_b=client_b, a_sent=a_sent, b_sent=b_sent,
                 b_sent_docs=[doc_id for doc_id, _ in sent_docs.values()], b_draft=b_draft,
                 b_draft_doc=draft_docs["kk"][0])


def get_status(c: FlaskClient, url: str) -> int:
    with c.get(url) as r:  # document files are send_file responses: close them
        return r.status_code


def apply_urls(no: str) -> list[tuple[str, dict]]:
    """Every URL of the apply flow for a draft, with a POST body that would change it if accepted."""
    return [
        (f"/ajukan/{no}/layanan", {"service": "kia"}),
        (f"/ajukan/{no}/jenis", {"variant": "rusak"}),
        (f"/ajukan/{no}/untuk", {"person": "1"}),
        (f"/ajukan/{no}/data", {"tanggal_kehilangan": "01-01-2024"}),
        (f"/ajukan/{no}/dokumen/kk", {"file": (io.BytesIO(photo_bytes()), "foto.jpg")}),
        (f"/ajukan/{no}/dokumen/surat_kehilangan_polisi", {"file": (io.BytesIO(photo_bytes()), "foto.jpg")}),
        (f"/ajukan/{no}/periksa", {}),
        (f"/ajukan/{no}/lanjut", {}),
    ]


# --- 1. one resident never sees another's requests ---------------------------------------------


def test_resident_gets_404_for_another_residents_request_pages(world):
    a, no = world.client_a, world.b_sent
    missing = "EO-XXXX-XXXX"
    for url in (f"/permohonan/{no}", f"/permohonan/{no}/tanda-terima", f"/permohonan/{no}/terkirim"):
        r = a.get(url)
        assert_friendly_404(r)
        # Exactly the page a number that does not exist gets (the number only echoes the URL asked for).
        r_missing = a.get(url.replace(no, missing))
        assert r_missing.status_code == 404
        assert r.get_data(as_text=True).replace(no, missing) == r_missing.get_data(as_text=True)
    # B's own pages do work (so the 404s above are about scope, not broken pages).
    assert world.client_b.get(f"/permohonan/{no}").status_code == 200
    assert world.client_b.get(f"/permohonan/{no}/tanda-terima").status_code == 200
    assert world.client_b.get(f"/permohonan/{no}/terkirim").status_code == 200


def test_resident_gets_404_for_another_residents_document_files(world):
    for doc_id in world.b_sent_docs:
        with world.client_a.get(f"/permohonan/{world.b_sent}/dokumen/{doc_id}") as r:
            assert_friendly_404(r)
        with world.client_b.get(f"/permohonan/{world.b_sent}/dokumen/{doc_id}") as r:
            assert r.status_code == 200 and r.mimetype == "image/jpeg"
    with world.client_a.get(f"/permohonan/{world.b_draft}/dokumen/{world.b_draft_doc}") as r:
        assert_friendly_404(r)
    # B's document id under A's own tracking number: the document must belong to the request.
    for doc_id in world.b_sent_docs + [world.b_draft_doc]:
        with world.client_a.get(f"/permohonan/{world.a_sent}/dokumen/{doc_id}") as r:
            assert r.status_code == 404


def test_resident_gets_404_on_every_apply_url_of_another_residents_draft(world, request_row):
    a, no = world.client_a, world.b_draft
    before, before_docs = request_row(no)
    for url, body in apply_urls(no):
        assert get_status(a, url) == 404, url
        if url.endswith("/lanjut"):
            assert a.post(url).status_code == 405  # GET only
            continue
        r = a.post(url, data=body, content_type="multipart/form-data" if "file" in body else None)
        assert_friendly_404(r)
    assert a.post(f"/ajukan/{no}/dokumen/surat_kehilangan_polisi/sptjm", data={"sptjm-agree": "y"}).status_code == 404
    assert a.post(f"/permohonan/{no}/batal").status_code == 404
    assert a.post(f"/permohonan/{world.b_sent}/batal").status_code == 404
    after, after_docs = request_row(no)
    assert (after.status, after.service_code, after.variant_code, after.data, after.subject_person_id) == (
        before.status, before.service_code, before.variant_code, before.data, before.subject_person_id)
    assert after_docs == before_docs
    sent, _ = request_row(world.b_sent)
    assert sent.status == "submitted"
    # B still can.
    assert world.client_b.get(f"/ajukan/{no}/periksa").status_code == 200


def test_apply_urls_of_a_submitted_request_are_404_for_others_too(world):
    # For its owner a sent request's apply URLs redirect to the status page; for anybody else: 404.
    for url, _body in apply_urls(world.b_sent):
        assert get_status(world.client_a, url) == 404, url
        assert get_status(world.client_b, url) == 303, url


def test_lists_show_only_own_requests(world):
    html_b = world.client_b.get("/permohonan").get_data(as_text=True)
    assert world.b_sent in html_b and world.b_draft in html_b
    assert world.a_sent not in html_b
    html_a = world.client_a.get("/permohonan").get_data(as_text=True)
    assert world.a_sent in html_a
    assert world.b_sent not in html_a and world.b_draft not in html_a
    # The drafts list on the start page is the applicant's own too.
    assert world.b_draft not in world.client_a.get("/ajukan/").get_data(as_text=True)
    assert world.b_draft in world.client_b.get("/ajukan/").get_data(as_text=True)


def test_subject_must_be_a_member_of_own_household(world, person_of):
    """A resident cannot name another family's member as the subject of their own draft."""
    no = start_draft(world.client_a)
    r = world.client_a.post(f"/ajukan/{no}/untuk", data={"person": person_of(world.b)})
    assert r.status_code == 422


# --- 2. staff and institutions -----------------------------------------------------------------


STAFF_CASES = [
    # (role, kecamatan, may see B's submitted request)
    ("operator", KEC_BARAT, False),
    ("penyelia", KEC_BARAT, False),
    ("operator", None, False),
    ("operator", KEC_TIMUR, True),
    ("penyelia", KEC_TIMUR, True),
    ("admin", None, False),
    ("satgas", KEC_TIMUR, False),
    ("kasi", None, False),     # not at a verification step yet
    ("kabid", None, False),
    ("kadis", None, False),
    ("institution", None, False),
]


@pytest.mark.parametrize(("role", "kecamatan", "allowed"), STAFF_CASES)
def test_staff_see_a_submitted_request_only_within_scope(world, app, make_staff, login, role, kecamatan, allowed):
    staff = make_staff(role, kecamatan_code=kecamatan)
    c = app.test_client()
    login(staff, c)
    no = world.b_sent
    with app.app_context():
        user = db.session.get(User, staff)
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
        assert scope.can_view(user, req) is allowed
    expected = 200 if allowed else 404
    assert get_status(c, f"/permohonan/{no}") == expected
    assert get_status(c, f"/permohonan/{no}/tanda-terima") == expected
    for doc_id in world.b_sent_docs:
        assert get_status(c, f"/permohonan/{no}/dokumen/{doc_id}") == expected
    # The confirmation page is the applicant's; staff never get it.
    assert get_status(c, f"/permohonan/{no}/terkirim") == 404
    # Drafts stay the applicant's own, for every staff role.
    assert get_status(c, f"/permohonan/{world.b_draft}") == 404
    assert get_status(c, f"/permohonan/{world.b_draft}/dokumen/{world.b_draft_doc}") == 404
    # Staff have no apply flow, not even on a request they may see.
    assert get_status(c, f"/ajukan/{no}/periksa") == 404
    assert get_status(c, f"/ajukan/{world.b_draft}/periksa") == 404
    if role != "institution":
        assert get_status(c, "/permohonan") == 404
        assert get_status(c, "/ajukan/") == 404


def test_operator_of_the_kecamatan_does_not_see_a_draft_cancelled_before_submission(
        world, app, make_staff, login, set_status):
    operator = make_staff("operator", kecamatan_code=KEC_TIMUR)
    c = app.test_client()
    login(operator, c)
    set_status(world.b_draft, "cancelled")
    assert get_status(c, f"/permohonan/{world.b_draft}/dokumen/{world.b_draft_doc}") == 404
    # A request cancelled after it was submitted stays on the operator's record.
    set_status(world.b_sent, "cancelled")
    assert get_status(c, f"/permohonan/{world.b_sent}") == 200
    assert get_status(c, f"/permohonan/{world.b_sent}/dokumen/{world.b_sent_docs[0]}") == 200


@pytest.fixture
def add_document(app):
    """add_document(request_id, code) → (tracking_no, document id): a stored file, as the flow would leave it."""
    def add(request_id: int, code: str = "kk"):
        data = photo_bytes()
        with app.app_context():
            req = db.session.get(ServiceRequest, request_id)
            doc = RequestDocument(requirement_code=code, kind="file", content_type="image/jpeg", size=len(data),
                                  storage_name=uploads.store(app.config["UPLOAD_FOLDER"], data, "jpg"),
                                  uploaded_by_id=req.applicant_id)
            req.documents.append(doc)
            db.session.commit()
            return req.tracking_no, doc.id
    return add


@pytest.mark.parametrize(("service", "index", "sees"), [
    ("ktp_el", 0, "kasi"),            # verification_steps = ["kasi"]
    ("akta_kelahiran", 0, "kasi"),    # verification_steps = ["kasi", "kabid"]
    ("akta_kelahiran", 1, "kabid"),
])
def test_verifier_sees_a_request_only_at_their_step(app, make_resident, make_request, make_staff, login,
                                                    add_document, set_status, service, index, sees):
    resident = make_resident()
    req_id = make_request(resident, service=service, status="verifying")
    no, doc_id = add_document(req_id)
    set_status(no, "verifying", verification_index=index)
    staff = {role: make_staff(role, kecamatan_code=KEC_BARAT if role == "operator" else None)
             for role in ("kasi", "kabid", "kadis", "admin", "satgas", "operator")}
    for role, user in staff.items():
        c = app.test_client()
        login(user, c)
        expected = 200 if role == sees else 404
        assert get_status(c, f"/permohonan/{no}/tanda-terima") == expected, role
        assert get_status(c, f"/permohonan/{no}/dokumen/{doc_id}") == expected, role
    # Before and after the verification chain, no verifier sees it.
    for status in ("submitted", "in_review", "approved"):
        set_status(no, status)
        c = app.test_client()
        login(staff[sees], c)
        assert get_status(c, f"/permohonan/{no}/dokumen/{doc_id}") == 404, status


def test_service_without_verification_is_never_shown_to_verifiers(app, make_resident, make_request, make_staff,
                                                                  login, add_document):
    no, doc_id = add_document(make_request(make_resident(), service="kia", status="verifying"))
    for role in ("kasi", "kabid", "kadis"):
        c = app.test_client()
        login(make_staff(role), c)
        assert get_status(c, f"/permohonan/{no}/dokumen/{doc_id}") == 404, role


def test_a_deactivated_account_loses_access_at_once(world, app):
    with app.app_context():
        db.session.get(User, world.b).active = False
        db.session.commit()
    url = f"/permohonan/{world.b_sent}/dokumen/{world.b_sent_docs[0]}"
    with world.client_b.get(url) as r:
        assert is_login_redirect(r, url)


def test_institution_sees_only_requests_it_filed(world, app, make_staff, make_request, login):
    inst, other = make_staff("institution"), make_staff("institution")
    with app.app_context():
        own_no = db.session.get(ServiceRequest, make_request(inst)).tracking_no
        other_no = db.session.get(ServiceRequest, make_request(other)).tracking_no
    c = app.test_client()
    login(inst, c)
    assert c.get(f"/permohonan/{own_no}").status_code == 200
    assert c.get(f"/permohonan/{own_no}/tanda-terima").status_code == 200
    assert c.get(f"/permohonan/{own_no}/terkirim").status_code == 200
    listing = c.get("/permohonan").get_data(as_text=True)
    assert own_no in listing
    for no in (other_no, world.b_sent, world.a_sent):
        assert no not in listing
        for url in (f"/permohonan/{no}", f"/permohonan/{no}/tanda-terima", f"/permohonan/{no}/terkirim"):
            assert c.get(url).status_code == 404, url
    for doc_id in world.b_sent_docs:
        assert get_status(c, f"/permohonan/{world.b_sent}/dokumen/{doc_id}") == 404
    # ...and residents do not see the institution's request.
    assert world.client_a.get(f"/permohonan/{own_no}").status_code == 404


def test_institution_files_for_somebody_else_through_the_flow(app, make_staff, login, client):
    inst = make_staff("institution")
    login(inst)
    no = start_draft(client)
    person = {"full_name": "Orang Lain", "nik": "", "birth_date": "15-05-1990", "sex": "L", "kelurahan": KEL_TIMUR}
    r = client.post(f"/ajukan/{no}/untuk", data=person)
    assert r.status_code == 303, r.get_data(as_text=True)
    assert no in client.get("/permohonan").get_data(as_text=True)


# --- 3. anonymous users ------------------------------------------------------------------------


def test_public_pages_are_open(client):
    for url in ("/", "/masuk", "/daftar"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert '<html lang="id">' in r.get_data(as_text=True)


def test_anonymous_is_sent_to_log_in_for_every_protected_url(world, app):
    anon = app.test_client()
    no, draft, doc = world.b_sent, world.b_draft, world.b_sent_docs[0]
    gets = [
        "/permohonan", f"/permohonan/{no}", f"/permohonan/{no}/tanda-terima", f"/permohonan/{no}/terkirim",
        f"/permohonan/{no}/dokumen/{doc}", "/keluarga", "/keluarga/tambah", "/ajukan/", "/lapangan/",
        "/permohonan/TIDAKADA00", "/ajukan/TIDAKADA00/periksa",
    ] + [url for url, _ in apply_urls(draft)]
    for url in gets:
        with anon.get(url) as r:
            assert is_login_redirect(r, url), (url, r.status_code, r.headers.get("Location"))
    # The query string is kept in ?next=.
    assert is_login_redirect(anon.get(f"/ajukan/{draft}/dokumen/kk?kembali=periksa"),
                             f"/ajukan/{draft}/dokumen/kk?kembali=periksa")
    posts = ["/ajukan/", "/keluarga/tambah", "/keluar", f"/permohonan/{no}/batal",
             f"/ajukan/{draft}/dokumen/kk/sptjm"] + [url for url, _ in apply_urls(draft) if not url.endswith("/lanjut")]
    for url in posts:
        r = anon.post(url, data={})
        assert is_login_redirect(r, url), (url, r.status_code)
    with app.app_context():
        assert db.session.get(ServiceRequest, db.session.scalar(
            select(ServiceRequest.id).where(ServiceRequest.tracking_no == draft))).status == "draft"


def test_log_in_returns_to_the_page_asked_for(world, app):
    anon = app.test_client()
    url = f"/permohonan/{world.b_sent}"
    r = anon.get(url)
    login_url = r.headers["Location"]
    with app.app_context():
        nik = db.session.get(User, world.b).person.nik
    r = anon.post(login_url, data={"identifier": nik, "password": "rahasia-123"})
    assert r.status_code == 303 and r.headers["Location"] == url
    # An off-site ?next= is ignored.
    anon2 = app.test_client()
    r = anon2.post("/masuk?next=//evil.example/x", data={"identifier": nik, "password": "rahasia-123"})
    assert r.status_code == 303 and r.headers["Location"] == "/permohonan"


# --- 4. CSRF -----------------------------------------------------------------------------------


SIGNUP = {
    "nik": "3275 0115 0590 0007", "no_kk": "3275011001150099", "full_name": "Rina Wati",
    "birth_date": "1990-05-15", "sex": "L", "phone": "0812-3456-0007", "email": "",
    "kelurahan": KEL_TIMUR, "rw": "1", "rt": "2", "street": "Jl. Melati 3",
    "password": "rahasia-123", "password_confirm": "rahasia-123",
}


def assert_csrf_refused(response):
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert CSRF_TITLE in html and "Muat ulang halaman" in html and '<html lang="id">' in html
    assert "CSRF" not in html and "Bad Request" not in html


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


@pytest.fixture
def ready_draft(client, make_resident, login, person_of):
    """A resident and a draft that only waits for submission (built with CSRF off)."""
    user = make_resident(name="Warga CSRF")
    login(user)
    no = file_request(client, person_of(user), submit=False)
    return user, no


def test_csrf_refuses_anonymous_posts_without_token(csrf_client, csrf_app):
    for url, body in [("/daftar", SIGNUP), ("/masuk", {"identifier": "x", "password": "y"}),
                      ("/bahasa", {"lang": "en"}), ("/keluar", {})]:
        assert_csrf_refused(csrf_client.post(url, data=body))
    assert_csrf_refused(csrf_client.post("/daftar", data={**SIGNUP, "csrf_token": "forged"}))
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
    assert '<html lang="id">' in csrf_client.get("/").get_data(as_text=True)  # /bahasa did nothing


def test_csrf_valid_token_signs_up_switches_language_and_logs_in(csrf_client):
    token = csrf_token_of(csrf_client.get("/daftar").get_data(as_text=True))
    r = csrf_client.post("/daftar", data={**SIGNUP, "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = csrf_client.get("/keluarga").get_data(as_text=True)
    token = csrf_token_of(page)
    assert_csrf_refused(csrf_client.post("/keluar"))
    assert csrf_client.get("/keluarga").status_code == 200  # still logged in
    r = csrf_client.post("/bahasa", data={"lang": "en", "next": "/keluarga", "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/keluarga"
    r = csrf_client.post("/keluar", data={"csrf_token": token})
    assert r.status_code == 303
    assert csrf_client.get("/keluarga").status_code == 302
    token = csrf_token_of(csrf_client.get("/masuk").get_data(as_text=True))
    r = csrf_client.post("/masuk", data={"identifier": "3275011505900007", "password": "rahasia-123",
                                         "csrf_token": token})
    assert r.status_code == 303


def test_csrf_on_resident_forms(csrf_client, csrf_app, login, ready_draft, request_row):
    user, no = ready_draft
    login(user, csrf_client)
    before, before_docs = request_row(no)
    # Without a token: refused, nothing changes.
    assert_csrf_refused(csrf_client.post("/ajukan/", data={"service": "kia", "client_token": "t-1"}))
    assert_csrf_refused(csrf_client.post("/keluarga/tambah", data={
        "full_name": "Anak", "nik": "", "birth_date": "2020-01-02", "sex": "L", "relation": "anak"}))
    assert_csrf_refused(upload(csrf_client, no, "kk"))
    assert_csrf_refused(csrf_client.post(f"/ajukan/{no}/dokumen/kk/sptjm", data={"sptjm-agree": "y"}))
    assert_csrf_refused(csrf_client.post(f"/ajukan/{no}/periksa"))
    assert_csrf_refused(csrf_client.post(f"/ajukan/{no}/periksa", data={"csrf_token": "tampered"}))
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
        assert db.session.scalar(select(func.count(Person.id)).where(Person.full_name == "Anak")) == 0
    after, after_docs = request_row(no)
    assert after.status == "draft" and after_docs == before_docs
    # With the token from the page: each one works.
    token = csrf_token_of(csrf_client.get("/ajukan/").get_data(as_text=True))
    r = csrf_client.post("/ajukan/", data={"service": "kia", "client_token": "t-1", "csrf_token": token})
    assert r.status_code == 303
    token = csrf_token_of(csrf_client.get("/keluarga/tambah").get_data(as_text=True))
    r = csrf_client.post("/keluarga/tambah", data={"full_name": "Anak", "nik": "", "birth_date": "2020-01-02",
                                                   "sex": "L", "relation": "anak", "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    token = csrf_token_of(csrf_client.get(f"/ajukan/{no}/dokumen/kk").get_data(as_text=True))
    r = upload(csrf_client, no, "kk", extra={"csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert request_row(no)[1]["kk"] != before_docs["kk"]  # replaced
    token = csrf_token_of(csrf_client.get(f"/ajukan/{no}/periksa").get_data(as_text=True))
    r = csrf_client.post(f"/ajukan/{no}/periksa", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/terkirim")
    assert request_row(no)[0].status == "submitted"


def test_csrf_token_of_another_session_is_refused(csrf_app, csrf_client, login, ready_draft):
    user, no = ready_draft
    other = csrf_app.test_client()
    foreign_token = csrf_token_of(other.get("/masuk").get_data(as_text=True))
    login(user, csrf_client)
    assert_csrf_refused(csrf_client.post(f"/ajukan/{no}/periksa", data={"csrf_token": foreign_token}))


# --- 5. uploaded files are never under static/ -------------------------------------------------


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def test_upload_folder_is_outside_the_package_and_static(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert not _is_within(folder, Path(app.static_folder))
    assert not _is_within(folder, Path(eopen.__file__).parent)


def test_default_upload_folder_is_in_the_instance_folder(database, tmp_path, monkeypatch):
    monkeypatch.setenv("EOPEN_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("EOPEN_UPLOAD_FOLDER", raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database})
    try:
        folder = Path(app.config["UPLOAD_FOLDER"])
        assert _is_within(folder, tmp_path / "instance")
        assert not _is_within(folder, Path(app.static_folder))
        assert not _is_within(folder, Path(eopen.__file__).parent)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_stored_files_cannot_be_reached_through_static(world, app, request_row):
    _, docs = request_row(world.b_sent)
    storage_name = docs["kk"][1]
    stored = uploads.path_of(app.config["UPLOAD_FOLDER"], storage_name)
    content = stored.read_bytes()
    relative = os.path.relpath(stored, app.static_folder)
    assert relative.startswith("..")
    guesses = [
        f"/static/{relative}",
        f"/static/{quote(relative)}",
        f"/static/{relative.replace('..', '%2e%2e')}",
        f"/static/uploads/{storage_name[:2]}/{storage_name}",
        f"/static/uploads/{storage_name}",
        f"/static/{storage_name[:2]}/{storage_name}",
        f"/static/{storage_name}",
        f"/uploads/{storage_name[:2]}/{storage_name}",
        f"/static/..%2f..%2f{storage_name}",
    ]
    for c in (app.test_client(), world.client_b):  # anonymous, and even the owner
        for url in guesses:
            with c.get(url) as r:
                assert r.status_code == 404, url
                assert content not in r.get_data()


# --- 6. bad input: 4xx, never 500 --------------------------------------------------------------


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 2000


@pytest.fixture
def own_draft(client, make_resident, login, person_of, request_row):
    """A logged-in resident's draft with the KK already uploaded: (tracking_no, (doc_id, storage_name))."""
    user = make_resident()
    login(user)
    no = file_request(client, person_of(user), documents=("kk",), submit=False)
    return no, request_row(no)[1]["kk"]


def _assert_kept(app, request_row, no, kk):
    assert request_row(no)[1]["kk"] == kk
    assert uploads.path_of(app.config["UPLOAD_FOLDER"], kk[1]).is_file()


def test_exe_renamed_jpg_is_refused_and_the_earlier_upload_is_kept(client, app, own_draft, request_row):
    no, kk = own_draft
    r = upload(client, no, "kk", data=EXE, name="foto.jpg")
    assert r.status_code == 415
    html = r.get_data(as_text=True)
    assert "<title>Galat:" in html
    assert "Jenis berkas ini tidak dapat diterima" in html
    assert 'type="file"' in html and 'enctype="multipart/form-data"' in html  # the form, again
    assert 'id="current-document"' in html and "Sudah diunggah" in html  # and the earlier upload
    _assert_kept(app, request_row, no, kk)
    # A first upload that is refused leaves the requirement empty.
    r = upload(client, no, "surat_kehilangan_polisi", data=EXE, name="surat.pdf")
    assert r.status_code == 415
    assert "surat_kehilangan_polisi" not in request_row(no)[1]


def test_other_bad_files_are_4xx(client, app, own_draft, request_row):
    no, kk = own_draft
    for data, name in [(b"", "kosong.jpg"), (photo_bytes()[:200], "rusak.jpg"), (b"%PDF-1.4\n", "potong.pdf"),
                       (b"<html><script>alert(1)</script></html>", "x.jpg")]:
        r = upload(client, no, "kk", data=data, name=name)
        assert 400 <= r.status_code < 500, (name, r.status_code)
        assert '<html lang="id">' in r.get_data(as_text=True)
    r = client.post(f"/ajukan/{no}/dokumen/kk", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Pilih foto atau berkas PDF" in r.get_data(as_text=True)
    _assert_kept(app, request_row, no, kk)


def test_upload_over_15_mb_is_413_with_the_form(client, app, own_draft, request_row):
    no, kk = own_draft
    big = photo_bytes() + b"\x00" * (15 * 1024 * 1024)  # over 15 MB, under the 16 MB request limit
    r = upload(client, no, "kk", data=big)
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "Berkas terlalu besar" in html and "15 MB" in html and 'type="file"' in html
    _assert_kept(app, request_row, no, kk)


def test_request_over_the_body_limit_is_413_with_a_friendly_page(client, app, own_draft, request_row):
    no, kk = own_draft
    huge = b"\xff\xd8\xff" + b"\x00" * (17 * 1024 * 1024)
    r = upload(client, no, "kk", data=huge)
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "Berkas terlalu besar" in html and "15 MB" in html and '<html lang="id">' in html
    _assert_kept(app, request_row, no, kk)


def test_unknown_codes(client, own_draft):
    no, _ = own_draft
    r = client.post("/ajukan/", data={"service": "paspor", "client_token": "t-x"})
    assert r.status_code == 422
    assert "<title>Galat:" in r.get_data(as_text=True)
    r = client.post(f"/ajukan/{no}/layanan", data={"service": "paspor"})
    assert r.status_code == 422
    r = client.post(f"/ajukan/{no}/jenis", data={"variant": "tidak_ada"})
    assert r.status_code == 422
    for url in (f"/ajukan/{no}/dokumen/tidak_ada", f"/ajukan/{no}/dokumen/tidak_ada/sptjm"):
        if not url.endswith("/sptjm"):
            assert_friendly_404(client.get(url))
        assert_friendly_404(client.post(url, data={"file": (io.BytesIO(photo_bytes()), "foto.jpg")},
                                        content_type="multipart/form-data"))
    # A requirement of another variant is unknown here as well.
    assert client.get(f"/ajukan/{no}/dokumen/ktp_el_rusak").status_code == 404
    assert client.get("/ajukan/TIDAKADA00/periksa").status_code == 404
    with client.get(f"/permohonan/{no}/dokumen/bukan-angka") as r:
        assert r.status_code == 404
    with client.get(f"/permohonan/{no}/dokumen/999999999") as r:
        assert r.status_code == 404
    r = client.post(f"/ajukan/{no}/untuk", data={"person": "bukan-angka"})
    assert r.status_code == 422
    r = client.post("/bahasa", data={"lang": "xx"})
    assert r.status_code == 400 and "<html" in r.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["31-02-2024", "kemarin", "2024-13-45", "17/08"])
def test_malformed_date_in_apply_data_is_422_and_kept(client, own_draft, typed):
    no, _ = own_draft
    r = client.post(f"/ajukan/{no}/data", data={"tanggal_kehilangan": typed})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'value="{typed}"' in html
    assert "Tanggal tidak dikenali" in html and "<title>Galat:" in html


def test_malformed_birth_dates_are_422_and_kept(client, app, make_resident, make_staff, login):
    r = client.post("/daftar", data={**SIGNUP, "birth_date": "30-02-1990"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="30-02-1990"' in html and 'value="Rina Wati"' in html and "Tanggal tidak dikenali" in html

    login(make_resident())
    member = {"full_name": "Anak Dua", "nik": "", "birth_date": "32-13-2020", "sex": "P", "relation": "anak"}
    r = client.post("/keluarga/tambah", data=member)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="32-13-2020"' in html and 'value="Anak Dua"' in html

    c = app.test_client()
    login(make_staff("institution"), c)
    no = start_draft(c)
    person = {"full_name": "Orang Lain", "nik": "", "birth_date": "besok", "sex": "L", "kelurahan": KEL_TIMUR}
    r = c.post(f"/ajukan/{no}/untuk", data=person)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="besok"' in html and 'value="Orang Lain"' in html


def test_built_in_form_messages_are_indonesian(client, own_draft):
    no, _ = own_draft
    pages = [client.post("/ajukan/", data={"service": "paspor", "client_token": "t-y"}),   # "Not a valid choice."
             client.post(f"/ajukan/{no}/untuk", data={"person": "bukan-angka"})]            # "Invalid Choice: ..."
    client.post("/keluar")
    pages.append(client.post("/daftar", data={**SIGNUP, "rw": "tiga"}))                   # "Not a valid integer value."
    for r in pages:
        assert r.status_code == 422
        html = r.get_data(as_text=True)
        assert "Not a valid" not in html and "Invalid Choice" not in html


# --- 7. language -------------------------------------------------------------------------------


def _english_of(msgid: str) -> str | None:
    """The compiled English translation of msgid, or None while there is no compiled catalogue."""
    folder = Path(eopen.__file__).parent / "translations"
    if not (folder / "en" / "LC_MESSAGES" / "messages.mo").exists():
        return None
    from babel.support import Translations
    text = Translations.load(str(folder), ["en"]).gettext(msgid)
    return text if text != msgid else None


def test_language_switch_for_the_session(client):
    assert '<html lang="id">' in client.get("/masuk").get_data(as_text=True)
    r = client.post("/bahasa", data={"lang": "en", "next": "/masuk"})
    assert r.status_code == 303 and r.headers["Location"] == "/masuk"
    html = client.get("/masuk").get_data(as_text=True)
    assert '<html lang="en">' in html
    english = _english_of("Halaman tidak ditemukan")
    if english:  # a compiled English catalogue exists: the words change too, not only the attribute
        r = client.get("/tidak-ada")
        assert r.status_code == 404 and english in r.get_data(as_text=True)
    # Other sessions are not affected.
    assert '<html lang="id">' in client.application.test_client().get("/masuk").get_data(as_text=True)
    client.post("/bahasa", data={"lang": "id", "next": "/masuk"})
    assert '<html lang="id">' in client.get("/masuk").get_data(as_text=True)


def test_language_is_remembered_for_a_logged_in_user(client, app, make_resident, login):
    user = make_resident()
    login(user)
    r = client.post("/bahasa", data={"lang": "en", "next": "/keluarga"})
    assert r.status_code == 303
    assert '<html lang="en">' in client.get("/keluarga").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user).locale == "en"
    other = app.test_client()  # a new session of the same user
    login(user, other)
    assert '<html lang="en">' in other.get("/keluarga").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)", ""):
        r = client.post("/bahasa", data={"lang": "en", "next": target})
        assert r.status_code == 303 and r.headers["Location"] == "/", target
