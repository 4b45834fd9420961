"""Issued documents: numbered, signed with Ed25519, printed as an A4 PDF with a QR code, verifiable.

Since 2020 (Permendagri 109/2019) KK and akta are printed on plain HVS paper and carry a QR-code
electronic signature instead of a wet signature and stamp. Here that means:

- ``issue_document(req, root)`` builds the *content* (a small dict: exactly what is signed and what the
  PDF shows), signs its canonical JSON with the office's Ed25519 key, renders the PDF and stores it
  with ``uploads.store``, and adds an ``IssuedDocument`` row. Idempotent: a request that already has
  a document gets that one back.
- The QR code encodes ``<PUBLIC_URL or the request's host>/verifikasi/<number>?s=<signature>``.
  ``check(number, signature)`` — used by the public page — verifies the presented signature against
  the stored content with the public half of the key that signed it, so an edited database row, an
  altered code or an unknown number all come out "invalid".
- ``revoke(document, user_or_None, reason)`` marks a document revoked (the CLI and, later, the back
  office call it).

Numbers: ``3275-<TT>-<DDMMYYYY>-<NNNN>``, e.g. ``3275-LU-28112026-0001``: Kota Bekasi's code, a short
type code (``TYPE_CODES``: KK = Kartu Keluarga, LU = akta kelahiran "lahir umum", KM = akta kematian),
the local issue date (Asia/Jakarta), and a serial per type per calendar year (at least four digits; it
simply grows past 9999). The serial is the year's highest plus one, read with a query; the unique
constraint on ``number`` decides a race, and the loser tries again with the next serial.

The signing key: a PEM file (PKCS#8, unencrypted, mode 0600) at config ``SIGNING_KEY_FILE`` (env
``EOPEN_SIGNING_KEY_FILE``; default ``<instance_path>/signing_key.pem``), never in the repository. It
is created on first use and loaded once per process. Its public half goes to the ``signing_key``
table under ``key_id`` (the first 16 hex characters of sha256 of the raw public key), so documents
signed with an older key stay verifiable after the file is replaced (key rotation: point
SIGNING_KEY_FILE at a new path, or move the old file away).

The PDF's own text is Indonesian and not translated: it is an official document, the same whatever
language the resident uses the site in. Helvetica (a PDF core font) only covers latin-1, so names
are transliterated for the PDF only (``pdf_text``); the signed content keeps them exactly as typed.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import logging
import os
import pathlib
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

import segno
from babel.dates import format_date
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CITY_CODE, IssuedDocument, Region, ServiceRequest, SigningKey, User, utcnow
from . import sla, uploads

log = logging.getLogger(__name__)

CITY_NUMBER = CITY_CODE.replace(".", "")  # "3275"
TYPE_CODES = {"kk": "KK", "akta_kelahiran": "LU", "akta_kematian": "KM"}
CONTENT_VERSION = 1
MAX_ATTEMPTS = 5

# For the public verification page (translated like every page).
DOC_TYPE_LABELS = {
    "kk": _l("Kartu Keluarga"),
    "akta_kelahiran": _l("Kutipan Akta Kelahiran"),
    "akta_kematian": _l("Kutipan Akta Kematian"),
}

# The PDF: official Indonesian text, deliberately not passed through gettext.
PDF_TITLES = {"kk": "KARTU KELUARGA", "akta_kelahiran": "KUTIPAN AKTA KELAHIRAN",
              "akta_kematian": "KUTIPAN AKTA KEMATIAN"}
PDF_HEADER = ("PEMERINTAH KOTA BEKASI", "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL")
PDF_OFFICIAL = "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Bekasi"
PDF_CAPTION = "Dokumen ini ditandatangani secara elektronik. Pindai kode QR untuk memeriksa keasliannya."
PDF_PLACE = "Bekasi"
SEX_TEXT = {"L": "Laki-laki", "P": "Perempuan"}
RELATION_TEXT = {
    "kepala_keluarga": "Kepala Keluarga", "suami": "Suami", "istri": "Istri", "anak": "Anak",
    "menantu": "Menantu", "cucu": "Cucu", "orang_tua": "Orang Tua", "mertua": "Mertua",
    "famili_lain": "Famili Lain", "lainnya": "Lainnya",
}
# Label of each signed field, in the order the PDF prints them (fields without a value are left out).
PDF_FIELDS = {
    "akta_kelahiran": (
        ("nik", "NIK"), ("holder_name", "Nama"), ("tempat_lahir", "Tempat lahir"),
        ("tanggal_lahir", "Tanggal lahir"), ("jam_lahir", "Jam lahir"), ("jenis_kelamin", "Jenis kelamin"),
        ("anak_ke", "Anak ke-"), ("nama_ayah", "Nama ayah"), ("nama_ibu", "Nama ibu"),
        ("kelurahan", "Kelurahan"), ("kecamatan", "Kecamatan"),
    ),
    "akta_kematian": (
        ("nik", "NIK"), ("holder_name", "Nama"), ("jenis_kelamin", "Jenis kelamin"),
        ("tanggal_lahir", "Tanggal lahir"), ("tanggal_kematian", "Tanggal kematian"),
        ("jam_kematian", "Jam kematian"), ("tempat_kematian", "Tempat kematian"),
        ("kelurahan", "Kelurahan (alamat terakhir)"), ("kecamatan", "Kecamatan"),
    ),
    "kk": (
        ("holder_name", "Nama kepala keluarga"), ("nik", "NIK kepala keluarga"), ("alamat", "Alamat"),
        ("rt", "RT"), ("rw", "RW"), ("kelurahan", "Kelurahan"), ("kecamatan", "Kecamatan"),
        ("kota", "Kabupaten/Kota"), ("provinsi", "Provinsi"),
    ),
}
DATE_FIELDS = ("tanggal_lahir", "tanggal_kematian", "issued_on")


class IssuingError(Exception):
    pass


# --- the signing key ----------------------------------------------------------------------------

_keys: dict[str, Ed25519PrivateKey] = {}
_keys_lock = threading.Lock()


def key_path() -> pathlib.Path:
    configured = current_app.config.get("SIGNING_KEY_FILE")
    return pathlib.Path(configured or os.path.join(current_app.instance_path, "signing_key.pem"))


def private_key() -> Ed25519PrivateKey:
    """The current signing key: read (or created) once per process and path."""
    path = key_path().resolve()
    with _keys_lock:
        key = _keys.get(str(path))
        if key is None:
            key = _load_or_create(path)
            _keys[str(path)] = key
        return key


def _load_or_create(path: pathlib.Path) -> Ed25519PrivateKey:
    if not path.exists():
        _create_key_file(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("signing key file %s is readable by others (mode %o); it should be 0600", path, mode)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise IssuingError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(path: pathlib.Path) -> None:
    """Write a new key atomically with mode 0600; if another process got there first, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")  # mkstemp: 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # never replaces a key that already exists
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    log.info("created a new document signing key at %s", path)


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def current_key_row() -> SigningKey:
    """The signing_key row of the current key, added on first use."""
    raw = raw_public_key(private_key())
    key_id = key_id_of(raw)
    row = db.session.get(SigningKey, key_id)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = SigningKey(key_id=key_id, public_key=raw.hex())
            db.session.add(row)
    except IntegrityError:  # another worker registered the same key just now
        row = db.session.get(SigningKey, key_id)
        if row is None:
            raise
    return row


