"""Halo Pamor in real browsers (issue 5): a resident asks a question (with JavaScript a FAQ answer is
suggested while typing; without it, after the first submit), the Satgas Pamor of the resident's RW sees it
in their list and answers, the resident sees the bell count and the reply, closes the thread and rates it.
A 360 px phone for both, JavaScript on and off; axe-clean on every Halo Pamor page."""
import re

from playwright.sync_api import expect

KELURAHAN = "32.75.01.1001"  # the kelurahan and RW 1 the sign-up helper uses
KECAMATAN = "32.75.01"
FAQ_QUESTION = "Berapa lama KTP-el selesai?"
SUBJECT = "KTP-el belum jadi"
BODY = "Sudah seminggu KTP-el saya belum jadi. Berapa lama biasanya KTP-el selesai?"
ANSWER = "KTP-el Anda sudah dicetak. Silakan ambil di kantor kecamatan, atau minta diantar."


def prepare(live_server, satgas_username):
    """The satgas covers RW 1 as primary; the FAQ has an entry about how long a KTP-el takes."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RW, FaqEntry, SatgasAssignment, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas = db.session.scalar(select(User).where(User.username == satgas_username))
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas.id, kind="primary"))
        if db.session.scalar(select(FaqEntry).where(FaqEntry.question == FAQ_QUESTION)) is None:
            db.session.add(FaqEntry(category="ktp_el", question=FAQ_QUESTION, keywords="ektp lama jadi selesai",
                                    answer="Target kami satu hari kerja sejak permohonan lengkap diterima."))
        db.session.commit()


def thread_state(live_server, nik):
    from sqlalchemy import func, select

    from eopen.extensions import db
    from eopen.models import HaloThread, Notification, Person, User
    with live_server.app.app_context():
        user = db.session.scalar(select(User).join(Person, User.person_id == Person.id).where(Person.nik == nik))
        threads = db.session.scalars(select(HaloThread).where(HaloThread.resident_id == user.id)).all()
        unread = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                                             Notification.read_at.is_(None)))
        replies = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                                              Notification.kind == "halo_reply"))
        return [(t.status, t.rating, t.closed_by, len(t.messages)) for t in threads], unread, replies


def test_resident_asks_the_rw_satgas_answers(phone, phone_js, fresh_context, axe, sign_up, new_resident, staff_user,
                                             log_in, live_server):
    satgas = staff_user("satgas", KECAMATAN, name="Satgas Halo Uji")
    prepare(live_server, satgas.username)

    page = phone.new_page()
    resident = new_resident("Sari Pertiwi")
    sign_up(page, resident, check=False)

    page.goto("/halo/")
    expect(page.get_by_role("heading", name="Halo Pamor", level=1)).to_be_visible()
    axe(page, "halo: resident list (empty)")
    page.get_by_role("link", name="Kirim pertanyaan atau pengaduan").click()
    expect(page.get_by_role("heading", name="Kirim pertanyaan atau pengaduan", level=1)).to_be_visible()
    axe(page, "halo: new thread")
    page.get_by_role("button", name="Kirim", exact=True).click()  # nothing filled in: the errors, 422
    expect(page).to_have_title(re.compile(r"^Galat: "))
    expect(page.get_by_role("link", name="Pilih pertanyaan atau pengaduan.")).to_be_visible()
    axe(page, "halo: new thread with errors")
    page.get_by_label("Pertanyaan", exact=True).check()
    page.get_by_label("Tentang apa?").select_option("ktp_el")
    page.get_by_label("Judul singkat").fill(SUBJECT)
    page.get_by_label("Pesan Anda").fill(BODY)
    if phone_js:
        # The suggestion appears while typing (htmx), folded: the question is the summary.
        suggestion = page.locator("#faq-suggestions").get_by_text(FAQ_QUESTION)
        expect(suggestion).to_be_visible()
        expect(page.get_by_role("heading", name="Mungkin ini jawabannya")).to_be_visible()
        axe(page, "halo: new thread with suggestions")
        page.get_by_role("button", name="Kirim", exact=True).click()
    else:
        page.get_by_role("button", name="Kirim", exact=True).click()
        expect(page.get_by_role("heading", name="Mungkin ini jawabannya", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name=FAQ_QUESTION)).to_be_visible()
        axe(page, "halo: maybe this is the answer")
        page.get_by_role("button", name="Tetap kirim").click()
    expect(page).to_have_url(re.compile(r"/halo/\d+$"))
    expect(page.get_by_role("heading", name=SUBJECT, level=1)).to_be_visible()
    expect(page.get_by_text("Menunggu jawaban petugas", exact=True)).to_be_visible()
    axe(page, "halo: resident thread (waiting)")
    thread_url = page.url

    field = fresh_context("phone", js=phone_js).new_page()
    log_in(field, satgas.username)
    field.goto("/halo/kantor/")
    expect(field.get_by_role("heading", name="Halo Pamor", level=1)).to_be_visible()
    expect(field.get_by_text(re.compile(r"Dibuka \d+ menit yang lalu")).first).to_be_visible()
    axe(field, "halo: staff list")
    field.get_by_role("link", name=SUBJECT).first.click()
    expect(field.get_by_role("heading", name=SUBJECT, level=1)).to_be_visible()
    expect(field.get_by_text(BODY)).to_be_visible()
    axe(field, "halo: staff thread")
    field.get_by_label("Balasan Anda").fill(ANSWER)
    field.get_by_role("button", name="Kirim jawaban").click()
    expect(field.get_by_role("status").filter(has_text="Jawaban terkirim ke warga.")).to_be_visible()
    expect(field.get_by_text("Sudah dijawab", exact=True)).to_be_visible()

    _threads, unread, replies = thread_state(live_server, resident.nik)
    assert replies == 1 and unread >= 1
    page.goto("/halo/")
    expect(page.get_by_role("link", name=re.compile(r"^Notifikasi")).first).to_have_text(
        re.compile(rf"^Notifikasi \({unread}\)"))
    expect(page.get_by_text("Sudah dijawab", exact=True)).to_be_visible()
    axe(page, "halo: resident list (answered)")
    page.get_by_role("link", name=SUBJECT).click()
    expect(page).to_have_url(thread_url)
    expect(page.get_by_text(ANSWER)).to_be_visible()
    expect(page.get_by_text("Satgas Halo Uji")).to_be_visible()
    axe(page, "halo: resident thread (answered)")

    page.get_by_label("4 — Puas").check()
    page.get_by_role("button", name="Tutup percakapan").click()
    expect(page.get_by_role("status").filter(has_text="Percakapan ditutup.")).to_be_visible()
    expect(page.get_by_text("Penilaian Anda: 4 — Puas")).to_be_visible()
    expect(page.get_by_role("button", name="Kirim balasan")).to_have_count(0)
    axe(page, "halo: resident thread (closed and rated)")

    threads, _unread, _replies = thread_state(live_server, resident.nik)
    assert threads == [("closed", 4, "resident", 2)]


def overdue_thread(live_server, subject):
    """A resident's question of ten days ago that nobody answered, escalated by the worker's tick."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RT, RW, Household, Person, User, utcnow
    from eopen.services import halo
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 2))
        rt = db.session.scalar(select(RT).where(RT.rw_id == rw.id, RT.number == 1))
        household = Household(no_kk=f"3275011001{utcnow().strftime('%H%M%S')}", kelurahan_code=KELURAHAN,
                              rw_id=rw.id, rt_id=rt.id, street="Jl. Kenanga 5")
        person = Person(full_name="Warga Lama", birth_date=date(1980, 1, 1), sex="L", household=household)
        resident = User(role="resident", person=person, display_name="Warga Lama", password_hash="-")
        db.session.add(resident)
        db.session.flush()
        halo.open_thread(resident, kind="complaint", category="kk", subject=subject, body="Belum ada kabar.",
                         now=utcnow() - timedelta(days=10))
        halo.tick(utcnow())
        db.session.commit()


