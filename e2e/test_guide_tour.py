"""The help guide's tour: the real journeys, walked once more to photograph every screen the guide shows.

Residents on a 360 px phone (JavaScript on), staff on an office screen (1024 px wide, so the pictures stay
legible when made smaller), the Satgas Pamor on a phone. `shot()` (e2e/guide.py) saves a PNG only under
`make guide` (EOPEN_GUIDE_SHOTS set); in the normal suite these tests are a quick smoke test of the same
journeys. The shot names are the ones eopen/help/pages.py refers to; tests/test_help.py checks that every
one of them exists as a picture.

Only the e2e suite's made-up people (names, NIKs and phone numbers from its fixtures) appear on screen.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from guide import shot
from journeys import open_when_issued, submitted_ktp_request
from playwright.sync_api import Page, expect

from eopen.services.catalogue import get_catalogue

KELURAHAN = "32.75.01.1001"  # where the residents of the e2e fixtures live (RW 1)
KECAMATAN = "32.75.01"       # Bekasi Timur
OFFICE = {"viewport": {"width": 1024, "height": 700}, "device_scale_factor": 1, "is_mobile": False,
          "has_touch": False, "locale": "id-ID"}
MOTHER_NIK = "3275015505900008"  # a woman born 15-05-1990 (day + 40), as in conftest
RETURNED = "Buku nikah atau akta perkawinan orang tua"


@pytest.fixture
def office(browser, base_url):
    """office() → a new page on an office screen, closed when the test ends."""
    contexts = []

    def make() -> Page:
        ctx = browser.new_context(**OFFICE, base_url=base_url)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def phone_page(fresh_context) -> Page:
    return fresh_context("phone").new_page()


def staff_home(page: Page, log_in, staff) -> None:
    log_in(page, staff.username)
    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Kantor").click()
    expect(page).to_have_url(re.compile(r"/kantor/.+"))


def sign_up_with_shots(page: Page, resident) -> None:
    page.goto("/")
    expect(page.get_by_role("link", name="Daftar akun")).to_be_visible()
    shot(page, "home")
    page.get_by_role("link", name="Daftar akun").click()
    expect(page.get_by_role("heading", name="Daftar akun", level=1)).to_be_visible()
    nik = page.get_by_label("NIK", exact=True)
    nik.fill(resident.nik)
    page.get_by_label("Nomor Kartu Keluarga (No. KK)").fill(resident.no_kk)
    page.get_by_label("Nama lengkap").fill(resident.name)
    page.get_by_label("Tanggal lahir").fill(resident.birth_date.isoformat())
    page.get_by_label("Laki-laki").check()
    shot(page, "signup-identity", at=page.get_by_role("heading", name="Daftar akun", level=1))
    phone_number = page.get_by_label("Nomor HP")
    phone_number.fill(resident.phone)
    page.get_by_label("Kelurahan").select_option(KELURAHAN)
    page.get_by_label("RW", exact=True).fill("1")
    page.get_by_label("RT", exact=True).fill("2")
    page.get_by_label("Alamat jalan").fill("Jl. Melati 3")
    shot(page, "signup-address", at=phone_number)
    password = page.get_by_label("Kata sandi", exact=True)
    password.fill(resident.password)
    page.get_by_label("Ulangi kata sandi").fill(resident.password)
    shot(page, "signup-password", at=password)
    page.get_by_role("button", name="Buat akun").click()
    expect(page).to_have_url(re.compile(r"/keluarga$"))
    expect(page.get_by_role("status").filter(has_text="Akun Anda sudah dibuat")).to_be_visible()
    shot(page, "household")


def add_member(page: Page, name: str, born: date, sex: str, relation: str, picture: str | None = None) -> None:
    page.goto("/keluarga")
    page.get_by_role("link", name="Tambah anggota keluarga").click()
    page.get_by_label("Nama lengkap").fill(name)
    page.get_by_label("Tanggal lahir").fill(born.isoformat())
    page.get_by_label(sex, exact=True).check()
    page.get_by_label("Hubungan dalam keluarga").select_option(relation)
    if picture:
        shot(page, picture)
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/keluarga$"))
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


def upload(page: Page, photo) -> None:
    url = page.url
    page.get_by_label("Foto atau PDF dokumen").set_input_files(photo)
    page.get_by_role("button", name="Unggah", exact=True).click()
    expect(page).not_to_have_url(url, timeout=60_000)


def next_working_day():
    from eopen.services import sla
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


# --- a resident applies, the office returns a document, verifies and issues --------------------------

def test_tour_resident_and_office(fresh_context, office, new_resident, staff_user, log_in, phone_photo):
    resident = new_resident("Rudi Hartono")
    operator = staff_user("operator", KECAMATAN, name="Dewi Lestari")
    kasi, kabid, kadis = (staff_user("kasi", name="Hendra Gunawan"), staff_user("kabid", name="Sri Wahyuni"),
                          staff_user("kadis", name="Agus Prasetyo"))

    page = phone_page(fresh_context)
    sign_up_with_shots(page, resident)
    child = "Bayi " + resident.name.split()[0]
    add_member(page, child, date.today() - timedelta(days=10), "Perempuan", "anak", picture="add-member")

    # Apply for the child's akta kelahiran, photographing the upload pages.
    page.goto("/keluarga")
    page.get_by_role("link", name="Ajukan permohonan", exact=True).click()
    page.get_by_label("Akta Kelahiran", exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(re.compile(r"/ajukan/[^/]+/untuk$"))
    tracking_no = re.search(r"/ajukan/([^/]+)/untuk", page.url).group(1)
    page.get_by_label(child, exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/data$"))
    page.get_by_label("Tempat lahir").fill("Kota Bekasi")
    page.get_by_label("Jam lahir").fill("08:30")
    page.get_by_label("Jenis kelahiran").select_option("tunggal")
    page.get_by_label("Anak ke-").fill("1")
    page.get_by_label("Penolong kelahiran").select_option("bidan")
    page.get_by_label("Berat bayi saat lahir (kg)").fill("3,2")
    page.get_by_label("Panjang bayi saat lahir (cm)").fill("49")
    page.get_by_label("Nama lengkap ayah").fill(resident.name)
    page.get_by_label("NIK ayah").fill(resident.nik)
    page.get_by_label("Nama lengkap ibu").fill("Rina Wati")
    page.get_by_label("NIK ibu").fill(MOTHER_NIK)
    page.get_by_role("button", name="Simpan dan lanjut").click()

    expect(page).to_have_url(re.compile(r"/dokumen/surat_keterangan_lahir$"))
    expect(page.get_by_text("dokumen 1 dari 3")).to_be_visible()
    shot(page, "upload-document")
    page.get_by_label("Foto atau PDF dokumen").set_input_files(phone_photo)
    shot(page, "upload-chosen", at=page.get_by_label("Foto atau PDF dokumen"))
    page.get_by_role("button", name="Unggah", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dokumen/bukti_perkawinan$"), timeout=60_000)
    page.get_by_text("Tidak punya dokumen ini? Ganti dengan SPTJM").click()
    expect(page.get_by_role("button", name="Buat SPTJM")).to_be_visible()
    shot(page, "upload-sptjm", at=page.locator("details.sptjm"))
    upload(page, phone_photo)
    expect(page).to_have_url(re.compile(r"/dokumen/kk$"))
    upload(page, phone_photo)
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/periksa$"))
    shot(page, "apply-check-documents", at=page.get_by_role("heading", name="Dokumen", exact=True))

    # Sent: the number, the receipt, the list and the status page.
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.get_by_role("heading", name="Permohonan terkirim", level=1)).to_be_visible()
    shot(page, "confirmation")
    page.get_by_role("link", name="Lihat dan cetak tanda terima").click()
    expect(page.locator(".qr svg")).to_have_count(1)
    shot(page, "receipt")
    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Permohonan saya").click()
    expect(page.get_by_text(tracking_no).first).to_be_visible()
    shot(page, "requests")
    page.goto(f"/permohonan/{tracking_no}")
    expect(page.locator(".status").first).to_contain_text("Terkirim")
    shot(page, "status")

    # The operator: the queue, the review page, one document returned.
    op = office()
    staff_home(op, log_in, operator)
    expect(op.get_by_role("heading", name="Antrean permohonan", level=1)).to_be_visible()
    op.get_by_label("Cari nomor permohonan, NIK atau nama").fill(tracking_no)
    op.get_by_role("button", name="Terapkan").click()
    expect(op.get_by_text("1 permohonan", exact=True)).to_be_visible()
    row = op.get_by_role("row").filter(has_text=tracking_no)
    expect(row).to_have_count(1)
    shot(op, "operator-queue")
    row.get_by_role("button", name=f"Ambil {tracking_no}").click()
    expect(op).to_have_url(re.compile(rf"/kantor/permohonan/{tracking_no}$"))
    shot(op, "operator-review")
    for label in ("Surat keterangan lahir", "Kartu Keluarga (KK)"):
        judge(op, label, accept=True)
    document = op.get_by_role("article", name=RETURNED)
    document.get_by_label("Kembalikan", exact=True).check()
    document.get_by_label("Alasan dikembalikan").select_option("buram")
    document.get_by_label("Catatan untuk warga").fill("Halaman nama orang tua buram. Foto ulang di tempat terang.")
    shot(op, "operator-document", at=document.locator("form.doc-verdict"), block="center")
    document.get_by_role("button", name="Simpan penilaian").click()
    expect(op.get_by_role("status").filter(has_text=f"{RETURNED} ditandai untuk dikembalikan.")).to_be_visible()
    decisions = op.get_by_role("region", name="Keputusan")
    decisions.get_by_label("Catatan umum untuk warga").fill("Mohon ganti foto buku nikah.")
    shot(op, "operator-decision", at=decisions)
    decisions.get_by_role("button", name="Kembalikan untuk diperbaiki").click()
    expect(op).to_have_url(re.compile(r"/kantor/antrean$"))

    # The resident hears of it, replaces the photo and sends the correction.
    page.goto("/notifikasi")
    expect(page.get_by_role("heading", name="Notifikasi", level=1)).to_be_visible()
    shot(page, "notifications")
    page.goto(f"/permohonan/{tracking_no}")
    expect(page.locator("#perbaikan")).to_be_visible()
    shot(page, "status-revision")
    page.get_by_role("link", name="Perbaiki permohonan").click()
    item = page.get_by_role("region", name=RETURNED)
    item.get_by_label("Foto atau PDF pengganti").set_input_files(phone_photo)
    shot(page, "revision")
    item.get_by_role("button", name="Unggah").click()
    expect(page.get_by_role("region", name=RETURNED).get_by_text("Sudah diganti")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Kirim perbaikan").click()
    expect(page.get_by_role("status").filter(has_text="Perbaikan terkirim.")).to_be_visible()

    # The operator approves; Kasi and Kabid one by one, the Kadis in a batch.
    op.goto(f"/kantor/antrean?q={tracking_no}")
    op.get_by_role("row").filter(has_text=tracking_no).get_by_role("button", name=f"Ambil {tracking_no}").click()
    judge(op, RETURNED, accept=True)
    decisions = op.get_by_role("region", name="Keputusan")
    decisions.get_by_label("Catatan untuk verifikator").fill("Dokumen lengkap dan sesuai.")
    decisions.get_by_role("button", name="Setujui permohonan").click()
    expect(op.get_by_role("status").filter(has_text=f"Permohonan {tracking_no} disetujui.")).to_be_visible()

    for verifier, pictures in ((kasi, True), (kabid, False)):
        vp = office()
        staff_home(vp, log_in, verifier)
        expect(vp).to_have_url(re.compile(r"/kantor/verifikasi$"))
        if pictures:
            shot(vp, "verify-queue")
        vp.get_by_role("row").filter(has_text=tracking_no).get_by_role("link", name=tracking_no).click()
        expect(vp).to_have_url(re.compile(rf"/kantor/verifikasi/{tracking_no}$"))
        if pictures:
            shot(vp, "verify-request")
            shot(vp, "verify-decision", at=vp.get_by_role("heading", name="Keputusan Anda"))
        vp.get_by_role("button", name="Setujui permohonan ini").click()
        expect(vp).to_have_url(re.compile(r"/kantor/verifikasi$"))
        vp.context.close()
    vp = office()
    staff_home(vp, log_in, kadis)
    vp.get_by_role("checkbox", name=f"Pilih {tracking_no}").check()
    shot(vp, "verify-batch")
    vp.get_by_role("button", name="Setujui yang dipilih").click()
    expect(vp.get_by_role("status").filter(has_text="1 disetujui.")).to_be_visible()

    # The akta is issued (the worker had SIAK confirm it): the resident downloads it.
    open_when_issued(page, tracking_no)
    issued = page.get_by_role("region", name="Dokumen terbit")
    expect(issued.get_by_role("link", name="Unduh dokumen (PDF)")).to_be_visible()
    shot(page, "status-issued", at=issued)

    # Logging in again, on a phone nobody is logged in on.
    again = phone_page(fresh_context)
    again.goto("/masuk")
    again.get_by_label("NIK, nomor HP, atau nama pengguna").fill(resident.nik)
    again.get_by_label("Kata sandi").fill(resident.password)
    shot(again, "login")


def judge(page: Page, label: str, *, accept: bool) -> None:
    doc = page.get_by_role("article", name=label)
    doc.get_by_label("Terima" if accept else "Kembalikan", exact=True).check()
    doc.get_by_role("button", name="Simpan penilaian").click()
    expect(page.get_by_role("status").filter(has_text=f"{label} diterima.")).to_be_visible()


# --- the five services: choose, variant, for whom, data, first document ------------------------------

# The variant each service's pictures show, and who it is for ("self", "child" or "elder").
SERVICE_WALKS = {"ktp_el": ("rekam_baru", "self"), "kk": ("perubahan", "self"),
                 "akta_kelahiran": ("kelahiran", "child"), "akta_kematian": ("kematian", "elder"),
                 "kia": ("kurang_5", "child")}


def fill_data(page: Page, variant, nik: str) -> None:
    """Every required question of a variant's data page, with a plausible answer for its type."""
    for spec in variant.fields:
        if not spec.required:
            continue
        field = page.get_by_label(re.compile(rf"^{re.escape(spec.label)}$"))
        if spec.type == "select":
            field.select_option(spec.choices[0].value)
        elif spec.type == "date":
            field.fill((date.today() - timedelta(days=5)).isoformat())
        elif spec.type == "time":
            field.fill("08:30")
        elif spec.type == "number":
            low = spec.min if spec.min is not None else 1
            high = spec.max if spec.max is not None else low + 2
            field.fill(f"{(low + high) / 2:g}")
        elif spec.type == "nik":
            field.fill(nik)
        elif spec.type == "textarea":
            field.fill("Contoh keterangan untuk panduan.")
        else:
            field.fill("Kota Bekasi")


