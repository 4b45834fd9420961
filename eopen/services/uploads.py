"""Uploaded documents: judge by content, normalise photos, store atomically under random names.

Residents photograph paper documents with cheap phones, so we accept any JPEG, PNG or HEIC photo
and any PDF up to 15 MB. Photos are re-encoded (upright, no metadata, long side <= 2000 px,
<= 750 KB); PDFs are checked for active content and stored as they are.

The type is judged from the bytes only (magic numbers), never from the file name or the browser's
content type. Routes turn `UploadRejected` into the same page again with `.message` beside the
field and `.status` as the response code.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import pathlib
import re
import secrets
import tempfile
import warnings
import zlib
from dataclasses import dataclass

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from PIL import Image, ImageOps

try:  # littlecms ships with Pillow's wheels; without it we fall back to a plain conversion
    from PIL import ImageCms
except ImportError:  # pragma: no cover
    ImageCms = None

MAX_INPUT_BYTES = 15 * 1024 * 1024
MAX_OUTPUT_BYTES = 750 * 1024

# Pixel limits, checked against the size an image *declares* before anything is decoded.
# JPEG: up to 110 MP, so a full-resolution 108 MP phone photo (12000 x 9000) is accepted. JPEGs are
# decoded with libjpeg's DCT scaling (`draft`) straight to about the target size, so even that photo
# costs ~20 MB to decode. PNG and HEIC have no such shortcut and are decoded in full (3-4 bytes per
# pixel), so they get 64 MP: enough for a 48 MP iPhone HEIC, and at most ~256 MB for a single decode.
# Pillow's own guard (MAX_IMAGE_PIXELS, a warning that we turn into an error) is set to the JPEG limit.
# warnings.catch_warnings is not thread-safe before Python 3.14, so the explicit check after opening
# is what holds when another thread resets the filters under us.
MAX_PIXELS_JPEG = 110_000_000
MAX_PIXELS_OTHER = 64_000_000

# Legibility: an A4 page filling the frame at 2000 px on its long side is ~170 dpi, so 10-pt print
# gets ~24 px per em (x-height ~11 px), well above the ~6 px where letters start to merge. JPEG at
# quality >= 60 leaves only faint ringing around such strokes, so we trade quality down to 60 first
# and give up pixels (15 % at a time) only if the file is still too large.
MAX_LONG_SIDE = 2000
QUALITY_START = 85
QUALITY_FLOOR = 60
QUALITY_STEP = 5
SHRINK_FACTOR = 0.85
MIN_LONG_SIDE = 400

_NAME_RE = re.compile(r"[0-9a-f]{32}\.(?:jpg|pdf)")
EXTENSIONS = ("jpg", "pdf")

HEIC_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc"}
_HEVC_BRANDS = HEIC_BRANDS - {b"mif1", b"msf1"}
# A HEIF container with an AV1 picture (AVIF) announces mif1 too; libheif here cannot decode AV1.
_AVIF_BRANDS = {b"avif", b"avis"}

# What must not follow an image's data: another file format or markup.
_FOREIGN_IN_TRAILER = re.compile(rb"PK\x03\x04|%PDF|<script|<html|<\?php", re.IGNORECASE)
# Active content in a PDF. Names are case-sensitive; /JS and /Launch must end at a delimiter.
_PDF_ACTIVE = re.compile(
    rb"/JavaScript|/EmbeddedFile|/(?:JS|Launch)(?=[\x00\t\n\x0c\r /\[\]<>(){}%]|\Z)"
    rb"|(?i:<script|<html)"
)
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb">>(?:\s|%[^\r\n]*)*stream(?:\r\n|\n|\r)")
_PDF_MAX_INFLATE = 64 * 1024 * 1024  # text inflated from one file's streams, at most
_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")


class UploadRejected(Exception):
    """The upload cannot be accepted. `.message` is translated, for the user; `.status` the HTTP code.

    `.reason` is a short English slug for logs and tests ("empty", "too_large", "type", "damaged",
    "too_many_pixels", "foreign_content", "cannot_shrink", "pdf_active", "pdf_truncated", "pdf_locked",
    "pdf_unreadable").
    """

    def __init__(self, message: str, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Normalised:
    data: bytes
    content_type: str  # "image/jpeg" or "application/pdf"
    extension: str  # "jpg" or "pdf"
    width: int | None
    height: int | None
    detected: str  # "jpeg", "png", "heic" or "pdf"


@functools.cache
def _setup_pillow() -> None:
    """Once per process: teach Pillow HEIC, and set its (process-wide) decompression-bomb limit."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS_JPEG


