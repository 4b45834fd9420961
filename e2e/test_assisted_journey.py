"""Assisted application in a real browser, on a 360 px phone: a Satgas Pamor fills in a KK request at the
resident's door with one photo, the resident agrees with their date of birth and NIK digits, then sees the
request sent and "Dibantu". Run with JavaScript on and off (the `phone` fixture); axe-clean on every assist page."""
import re

from playwright.sync_api import expect

KELURAHAN = "32.75.01.1001"  # the RW 1 the sign-up helper uses
UNKNOWN_NIK = "3275010101019999"


def _cover_rw_1(live_server, username):
    """Make the satgas RW 1's only satgas (other tests may have assigned somebody else)."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RW, SatgasAssignment, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas_id, kind="primary"))
        db.session.commit()


def test_satgas_assists_a_resident_at_the_door(phone, fresh_context, axe, sign_up, new_resident,
                                               phone_photo, staff_user, log_in, live_server):
    satgas = staff_user("satgas", "32.75.01", name="Sari Pamor Uji")
    _cover_rw_1(live_server, satgas.username)
    resident = new_resident(name="Rudi Hartono")
    home = fresh_context("phone").new_page()  # the resident's own phone
    sign_up(home, resident, check=False)

    page = phone.new_page()  # the satgas's phone, JavaScript on or off
    log_in(page, satgas.username)
    expect(page).to_have_url(re.compile(r"/lapangan/$"))
    page.goto("/lapangan/bantu")
    expect(page.get_by_role("heading", name="Bantu warga mengajukan", level=1)).to_be_visible()
    axe(page, "assist: start")

    # A NIK that is not a resident of the satgas's RW: one clear message, nothing else.
    page.get_by_label("NIK warga").fill(UNKNOWN_NIK)
    page.get_by_role("button", name="Cari warga").click()
    expect(page).to_have_title(re.compile(r"^Galat: "))
    expect(page.locator(".error-summary")).to_contain_text("tidak terdaftar di RW Anda")
    expect(page.get_by_label("NIK warga")).to_have_value(UNKNOWN_NIK)
    axe(page, "assist: unknown NIK")
    page.get_by_label("NIK warga").fill(resident.nik)
    page.get_by_role("button", name="Cari warga").click()

    expect(page).to_have_url(re.compile(r"/lapangan/bantu/warga/\d+$"))
    expect(page.get_by_text(resident.name, exact=True)).to_be_visible()
    axe(page, "assist: service")
    page.get_by_label("Kartu Keluarga (KK)", exact=True).check()
    page.get_by_role("button", name="Mulai mengisi").click()

    expect(page).to_have_url(re.compile(r"/ajukan/[^/]+/jenis$"))
    tracking_no = re.search(r"/ajukan/([^/]+)/jenis", page.url).group(1)
    page.get_by_label("KK hilang atau rusak", exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/untuk$"))
    axe(page, "assist: for whom (the resident's household)")
    page.get_by_label(resident.name, exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/data$"))
    page.get_by_label("Alasan").select_option("hilang")
    page.get_by_role("button", name="Simpan dan lanjut").click()

    # The photo of the police letter, taken at the door.
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/dokumen/bukti_hilang_rusak$"))
    axe(page, "assist: upload")
    page.get_by_label("Foto atau PDF dokumen").set_input_files(phone_photo)
    page.get_by_role("button", name="Unggah", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/periksa$"), timeout=60_000)

    # The draft waits on the start page until the resident agrees; the satgas resumes it from there.
    page.goto("/lapangan/bantu")
    page.get_by_role("link", name=re.compile(resident.name)).click()
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/periksa$"))
    expect(page.get_by_role("heading", name="Periksa kembali permohonan warga", level=1)).to_be_visible()
    axe(page, "assist: check and consent")

    # The resident sees who is filling it in, and their code (not needed here: no phone to hand).
    home.goto("/permohonan")
    home.get_by_role("link", name=re.compile("Kartu Keluarga")).first.click()
    expect(home.get_by_text(f"Satgas Pamor {satgas.name} membantu mengisi permohonan ini")).to_be_visible()
    expect(home.locator("#kode-warga .mono")).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    axe(home, "assist: the resident's code")

    # A wrong date of birth first: 422, the typed values kept.
    page.get_by_label("Tanggal lahir").fill("1991-06-16")
    page.get_by_label("4 angka terakhir NIK").fill(resident.nik[-4:])
    page.get_by_role("button", name="Kirim dengan tanggal lahir dan NIK").click()
    expect(page).to_have_title(re.compile(r"^Galat: "))
    expect(page.locator(".error-summary")).to_contain_text("tidak cocok")
    expect(page.get_by_label("4 angka terakhir NIK")).to_have_value(resident.nik[-4:])
    axe(page, "assist: wrong date of birth")
    page.get_by_label("Tanggal lahir").fill(resident.birth_date.isoformat())
    page.get_by_role("button", name="Kirim dengan tanggal lahir dan NIK").click()

    expect(page).to_have_url(re.compile(rf"/lapangan/bantu/{tracking_no}/terkirim$"))
    expect(page.get_by_role("heading", name="Permohonan warga terkirim", level=1)).to_be_visible()
    expect(page.get_by_text(tracking_no, exact=True)).to_be_visible()
    expect(page.get_by_text(f"Dibantu Satgas Pamor {satgas.name}")).to_be_visible()
    axe(page, "assist: sent")

    # The resident: submitted, and who helped.
    home.goto(f"/permohonan/{tracking_no}")
    expect(home.locator(".status")).to_have_text("Terkirim, menunggu diperiksa")
    expect(home.get_by_text(f"Dibantu Satgas Pamor {satgas.name}")).to_be_visible()

    # Nothing left waiting on the satgas's list.
    page.goto("/lapangan/bantu")
    expect(page.get_by_text("Tidak ada permohonan yang menunggu persetujuan warga.")).to_be_visible()