def test_tour_the_five_services(fresh_context, new_resident, sign_up, phone_photo):
    resident = new_resident("Asep Saepudin")
    page = phone_page(fresh_context)
    sign_up(page, resident, check=False)
    child, elder = "Bayi Asep", "Udin Saepudin"
    add_member(page, child, date.today() - timedelta(days=12), "Laki-laki", "anak")
    add_member(page, elder, date(1948, 3, 1), "Laki-laki", "orang_tua")
    who = {"self": resident.name, "child": child, "elder": elder}
    catalogue = get_catalogue()
    assert set(SERVICE_WALKS) == {service.code for service in catalogue}, "a service without pictures"

    page.goto("/ajukan/")
    for service in catalogue:
        choice = page.get_by_label(service.label, exact=True)
        choice.check()
        shot(page, f"apply-{service.code.replace('_', '-')}-service", at=choice, block="center")

    for service in catalogue:
        slug = service.code.replace("_", "-")
        variant_code, subject = SERVICE_WALKS[service.code]
        variant = service.variant(variant_code)
        page.goto("/ajukan/")
        page.get_by_label(service.label, exact=True).check()
        page.get_by_role("button", name="Lanjut").click()
        if len(service.variants) > 1:
            expect(page).to_have_url(re.compile(r"/jenis$"))
            shot(page, f"apply-{slug}-variant")
            page.get_by_label(variant.label, exact=True).check()
            page.get_by_role("button", name="Lanjut").click()
        expect(page).to_have_url(re.compile(r"/untuk$"))
        page.get_by_label(who[subject], exact=True).check()
        shot(page, f"apply-{slug}-subject")
        page.get_by_role("button", name="Lanjut").click()
        if variant.fields:
            expect(page).to_have_url(re.compile(r"/data$"))
            expect(page.get_by_role("heading", name="Data yang diperlukan")).to_be_visible()
            shot(page, f"apply-{slug}-data")
            fill_data(page, variant, MOTHER_NIK)
            page.get_by_role("button", name="Simpan dan lanjut").click()
        first = variant.requirements[0]
        expect(page).to_have_url(re.compile(rf"/dokumen/{first.code}$"))
        expect(page.get_by_role("heading", name=first.label, level=1)).to_be_visible()
        shot(page, f"apply-{slug}-document")


