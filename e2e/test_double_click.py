"""A double click on every create button makes exactly one thing (issue 6).

Each button is double-clicked in a real browser, then the live server's database is counted.
- JavaScript on: ``locator.dblclick()``; enhance.js (upload.js for uploads, field-queue.js in the field
  mode) lets a form go once, so the server sees one POST.
- JavaScript off: Chromium folds a ``dblclick()`` into one POST (the second submit replaces the first
  before its request leaves), so the double tap that does hurt is played instead: the first POST
  reaches the server but its answer is held back (a slow network), the second click comes while the
  form is still on screen, and the browser sends the form again. Only the server stops the second one.
  (Two POSTs at the same instant, rather than one after the other, are in tests/test_idempotency.py.)

What the click needs first (an account, a draft, a job...) is made directly in the database: the UI
paths to it are covered by the journeys. At the end a table says, per button and mode, how many POSTs
reached the server and how many rows were made.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

KELURAHAN = "32.75.01.1001"
KECAMATAN = "32.75.01"

RESULTS: list[tuple[str, str, int, int]] = []  # (button, mode, POSTs received, rows made)


@pytest.fixture(scope="module", autouse=True)
def table(request):
    """Prints the table of button → POSTs received → rows made when the module is done."""
    yield
    if not RESULTS:
        return
    lines = ["", f"{'button':<38} {'mode':<5} {'POSTs':>5} {'rows':>4}"]
    lines += [f"{button:<38} {mode:<5} {posts:>5} {rows:>4}" for button, mode, posts, rows in RESULTS]
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


JS = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


# --- set-up through the database --------------------------------------------------------------------

def count(live_server, model, *where) -> int:
    from eopen.extensions import db
    with live_server.app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def resident_in_db(live_server, resident) -> int:
    """The resident's account with a household in RW 1 / RT 1 of KELURAHAN; returns the user id."""
    from eopen.extensions import db
    from eopen.models import RT, RW, Household, Person, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        rt = db.session.scalar(select(RT).where(RT.rw_id == rw.id, RT.number == 1))
        household = Household(no_kk=resident.no_kk, kelurahan_code=KELURAHAN, rw_id=rw.id, rt_id=rt.id,
                              street="Jl. Melati 3")
        person = Person(nik=resident.nik, full_name=resident.name, birth_date=resident.birth_date, sex="L",
                        relation="kepala_keluarga", household=household)
        from eopen.services import identity
        user = User(role="resident", person=person, display_name=resident.name,
                    phone=identity.normalise_phone(resident.phone))
        user.set_password(resident.password)
        db.session.add(user)
        db.session.commit()
        return user.id


def make_primary(live_server, username: str) -> int:
    from eopen.extensions import db
    from eopen.models import RW, SatgasAssignment, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas = db.session.scalar(select(User).where(User.username == username))
        satgas.kecamatan_code = KECAMATAN
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas.id, kind="primary"))
        db.session.commit()
        return satgas.id


def ktp_request(live_server, user_id: int, *, status: str = "draft", documents: bool = False) -> tuple[int, str]:
    """A KTP-el replacement (damaged card) for the resident, in ``status``; with both files if asked."""
    from PIL import Image

    from eopen.extensions import db
    from eopen.models import ServiceRequest, User
    from eopen.services import applications, lifecycle, numbers, uploads
    with live_server.app.app_context():
        user = db.session.get(User, user_id)
        person = user.person
        req = ServiceRequest(tracking_no=numbers.new_tracking_no(), service_code="ktp_el", variant_code="rusak",
                             status="draft", applicant_id=user.id, subject_person_id=person.id,
                             subject_name=person.full_name, subject_nik=person.nik,
                             subject_birth_date=person.birth_date, subject_sex=person.sex,
                             kelurahan_code=KELURAHAN, rw_id=person.household.rw_id, data={"_saved": "1"})
        db.session.add(req)
        db.session.flush()
        if documents:
            buf = io.BytesIO()
            Image.new("RGB", (640, 480), (210, 200, 190)).save(buf, "JPEG")
            variant = applications.variant_of(req)
            for requirement in variant.requirements:
                normalised = uploads.normalise_upload(buf.getvalue(), max_input_bytes=10_000_000,
                                                      max_output_bytes=2_000_000)
                applications.attach_file(req, requirement, normalised, "foto.jpg", user,
                                         live_server.app.config["UPLOAD_FOLDER"])
        if status != "draft":
            lifecycle.perform(req, "submit", user)
        db.session.commit()
        return req.id, req.tracking_no