# --- canonical content and signatures ------------------------------------------------------------


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(content: dict) -> str:
    return b64url(private_key().sign(canonical(content)))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes | None:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Only the one canonical spelling: the last character carries unused bits, and a code whose
    # last character was changed must not decode to the same signature.
    return raw if b64url(raw) == text else None


def signature_valid(content: dict, signature: str, key_row: SigningKey | None) -> bool:
    """Does ``signature`` (base64url) sign ``content`` under the key in ``key_row``? Real Ed25519 check."""
    raw = b64url_decode(signature)
    if key_row is None or raw is None or len(raw) != 64:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_row.public_key))
        public.verify(raw, canonical(content))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- numbers -------------------------------------------------------------------------------------


def _number_prefix(doc_type: str) -> str:
    return f"{CITY_NUMBER}-{TYPE_CODES[doc_type]}-"


def next_number(doc_type: str, day: date) -> str:
    """The next free number of this type in ``day``'s year (the unique constraint has the last word)."""
    prefix = _number_prefix(doc_type)
    serial_from = len(prefix) + len("DDMMYYYY-") + 1  # 1-based position of the serial
    pattern = f"{prefix}____{day.year:04d}-%"
    highest = db.session.scalar(
        select(func.max(cast(func.substr(IssuedDocument.number, serial_from), Integer)))
        .where(IssuedDocument.number.like(pattern)))
    return f"{prefix}{day:%d%m%Y}-{(highest or 0) + 1:04d}"