def test_admin_faq_and_penyelia_escalations(fresh_context, staff_user, log_in, axe, live_server):
    admin = staff_user("admin")
    page = fresh_context("desktop").new_page()
    log_in(page, admin.username)
    page.goto("/admin/")
    page.get_by_role("link", name="FAQ Halo Pamor").click()
    expect(page.get_by_role("heading", name="FAQ Halo Pamor", level=1)).to_be_visible()
    axe(page, "admin: FAQ list")
    page.get_by_role("link", name="Tambah FAQ").click()
    axe(page, "admin: new FAQ")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_title(re.compile(r"^Galat: "))
    axe(page, "admin: new FAQ with errors")
    page.get_by_label("Kategori").select_option("kia")
    page.get_by_label("Pertanyaan").fill("Apakah KIA wajib untuk bayi?")
    page.get_by_label("Jawaban").fill("KIA untuk anak di bawah 17 tahun. Untuk bayi, KIA tanpa foto.")
    page.get_by_label(re.compile(r"^Kata kunci")).fill("kia bayi anak")
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_role("status").filter(has_text="FAQ disimpan")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Apakah KIA wajib untuk bayi?")
    row.get_by_role("button", name=re.compile(r"^Nonaktifkan")).click()
    expect(page.get_by_role("status").filter(has_text="dinonaktifkan")).to_be_visible()
    expect(row.get_by_text("Nonaktif", exact=True)).to_be_visible()
    axe(page, "admin: FAQ list after deactivating")

    subject = "KK lama belum dibalas"
    overdue_thread(live_server, subject)
    penyelia = staff_user("penyelia", KECAMATAN)
    office = fresh_context("desktop").new_page()
    log_in(office, penyelia.username)
    office.goto("/halo/kantor/")
    expect(office.get_by_text("Terlambat: belum dijawab lebih dari satu hari kerja").first).to_be_visible()
    office.get_by_role("link", name="Pesan yang terlambat dan diteruskan ke penyelia").click()
    expect(office.get_by_role("heading", level=1)).to_have_text("Halo Pamor: terlambat dan diteruskan")
    expect(office.get_by_role("link", name=subject)).to_be_visible()
    axe(office, "halo: penyelia escalations")
    office.get_by_role("link", name=subject).click()
    expect(office.get_by_text("Diteruskan ke penyelia", exact=True)).to_be_visible()
    axe(office, "halo: staff thread, overdue")