def next_working_day() -> date:
    from eopen.services import sla
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


# --- the double click ---------------------------------------------------------------------------------

def double_click(live_server, page: Page, button, path_pattern: str, js: bool) -> int:
    """Double-clicks ``button`` (see the module's docstring for JavaScript off); returns how many POSTs
    to ``path_pattern`` the server received."""
    mark = len(live_server.bodies.posts)
    if js:
        button.dblclick()
        page.wait_for_load_state()
        page.wait_for_timeout(400)  # a second POST still on its way is counted too
        return len(live_server.bodies.since(mark, path_pattern))
    held: list = []

    def hold_first(route):
        if route.request.method == "POST" and not held:
            held.append(route.fetch(max_redirects=0))  # the server has answered; the browser waits
            held.append(route)
        else:
            route.fallback()

    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.route("**/*", hold_first)
    try:
        page.mouse.click(x, y)
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(25)
        assert held, "the first POST never left the browser"
        page.mouse.click(x, y)  # the second click: the page still shows the form
        page.wait_for_load_state()
    finally:
        page.unroute("**/*", hold_first)
        if len(held) == 2:
            try:
                held[1].abort()  # the browser gave up on the first answer when the form went again
            except Exception:  # noqa: BLE001 - already cancelled by the navigation
                pass
    page.wait_for_timeout(200)
    return len(live_server.bodies.since(mark, path_pattern))


def record(name: str, js: bool, posts: int, rows: int) -> None:
    RESULTS.append((name, "js" if js else "nojs", posts, rows))
    assert posts >= 1, f"{name}: the form was not sent"
    assert rows == 1, f"{name}: {rows} rows made by a double click"


def resident_page(fresh_context, js: bool, log_in, live_server, new_resident, name: str):
    resident = new_resident(name)
    user_id = resident_in_db(live_server, resident)
    page = fresh_context("phone", js=js).new_page()
    log_in(page, resident.nik, resident.password)
    return page, resident, user_id


# --- the buttons --------------------------------------------------------------------------------------

@JS
def test_sign_up(js, fresh_context, new_resident, live_server):
    from eopen.models import Person, User
    resident = new_resident("Sari Dobel")
    page = fresh_context("phone", js=js).new_page()
    page.goto("/daftar")
    page.get_by_label("NIK", exact=True).fill(resident.nik)
    page.get_by_label("Nomor Kartu Keluarga (No. KK)").fill(resident.no_kk)
    page.get_by_label("Nama lengkap").fill(resident.name)
    page.get_by_label("Tanggal lahir").fill(resident.birth_date.isoformat())
    page.get_by_label("Laki-laki").check()
    page.get_by_label("Nomor HP").fill(resident.phone)
    page.get_by_label("Kelurahan").select_option(KELURAHAN)
    page.get_by_label("RW", exact=True).fill("1")
    page.get_by_label("RT", exact=True).fill("2")
    page.get_by_label("Alamat jalan").fill("Jl. Melati 3")
    page.get_by_label("Kata sandi", exact=True).fill(resident.password)
    page.get_by_label("Ulangi kata sandi").fill(resident.password)
    posts = double_click(live_server, page, page.get_by_role("button", name="Buat akun"), r"^/daftar$", js)
    # The replayed sign-up is "account made" too: it leads home, logged in.
    expect(page).to_have_url(re.compile(r"/(keluarga)?$"))
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    rows = count(live_server, User, User.person_id.in_(select(Person.id).where(Person.nik == resident.nik)))
    assert count(live_server, Person, Person.nik == resident.nik) == 1
    record("Buat akun (sign-up)", js, posts, rows)


@JS
def test_new_draft(js, fresh_context, new_resident, log_in, live_server):
    from eopen.models import ServiceRequest
    page, _resident, user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Budi Draf")
    page.goto("/ajukan/")
    page.get_by_label("Akta Kelahiran", exact=True).check()
    posts = double_click(live_server, page, page.get_by_role("button", name="Lanjut"), r"^/ajukan/$", js)
    expect(page).not_to_have_url(re.compile(r"/ajukan/$"))
    record("Lanjut (new draft)", js, posts, count(live_server, ServiceRequest, ServiceRequest.applicant_id == user_id))


