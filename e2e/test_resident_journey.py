"""A resident on a cheap phone, with JavaScript on and off: sign up, add a newborn, apply for her akta
kelahiran with three phone photos, check the answers, submit, and follow the request.

Every page on the way is checked with axe-core. Inputs are found by their labels and buttons and
links by their accessible names, so a missing label fails the journey too.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

DATA_FIELDS = ["Tempat lahir", "Jam lahir", "Jenis kelahiran", "Anak ke-", "Penolong kelahiran",
               "Berat bayi saat lahir (kg)", "Panjang bayi saat lahir (cm)", "Nama lengkap ayah", "NIK ayah",
               "Nama lengkap ibu", "NIK ibu"]


def test_akta_kelahiran_for_a_newborn(phone, phone_js, axe, sign_up, add_newborn, apply_for_birth_certificate,
                                      new_resident, phone_photo, live_server):
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
    child = add_newborn(page, resident)
    axe(page, "household with the child")

    # Apply: the service, for whom (one variant only: the variant page is skipped), the data, and
    # three documents, each a 4000×3000 phone photo.
    mark = len(live_server.bodies.posts)
    application = apply_for_birth_certificate(page, resident, child, phone_photo)
    tracking_no = application.tracking_no

    sent = live_server.bodies.since(mark, rf"^/ajukan/{tracking_no}/dokumen/")
    original = phone_photo.stat().st_size
    assert len(sent) == 3, sent
    if phone_js:
        # upload.js shrank each photo in the browser (≤ 2000 px, JPEG) before sending it.
        assert all(size < original / 2 for size in sent), (sent, original)
    else:
        # Without JavaScript the browser sends the photo as it is; the server shrinks it.
        assert all(size > original for size in sent), (sent, original)

    # Check your answers (apply_for_birth_certificate ends there).
    axe(page, "check answers")
    expect(page.get_by_role("alert")).to_have_count(0)  # nothing missing
    expect(page.get_by_role("link", name="Ubah layanan")).to_be_visible()
    expect(page.get_by_role("link", name="Ubah untuk siapa")).to_be_visible()
    for name in DATA_FIELDS:
        expect(page.get_by_role("link", name=f"Ubah {name}", exact=True)).to_have_count(1)
    for _code, label in application.documents:
        expect(page.get_by_role("link", name=f"Ubah {label}", exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile(r"^Ubah\b"))).to_have_count(2 + len(DATA_FIELDS) + len(application.documents))
    summary = page.locator("dl.summary")
    expect(summary.get_by_text(child, exact=True)).to_be_visible()
    expect(summary.get_by_text("Kota Bekasi", exact=True)).to_be_visible()
    expect(summary.get_by_text("Bidan atau perawat", exact=True)).to_be_visible()
    expect(summary.get_by_text(application.mother_nik, exact=True)).to_be_visible()
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