# --- detection -------------------------------------------------------------------------------


def detect(raw: bytes) -> str | None:
    """"jpeg", "png", "heic", "pdf" from the first bytes, or None."""
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if len(raw) >= 16 and raw[4:8] == b"ftyp":
        size = int.from_bytes(raw[:4], "big")
        if 16 <= size <= min(len(raw), 4096):
            brands = {raw[8:12]} | {raw[i:i + 4] for i in range(16, size - 3, 4)}
            # AVIF announces mif1 as well; it is HEIF only if an HEVC brand is there too.
            if brands & _HEVC_BRANDS or (brands & HEIC_BRANDS and not brands & _AVIF_BRANDS):
                return "heic"
    return None


def _jpeg_end(raw: bytes) -> int | None:
    """Offset just after the EOI marker of the first image, or None if the structure ends early."""
    i, n = 2, len(raw)
    while i < n:
        if raw[i] != 0xFF:  # stray bytes between segments: libjpeg skips them, so do we
            i = raw.find(b"\xff", i)
            if i < 0:
                return None
        while i < n and raw[i] == 0xFF:
            i += 1
        if i >= n:
            return None
        marker = raw[i]
        i += 1
        if marker == 0xD9:
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if i + 2 > n:
            return None
        length = int.from_bytes(raw[i:i + 2], "big")
        if length < 2:
            return None
        i += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            match = _JPEG_MARKER.search(raw, i)
            if match is None:
                return None
            i = match.start(1) - 1
    return None


def _png_end(raw: bytes) -> int | None:
    i, n = 8, len(raw)
    while i + 12 <= n:
        length = int.from_bytes(raw[i:i + 4], "big")
        kind = raw[i + 4:i + 8]
        i += 12 + length
        if kind == b"IEND":
            return i if i <= n else None
    return None


def _isobmff_end(raw: bytes) -> int:
    """End of the last well-formed top-level box; what follows is not part of the HEIF file."""
    i, n = 0, len(raw)
    while i + 8 <= n:
        size = int.from_bytes(raw[i:i + 4], "big")
        kind = raw[i + 4:i + 8]
        if not all(0x20 <= c < 0x7F for c in kind):
            break
        if size == 1:
            if i + 16 > n:
                break
            size = int.from_bytes(raw[i + 8:i + 16], "big")
        elif size == 0:
            return n
        if size < 8 or i + size > n:
            break
        i += size
    return i


def _trailer(raw: bytes, kind: str) -> bytes:
    if kind == "jpeg":
        end = _jpeg_end(raw)
    elif kind == "png":
        end = _png_end(raw)
    else:
        end = _isobmff_end(raw)
    return b"" if end is None else raw[end:]


def _carries_foreign_data(trailer: bytes) -> bool:
    # Phones do append data after a JPEG (a second picture, a motion-photo video), so we look for
    # signatures of what an attacker would hide there rather than refusing any trailer. "MZ" is too
    # short to search binary data for; an executable appended would start right after the image.
    if not trailer:
        return False
    if trailer.lstrip(b"\x00\t\n\r ").startswith(b"MZ"):
        return True
    return _FOREIGN_IN_TRAILER.search(trailer) is not None


