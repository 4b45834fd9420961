"""Uploads: judged by content, photos normalised (upright, no metadata, <= 750 KB), stored atomically.

Every input is generated here; no binary fixtures live in the repository.
"""
from __future__ import annotations

import io
import random
import re
import struct
import warnings
import zipfile
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFont

from eopen.services import uploads
from eopen.services.uploads import Normalised, UploadRejected, normalise_upload

KB = 1024
RED = (220, 20, 30)


# --- generated inputs ----------------------------------------------------------------------------


def document_photo(size=(4000, 3000), *, mode="RGB") -> Image.Image:
    """A phone photo of a printed page: uneven light, sensor noise, lines of text, a red marker
    in the sensor's top-left corner (to see where the orientation puts it)."""
    width, height = size
    light = Image.linear_gradient("L").rotate(30, expand=False).resize(size).point(lambda v: 150 + v // 3)
    noise = Image.effect_noise(size, 24)
    paper = Image.merge("RGB", (light, light, Image.blend(light, noise, 0.3)))
    paper = Image.blend(paper, Image.merge("RGB", (noise, noise, noise)), 0.12)
    draw = ImageDraw.Draw(paper)
    font = ImageFont.load_default(size=60)
    lines = ["PEMERINTAH KOTA BEKASI - DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
             "KARTU KELUARGA  No. 3275010101200001",
             "NIK 3275014501900001  Nama: SITI AMINAH  Kel. Margahayu RT 003/RW 012"]
    for row, y in enumerate(range(400, height - 150, 95)):
        draw.text((260, y), lines[row % len(lines)], fill=(25, 25, 35), font=font)
    draw.rectangle((0, 0, 199, 199), fill=RED)
    return paper if mode == "RGB" else paper.convert(mode)


def phone_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi 9A"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (6.0, 14.0, 30.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (106.0, 59.0, 12.0),
    })
    return exif


def jpeg_bytes(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **params)
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes that claim to be a huge 1-bit PNG (the decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 4096, 9)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows)
            + png_chunk(b"IEND", b""))


def pdf_bytes(*objects: bytes, trailer_extra: bytes = b"") -> bytes:
    """A small but well-formed PDF; objects[0] is the catalog (1 0 obj)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer_extra, xref)
    return bytes(out)


PAGE_OBJECTS = (b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the first scan."""
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return markers


def rejected(raw: bytes, **kwargs) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        normalise_upload(raw, **kwargs)
    error = caught.value
    assert isinstance(error.message, str) and len(error.message) > 30
    return error


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return jpeg_bytes(document_photo(), quality=95, exif=phone_exif(6), icc_profile=srgb,
                      comment=b"taken at Jl. Ir. H. Juanda")


@pytest.fixture(scope="module")
def small_jpeg() -> bytes:
    return jpeg_bytes(document_photo((800, 600)), quality=90)


# --- photos ----------------------------------------------------------------------------------------


def test_phone_photo_is_upright_small_and_stripped(phone_jpeg):
    assert len(phone_jpeg) > 2 * 1024 * KB  # a realistic, well-compressed-but-big phone photo

    result = normalise_upload(phone_jpeg)

    assert isinstance(result, Normalised)
    assert (result.content_type, result.extension, result.detected) == ("image/jpeg", "jpg", "jpeg")
    assert len(result.data) <= 750 * KB
    out = Image.open(io.BytesIO(result.data))
    assert out.format == "JPEG" and out.mode == "RGB"
    # Orientation 6: the sensor's 4000x3000 landscape is shown as a 3000x4000 portrait.
    assert out.size == (result.width, result.height) == (1500, 2000)
    # No metadata at all: no APP1 (EXIF/XMP), no APP2 (ICC), no comment.
    assert not out.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(out.info)
    assert set(jpeg_markers(result.data)).isdisjoint({0xE1, 0xE2, 0xFE})
    assert b"Exif" not in result.data and b"Xiaomi" not in result.data and b"Juanda" not in result.data
    # The marker from the sensor's top-left is now top-right (rotated 90 degrees clockwise).
    r, g, b = out.getpixel((out.width - 30, 30))
    assert r > 170 and g < 90 and b < 90
    r, g, b = out.getpixel((30, 30))
    assert not (r > 170 and g < 90 and b < 90)
    r, g, b = out.getpixel((30, out.height - 30))
    assert not (r > 170 and g < 90 and b < 90)