# --- jemput-antar and the field mode -----------------------------------------------------------------

def make_primary(live_server, username: str) -> None:
    """The satgas is RW 1's only satgas (other tests may have assigned somebody else)."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RW, SatgasAssignment, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas = db.session.scalar(select(User).where(User.username == username))
        satgas.kecamatan_code = KECAMATAN
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas.id, kind="primary"))
        db.session.commit()


def visit_today(live_server, tracking_no: str) -> None:
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import FieldJob, ServiceRequest
    from eopen.services import sla
    with live_server.app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
        for job in db.session.scalars(select(FieldJob).where(FieldJob.request_id == req.id)):
            job.preferred_date = sla.today_local()
        db.session.commit()


def test_tour_pickup_and_field_mode(fresh_context, office, new_resident, sign_up, staff_user, log_in, live_server):
    satgas = staff_user("satgas", KECAMATAN, name="Sari Pamor")
    operator = staff_user("operator", KECAMATAN, name="Yanti Susanti")  # names differ from the first tour's
    make_primary(live_server, satgas.username)
    resident = new_resident("Sri Rahayu")
    page = phone_page(fresh_context)
    sign_up(page, resident, check=False)
    tracking_no = submitted_ktp_request(live_server, resident.nik)

    # The resident asks for a pickup and gets the handover code.
    page.goto(f"/permohonan/{tracking_no}")
    ask = page.get_by_role("link", name="Minta dijemput/diantar Satgas Pamor")
    shot(page, "pickup-link", at=page.get_by_role("heading", name="Jemput-antar"))
    ask.click()
    page.get_by_label(re.compile(r"^Dijemput")).check()
    page.get_by_label("Tanggal kunjungan").fill(next_working_day().isoformat())
    page.get_by_label("Pagi 08.00–12.00").check()
    page.get_by_label(re.compile(r"^Catatan alamat")).fill("Rumah pagar hijau dekat musala")
    shot(page, "pickup-form", at=page.get_by_role("group", name="Apa yang Anda perlukan?"))
    page.get_by_role("button", name="Kirim permintaan").click()
    expect(page.locator("#kode-serah-terima")).to_be_visible()
    code = page.locator("#kode-serah-terima .code-big").inner_text().replace(" ", "")
    shot(page, "pickup-code", at=page.get_by_role("heading", name="Jemput-antar"))
    visit_today(live_server, tracking_no)  # so the picture of the satgas's list shows it under "Hari ini"

    # The satgas: today's jobs, the job, setting off without signal, the handover at the door.
    field_context = fresh_context("phone")
    field = field_context.new_page()
    log_in(field, satgas.username)
    expect(field).to_have_url(re.compile(r"/lapangan/$"))
    job_link = field.get_by_role("link", name=re.compile(rf"^Jemput: {resident.name}"))
    expect(job_link).to_be_visible()
    shot(field, "field-jobs")
    job_link.click()
    expect(field.get_by_role("button", name="Berangkat sekarang")).to_be_visible()
    shot(field, "field-job")
    field_context.set_offline(True)
    field.get_by_role("button", name="Berangkat sekarang").click()
    expect(field.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()
    shot(field, "field-offline")
    field_context.set_offline(False)
    expect(field.get_by_text("Terkirim: 1 tindakan.")).to_be_visible()
    field.get_by_role("link", name="Terima dokumen dari warga").click()
    field.get_by_label("KTP-el yang rusak").check()
    field.get_by_label("Kode dari warga").fill(code)
    shot(field, "field-handover", at=field.get_by_role("heading", level=1))
    field.get_by_role("button", name="Simpan serah terima").click()
    expect(field.get_by_text("Serah terima tercatat: 1 barang diterima dari warga.")).to_be_visible()

    page.reload()
    expect(page.get_by_text(f"KTP-el yang rusak — dibawa Satgas Pamor {satgas.name}")).to_be_visible()
    shot(page, "pickup-custody", at=page.get_by_role("heading", name="Dokumen fisik Anda"))

    # At the kecamatan desk: the operator's code on the office screen, typed on the satgas's phone.
    desk = office()
    log_in(desk, operator.username)
    desk.goto("/kantor/serah-terima")
    desk_code = desk.locator(".code-big").inner_text().replace(" ", "")
    shot(desk, "operator-desk")
    field.goto("/lapangan/")
    field.get_by_role("link", name="Serah terima di kantor kecamatan").click()
    bring = field.get_by_role("region", name="Serahkan dokumen warga ke kantor")
    bring.get_by_label(re.compile("KTP-el yang rusak")).check()
    bring.get_by_label("Petugas meja yang menunjukkan kode").select_option(label=operator.name)
    bring.get_by_label("Kode meja dari petugas").fill(desk_code)
    shot(field, "field-desk", at=bring)
    bring.get_by_role("button", name="Serahkan ke kantor").click()
    expect(field.get_by_text("1 barang diserahkan ke kantor kecamatan.")).to_be_visible()

    # Helping a resident apply at the door.
    field.goto("/lapangan/bantu")
    field.get_by_label("NIK warga").fill(resident.nik)
    shot(field, "field-assist")
    field.get_by_role("button", name="Cari warga").click()
    expect(field.get_by_text(resident.name, exact=True)).to_be_visible()


# --- Halo Pamor ------------------------------------------------------------------------------------------

FAQ_QUESTION = "Berapa lama KTP-el selesai?"
HALO_SUBJECT = "KTP-el saya belum jadi"  # not the subject of e2e/test_halo_journey.py: staff see both


def prepare_halo(live_server, satgas_username: str) -> None:
    """RW 1's satgas, and a FAQ entry about how long a KTP-el takes (suggested while the resident types)."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import FaqEntry
    make_primary(live_server, satgas_username)
    with live_server.app.app_context():
        if db.session.scalar(select(FaqEntry).where(FaqEntry.question == FAQ_QUESTION)) is None:
            db.session.add(FaqEntry(category="ktp_el", question=FAQ_QUESTION, keywords="ektp lama jadi selesai",
                                    answer="Target kami satu hari kerja sejak permohonan lengkap diterima."))
        db.session.commit()


