"""The whole way of an Akta Kelahiran through the office, with JavaScript on and off.

The resident (a phone) submits → the operator of her kecamatan (an office screen) claims it and
returns one document → the resident replaces it and resubmits → the operator approves → Kasi and
Kabid approve one by one, the Kadis in a batch → the resident downloads the PDF → the QR code in it
opens the public verification page, which says "Asli"; a tampered code says "Tidak asli". The
penyelia then looks at the kecamatan's pages and the request's access log.

Staff accounts are made directly in the live server's database; everybody logs in through /masuk.
axe-core checks every back-office page on the way, the resident's revision page and the public
verification pages (in the JavaScript run; the run without JavaScript walks the same way).
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pypdfium2
import zxingcpp
from journeys import open_when_issued
from playwright.sync_api import Page, expect

KECAMATAN = "32.75.01"  # Bekasi Timur, where the resident lives (conftest: kelurahan 32.75.01.1001)
RETURNED = ("bukti_perkawinan", "Buku nikah atau akta perkawinan orang tua")
RETURN_REASON = ("buram", "Foto buram atau tulisan tidak terbaca")
RETURN_NOTE = "Halaman nama orang tua buram. Foto ulang di tempat yang terang."
GENERAL_NOTE = "Mohon ganti foto buku nikah, dokumen lain sudah sesuai."


def test_akta_kelahiran_through_the_office(phone, phone_js, fresh_context, axe, sign_up, add_newborn,
                                            apply_for_birth_certificate, new_resident, phone_photo,
                                            staff_user, log_in, live_server, tmp_path):
    js = phone_js
    # axe runs in the JavaScript run only: these pages are rendered by the server, and without
    # JavaScript the browser shows the very same HTML (the no-JS run checks that every step works).
    a11y = axe if js else (lambda page, name=None: None)
    operator = staff_user("operator", KECAMATAN)
    penyelia = staff_user("penyelia", KECAMATAN)
    kasi, kabid, kadis = staff_user("kasi"), staff_user("kabid"), staff_user("kadis")

    # --- the resident applies (pages already checked by the resident journey) -----------------
    resident_page: Page = phone.new_page()
    resident = new_resident()
    sign_up(resident_page, resident, check=False)
    child = add_newborn(resident_page, resident, check=False)
    application = apply_for_birth_certificate(resident_page, resident, child, phone_photo, check=False)
    tracking_no = application.tracking_no
    resident_page.get_by_role("button", name="Kirim permohonan").click()
    expect(resident_page).to_have_url(re.compile(rf"/permohonan/{tracking_no}/terkirim$"))

    # --- the operator finds it, claims it and returns one document ------------------------------
    op = staff_page(fresh_context, js, log_in, operator)
    expect(op).to_have_url(re.compile(r"/kantor/antrean$"))
    expect(op.get_by_role("heading", name="Antrean permohonan", level=1)).to_be_visible()
    expect(op.get_by_text("Kecamatan Bekasi Timur")).to_be_visible()
    a11y(op, "operator queue")
    op.get_by_label("Cari nomor permohonan, NIK atau nama").fill(tracking_no)
    op.get_by_role("button", name="Terapkan").click()
    expect(op).to_have_url(re.compile(rf"[?&]q={tracking_no}\b"))
    expect(op.get_by_text("1 permohonan", exact=True)).to_be_visible()
    row = op.get_by_role("row").filter(has_text=tracking_no)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(child)
    expect(row).to_contain_text("Menunggu diperiksa")
    a11y(op, "operator queue, searched")
    row.get_by_role("button", name=f"Ambil {tracking_no}").click()

    expect(op).to_have_url(re.compile(rf"/kantor/permohonan/{tracking_no}$"))
    expect(op.get_by_role("status").filter(has_text=f"Anda mulai memeriksa permohonan {tracking_no}.")).to_be_visible()
    expect(op.get_by_role("heading", name="Akta Kelahiran", level=1)).to_be_visible()
    expect(op.get_by_text(f"Diperiksa oleh {operator.name}")).to_be_visible()
    a11y(op, "operator review")
    for code, label in application.documents:
        if code != RETURNED[0]:
            judge(op, label, accept=True)
    judge(op, RETURNED[1], accept=False)
    a11y(op, "operator review, documents judged")
    decisions = op.get_by_role("region", name="Keputusan")
    expect(decisions).to_contain_text(f"{RETURNED[1]}: {RETURN_REASON[1]} — {RETURN_NOTE}")
    decisions.get_by_label("Catatan umum untuk warga").fill(GENERAL_NOTE)
    decisions.get_by_role("button", name="Kembalikan untuk diperbaiki").click()
    expect(op).to_have_url(re.compile(r"/kantor/antrean$"))
    expect(op.get_by_role("status").filter(
        has_text=f"Permohonan {tracking_no} dikembalikan kepada warga untuk diperbaiki.")).to_be_visible()

    # --- the resident sees what to fix, replaces it and resubmits ------------------------------
    resident_page.goto(f"/permohonan/{tracking_no}")
    expect(resident_page.locator(".status").first).to_contain_text("Perlu perbaikan dari Anda")
    fix = resident_page.locator("#perbaikan")
    expect(fix).to_contain_text("Petugas meminta Anda memperbaiki permohonan ini.")
    expect(fix.get_by_role("listitem")).to_have_count(1)
    expect(fix.get_by_role("listitem")).to_contain_text(f"{RETURNED[1]}: {RETURN_REASON[1]} — {RETURN_NOTE}")
    fix.get_by_role("link", name="Perbaiki permohonan").click()
    expect(resident_page).to_have_url(re.compile(rf"/permohonan/{tracking_no}/perbaikan$"))
    expect(resident_page.get_by_role("heading", name="Perbaiki permohonan", level=1)).to_be_visible()
    expect(resident_page.get_by_text(GENERAL_NOTE)).to_be_visible()
    item = resident_page.get_by_role("region", name=RETURNED[1])
    expect(item).to_contain_text(RETURN_REASON[1])
    expect(item).to_contain_text(RETURN_NOTE)
    a11y(resident_page, "resident revision")
    item.get_by_label("Foto atau PDF pengganti").set_input_files(phone_photo)
    item.get_by_role("button", name="Unggah").click()
    item = resident_page.get_by_role("region", name=RETURNED[1])
    expect(item.get_by_text("Sudah diganti")).to_be_visible(timeout=60_000)
    expect(resident_page.get_by_role("status").filter(has_text=f"{RETURNED[1]} sudah diganti.")).to_be_visible()
    expect(item.get_by_role("link", name="Lihat berkas pengganti")).to_be_visible()
    a11y(resident_page, "resident revision, replaced")
    resident_page.get_by_role("button", name="Kirim perbaikan").click()
    expect(resident_page).to_have_url(re.compile(rf"/permohonan/{tracking_no}$"))
    expect(resident_page.get_by_role("status").filter(has_text="Perbaikan terkirim.")).to_be_visible()
    expect(resident_page.locator(".status").first).to_contain_text("Terkirim, menunggu diperiksa")

    # --- back to the same operator: top of the queue; accept the new document, approve -----------
    op.goto("/kantor/antrean")
    first = op.get_by_role("row").nth(1)  # row 0: the column headers
    expect(first).to_contain_text(tracking_no)
    expect(first).to_contain_text("Perbaikan dari warga, untuk Anda")
    a11y(op, "operator queue, resubmitted")
    first.get_by_role("button", name=f"Ambil {tracking_no}").click()
    expect(op).to_have_url(re.compile(rf"/kantor/permohonan/{tracking_no}$"))
    replaced = op.get_by_role("article", name=RETURNED[1])
    expect(replaced).to_contain_text(f"Diganti warga setelah dikembalikan. Alasan sebelumnya: {RETURN_REASON[1]}")
    for code, label in application.documents:
        if code != RETURNED[0]:
            expect(op.get_by_role("article", name=label).get_by_role("heading", level=3)).to_contain_text("Diterima")
    a11y(op, "operator review, resubmitted")
    judge(op, RETURNED[1], accept=True)
    decisions = op.get_by_role("region", name="Keputusan")
    expect(decisions).to_contain_text("Semua dokumen wajib sudah diterima.")
    decisions.get_by_label("Catatan untuk verifikator").fill("Dokumen lengkap dan sesuai.")
    decisions.get_by_role("button", name="Setujui permohonan").click()
    expect(op).to_have_url(re.compile(r"/kantor/antrean$"))
    expect(op.get_by_role("status").filter(has_text=f"Permohonan {tracking_no} disetujui.")).to_be_visible()

    # --- Kasi and Kabid approve it one by one, the Kadis in a batch -----------------------------
    for verifier, step, following in ((kasi, "Kasi", "Kabid"), (kabid, "Kabid", "Kadis")):
        page = staff_page(fresh_context, js, log_in, verifier)
        open_verification(page, a11y, tracking_no, step, operator)
        page.get_by_role("button", name="Setujui permohonan ini").click()
        expect(page).to_have_url(re.compile(r"/kantor/verifikasi$"))
        expect(page.get_by_role("status").filter(
            has_text=f"Permohonan {tracking_no} disetujui dan diteruskan ke {following}.")).to_be_visible()
        expect(page.get_by_role("link", name=tracking_no)).to_have_count(0)
        a11y(page, f"{step} queue after approving")
        page.context.close()

    page = staff_page(fresh_context, js, log_in, kadis)
    expect(page).to_have_url(re.compile(r"/kantor/verifikasi$"))
    expect(page.get_by_role("heading", name="Antrean verifikasi Kadis", level=1)).to_be_visible()
    a11y(page, "Kadis queue")
    page.get_by_role("checkbox", name=f"Pilih {tracking_no}").check()
    page.get_by_role("button", name="Setujui yang dipilih").click()
    expect(page).to_have_url(re.compile(r"/kantor/verifikasi$"))
    expect(page.get_by_role("status").filter(has_text="1 disetujui.")).to_be_visible()
    expect(page.get_by_role("link", name=tracking_no)).to_have_count(0)
    a11y(page, "Kadis queue after the batch")
    page.context.close()

    # --- the resident downloads the PDF; its QR code opens the verification page -----------------
    open_when_issued(resident_page, tracking_no)
    expect(resident_page.locator(".status").first).to_contain_text("Dokumen terbit")
    issued = resident_page.get_by_role("region", name="Dokumen terbit")
    number = issued.locator(".mono").inner_text()
    assert re.fullmatch(r"3275-LU-\d{8}-\d{4,}", number), number
    with resident_page.expect_download() as download_info:
        issued.get_by_role("link", name="Unduh dokumen (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    url = qr_url(pdf)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == live_server.url, url
    assert parts.path == f"/verifikasi/{number}", url

    visitor = fresh_context("phone", js).new_page()  # a fresh phone: nobody logged in
    visitor.goto(url)
    verdict = visitor.get_by_role("status")
    expect(verdict.get_by_role("heading", level=1)).to_have_text("Asli dan berlaku")
    summary = visitor.locator("dl.summary")
    expect(summary).to_contain_text("Kutipan Akta Kelahiran")
    expect(summary).to_contain_text(number)
    expect(summary).to_contain_text(mask(child))
    expect(visitor.get_by_text(child)).to_have_count(0)  # the holder's name only masked
    a11y(visitor, "verification: authentic")

    visitor.goto(tampered(url))
    expect(visitor.get_by_role("status").get_by_role("heading", level=1)).to_have_text("Tidak asli")
    expect(visitor.locator("dl.summary")).to_have_count(0)
    a11y(visitor, "verification: tampered")

    # --- the penyelia: the kecamatan's pages and the request's access log -------------------------
    page = staff_page(fresh_context, js, log_in, penyelia)
    expect(page).to_have_url(re.compile(r"/kantor/penyelia$"))
    expect(page.get_by_role("heading", name="Kecamatan Bekasi Timur", level=1)).to_be_visible()
    a11y(page, "penyelia dashboard")
    menu = page.get_by_role("navigation", name="Menu penyelia")
    menu.get_by_role("link", name="Kinerja operator").click()
    expect(page).to_have_url(re.compile(r"/kantor/penyelia/kinerja$"))
    performance = page.get_by_role("table", name="Kinerja per operator")
    expect(performance.get_by_role("rowheader", name=operator.name, exact=True)).to_be_visible()
    a11y(page, "penyelia performance")
    menu.get_by_role("link", name="Pelanggaran SLA").click()
    expect(page).to_have_url(re.compile(r"/kantor/penyelia/pelanggaran-sla$"))
    a11y(page, "penyelia SLA breaches")
    page.goto(f"/kantor/permohonan/{tracking_no}")  # the operator's review page, to read only
    expect(page.get_by_role("heading", name="Akta Kelahiran", level=1)).to_be_visible()
    expect(page.get_by_text("Dokumen terbit").first).to_be_visible()
    expect(page.get_by_role("button", name="Simpan penilaian")).to_have_count(0)
    expect(page.get_by_role("region", name="Keputusan")).to_have_count(0)
    a11y(page, "penyelia: the request")
    page.goto(f"/kantor/permohonan/{tracking_no}/akses")
    expect(page.get_by_role("heading", name=f"Log akses {tracking_no}", level=1)).to_be_visible()
    log = page.get_by_role("table")
    for who in (operator, kasi, kabid, penyelia):
        expect(log.get_by_role("row").filter(has_text=who.name).first).to_be_visible()
    a11y(page, "penyelia access log")


# --- steps -----------------------------------------------------------------------------------------

def staff_page(fresh_context, js: bool, log_in, staff) -> Page:
    """A new office-screen context for ``staff``: logged in, then to the office by the "Kantor" link."""
    page = fresh_context("desktop", js).new_page()
    log_in(page, staff.username)
    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Kantor").click()
    expect(page).to_have_url(re.compile(r"/kantor/.+"))
    return page


def judge(page: Page, label: str, *, accept: bool) -> None:
    """The operator's verdict on one document, in its own form on the review page."""
    doc = page.get_by_role("article", name=label)
    if accept:
        doc.get_by_label("Terima", exact=True).check()
    else:
        doc.get_by_label("Kembalikan", exact=True).check()
        doc.get_by_label("Alasan dikembalikan").select_option(RETURN_REASON[0])
        doc.get_by_label("Catatan untuk warga").fill(RETURN_NOTE)
    doc.get_by_role("button", name="Simpan penilaian").click()
    done = f"{label} diterima." if accept else f"{label} ditandai untuk dikembalikan."
    expect(page.get_by_role("status").filter(has_text=done)).to_be_visible()
    verdict = page.get_by_role("article", name=label).get_by_role("heading", level=3)
    expect(verdict).to_contain_text("Diterima" if accept else "Dikembalikan")  # the verdict's tag


