"""A resident on a cheap phone, with JavaScript on and off: sign up, add a newborn, apply for her akta
kelahiran with three phone photos, check the answers, submit, and follow the request.

Every page on the way is checked with axe-core. Inputs are found by their labels and buttons and
links by their accessible names, so a missing label fails the journey too.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

DOCUMENTS = [  # (code, label) in the order the catalogue asks for them
    ("surat_keterangan_lahir", "Surat keterangan lahir"),
    ("bukti_perkawinan", "Buku nikah atau akta perkawinan orang tua"),
    ("kk", "Kartu Keluarga (KK)"),
]
DATA_FIELDS = ["Tempat lahir", "Jam lahir", "Jenis kelahiran", "Anak ke-", "Penolong kelahiran",
               "Berat bayi saat lahir (kg)", "Panjang bayi saat lahir (cm)", "Nama lengkap ayah", "NIK ayah",
               "Nama lengkap ibu", "NIK ibu"]
MOTHER_NIK = "3275015505900008"  # a woman born 15-05-1990 (day + 40)


def test_akta_kelahiran_for_a_newborn(phone, phone_js, axe, sign_up, new_resident, phone_photo, live_server):
    page: Page = phone.new_page()
    resident = new_resident()
    page.goto("/")
    assert page.evaluate("() => [innerWidth, devicePixelRatio, navigator.maxTouchPoints > 0]") == [360, 2, True]
    expect(page.locator("html")).to_have_attribute("lang", "id")
    axe(page, "home")

    # Sign up → the household page.
    sign_up(page, resident)
    axe(page, "household after sign-up")
    expect(page.get_by_role("status").filter(has_text="Akun Anda sudah dibuat")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(resident.name))).to_be_visible()

    # Add the newborn (no NIK yet).
    page.get_by_role("link", name="Tambah anggota keluarga").click()
    expect(page.get_by_role("heading", name="Tambah anggota keluarga", level=1)).to_be_visible()
    axe(page, "add member")
    child = "Bayi " + resident.name.split()[0]
    born = date.today() - timedelta(days=10)
    page.get_by_label("Nama lengkap").fill(child)
    expect(page.get_by_label("NIK (opsional)")).to_be_empty()
    page.get_by_label("Tanggal lahir").fill(born.isoformat())
    page.get_by_label("Perempuan").check()
    page.get_by_label("Hubungan dalam keluarga").select_option("anak")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/keluarga$"))
    expect(page.get_by_role("cell", name=child, exact=True)).to_be_visible()
    axe(page, "household with the child")

    # Apply: which service.
    page.get_by_role("link", name="Ajukan permohonan", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ajukan/$"))
    axe(page, "service choice")
    page.get_by_label("Akta Kelahiran", exact=True).check()
    page.get_by_role("button", name="Lanjut").click()

    # For whom (one variant only: the variant page is skipped).
    expect(page).to_have_url(re.compile(r"/ajukan/[^/]+/untuk$"))
    tracking_no = re.search(r"/ajukan/([^/]+)/untuk", page.url).group(1)
    expect(page.get_by_role("group", name="Untuk siapa permohonan ini?")).to_be_visible()
    axe(page, "subject")
    page.get_by_label(child, exact=True).check()
    page.get_by_role("button", name="Lanjut").click()

    # The data page.
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/data$"))
    expect(page.get_by_role("heading", name="Data yang diperlukan")).to_be_visible()
    axe(page, "data")
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

    # Three documents, each a 4000×3000 phone photo.
    mark = len(live_server.bodies.posts)
    for number, (code, label) in enumerate(DOCUMENTS, start=1):
        expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/dokumen/{code}$"))
        expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()
        expect(page.get_by_text(f"dokumen {number} dari 3")).to_be_visible()
        axe(page, f"upload {code}")
        page.get_by_label("Foto atau PDF dokumen").set_input_files(phone_photo)
        page.get_by_role("button", name="Unggah", exact=True).click()
        expect(page).not_to_have_url(re.compile(rf"/dokumen/{code}$"), timeout=60_000)

    sent = live_server.bodies.since(mark, rf"^/ajukan/{tracking_no}/dokumen/")
    original = phone_photo.stat().st_size
    assert len(sent) == 3, sent
    if phone_js:
        # upload.js shrank each photo in the browser (≤ 2000 px, JPEG) before sending it.
        assert all(size < original / 2 for size in sent), (sent, original)
    else:
        # Without JavaScript the browser sends the photo as it is; the server shrinks it.
        assert all(size > original for size in sent), (sent, original)

    # Check your answers.
    expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/periksa$"))
    expect(page.get_by_role("heading", name="Periksa kembali permohonan Anda", level=1)).to_be_visible()
    axe(page, "check answers")
    expect(page.get_by_role("alert")).to_have_count(0)  # nothing missing
    expect(page.get_by_role("link", name="Ubah layanan")).to_be_visible()
    expect(page.get_by_role("link", name="Ubah untuk siapa")).to_be_visible()
    for name in DATA_FIELDS:
        expect(page.get_by_role("link", name=f"Ubah {name}", exact=True)).to_have_count(1)
    for _code, label in DOCUMENTS:
        expect(page.get_by_role("link", name=f"Ubah {label}", exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile(r"^Ubah\b"))).to_have_count(2 + len(DATA_FIELDS) + len(DOCUMENTS))
    summary = page.locator("dl.summary")
    expect(summary.get_by_text(child, exact=True)).to_be_visible()
    expect(summary.get_by_text("Kota Bekasi", exact=True)).to_be_visible()
    expect(summary.get_by_text("Bidan atau perawat", exact=True)).to_be_visible()
    expect(summary.get_by_text(MOTHER_NIK, exact=True)).to_be_visible()
    # Stored photos are normalised by the server to ≤ 750 KB, whatever the browser sent.
    sizes = [int(kb) for kb in re.findall(r"\((\d+) KB\)", summary.last.inner_text())]
    assert len(sizes) == 3 and all(0 < kb <= 750 for kb in sizes), sizes

    # Submit → confirmation with the tracking number.
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{tracking_no}/terkirim$"))
    expect(page.get_by_role("heading", name="Permohonan terkirim", level=1)).to_be_visible()
    expect(page.locator(".confirmation").get_by_text(tracking_no, exact=True)).to_be_visible()
    axe(page, "confirmation")

    # Receipt: QR code (inline SVG) and the tracking number.
    page.get_by_role("link", name="Lihat dan cetak tanda terima").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{tracking_no}/tanda-terima$"))
    expect(page.get_by_role("heading", name="Tanda terima permohonan", level=1)).to_be_visible()
    expect(page.locator(".qr svg")).to_have_count(1)
    expect(page.locator(".qr svg title")).to_contain_text(tracking_no)
    expect(page.get_by_text(tracking_no, exact=True)).to_be_visible()
    axe(page, "receipt")

    # Status page: "Terkirim", and the timeline with the submit event.
    page.get_by_role("link", name="Lihat status permohonan").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{tracking_no}$"))
    expect(page.locator(".status")).to_contain_text("Terkirim")
    expect(page.get_by_role("heading", name="Riwayat")).to_be_visible()
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_contain_text("Permohonan dikirim")
    expect(page.get_by_role("link", name=re.compile(r"^lihat berkas"))).to_have_count(3)
    axe(page, "status")