@JS
def test_upload(js, fresh_context, new_resident, log_in, live_server, tmp_path):
    from PIL import Image

    from eopen.models import RequestDocument
    page, _resident, user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Tari Unggah")
    req_id, no = ktp_request(live_server, user_id)
    photo = tmp_path / "kk.jpg"
    Image.new("RGB", (800, 600), (220, 210, 200)).save(photo, "JPEG")
    page.goto(f"/ajukan/{no}/dokumen/kk")
    page.get_by_label("Foto atau PDF dokumen").set_input_files(photo)
    posts = double_click(live_server, page, page.get_by_role("button", name="Unggah", exact=True),
                         rf"^/ajukan/{no}/dokumen/kk$", js)
    expect(page).not_to_have_url(re.compile(r"/dokumen/kk$"), timeout=30_000)
    page.wait_for_timeout(300)
    rows = count(live_server, RequestDocument, RequestDocument.request_id == req_id)
    stored = sorted(p.name for p in (live_server.root / "uploads").rglob("*") if p.is_file())
    with live_server.app.app_context():
        from eopen.extensions import db
        name = db.session.scalar(select(RequestDocument.storage_name).where(RequestDocument.request_id == req_id))
    assert name in stored
    record("Unggah (upload)", js, posts, rows)


@JS
def test_submit(js, fresh_context, new_resident, log_in, live_server):
    from eopen.models import Event, ServiceRequest
    page, _resident, user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Dodi Kirim")
    req_id, no = ktp_request(live_server, user_id, documents=True)
    page.goto(f"/ajukan/{no}/periksa")
    posts = double_click(live_server, page, page.get_by_role("button", name="Kirim permohonan"),
                         rf"^/ajukan/{no}/periksa$", js)
    expect(page).not_to_have_url(re.compile(r"/periksa$"))
    with live_server.app.app_context():
        from eopen.extensions import db
        assert db.session.get(ServiceRequest, req_id).status == "submitted"
    record("Kirim permohonan (submit event)", js, posts,
           count(live_server, Event, Event.request_id == req_id, Event.action == "submit"))


@JS
def test_household_member(js, fresh_context, new_resident, log_in, live_server):
    from eopen.models import Person
    page, resident, _user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Eka Keluarga")
    child = f"Bayi {resident.nik[-4:]}"
    page.goto("/keluarga/tambah")
    page.get_by_label("Nama lengkap").fill(child)
    page.get_by_label("Tanggal lahir").fill((date.today() - timedelta(days=10)).isoformat())
    page.get_by_label("Perempuan").check()
    page.get_by_label("Hubungan dalam keluarga").select_option("anak")
    posts = double_click(live_server, page, page.get_by_role("button", name="Simpan"), r"^/keluarga/tambah$", js)
    expect(page).to_have_url(re.compile(r"/keluarga$"))
    record("Simpan (household member)", js, posts, count(live_server, Person, Person.full_name == child))


@JS
def test_jemput_antar(js, fresh_context, new_resident, log_in, live_server, staff_user):
    from eopen.models import FieldJob
    satgas = staff_user("satgas", KECAMATAN)
    make_primary(live_server, satgas.username)
    page, _resident, user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Fajar Jemput")
    req_id, no = ktp_request(live_server, user_id, status="submitted", documents=True)
    page.goto(f"/permohonan/{no}")
    page.get_by_role("link", name="Minta dijemput/diantar Satgas Pamor").click()
    page.get_by_label(re.compile(r"^Dijemput")).check()
    page.get_by_label("Tanggal kunjungan").fill(next_working_day().isoformat())
    page.get_by_label("Pagi 08.00–12.00").check()
    posts = double_click(live_server, page, page.get_by_role("button", name="Kirim permintaan"),
                         rf"^/permohonan/{no}/jemput-antar$", js)
    expect(page.locator("#kode-serah-terima")).to_be_visible()
    record("Kirim permintaan (jemput-antar job)", js, posts, count(live_server, FieldJob, FieldJob.request_id == req_id))


