"""The field mode without a connection, on a phone with JavaScript: actions wait on the phone and are sent
once when the connection returns; the job list stays readable; a refused action stays on the phone.

The satgas, the resident, the request and the pickup job are made directly in the live server's database
(the resident's own journey to a pickup is e2e/test_field_pages.py).
"""
import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

KELURAHAN = "32.75.01.1001"
WAITING = re.compile(r"\d+ tindakan menunggu dikirim")


@pytest.fixture
def make_pickup(live_server, new_resident):
    """make_pickup(satgas) → (job id, resident name): a pickup job for today held by the satgas."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RT, RW, FieldJob, Household, Person, ServiceRequest, User
    from eopen.services import numbers, sla
    from eopen.services.catalogue import get_catalogue

    def make(satgas, name="Budi Offline"):
        resident = new_resident(name)
        with live_server.app.app_context():
            satgas_id = db.session.scalar(select(User.id).where(User.username == satgas.username))
            rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
            rt = db.session.scalar(select(RT).where(RT.rw_id == rw.id, RT.number == 1))
            household = Household(no_kk=resident.no_kk, kelurahan_code=KELURAHAN, rw_id=rw.id, rt_id=rt.id,
                                  street="Jl. Kenanga 7")
            person = Person(nik=resident.nik, full_name=name, birth_date=resident.birth_date, sex="L",
                            relation="kepala_keluarga", household=household)
            user = User(role="resident", person=person, display_name=name, phone=resident.phone)
            user.set_password(resident.password)
            db.session.add(user)
            db.session.flush()
            service = get_catalogue().service("akta_kelahiran")
            req = ServiceRequest(tracking_no=numbers.new_tracking_no(), service_code=service.code,
                                 variant_code=service.variants[0].code, status="submitted", applicant_id=user.id,
                                 subject_person_id=person.id, subject_name=name, subject_nik=person.nik,
                                 subject_birth_date=person.birth_date, subject_sex="L", kelurahan_code=KELURAHAN,
                                 rw_id=rw.id, data={})
            db.session.add(req)
            db.session.flush()
            job = FieldJob(request_id=req.id, kind="pickup", status="requested", satgas_id=satgas_id, rw_id=rw.id,
                           preferred_date=sla.today_local(), time_window="08-12", address_note="Pagar hijau",
                           created_by_id=user.id)
            db.session.add(job)
            db.session.commit()
            return job.id, name
    return make


def job_state(live_server, job_id):
    from eopen.extensions import db
    from eopen.models import FieldJob
    with live_server.app.app_context():
        job = db.session.get(FieldJob, job_id)
        state = job.status, job.satgas_id
        db.session.remove()
        return state


def actions_of(live_server, action_id):
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import FieldAction
    with live_server.app.app_context():
        rows = db.session.scalars(select(FieldAction).where(FieldAction.client_action_id == action_id)).all()
        found = [(row.outcome, row.job_id, row.happened_at, row.received_at, row.message) for row in rows]
        db.session.remove()
        return found


def field_phone(fresh_context, log_in, satgas):
    context = fresh_context("phone")
    page = context.new_page()
    log_in(page, satgas.username)
    expect(page).to_have_url(re.compile(r"/lapangan/$"))
    return context, page


def queued_in_browser(page) -> int:
    """How many actions wait in the phone's IndexedDB (any user), read from the page."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("eopen-field");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains("queue")) { db.close(); resolve(0); return; }
            const count = db.transaction("queue").objectStore("queue").count();
            count.onsuccess = () => { db.close(); resolve(count.result); };
            count.onerror = () => reject(count.error);
        };
    })""")


def field_caches(page) -> list:
    return page.evaluate("() => caches.keys().then(keys => keys.filter(k => k.startsWith('eopen-field-')))")


def wait_until_kept(page, *paths):
    """Until the service worker has kept a copy of each path (e.g. "/lapangan/") and of the field's script."""
    deadline = time.monotonic() + 15
    for path in (*paths, "/static/js/field-queue.js", "/static/css/eopen.css"):
        # page.evaluate awaits the promise (wait_for_function would take the promise itself as true).
        while not page.evaluate("path => caches.match(location.origin + path).then(r => !!r)", path):
            assert time.monotonic() < deadline, f"the service worker did not keep {path}"
            page.wait_for_timeout(100)