def test_metadata_is_dropped_from_small_photos_too():
    # No resize, no colour conversion: the metadata must still not reach the encoder.
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    raw = jpeg_bytes(document_photo((800, 600)), exif=phone_exif(1), comment=b"Jl. Ir. H. Juanda",
                     xmp=xmp)
    result = normalise_upload(raw)
    assert (result.width, result.height) == (800, 600)
    assert set(jpeg_markers(result.data)).isdisjoint({0xE1, 0xE2, 0xFE})
    assert b"Juanda" not in result.data and b"xmpmeta" not in result.data


def test_text_stays_legible(phone_jpeg):
    # A crude legibility proxy: the text band still has crisp dark strokes on light paper.
    out = Image.open(io.BytesIO(normalise_upload(phone_jpeg).data)).convert("L")
    band = out.crop((out.width // 2 - 40, 130, out.width // 2 + 40, out.height - 130))
    low, high = band.getextrema()
    assert low < 80 and high > 150


def test_quality_is_traded_before_pixels_then_pixels_when_needed(phone_jpeg):
    tight = normalise_upload(phone_jpeg, max_output_bytes=120 * KB)
    assert len(tight.data) <= 120 * KB
    assert max(tight.width, tight.height) < 2000
    assert tight.height > tight.width  # still upright

    roomy = normalise_upload(phone_jpeg, max_output_bytes=5 * 1024 * KB)
    assert Image.open(io.BytesIO(roomy.data)).size == (1500, 2000)


def test_108_megapixel_phone_photo_is_accepted():
    big = Image.new("L", (12000, 9000), 210)
    ImageDraw.Draw(big).text((500, 500), "KTP-el", fill=0, font=ImageFont.load_default(size=400))
    result = normalise_upload(jpeg_bytes(big, quality=60))
    assert (result.width, result.height) == (2000, 1500)
    assert Image.open(io.BytesIO(result.data)).mode == "L"  # greyscale stays greyscale


def test_png_screenshot_with_transparency_lands_on_white():
    page = Image.new("RGBA", (2400, 1800), (0, 0, 0, 0))
    draw = ImageDraw.Draw(page)
    for y in range(100, 1700, 80):
        draw.text((100, y), "Surat Keterangan Pindah - Kelurahan Jakasampurna", fill=(0, 0, 0, 255),
                  font=ImageFont.load_default(size=48))
    result = normalise_upload(png_bytes(page))
    assert result.detected == "png" and result.content_type == "image/jpeg"
    out = Image.open(io.BytesIO(result.data))
    assert out.size == (2000, 1500)
    assert min(out.getpixel((5, 5))) > 245  # transparent background became paper white, not black


def test_sixteen_bit_greyscale_png_is_not_blown_out():
    deep = Image.linear_gradient("L").resize((600, 400)).convert("I").point(lambda v: v * 257)
    deep = deep.convert("I;16")
    result = normalise_upload(png_bytes(deep))
    out = Image.open(io.BytesIO(result.data))
    assert out.mode == "L"
    low, high = out.getextrema()
    assert low < 30 and high > 220


def test_heic_photo():
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEVC encoder, so no HEIC can be made for the test")
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    # x265's default preset takes ~15 s for this picture; "ultrafast" makes the same kind of file.
    document_photo((2400, 1800)).save(out, "HEIF", quality=80, enc_params={"preset": "ultrafast"})
    raw = out.getvalue()
    assert uploads.detect(raw) == "heic"

    result = normalise_upload(raw)

    assert result.detected == "heic" and result.content_type == "image/jpeg"
    assert (result.width, result.height) == (2000, 1500)
    assert len(result.data) <= 750 * KB
    assert not Image.open(io.BytesIO(result.data)).getexif()
    assert rejected(raw + b"PK\x03\x04" + b"\x00" * 100).reason == "foreign_content"


def test_avif_is_not_taken_for_heic():
    ftyp = struct.pack(">I", 28) + b"ftypavif" + b"\x00\x00\x00\x00" + b"avifmif1miaf"
    assert uploads.detect(ftyp + b"\x00" * 64) is None


# --- refused images --------------------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(12000, 10000), (100_000, 100_000), (9000, 8000)])
def test_decompression_bomb(width, height):
    # 120 MP trips Pillow's warning, 10 GP its error, 72 MP our own PNG limit; all in ~100 bytes.
    bomb = png_declaring(width, height)
    assert len(bomb) < 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the guard must not depend on the caller's warning filters
        error = rejected(bomb)
    assert (error.status, error.reason) == (422, "too_many_pixels")
    assert "megapiksel" in error.message


def test_truncated_jpeg(small_jpeg):
    error = rejected(small_jpeg[: len(small_jpeg) // 2])
    assert (error.status, error.reason) == (422, "damaged")
    assert "Foto ulang" in error.message


def test_corrupt_png():
    raw = bytearray(png_bytes(document_photo((300, 200))))
    raw[60:90] = b"\x00" * 30  # inside the compressed pixel data
    error = rejected(bytes(raw))
    assert error.status == 422


@pytest.mark.parametrize("raw", [
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run in DOS mode"
                 + b"\x00" * 4000, id="windows-exe-named-jpg"),
    pytest.param(random.Random(7).randbytes(8192), id="random-bytes"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 200, id="zip"),
    pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
    pytest.param(b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 40, id="gif"),
    pytest.param(b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40, id="webp"),
    pytest.param(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 40, id="mp4-video"),
])
def test_other_kinds_of_file_are_refused(raw):
    error = rejected(raw)
    assert (error.status, error.reason) == (415, "type")
    for kind in ("JPG", "PNG", "HEIC", "PDF"):
        assert kind in error.message


@pytest.mark.parametrize("payload", [
    pytest.param("zip", id="jpeg+zip"),
    pytest.param(b"MZ\x90\x00" + b"\x00" * 300, id="jpeg+exe"),
    pytest.param(b"\n<SCRIPT>fetch('/x')</SCRIPT>", id="jpeg+script"),
    pytest.param(b"<?php system($_GET['c']); ?>", id="jpeg+php"),
    pytest.param(b"%PDF-1.4 ...", id="jpeg+pdf"),
])
def test_jpeg_polyglot(small_jpeg, payload):
    if payload == "zip":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("payload.html", "<html><body>hi</body></html>")
        payload = archive.getvalue()
    error = rejected(small_jpeg + payload)
    assert (error.status, error.reason) == (422, "foreign_content")
    assert "selain foto" in error.message


def test_end_of_photo_is_end_of_its_scan_not_the_first_end_marker(small_jpeg):
    # An EXIF thumbnail is a whole JPEG, end marker included, inside the APP1 header segment.
    # Here "MZ" follows that inner end marker: a naive search would call it an appended program.
    thumb = jpeg_bytes(document_photo((160, 120)), quality=70)
    app1 = b"Exif\x00\x00" + b"\x00" * 16 + thumb + b"MZ\x90\x00"
    raw = small_jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + small_jpeg[2:]
    assert normalise_upload(raw).detected == "jpeg"
    error = rejected(raw + b"PK\x03\x04" + b"\x00" * 100)
    assert error.reason == "foreign_content"


def test_png_polyglot():
    raw = png_bytes(document_photo((300, 200))) + b"<html><script>alert(1)</script>"
    assert rejected(raw).reason == "foreign_content"


def test_harmless_trailer_is_fine(small_jpeg):
    # Phones append things (a second picture, a motion-photo video); that alone is not an attack.
    result = normalise_upload(small_jpeg + small_jpeg)
    assert (result.detected, result.width, result.height) == ("jpeg", 800, 600)


# --- size limits -----------------------------------------------------------------------------------


def test_empty_file():
    error = rejected(b"")
    assert error.status in (400, 422) and error.reason == "empty"
    assert "kosong" in error.message


def test_too_big():
    error = rejected(b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 1024 * KB))
    assert (error.status, error.reason) == (413, "too_large")
    assert "15 MB" in error.message


def test_input_limit_is_a_parameter(small_jpeg):
    assert rejected(small_jpeg, max_input_bytes=1000).status == 413
    assert normalise_upload(small_jpeg, max_input_bytes=len(small_jpeg)).detected == "jpeg"


# --- PDF -------------------------------------------------------------------------------------------


def test_pdf_is_stored_as_it_is():
    out = io.BytesIO()
    document_photo((1240, 1754)).save(out, "PDF", resolution=150)
    raw = out.getvalue()
    result = normalise_upload(raw)
    assert result == Normalised(raw, "application/pdf", "pdf", None, None, "pdf")


def test_handmade_pdf_with_compressed_text_and_harmless_names_is_fine():
    content = zlib.compress(b"BT /F1 12 Tf 72 760 Td (Surat Keterangan Domisili) Tj ET\n" * 50)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /JSFontMap 5 0 R >>"
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"
    raw = pdf_bytes(b"<< /Type /Catalog /Pages 2 0 R >>", PAGE_OBJECTS[0], page, stream, b"<< >>")
    assert normalise_upload(raw).detected == "pdf"


@pytest.mark.parametrize("catalog", [
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> >>",
    b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [] >> >> >>",
    b"<< /Type /Catalog /Pages 2 0 R >> % <html><body>",
])
def test_pdf_with_active_content(catalog):
    error = rejected(pdf_bytes(catalog, *PAGE_OBJECTS))
    assert (error.status, error.reason) == (422, "pdf_active")
    assert "PDF" in error.message


def test_pdf_with_javascript_inside_a_compressed_object_stream():
    packed = b"4 0 << /S /JavaScript /JS (app.alert(1)) >>"
    objstm = (b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
              % len(zlib.compress(packed)) + zlib.compress(packed) + b"\nendstream")
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"
    raw = pdf_bytes(catalog, *PAGE_OBJECTS, objstm)
    assert b"JavaScript" not in raw
    assert rejected(raw).reason == "pdf_active"


def test_encrypted_pdf_with_object_streams_cannot_be_checked():
    objstm = b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 8 >>\nstream\n\x8a\x13\xfe\x00\x91\x22\x73\x01\nendstream"
    raw = pdf_bytes(b"<< /Type /Catalog /Pages 2 0 R >>", *PAGE_OBJECTS, objstm, b"<< /Filter /Standard >>",
                    trailer_extra=b"/Encrypt 5 0 R ")
    assert rejected(raw).reason == "pdf_locked"


def test_truncated_pdf():
    out = io.BytesIO()
    document_photo((600, 800)).save(out, "PDF")
    raw = out.getvalue()
    error = rejected(raw[: len(raw) * 2 // 3])
    assert (error.status, error.reason) == (422, "pdf_truncated")


# --- storage ---------------------------------------------------------------------------------------


def test_store_path_of_delete_round_trip(tmp_path):
    root = tmp_path / "uploads"
    name = uploads.store(root, b"hello", "jpg")
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
    path = uploads.path_of(root, name)
    assert path == root / name[:2] / name
    assert path.read_bytes() == b"hello"
    assert sorted(p.name for p in root.rglob("*")) == sorted([name[:2], name])  # no temp files left

    other = uploads.store(str(root), b"%PDF-", "pdf")
    assert other != name and other.endswith(".pdf")

    uploads.delete(root, name)
    assert not path.exists()
    uploads.delete(root, name)  # already gone: fine
    with pytest.raises(FileNotFoundError):
        uploads.path_of(root, name)


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "../" + "a" * 32 + ".jpg", "ab/../" + "a" * 32 + ".jpg", "/etc/passwd",
    "A" * 32 + ".jpg", "a" * 32 + ".jpg\n", "a" * 32 + ".exe", "a" * 31 + ".jpg", "a" * 32 + ".JPG",
    "..\\" + "a" * 32 + ".jpg", "", "a" * 32,
])
def test_names_that_are_not_ours_are_refused(tmp_path, name):
    (tmp_path / "passwd").write_text("secret")
    with pytest.raises(FileNotFoundError):
        uploads.path_of(tmp_path, name)
    with pytest.raises(ValueError):
        uploads.delete(tmp_path, name)
    assert (tmp_path / "passwd").exists()


@pytest.mark.parametrize("extension", ["exe", "JPG", "../jpg", ""])
def test_store_only_writes_our_extensions(tmp_path, extension):
    with pytest.raises(ValueError):
        uploads.store(tmp_path, b"x", extension)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(uploads.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        uploads.store(tmp_path, b"data", "pdf")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