@JS
def test_halo_thread_and_reply(js, fresh_context, new_resident, log_in, live_server, staff_user):
    from eopen.models import HaloMessage, HaloThread
    satgas = staff_user("satgas", KECAMATAN)
    make_primary(live_server, satgas.username)
    page, resident, user_id = resident_page(fresh_context, js, log_in, live_server, new_resident, "Gita Halo")
    subject = f"Lampu gang padam {resident.nik[-4:]}"
    page.goto("/halo/baru")
    page.get_by_label("Pertanyaan", exact=True).check()
    page.get_by_label("Tentang apa?").select_option("lainnya")
    page.get_by_label("Judul singkat").fill(subject)
    page.get_by_label("Pesan Anda").fill("Sejak kemarin lampu di gang kami padam, ke mana saya melapor?")
    posts = double_click(live_server, page, page.get_by_role("button", name="Kirim", exact=True), r"^/halo/baru$", js)
    anyway = page.get_by_role("button", name="Tetap kirim")
    if anyway.count():  # a suggested answer first (a FAQ of another test matched): this button creates
        posts = double_click(live_server, page, anyway, r"^/halo/baru$", js)
    expect(page).to_have_url(re.compile(r"/halo/\d+$"))
    threads = count(live_server, HaloThread, HaloThread.resident_id == user_id)
    record("Kirim (Halo Pamor thread)", js, posts, threads)
    thread_id = int(re.search(r"/halo/(\d+)$", page.url).group(1))

    page.get_by_label("Balasan Anda").fill("Tambahan: lampu di depan nomor 12.")
    posts = double_click(live_server, page, page.get_by_role("button", name="Kirim balasan"),
                         rf"^/halo/{thread_id}/balas$", js)
    expect(page).to_have_url(re.compile(rf"/halo/{thread_id}(#.*)?$"))
    replies = count(live_server, HaloMessage, HaloMessage.thread_id == thread_id) - 1  # minus the question
    record("Kirim balasan (Halo Pamor reply)", js, posts, replies)


@JS
def test_field_handover(js, fresh_context, new_resident, log_in, live_server, staff_user):
    from eopen.extensions import db
    from eopen.models import FieldJob, Handover, ServiceRequest, User
    from eopen.services import custody
    satgas = staff_user("satgas", KECAMATAN)
    satgas_id = make_primary(live_server, satgas.username)
    resident = new_resident("Hadi Serah")
    user_id = resident_in_db(live_server, resident)
    req_id, _no = ktp_request(live_server, user_id, status="submitted", documents=True)
    with live_server.app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        job = FieldJob(request_id=req_id, kind="pickup", status="requested", satgas_id=satgas_id, rw_id=req.rw_id,
                       preferred_date=next_working_day(), time_window="08-12", created_by_id=user_id)
        db.session.add(job)
        code = custody.resident_code(req).code
        db.session.commit()
        job_id = job.id
        assert db.session.get(User, satgas_id).role == "satgas"
    field = fresh_context("phone", js=js).new_page()
    log_in(field, satgas.username)
    field.goto(f"/lapangan/tugas/{job_id}/serah-terima")
    field.get_by_label("KTP-el yang rusak").check()
    field.get_by_label("Kode dari warga").fill(code)
    posts = double_click(live_server, field, field.get_by_role("button", name="Simpan serah terima"),
                         rf"^/lapangan/tugas/{job_id}/serah-terima$", js)
    expect(field).not_to_have_url(re.compile(r"/serah-terima$"))
    with live_server.app.app_context():
        assert db.session.get(FieldJob, job_id).status == "done"
    record("Simpan serah terima (handover)", js, posts, count(live_server, Handover, Handover.request_id == req_id))


@JS
def test_back_office_decision(js, fresh_context, new_resident, log_in, live_server, staff_user):
    from eopen.extensions import db
    from eopen.models import Event, ServiceRequest, User
    from eopen.services import lifecycle
    operator = staff_user("operator", KECAMATAN)
    resident = new_resident("Indah Tolak")
    user_id = resident_in_db(live_server, resident)
    req_id, no = ktp_request(live_server, user_id, status="submitted", documents=True)
    with live_server.app.app_context():
        staff = db.session.scalar(select(User).where(User.username == operator.username))
        lifecycle.perform(db.session.get(ServiceRequest, req_id), "claim", staff)
        db.session.commit()
    office = fresh_context("desktop", js=js).new_page()
    log_in(office, operator.username)
    office.goto(f"/kantor/permohonan/{no}")
    decisions = office.get_by_role("region", name="Keputusan")
    decisions.get_by_text("Tolak permohonan", exact=True).first.click()  # opens the <details>
    decisions.get_by_label("Alasan penolakan").fill("Bukan penduduk Kota Bekasi.")
    posts = double_click(live_server, office, decisions.get_by_role("button", name="Tolak permohonan"),
                         rf"^/kantor/permohonan/{no}/keputusan$", js)
    expect(office).to_have_url(re.compile(r"/kantor/antrean$"))
    with live_server.app.app_context():
        assert db.session.get(ServiceRequest, req_id).status == "rejected"
    record("Tolak permohonan (decision event)", js, posts,
           count(live_server, Event, Event.request_id == req_id, Event.action == "reject"))