def open_verification(page: Page, a11y, tracking_no: str, step: str, operator) -> None:
    """A verifier's queue → the request's page, both checked with axe."""
    expect(page).to_have_url(re.compile(r"/kantor/verifikasi$"))
    expect(page.get_by_role("heading", name=f"Antrean verifikasi {step}", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=tracking_no)
    expect(row).to_contain_text(operator.name)  # approved by
    a11y(page, f"{step} queue")
    row.get_by_role("link", name=tracking_no).click()
    expect(page).to_have_url(re.compile(rf"/kantor/verifikasi/{tracking_no}$"))
    expect(page.get_by_role("heading", name="Akta Kelahiran", level=1)).to_be_visible()
    chain = page.get_by_role("list", name="Tahap verifikasi")
    expect(chain.locator("[aria-current=step]")).to_contain_text(step)
    a11y(page, f"{step} request")


def qr_url(pdf: Path) -> str:
    """The text of the one QR code on page 1 of the PDF."""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        image = document[0].render(scale=3).to_pil()
    finally:
        document.close()
    codes = [c for c in zxingcpp.read_barcodes(image) if c.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1, codes
    return codes[0].text


def tampered(url: str) -> str:
    """The same URL with one character of the code (s=) changed."""
    parts = urlsplit(url)
    code = parse_qs(parts.query)["s"][0]
    i = len(code) // 2
    code = code[:i] + ("B" if code[i] != "B" else "C") + code[i + 1:]
    return urlunsplit(parts._replace(query=urlencode({"s": code})))


def mask(name: str) -> str:
    """What the verification page shows of a name: "Bayi Rudi" → "Ba** Ru**"."""
    return " ".join((word[:2] if len(word) > 2 else word[:1]) + "**" for word in name.split())