# --- messages --------------------------------------------------------------------------------


def _megabytes(n: int) -> str:
    # Rounded up, so a file just over the limit never reads as the limit itself.
    value = math.ceil(n / (1024 * 1024) * 10) / 10
    return format_decimal(value, format="#,##0.#", locale=get_locale() or "id") + " MB"


def _wrong_type() -> UploadRejected:
    return UploadRejected(
        _("Jenis berkas ini tidak dapat diterima. Unggah foto (JPG, PNG atau HEIC) atau dokumen PDF. "
          "Jika dokumen Anda dalam bentuk lain, simpan sebagai PDF atau JPG lalu unggah lagi."),
        415, "type")


def _damaged() -> UploadRejected:
    return UploadRejected(
        _("Berkas foto rusak atau tidak lengkap sehingga tidak dapat dibuka. "
          "Foto ulang dokumen, lalu unggah foto yang baru."),
        422, "damaged")


def _foreign_content() -> UploadRejected:
    return UploadRejected(
        _("Berkas ini berisi sesuatu selain foto. Foto ulang dokumen dengan aplikasi kamera, "
          "lalu unggah foto yang baru."),
        422, "foreign_content")


# --- the entry point -------------------------------------------------------------------------


def normalise_upload(raw: bytes, *, max_input_bytes: int = MAX_INPUT_BYTES,
                     max_output_bytes: int = MAX_OUTPUT_BYTES) -> Normalised:
    """Check an uploaded file by its content; return what to store, or raise UploadRejected."""
    if not raw:
        raise UploadRejected(
            _("Berkas yang dipilih kosong (0 byte). Pilih lagi foto atau PDF dokumen Anda, lalu unggah ulang."),
            400, "empty")
    if len(raw) > max_input_bytes:
        raise UploadRejected(
            _("Berkas terlalu besar (%(size)s). Ukuran maksimum %(limit)s. Foto ulang dokumen dengan "
              "resolusi kamera biasa, atau simpan PDF dengan ukuran lebih kecil.",
              size=_megabytes(len(raw)), limit=_megabytes(max_input_bytes)),
            413, "too_large")
    kind = detect(raw)
    if kind is None:
        raise _wrong_type()
    if kind == "pdf":
        _check_pdf(raw)
        return Normalised(raw, "application/pdf", "pdf", None, None, "pdf")
    if _carries_foreign_data(_trailer(raw, kind)):
        raise _foreign_content()
    data, width, height = _normalise_image(raw, kind, max_output_bytes)
    return Normalised(data, "image/jpeg", "jpg", width, height, kind)


# --- images ----------------------------------------------------------------------------------


_PILLOW_FORMATS = {"jpeg": ["JPEG", "MPO"], "png": ["PNG"], "heic": ["HEIF"]}