# --- content -------------------------------------------------------------------------------------


def _region_name(code: str | None) -> str | None:
    if not code:
        return None
    region = db.session.get(Region, code)
    return region.name if region else None


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def build_content(req: ServiceRequest, number: str, issued_on: date) -> dict:
    """What is signed and printed: only what the document itself states (no cause of death, no phone…)."""
    data = req.data or {}
    content: dict = {
        "v": CONTENT_VERSION,
        "number": number,
        "doc_type": req.service_code,
        "issued_on": issued_on.isoformat(),
        "holder_name": _text(req.subject_name) or "",
        "nik": _text(req.subject_nik),
        "kelurahan": _region_name(req.kelurahan_code),
        "kecamatan": _region_name(req.kecamatan_code),
        "tracking_no": req.tracking_no,
    }
    birth = req.subject_birth_date.isoformat() if req.subject_birth_date else None
    sex = SEX_TEXT.get(req.subject_sex or "")
    if req.service_code == "akta_kelahiran":
        content.update({
            "tempat_lahir": _text(data.get("tempat_lahir")), "tanggal_lahir": birth,
            "jam_lahir": _text(data.get("jam_lahir")), "jenis_kelamin": sex,
            "anak_ke": _text(data.get("kelahiran_ke")),
            "nama_ayah": _text(data.get("nama_ayah")), "nama_ibu": _text(data.get("nama_ibu")),
        })
    elif req.service_code == "akta_kematian":
        content.update({
            "jenis_kelamin": sex, "tanggal_lahir": birth,
            "tanggal_kematian": _text(data.get("tanggal_kematian")), "jam_kematian": _text(data.get("jam_kematian")),
            "tempat_kematian": _text(data.get("tempat_kematian")),
        })
    elif req.service_code == "kk":
        content.update(_kk_content(req, data))
    return content


def _kk_content(req: ServiceRequest, data: dict) -> dict:
    household = req.subject_person.household if req.subject_person else None
    # A new or split KK has a new address in the request; a changed or reprinted one keeps the old.
    alamat = _text(data.get("alamat")) or (household.street if household else None)
    rt = _text(data.get("rt")) or (household.rt.label if household else None)
    rw = _text(data.get("rw")) or (household.rw.label if household else None)
    members: list[dict] = []
    if household is not None and req.variant_code in ("perubahan", "hilang_rusak"):
        for person in household.members:
            members.append({"nama": person.full_name, "nik": person.nik,
                            "jenis_kelamin": SEX_TEXT.get(person.sex),
                            "tanggal_lahir": person.birth_date.isoformat() if person.birth_date else None,
                            "hubungan": RELATION_TEXT.get(person.relation, person.relation)})
    if not members:
        members.append({"nama": _text(req.subject_name) or "", "nik": _text(req.subject_nik),
                        "jenis_kelamin": SEX_TEXT.get(req.subject_sex or ""),
                        "tanggal_lahir": req.subject_birth_date.isoformat() if req.subject_birth_date else None,
                        "hubungan": RELATION_TEXT["kepala_keluarga"]})
    return {"alamat": alamat, "rt": rt, "rw": rw, "kota": "Kota Bekasi", "provinsi": "Jawa Barat",
            "anggota": members}


# --- the verification URL ------------------------------------------------------------------------


def verification_url(number: str, signature: str) -> str:
    """What the QR code says: PUBLIC_URL when configured, else the host of the current request."""
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if has_request_context():
        if public:
            return public + url_for("verify.document", number=number, s=signature)
        return url_for("verify.document", number=number, s=signature, _external=True)
    if not public:
        raise IssuingError("PUBLIC_URL must be configured to issue documents outside a web request")
    return f"{public}/verifikasi/{quote(number, safe='')}?s={signature}"


def url_of(document: IssuedDocument) -> str:
    return verification_url(document.number, document.signature)


# --- issuing -------------------------------------------------------------------------------------


def document_for(req: ServiceRequest) -> IssuedDocument | None:
    return db.session.scalar(select(IssuedDocument).where(IssuedDocument.request_id == req.id))