def test_berangkat_offline_waits_on_the_phone_and_is_sent_once(fresh_context, live_server, staff_user, log_in,
                                                               make_pickup, axe):
    satgas = staff_user("satgas", "32.75.01", name="Satgas Luring Uji")
    job_id, name = make_pickup(satgas)
    context, page = field_phone(fresh_context, log_in, satgas)
    page.goto(f"/lapangan/tugas/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    action_id = page.locator(f'form[action$="/tugas/{job_id}/berangkat"] input[name="action_id"]').input_value()
    assert action_id

    context.set_offline(True)
    page.get_by_role("button", name="Berangkat sekarang").click()
    expect(page.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()
    expect(page.get_by_text(re.compile("disimpan di ponsel"))).to_be_visible()
    expect(page.get_by_role("button", name="Berangkat sekarang")).to_be_disabled()  # no second copy
    assert queued_in_browser(page) == 1
    assert job_state(live_server, job_id)[0] == "requested", "offline: the server has not heard of it"
    assert actions_of(live_server, action_id) == []
    axe(page, "field: an action waiting on the phone")

    time.sleep(1.5)  # the phone's time of the action must be what the server records, not when it arrived
    context.set_offline(False)
    expect(page.get_by_text("Terkirim: 1 tindakan.")).to_be_visible()
    expect(page.get_by_text(WAITING)).to_have_count(0)
    expect(page.get_by_text(re.compile("dalam perjalanan", re.I)).first).to_be_visible()  # the fresh page
    assert job_state(live_server, job_id)[0] == "on_the_way"
    rows = actions_of(live_server, action_id)
    assert len(rows) == 1, rows
    outcome, row_job, happened, received, _ = rows[0]
    assert (outcome, row_job) == ("accepted", job_id)
    assert received - happened >= timedelta(seconds=1), (happened, received)
    assert queued_in_browser(page) == 0

    page.reload()  # still sent once, nothing left to send
    expect(page.get_by_text(re.compile("dalam perjalanan", re.I)).first).to_be_visible()
    expect(page.get_by_text(WAITING)).to_have_count(0)
    assert len(actions_of(live_server, action_id)) == 1


def test_job_list_stays_readable_offline(fresh_context, live_server, staff_user, log_in, make_pickup):
    satgas = staff_user("satgas", "32.75.01", name="Satgas Daftar Uji")
    job_id, name = make_pickup(satgas, name="Citra Tersimpan")
    context, page = field_phone(fresh_context, log_in, satgas)
    expect(page.get_by_role("link", name=f"Jemput: {name}")).to_be_visible()
    wait_until_kept(page, "/lapangan/")

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Tugas hari ini", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=f"Jemput: {name}")).to_be_visible()
    expect(page.get_by_text(re.compile("Salinan offline"))).to_be_visible()

    # A page never opened online: the kept job list instead, saying so.
    page.goto(f"/lapangan/tugas/{job_id}")
    expect(page.get_by_role("link", name=f"Jemput: {name}")).to_be_visible()
    expect(page.get_by_text(re.compile("belum tersimpan di ponsel"))).to_be_visible()

    context.set_offline(False)
    page.goto(f"/lapangan/tugas/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_text(re.compile("Salinan offline|belum tersimpan"))).to_have_count(0)


def test_refused_action_stays_on_the_phone_with_the_reason(fresh_context, live_server, staff_user, log_in,
                                                           make_pickup, axe):
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import FieldJob, User

    satgas = staff_user("satgas", "32.75.01", name="Satgas Ditolak Uji")
    other = staff_user("satgas", "32.75.01", name="Satgas Pengganti Uji")
    job_id, name = make_pickup(satgas, name="Dedi Dialihkan")
    context, page = field_phone(fresh_context, log_in, satgas)
    page.goto(f"/lapangan/tugas/{job_id}")
    action_id = page.locator(f'form[action$="/tugas/{job_id}/berangkat"] input[name="action_id"]').input_value()

    context.set_offline(True)
    page.get_by_role("button", name="Berangkat sekarang").click()
    expect(page.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()

    # Meanwhile the office moves the job to another satgas.
    with live_server.app.app_context():
        job = db.session.get(FieldJob, job_id)
        me = job.satgas_id
        job.satgas_id = db.session.scalar(select(User.id).where(User.username == other.username))
        job.moved_from_id = me
        db.session.commit()
        db.session.remove()

    context.set_offline(False)
    rejected = page.locator(".fq-rejected")
    expect(rejected.get_by_role("heading", name="Tindakan yang ditolak")).to_be_visible()
    expect(rejected.get_by_text(re.compile(rf"Berangkat: {name}"))).to_be_visible()
    expect(rejected.get_by_text(re.compile("dialihkan ke Satgas Pamor lain"))).to_be_visible()
    expect(page.get_by_text(WAITING)).to_have_count(0)
    status, holder = job_state(live_server, job_id)
    assert status == "requested" and holder != me, "refused: the other satgas' job is untouched"
    rows = actions_of(live_server, action_id)
    assert [row[0] for row in rows] == ["rejected"], rows
    axe(page, "field: a refused action")

    # Not lost: after a reload (the job is no longer this satgas', so the job list) it is still listed.
    page.goto("/lapangan/")
    expect(rejected.get_by_text(re.compile("dialihkan ke Satgas Pamor lain"))).to_be_visible()
    page.reload()
    expect(rejected.get_by_text(re.compile(rf"Berangkat: {name}"))).to_be_visible()
    assert len(actions_of(live_server, action_id)) == 1, "a refused action is not sent again"

    # Read, then removed from the list by the satgas.
    rejected.get_by_role("button", name="Hapus dari daftar").click()
    expect(rejected).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", name="Tindakan yang ditolak")).to_have_count(0)


def test_logout_clears_the_kept_pages_but_not_the_waiting_actions(fresh_context, live_server, staff_user, log_in,
                                                                  make_pickup):
    satgas = staff_user("satgas", "32.75.01", name="Satgas Keluar Uji")
    job_id, name = make_pickup(satgas, name="Eka Menunggu")
    context, page = field_phone(fresh_context, log_in, satgas)
    wait_until_kept(page, "/lapangan/")
    page.goto(f"/lapangan/tugas/{job_id}")
    wait_until_kept(page, f"/lapangan/tugas/{job_id}")

    context.set_offline(True)
    page.get_by_role("button", name="Berangkat sekarang").click()
    expect(page.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()
    # The connection returns but sending fails (the server cannot be reached): the action keeps waiting.
    page.route(re.compile(r"/berangkat$"), lambda route: route.abort("connectionrefused"))
    context.set_offline(False)
    page.wait_for_timeout(1000)
    expect(page.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()

    warnings = []

    def answer(dialog):
        warnings.append(dialog.message)
        dialog.dismiss() if len(warnings) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Keluar").click()  # first: "cancel"
    page.wait_for_timeout(500)
    assert len(warnings) == 1 and "1 tindakan yang belum terkirim" in warnings[0], warnings
    expect(page).to_have_url(re.compile(rf"/lapangan/tugas/{job_id}$"))  # still logged in

    page.get_by_role("button", name="Keluar").click()  # then "OK"
    expect(page.get_by_role("navigation").get_by_role("link", name="Masuk")).to_be_visible()
    assert len(warnings) == 2
    assert field_caches(page) == [], "the kept field pages (personal data) are gone"
    assert queued_in_browser(page) == 1, "the action still waits on the phone"
    assert job_state(live_server, job_id)[0] == "requested"
    page.unroute_all()


def test_handover_with_a_photo_is_kept_with_the_photo(fresh_context, live_server, staff_user, log_in, make_pickup,
                                                      tmp_path):
    """A form with a file: the photo itself waits in IndexedDB and goes with the action (here the code is
    wrong, so the server refuses it and records what arrived, the photo's name included)."""
    from PIL import Image

    photo = tmp_path / "serah-terima.jpg"
    Image.new("RGB", (640, 480), (200, 180, 150)).save(photo, "JPEG", quality=80)
    satgas = staff_user("satgas", "32.75.01", name="Satgas Foto Uji")
    job_id, name = make_pickup(satgas, name="Fani Berfoto")
    context, page = field_phone(fresh_context, log_in, satgas)
    page.goto(f"/lapangan/tugas/{job_id}")
    page.get_by_role("link", name="Terima dokumen dari warga").click()
    expect(page.get_by_role("heading", name="Terima dokumen dari warga", level=1)).to_be_visible()
    action_id = page.locator('input[name="action_id"]').input_value()

    context.set_offline(True)
    page.locator('input[name="items"]').first.check()
    page.locator('input[name="other"]').fill("Map berisi surat lahir")
    page.locator('input[name="code"]').fill("000000")
    page.locator('input[name="photo"]').set_input_files(photo)
    page.get_by_role("button", name="Simpan serah terima").click()
    expect(page.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()
    kept = page.evaluate("""() => new Promise((resolve) => {
        indexedDB.open("eopen-field").onsuccess = (event) => {
            const all = event.target.result.transaction("queue").objectStore("queue").getAll();
            all.onsuccess = () => resolve(all.result.map((item) => item.fields
                .filter(([name, value]) => value instanceof File)
                .map(([name, value]) => [name, value.name, value.size])));
        };
    })""")
    assert kept == [[["photo", "serah-terima.jpg", photo.stat().st_size]]], kept

    context.set_offline(False)
    rejected = page.locator(".fq-rejected")
    expect(rejected.get_by_text(f"Serah terima: {name}", exact=False)).to_be_visible()
    expect(page.get_by_text(WAITING)).to_have_count(0)
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import FieldAction
    with live_server.app.app_context():
        row = db.session.scalar(select(FieldAction).where(FieldAction.client_action_id == action_id))
        assert row is not None and row.outcome == "rejected", row
        assert row.payload.get("photo", "").startswith("(file: serah-terima.jpg"), row.payload
        assert row.payload.get("other") == "Map berisi surat lahir"
        db.session.remove()
