"""Issued documents (eopen/services/issuing.py): numbering, Ed25519 signatures, the PDF and its QR code,
the public verification page, revocation, the resident's download, and the signing key file."""
from __future__ import annotations

import os
import re
import stat
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import AccessLog, IssuedDocument, ServiceRequest, SiakRecord, SigningKey, User
from eopen.services import fulfilment, issuing, lifecycle, siak, uploads
from eopen.services.catalogue import get_catalogue

pytestmark = pytest.mark.db

REPO_ROOT = Path(__file__).resolve().parent.parent
KEC = "32.75.01"
BIRTH_DATA = {"tempat_lahir": "Kota Bekasi", "jam_lahir": "08:15", "jenis_kelahiran": "tunggal",
              "kelahiran_ke": 2, "penolong_kelahiran": "bidan", "nama_ayah": "Budi Santoso",
              "nik_ayah": "3275011505900001", "nama_ibu": "Siti Aminah", "nik_ibu": "3275015505920002"}


@pytest.fixture(autouse=True)
def key_file(app, tmp_path):
    """Every test signs with its own key, in its own temporary folder (never the repository)."""
    path = tmp_path / "keys" / "signing_key.pem"
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


@pytest.fixture
def staff(make_staff):
    ids = {"operator": make_staff("operator", KEC)}
    for role in ("kasi", "kabid", "kadis"):
        ids[role] = make_staff(role)
    return ids


@pytest.fixture
def issue(app, make_resident, make_request, staff):
    """issue(service=…, name=…, data=…) → (request id, tracking no): a request driven to `issued`."""
    def run(service="akta_kelahiran", name="Rani Wati", data=None, applicant_id=None):
        applicant_id = applicant_id or make_resident()
        req_id = make_request(applicant_id, service=service)
        with app.test_request_context():
            req = db.session.get(ServiceRequest, req_id)
            req.subject_name = name
            req.data = dict(BIRTH_DATA if data is None else data)
            db.session.flush()
            operator = db.session.get(User, staff["operator"])
            lifecycle.perform(req, "claim", operator)
            lifecycle.perform(req, "approve", operator)
            for role in get_catalogue().service(service).verification_steps:
                lifecycle.perform(req, "verify", db.session.get(User, staff[role]))
            assert req.status == "approved"
            fulfilment.after_decision(req)
            db.session.commit()
            assert req.status == "sent_to_siak"
            assert siak.deliver_due().confirmed == 1  # the worker's SIAK step: confirmed, then issued
            db.session.refresh(req)
            return req_id, req.tracking_no
    return run


def document_of(req_id) -> IssuedDocument:
    return db.session.scalar(select(IssuedDocument).where(IssuedDocument.request_id == req_id))


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(IssuedDocument.id))),
            db.session.scalar(select(func.count(SiakRecord.id))),
            db.session.scalar(select(func.count(SigningKey.key_id))))