def issue_document(req: ServiceRequest, root: str | os.PathLike) -> IssuedDocument:
    """Number, sign, render and store the request's document; the same one again if it exists. Flushes."""
    existing = document_for(req)
    if existing is not None:
        return existing
    if req.service_code not in TYPE_CODES:
        raise IssuingError(f"service {req.service_code!r} does not issue a document")
    key_row = current_key_row()
    for _attempt in range(MAX_ATTEMPTS):
        now = utcnow()
        issued_on = sla.local_date(now)
        number = next_number(req.service_code, issued_on)
        content = build_content(req, number, issued_on)
        signature = sign(content)
        pdf = render_pdf(content, signature, verification_url(number, signature))
        storage_name = uploads.store(root, pdf, "pdf")
        document = IssuedDocument(request_id=req.id, number=number, doc_type=req.service_code,
                                  holder_name=content["holder_name"][:120], content=content,
                                  signature=signature, key_id=key_row.key_id, storage_name=storage_name,
                                  issued_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(document)
        except IntegrityError:
            # The number was taken by a concurrent issue, or this very request was issued meanwhile.
            uploads.delete(root, storage_name)
            existing = document_for(req)
            if existing is not None:
                return existing
            continue
        log.info("issued document %s for request %s", number, req.tracking_no)
        return document
    raise IssuingError("could not find a free document number")


def revoke(document: IssuedDocument, user: User | None, reason: str) -> IssuedDocument:
    """Mark ``document`` revoked (the first revocation stands; revoking again changes nothing). Flushes."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required to revoke a document")
    if document.revoked_at is None:
        document.revoked_at = utcnow()
        document.revoked_reason = reason
        document.revoked_by_id = user.id if user is not None else None
        db.session.flush()
        log.info("revoked document %s", document.number)
    return document


def find(number: str) -> IssuedDocument | None:
    return db.session.scalar(select(IssuedDocument).where(IssuedDocument.number == number))


# --- verification --------------------------------------------------------------------------------

VALID, REVOKED, INVALID = "valid", "revoked", "invalid"


@dataclass(frozen=True)
class Verdict:
    status: str  # VALID, REVOKED or INVALID
    doc_type: str | None = None
    number: str | None = None
    issued_on: date | None = None
    masked_name: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


def normalise_number(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "").upper()[:40]


def normalise_signature(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")[:200]


def check(number: str | None, signature: str | None) -> Verdict:
    """Is (number, signature) a document this office issued, unchanged, and still in force?

    Only what the signature covers is shown, read from the signed content (never from the row's
    other columns), and of the holder only a masked name.
    """
    number = normalise_number(number)
    signature = normalise_signature(signature)
    if not number or not signature:
        return Verdict(INVALID)
    document = find(number)
    if document is None or not isinstance(document.content, dict):
        return Verdict(INVALID)
    content = document.content
    if content.get("number") != document.number:
        return Verdict(INVALID)
    if not signature_valid(content, signature, db.session.get(SigningKey, document.key_id)):
        return Verdict(INVALID)
    try:
        issued_on = date.fromisoformat(content.get("issued_on") or "")
    except (TypeError, ValueError):
        issued_on = None
    verdict = dict(doc_type=content.get("doc_type"), number=document.number, issued_on=issued_on,
                   masked_name=mask_name(content.get("holder_name")))
    if document.revoked_at is not None:
        return Verdict(REVOKED, revoked_at=document.revoked_at, revoked_reason=document.revoked_reason, **verdict)
    return Verdict(VALID, **verdict)


def mask_name(name: str | None) -> str:
    """"Rani Wati" → "Ra** Wa**": the first two letters of each word, then two asterisks.

    Always two asterisks, so the mask does not tell the length of the name; words of one or two
    letters show only their first letter.
    """
    masked = []
    for word in unicodedata.normalize("NFC", name or "").split():
        letters = _clusters(word)
        keep = 2 if len(letters) > 2 else 1
        masked.append("".join(letters[:keep]) + "**")
    return " ".join(masked)


def _clusters(word: str) -> list[str]:
    """Characters as a reader sees them: accents, emoji modifiers and joined sequences stay together."""
    out: list[str] = []
    joined = False
    for ch in word:
        if out and (joined or unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Sk")
                    or ch in "\u200d\ufe0f"):
            out[-1] += ch
        else:
            out.append(ch)
        joined = ch == "\u200d"
    return out


# --- the PDF -------------------------------------------------------------------------------------

# Letters that Unicode does not decompose into a latin letter plus accents.
_TRANSLITERATE = str.maketrans({
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ø": "o", "Ø": "O", "ħ": "h", "Ħ": "H",
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})
_SPECIAL = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th"}


def pdf_text(text: str | None) -> str:
    """Text Helvetica can print (latin-1): keep latin-1, strip accents elsewhere, "?" for the rest."""
    if not text:
        return ""
    out = []
    for ch in unicodedata.normalize("NFC", str(text)).translate(_TRANSLITERATE):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
            continue
        if unicodedata.category(ch).startswith("C") and ch not in "\n":
            continue  # control and format characters (zero-width joiners of emoji sequences…)
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(ord(c) < 256 for c in base):
            out.append(base)
        elif unicodedata.category(ch) in ("Mn", "Me", "Sk"):
            continue  # a stray accent or emoji skin-tone modifier
        else:
            out.append("?")
    return "".join(out)


def _long_date(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return format_date(date.fromisoformat(iso), "d MMMM yyyy", locale="id")
    except ValueError:
        return iso


def render_pdf(content: dict, signature: str, url: str) -> bytes:
    """The document as an A4 PDF: header, title, number, the data, place and date, official, QR code."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    doc_type = content.get("doc_type")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(20, 16, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(pdf_text(f"{PDF_TITLES.get(doc_type, '')} {content.get('number', '')}"))
    pdf.set_author(pdf_text(PDF_HEADER[1] + " KOTA BEKASI"))
    pdf.set_creator("E-Open Bekasi")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text, size=10, style="", align="L", height=6):
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, pdf_text(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(PDF_HEADER[0], 12, "B", "C")
    line(PDF_HEADER[1], 12, "B", "C")
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1.5, pdf.w - pdf.r_margin, pdf.get_y() + 1.5)
    pdf.ln(9)
    line(PDF_TITLES.get(doc_type, ""), 16, "B", "C", 8)
    line(f"Nomor: {content.get('number', '')}", 11, "", "C")
    pdf.ln(6)

    label_width = 58
    for key, label in PDF_FIELDS.get(doc_type, ()):
        value = content.get(key)
        if key in DATE_FIELDS:
            value = _long_date(value)
        if not value:
            continue
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(label_width, 6.5, pdf_text(label))
        pdf.cell(4, 6.5, ":")
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(width - label_width - 4, 6.5, pdf_text(str(value)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    if doc_type == "kk" and content.get("anggota"):
        pdf.ln(4)
        line("Anggota keluarga", 10, "B")
        columns = (("No", 9), ("Nama", 52), ("NIK", 36), ("L/P", 18), ("Tanggal lahir", 30), ("Hubungan", width - 145))
        pdf.set_font("Helvetica", "B", 9)
        for title, w in columns:
            pdf.cell(w, 6.5, title, border=1)
        pdf.ln(6.5)
        pdf.set_font("Helvetica", "", 9)
        for i, member in enumerate(content["anggota"], 1):
            cells = (str(i), member.get("nama") or "", member.get("nik") or "-",
                     (member.get("jenis_kelamin") or "-")[:1] if member.get("jenis_kelamin") else "-",
                     _long_date(member.get("tanggal_lahir")) or "-", member.get("hubungan") or "")
            for (title, w), value in zip(columns, cells):
                text = pdf_text(value)
                while text and pdf.get_string_width(text) > w - 2:
                    text = text[:-1]
                pdf.cell(w, 6.5, text, border=1)
            pdf.ln(6.5)

    pdf.ln(6)
    line(f"Dikeluarkan berdasarkan permohonan nomor {content.get('tracking_no', '')}.", 9)
    pdf.ln(4)

    # Signature block on the right: place and date, the official, then the QR code with its caption.
    qr_size = 35
    block_x = pdf.w - pdf.r_margin - 80
    if pdf.get_y() + 6 * 3 + qr_size + 30 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.set_x(block_x)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(80, 6, pdf_text(f"{PDF_PLACE}, {_long_date(content.get('issued_on'))}"), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(block_x)
    pdf.multi_cell(80, 5, PDF_OFFICIAL, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    qr = segno.make(url, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=10, border=4)
    png.seek(0)
    pdf.image(png, x=block_x + (80 - qr_size) / 2, y=pdf.get_y(), w=qr_size, h=qr_size)
    pdf.set_y(pdf.get_y() + qr_size + 1)
    pdf.set_x(block_x)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(80, 4, PDF_CAPTION, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("Courier", "", 7)
    pdf.multi_cell(width, 3.5, f"Kode verifikasi: {signature}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