def _normalise_image(raw: bytes, kind: str, max_output_bytes: int) -> tuple[bytes, int, int]:
    _setup_pillow()
    limit = MAX_PIXELS_JPEG if kind == "jpeg" else MAX_PIXELS_OTHER
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=_PILLOW_FORMATS[kind]) as im:
                if im.width * im.height > limit:
                    raise _too_many_pixels(limit)
                if kind == "jpeg" and max(im.size) > MAX_LONG_SIDE:
                    # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the target size.
                    scale = MAX_LONG_SIDE / max(im.size)
                    im.draft(None, (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
                im.load()
                # Shrink before anything else touches the pixels, so big photos are copied only once.
                image = _to_working_mode(im)
                if max(image.size) > MAX_LONG_SIDE:
                    image = _resized(image, MAX_LONG_SIDE / max(image.size))
                image = _upright(_flattened(image))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels(limit) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, RuntimeError) as error:
        # What Pillow and pillow-heif raise for truncated or corrupt data (UnidentifiedImageError
        # is an OSError; libheif's decoder errors surface as RuntimeError).
        raise _damaged() from error
    image = _to_srgb(image)
    image.info = {}  # nothing of the original's metadata (EXIF, GPS, XMP, ICC, comments) goes on
    return _encode_to_fit(image, max_output_bytes)


def _too_many_pixels(limit: int) -> UploadRejected:
    return UploadRejected(
        _("Resolusi foto terlalu besar (lebih dari %(limit)s megapiksel). Atur kamera ke resolusi "
          "biasa (misalnya 12 MP), lalu foto ulang dokumen.", limit=f"{limit / 1e6:.0f}"),
        422, "too_many_pixels")


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (the resized copy still carries the original's EXIF in .info)."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - broken EXIF from some phone: keep the photo, unrotated
        return im.copy()  # a copy: the opened file is closed when we leave its `with`


def _to_working_mode(im: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA, CMYK: the modes Pillow resizes well."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode.startswith("I"):
        # 16-bit greyscale PNG: convert("L") would clip everything above 255, so scale first.
        return im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode in ("1", "F"):
        return im.convert("L")
    if mode in ("PA", "La", "RGBa"):
        return im.convert("RGBA")
    return im.convert("RGB")


def _flattened(im: Image.Image) -> Image.Image:
    """Transparent areas become white paper, not black (what convert("RGB") would show)."""
    if im.mode not in ("LA", "RGBA"):
        return im
    base = im.mode[:-1]
    flat = Image.new(base, im.size, 255 if base == "L" else (255, 255, 255))
    flat.paste(im.convert(base), mask=im.getchannel("A"))
    flat.info = dict(im.info)
    return flat


def _resized(im: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(im.width * factor)), max(1, round(im.height * factor)))
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_srgb(im: Image.Image) -> Image.Image:
    """We drop the ICC profile, so convert colours to sRGB first (e.g. an iPhone's Display P3)."""
    icc = im.info.get("icc_profile")
    if icc and ImageCms is not None and im.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return im.convert("RGB") if im.mode == "CMYK" else im


def _encode(im: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _encode_to_fit(image: Image.Image, max_bytes: int) -> tuple[bytes, int, int]:
    quality = QUALITY_START
    current = image
    factor = 1.0
    while True:
        data = _encode(current, quality)
        if len(data) <= max_bytes:
            return data, current.width, current.height
        if quality > QUALITY_FLOOR:
            quality = max(QUALITY_FLOOR, quality - QUALITY_STEP)
            continue
        factor *= SHRINK_FACTOR  # always from the full image, so blur does not accumulate
        if max(image.size) * factor < MIN_LONG_SIDE:
            raise UploadRejected(
                _("Foto ini tidak dapat diperkecil sampai %(limit)s tanpa menjadi tidak terbaca. "
                  "Foto ulang dokumen di tempat yang terang dengan latar polos.",
                  limit=f"{max_bytes // 1024} KB"),
                422, "cannot_shrink")
        current = _resized(image, factor)


# --- PDF -------------------------------------------------------------------------------------


def _check_pdf(raw: bytes) -> None:
    # Not a PDF parser: a search for what would make a stored PDF act on its own when an operator
    # opens it. Known blind spots (hence serve PDFs as downloads, not inline): object streams
    # behind a predictor or a filter other than Flate, and anything inside encrypted streams.
    if b"%%EOF" not in raw[-1024:]:
        raise UploadRejected(
            _("PDF ini tidak lengkap atau rusak. Simpan ulang dokumen sebagai PDF lalu unggah lagi, "
              "atau unggah foto dokumennya."),
            422, "pdf_truncated")
    plain = _pdf_names_unescaped(raw)
    if _PDF_ACTIVE.search(plain):
        raise _pdf_active()
    if b"/Encrypt" in plain and b"/ObjStm" in plain:
        # Objects packed in encrypted object streams cannot be looked into.
        raise UploadRejected(
            _("PDF ini terkunci (terenkripsi) sehingga isinya tidak dapat diperiksa. Simpan ulang "
              "sebagai PDF tanpa kata sandi, atau unggah foto dokumennya."),
            422, "pdf_locked")
    # Since PDF 1.5 objects may sit compressed in object streams, out of sight of the search above;
    # inflate every Flate stream that turns out to be text (pictures and fonts are skipped).
    view = memoryview(raw)
    budget = _PDF_MAX_INFLATE
    for match in _PDF_STREAM.finditer(raw):
        pieces: list[bytes] = []
        try:
            for piece in _inflate(view, match.end(), budget):
                if not pieces and not _looks_like_text(piece[:4096]):
                    break
                pieces.append(piece)
        except zlib.error:  # not Flate (a JPEG picture, another filter, encrypted): nothing to read
            pass
        text = b"".join(pieces)
        budget -= len(text)
        if budget <= 0:
            raise UploadRejected(
                _("Isi PDF ini terlalu besar untuk diperiksa. Cetak ulang dokumen dengan pilihan "
                  "\"Simpan sebagai PDF\", atau unggah foto dokumennya."),
                422, "pdf_unreadable")
        if text and _PDF_ACTIVE.search(_pdf_names_unescaped(text)):
            raise _pdf_active()


def _pdf_active() -> UploadRejected:
    return UploadRejected(
        _("PDF ini berisi skrip, tindakan otomatis atau lampiran tersembunyi yang tidak diizinkan. "
          "Cetak ulang dokumen dengan pilihan \"Simpan sebagai PDF\", atau unggah foto dokumennya."),
        422, "pdf_active")


def _pdf_names_unescaped(data: bytes) -> bytes:
    # A name may spell any character as #xx: /J#61vaScript is /JavaScript.
    if b"#" not in data:
        return data
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), data)


def _inflate(view: memoryview, start: int, max_out: int):
    """Yield the output of the zlib stream starting at view[start], at most max_out bytes in all."""
    inflater = zlib.decompressobj()
    position, produced, pending = start, 0, b""
    while produced < max_out and not inflater.eof:
        if not pending:
            if position >= len(view):
                return
            pending = view[position:position + 65536]
            position += 65536
        piece = inflater.decompress(pending, min(65536, max_out - produced))
        pending = inflater.unconsumed_tail
        produced += len(piece)
        if piece:
            yield piece


_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"


def _looks_like_text(sample: bytes) -> bool:
    binary = len(sample.translate(None, _TEXT_BYTES))
    return bool(sample) and binary <= 0.25 * len(sample)


# --- storage ---------------------------------------------------------------------------------


def store(root: str | os.PathLike, data: bytes, extension: str) -> str:
    """Write data under root as <2 hex>/<32 hex>.<ext>, atomically; return the storage name."""
    if extension not in EXTENSIONS:
        raise ValueError(f"unsupported extension {extension!r}")
    name = f"{secrets.token_hex(16)}.{extension}"
    folder = pathlib.Path(root) / name[:2]
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
    return name


def path_of(root: str | os.PathLike, storage_name: str) -> pathlib.Path:
    """The file behind a storage name; FileNotFoundError for a malformed name or a missing file."""
    path = _path(root, storage_name)
    if path is None or not path.is_file():
        raise FileNotFoundError(storage_name)
    return path


def delete(root: str | os.PathLike, storage_name: str) -> None:
    """Remove a stored file; a file that is already gone is fine, a malformed name is not."""
    path = _path(root, storage_name)
    if path is None:
        raise ValueError(f"not a storage name: {storage_name!r}")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _path(root: str | os.PathLike, storage_name: object) -> pathlib.Path | None:
    if not isinstance(storage_name, str) or not _NAME_RE.fullmatch(storage_name):
        return None
    return pathlib.Path(root) / storage_name[:2] / storage_name


def _fsync_dir(folder: pathlib.Path) -> None:
    # Make the new directory entry durable too (POSIX); not possible on every platform.
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