def read_qr(pdf_bytes: bytes) -> list[str]:
    """Render page 1 at 200 dpi and decode every barcode on it."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        page = pdf[0]
        bitmap = page.render(scale=200 / 72)
        image = bitmap.to_pil()
        texts = [result.text for result in zxingcpp.read_barcodes(image)]
        bitmap.close()
        page.close()
    finally:
        pdf.close()
    return texts


def pdf_page_text(pdf_bytes: bytes) -> str:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        textpage.close()
        page.close()
    finally:
        pdf.close()
    return text


def pdf_bytes_of(app, document: IssuedDocument) -> bytes:
    return uploads.path_of(app.config["UPLOAD_FOLDER"], document.storage_name).read_bytes()


def page(client, url: str):
    parts = urlsplit(url)
    response = client.get(parts.path + ("?" + parts.query if parts.query else ""))
    return response, response.get_data(as_text=True)


# --- the whole way: approval → SIAK → issued, with one signed PDF -------------------------------


def test_approved_akta_is_issued_once_with_a_signed_pdf_whose_qr_verifies(app, client, issue):
    req_id, tracking_no = issue()
    with app.test_request_context():
        req = db.session.get(ServiceRequest, req_id)
        assert req.status == "issued"
        assert counts() == (1, 1, 1)
        document = document_of(req_id)
        assert re.fullmatch(r"3275-LU-\d{8}-0001", document.number)
        assert document.doc_type == "akta_kelahiran" and document.holder_name == "Rani Wati"
        assert req.events[-1].action == "issue" and req.events[-1].data["document_number"] == document.number
        content = document.content
        assert content["number"] == document.number and content["tracking_no"] == tracking_no
        assert content["holder_name"] == "Rani Wati" and content["nik"] == req.subject_nik
        assert content["issued_on"] == f"{document.number[12:16]}-{document.number[10:12]}-{document.number[8:10]}"
        assert content["tempat_lahir"] == "Kota Bekasi" and content["anak_ke"] == "2"
        assert content["nama_ayah"] == "Budi Santoso" and content["nama_ibu"] == "Siti Aminah"
        assert content["kecamatan"] == "Bekasi Timur" and content["kelurahan"] == "Bekasijaya"
        assert "nik_ibu" not in content and "penolong_kelahiran" not in content
        assert len(document.signature) == 86 and "=" not in document.signature
        nik = req.subject_nik
        url = issuing.url_of(document)
        assert url == f"http://localhost/verifikasi/{document.number}?s={document.signature}"

        # Again: nothing new (after_decision on an issued request, issue_document on one with a document).
        fulfilment.after_decision(req)
        assert issuing.issue_document(req, app.config["UPLOAD_FOLDER"]).id == document.id
        db.session.commit()
        assert counts() == (1, 1, 1)
        pdf = pdf_bytes_of(app, document)
    stored = [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*.pdf")]
    assert len(stored) == 1

    assert pdf.startswith(b"%PDF")
    assert read_qr(pdf) == [url]
    text = pdf_page_text(pdf)
    for expected in ("PEMERINTAH KOTA BEKASI", "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL", "KUTIPAN AKTA KELAHIRAN",
                     document.number, "Rani Wati", "Budi Santoso", "Kepala Dinas Kependudukan",
                     "ditandatangani secara elektronik"):
        assert expected in text, expected
    assert re.search(r"Bekasi, \d{1,2} \w+ \d{4}", text)

    response, html = page(client, url)
    assert response.status_code == 200
    assert "Asli dan berlaku" in html and "Tidak asli" not in html
    assert "Ra** Wa**" in html and "Rani" not in html
    assert nik not in html and "Budi" not in html and "Bekasijaya" not in html
    assert document.number in html and "Kutipan Akta Kelahiran" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_tampering_is_not_authentic(app, client, issue):
    req_id, _ = issue()
    other_id, _ = issue(name="Dewi Lestari")
    with app.test_request_context():
        document = document_of(req_id)
        document_id, key_id, other_number = document.id, document.key_id, document_of(other_id).number
        number, signature = document.number, document.signature
    base = f"/verifikasi/{number}?s="
    assert "Asli dan berlaku" in client.get(base + signature).get_data(as_text=True)

    def says(url):
        response = client.get(url)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    flipped = signature[:20] + ("B" if signature[20] != "B" else "C") + signature[21:]
    assert "Tidak asli" in says(base + flipped)
    # The last character carries two unused bits: a variant that decodes to the same bytes is refused too.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    same_bytes = signature[:-1] + alphabet[last ^ 1]
    assert "Tidak asli" in says(base + same_bytes)
    assert "Tidak asli" in says(f"/verifikasi/{number}")  # no code at all
    assert "Tidak asli" in says(base + "!!notbase64")
    assert "Tidak asli" in says(f"/verifikasi/3275-LU-01012020-9999?s={signature}")  # unknown number
    assert "Tidak asli" in says(f"/verifikasi/{other_number}?s={signature}")  # someone else's number
    html = says(base + flipped)
    assert "Ra**" not in html and number not in html.split("<main", 1)[1].split("Periksa dokumen lain")[0]

    # Somebody edits the stored content (or the holder column) in the database.
    with app.app_context():
        document = db.session.get(IssuedDocument, document_id)
        document.content = {**document.content, "holder_name": "Orang Lain"}
        db.session.commit()
    assert "Tidak asli" in says(base + signature)
    with app.app_context():
        document = db.session.get(IssuedDocument, document_id)
        document.content = {**document.content, "holder_name": "Rani Wati"}
        document.holder_name = "Orang Lain"  # not signed, and never shown
        db.session.commit()
    html = says(base + signature)
    assert "Asli dan berlaku" in html and "Ra** Wa**" in html and "Or**" not in html
    # ... or swaps the public key of the signing key row.
    with app.app_context():
        row = db.session.get(SigningKey, key_id)
        row.public_key = "00" * 32
        db.session.commit()
    assert "Tidak asli" in says(base + signature)


def test_revoked_document_says_revoked_with_date_and_reason(app, client, issue, login, make_resident):
    applicant_id = make_resident()
    req_id, tracking_no = issue(applicant_id=applicant_id)
    with app.test_request_context():
        document = document_of(req_id)
        url = f"/verifikasi/{document.number}?s={document.signature}"
        issuing.revoke(document, None, "Data orang tua salah tulis")
        first = document.revoked_at
        issuing.revoke(document, None, "lagi")  # the first revocation stands
        db.session.commit()
        assert document.revoked_reason == "Data orang tua salah tulis" and document.revoked_at == first
        with pytest.raises(ValueError):
            issuing.revoke(document, None, "  ")
    html = client.get(url).get_data(as_text=True)
    assert "Dicabut" in html and "Asli dan berlaku" not in html
    assert "Data orang tua salah tulis" in html and "Ra** Wa**" in html
    assert f"{first.day} " in html and str(first.year) in html
    # Tampered and revoked is still just "not authentic".
    assert "Tidak asli" in client.get(url[:-3] + ("AAA" if url[-3:] != "AAA" else "BBB")).get_data(as_text=True)

    login(applicant_id)
    status_page = client.get(f"/permohonan/{tracking_no}").get_data(as_text=True)
    assert "sudah dicabut" in status_page and "dokumen-terbit.pdf" not in status_page
    assert client.get(f"/permohonan/{tracking_no}/dokumen-terbit.pdf").status_code == 410


def test_revoke_command(app, issue):
    req_id, _ = issue()
    with app.app_context():
        number = document_of(req_id).number
    runner = app.test_cli_runner()
    assert runner.invoke(args=["eopen", "revoke", number]).exit_code != 0  # --reason is required
    out = runner.invoke(args=["eopen", "revoke", number.lower(), "--reason", "Diterbitkan ganda"])
    assert out.exit_code == 0, out.output
    assert f"{number}: revoked" in out.output
    with app.app_context():
        document = document_of(req_id)
        assert document.revoked_reason == "Diterbitkan ganda" and document.revoked_by_id is None
    out = runner.invoke(args=["eopen", "revoke", "3275-LU-01012020-9999", "--reason", "x"])
    assert out.exit_code != 0 and "no issued document" in out.output


# --- the resident's download -------------------------------------------------------------------


def test_resident_downloads_the_pdf_and_nobody_else_does(app, client, issue, login, make_resident, make_staff):
    applicant_id = make_resident()
    req_id, tracking_no = issue(applicant_id=applicant_id)
    with app.app_context():
        document = document_of(req_id)
        number, pdf = document.number, pdf_bytes_of(app, document)
    url = f"/permohonan/{tracking_no}/dokumen-terbit.pdf"

    assert client.get(url).status_code in (302, 303)  # log in first
    login(applicant_id)
    html = client.get(f"/permohonan/{tracking_no}").get_data(as_text=True)
    assert url in html and number in html
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and f"{number}.pdf" in disposition
        assert "private" in response.headers["Cache-Control"] and "no-store" in response.headers["Cache-Control"]
        assert response.get_data() == pdf

    other = app.test_client()
    login(make_resident(name="Tetangga"), other)
    with other.get(url) as response:
        assert response.status_code == 404
    far_operator = make_staff("operator", "32.75.02")
    login(far_operator, other)
    with other.get(url) as response:
        assert response.status_code == 404

    operator = make_staff("operator", KEC)
    login(operator, other)
    with other.get(url) as response:
        assert response.status_code == 200 and response.mimetype == "application/pdf"
    with app.app_context():
        rows = db.session.scalars(select(AccessLog).where(AccessLog.request_id == req_id)).all()
        assert [(r.user_id, r.action) for r in rows] == [(operator, "download_pdf")]


def test_card_service_status_page_says_where_the_card_is(app, client, login, make_resident, make_request, make_staff):
    applicant_id = make_resident()
    req_id = make_request(applicant_id, service="kia", status="ready_for_collection")
    with app.app_context():
        tracking_no = db.session.get(ServiceRequest, req_id).tracking_no
    login(applicant_id)
    html = client.get(f"/permohonan/{tracking_no}").get_data(as_text=True)
    assert "Kartu siap diambil di kantor Kecamatan Bekasi Timur" in html
    assert "dokumen-terbit.pdf" not in html
    with client.get(f"/permohonan/{tracking_no}/dokumen-terbit.pdf") as response:
        assert response.status_code == 404


# --- numbers, other document types, names outside latin-1 ----------------------------------------


def test_numbers_count_per_type_and_year(app, issue):
    first, _ = issue()
    second, _ = issue(name="Bayu Aji")
    death, _ = issue(service="akta_kematian", name="Almarhum Sutrisno",
                     data={"tanggal_kematian": "2026-11-20", "jam_kematian": "", "tempat_kematian": "RSUD Kota Bekasi",
                           "sebab_kematian": "sakit_biasa", "nama_pelapor": "Andi", "hubungan_pelapor": "anak"})
    family, _ = issue(service="kk", name="Kepala Keluarga",
                      data={"jenis_perubahan": "kelahiran", "keterangan": "Anak ketiga lahir"})
    with app.test_request_context():
        numbers = {k: document_of(v).number for k, v in
                   {"first": first, "second": second, "death": death, "family": family}.items()}
        assert numbers["first"].endswith("-0001") and numbers["second"].endswith("-0002")
        assert numbers["first"][:17] == numbers["second"][:17]
        assert re.fullmatch(r"3275-KM-\d{8}-0001", numbers["death"])
        assert re.fullmatch(r"3275-KK-\d{8}-0001", numbers["family"])
        death_content = document_of(death).content
        assert death_content["tempat_kematian"] == "RSUD Kota Bekasi" and "sebab_kematian" not in death_content
        assert "jam_kematian" in death_content and death_content["jam_kematian"] is None
        kk = document_of(family)
        assert kk.content["anggota"][0]["hubungan"] == "Kepala Keluarga" and kk.content["alamat"] == "Jl. Uji 1"
        assert "KARTU KELUARGA" in pdf_page_text(pdf_bytes_of(app, kk))
        assert "KUTIPAN AKTA KEMATIAN" in pdf_page_text(pdf_bytes_of(app, document_of(death)))

        # The serial is per calendar year, past 9999 too, and read from the numbers in the database.
        today = issuing.sla.today_local()
        row = document_of(second)
        row.number = f"3275-LU-3112{today.year - 1}-0041"
        db.session.flush()
        assert issuing.next_number("akta_kelahiran", date(today.year - 1, 12, 31)).endswith("-0042")
        row.number = f"3275-LU-0101{today.year}-9999"
        db.session.flush()
        assert issuing.next_number("akta_kelahiran", date(today.year, 3, 4)) == f"3275-LU-0403{today.year}-10000"
        db.session.rollback()


def test_a_taken_number_is_retried(app, issue, monkeypatch):
    first, _ = issue()
    with app.app_context():
        taken = document_of(first).number
    real = issuing.next_number
    calls = []

    def stale_then_real(doc_type, day):
        calls.append(doc_type)
        return taken if len(calls) == 1 else real(doc_type, day)

    monkeypatch.setattr(issuing, "next_number", stale_then_real)
    second, _ = issue(name="Kedua")
    with app.app_context():
        assert len(calls) == 2
        assert document_of(second).number.endswith("-0002")
        assert db.session.get(ServiceRequest, second).status == "issued"
    assert len(list(Path(app.config["UPLOAD_FOLDER"]).rglob("*.pdf"))) == 2  # the first try's PDF is gone


def test_names_outside_latin1_do_not_break_the_pdf(app, client, issue):
    name = "Łukasz Wójcik 😀 Nguyễn 👍🏽 Zoë"
    req_id, _ = issue(name=name, data={**BIRTH_DATA, "nama_ibu": "Małgorzata “Gosia” Ćwik"})
    with app.test_request_context():
        document = document_of(req_id)
        assert document.content["holder_name"] == name  # signed as typed
        pdf = pdf_bytes_of(app, document)
        url = issuing.url_of(document)
    text = pdf_page_text(pdf)
    assert "Lukasz Wójcik ? Nguyen ? Zoë" in text and 'Malgorzata "Gosia" Cwik' in text
    assert read_qr(pdf) == [url]
    _, html = page(client, url)
    assert "Asli dan berlaku" in html and "Łu** Wó** 😀** Ng** 👍🏽** Zo**" in html


def test_pdf_text_and_mask_name():
    assert issuing.pdf_text("Rani Wati") == "Rani Wati"
    assert issuing.pdf_text("José Ñúñez") == "José Ñúñez"  # latin-1 stays
    assert issuing.pdf_text("Łódź Straße Œuvre") == "Lódz Strasse OEuvre"
    assert issuing.pdf_text("A\u200dB 😀") == "AB ?"
    assert issuing.pdf_text(None) == ""
    assert issuing.mask_name("Rani Wati") == "Ra** Wa**"
    assert issuing.mask_name("  Muhammad   Al Fatih ") == "Mu** A** Fa**"
    assert issuing.mask_name("M. Yusuf") == "M** Yu**"
    assert issuing.mask_name("Nguye\u0302\u0303n 👍🏽 👨‍👩‍👧") == "Ng** 👍🏽** 👨‍👩‍👧**"
    assert issuing.mask_name("") == "" and issuing.mask_name(None) == ""


# --- the lookup form ----------------------------------------------------------------------------


def test_lookup_form_works_without_js(app, client, issue):
    req_id, _ = issue()
    with app.app_context():
        document = document_of(req_id)
        number, signature = document.number, document.signature
    response = client.get("/verifikasi/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'for="nomor"' in html and 'for="kode"' in html
    assert response.headers["Cache-Control"] == "no-store"
    response = client.get("/verifikasi/?nomor=&kode=")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<title>Galat:" in html and 'href="#nomor"' in html
    typed_code = " ".join(signature[i:i + 10] for i in range(0, len(signature), 10)) + "\n"
    response = client.get("/verifikasi/", query_string={"nomor": " " + number.lower(), "kode": typed_code})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/verifikasi/{number}?s={signature}")
    assert "Asli dan berlaku" in client.get(response.headers["Location"]).get_data(as_text=True)


# --- the signing key ----------------------------------------------------------------------------


def test_key_file_is_created_private_outside_the_repo_and_reused(app, issue, key_file):
    assert not key_file.exists()
    first, _ = issue()
    assert key_file.is_file()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert REPO_ROOT not in key_file.resolve().parents
    assert not [p for p in key_file.parent.iterdir() if p != key_file]  # no temporary file left
    pem = key_file.read_bytes()
    assert b"PRIVATE KEY" in pem
    second, _ = issue(name="Kedua")
    assert key_file.read_bytes() == pem
    with app.app_context():
        assert document_of(first).key_id == document_of(second).key_id
        row = db.session.get(SigningKey, document_of(first).key_id)
        # A fresh process (no cached key) reads the same file.
        issuing._keys.clear()
        raw = issuing.raw_public_key(issuing.private_key())
        assert row.public_key == raw.hex() and row.key_id == issuing.key_id_of(raw)
        assert len(row.key_id) == 16


def test_documents_signed_with_an_older_key_still_verify_after_rotation(app, client, issue, tmp_path):
    old_id, _ = issue()
    app.config["SIGNING_KEY_FILE"] = str(tmp_path / "rotated" / "signing_key.pem")
    new_id, _ = issue(name="Sesudah Rotasi")
    with app.app_context():
        old, new = document_of(old_id), document_of(new_id)
        assert old.key_id != new.key_id
        assert db.session.scalar(select(func.count(SigningKey.key_id))) == 2
        urls = [f"/verifikasi/{d.number}?s={d.signature}" for d in (old, new)]
    for url in urls:
        assert "Asli dan berlaku" in client.get(url).get_data(as_text=True)