def test_tour_halo_pamor(fresh_context, office, new_resident, sign_up, staff_user, log_in, live_server):
    satgas = staff_user("satgas", KECAMATAN, name="Budi Pamor")
    operator = staff_user("operator", KECAMATAN, name="Rina Marlina")
    prepare_halo(live_server, satgas.username)
    resident = new_resident("Siti Aminah")
    page = phone_page(fresh_context)
    sign_up(page, resident, check=False)
    submitted_ktp_request(live_server, resident.nik)

    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Halo Pamor").click()
    expect(page.get_by_role("heading", name="Halo Pamor", level=1)).to_be_visible()
    shot(page, "halo-list")
    page.get_by_role("link", name="Kirim pertanyaan atau pengaduan").click()
    page.get_by_label("Pertanyaan", exact=True).check()
    page.get_by_label("Tentang apa?").select_option("ktp_el")
    page.get_by_label("Permohonan yang terkait").select_option(index=1)
    shot(page, "halo-new", at=page.get_by_role("heading", name="Kirim pertanyaan atau pengaduan", level=1))
    page.get_by_label("Judul singkat").fill(HALO_SUBJECT)
    page.get_by_label("Pesan Anda").fill("Sudah seminggu KTP-el saya belum jadi. Berapa lama biasanya KTP-el selesai?")
    suggestions = page.locator("#faq-suggestions")
    expect(suggestions.get_by_text(FAQ_QUESTION)).to_be_visible()
    shot(page, "halo-suggest", at=suggestions, block="center")
    page.get_by_role("button", name="Kirim", exact=True).click()
    expect(page).to_have_url(re.compile(r"/halo/\d+$"))
    thread_url = page.url
    expect(page.get_by_text("Menunggu jawaban petugas", exact=True)).to_be_visible()
    shot(page, "halo-thread")

    desk = office()
    log_in(desk, operator.username)
    desk.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Halo Pamor").click()
    expect(desk.get_by_role("link", name=HALO_SUBJECT, exact=True)).to_be_visible()
    shot(desk, "halo-staff-list")
    desk.get_by_role("link", name=HALO_SUBJECT, exact=True).click()
    reply = desk.get_by_label("Balasan Anda")
    reply.fill("KTP-el Anda sudah dicetak. Silakan ambil di kantor kecamatan, atau minta diantar Satgas Pamor.")
    shot(desk, "halo-staff-thread", at=reply, block="center")
    desk.get_by_role("button", name="Kirim jawaban").click()
    expect(desk.get_by_role("status").filter(has_text="Jawaban terkirim ke warga.")).to_be_visible()

    page.goto(thread_url)
    expect(page.get_by_text("KTP-el Anda sudah dicetak.")).to_be_visible()
    shot(page, "halo-answered", at=page.get_by_role("heading", name="Percakapan"))
