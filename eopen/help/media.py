"""The guide's pictures and narrations on disk: eopen/static/guide/img/*.webp and audio/*.opus.

Both are made by `make guide` (eopen/help/build.py) and committed, so serving the guide needs neither a
browser nor a speech synthesiser. Here we only read what a page needs to show them: a picture's size
(for width/height, so the lazy-loaded page does not jump) and a narration's length and bytes.
"""
from __future__ import annotations

import functools
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

GUIDE_DIR = Path(__file__).resolve().parent.parent / "static" / "guide"
IMG_DIR = GUIDE_DIR / "img"
AUDIO_DIR = GUIDE_DIR / "audio"
IMG_EXT = ".webp"
AUDIO_EXT = ".opus"
PHONE_WIDTH = 360  # CSS pixels: phone screenshots (portrait) are shown at the phone's own width
TEXT_TAG = "EOPEN_TEXT_SHA256"  # an Opus comment: the digest of the text a narration speaks


@dataclass(frozen=True)
class Picture:
    name: str
    filename: str  # relative to static/
    width: int     # CSS pixels to show it at
    height: int
    bytes: int


@dataclass(frozen=True)
class Clip:
    name: str
    filename: str  # relative to static/
    seconds: int
    bytes: int


def image_path(name: str) -> Path:
    return IMG_DIR / f"{name}{IMG_EXT}"


def audio_path(name: str) -> Path:
    return AUDIO_DIR / f"{name}{AUDIO_EXT}"


def picture(name: str) -> Picture | None:
    path = image_path(name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _picture(name, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _picture(name: str, _mtime: int, size: int) -> Picture:
    from PIL import Image
    with Image.open(image_path(name)) as img:
        width, height = img.size
    if height > width:  # a phone's screen, taken at twice its CSS pixels for sharp text
        width, height = PHONE_WIDTH, round(height * PHONE_WIDTH / width)
    return Picture(name, f"guide/img/{name}{IMG_EXT}", width, height, size)


def clip(name: str) -> Clip | None:
    path = audio_path(name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _clip(name, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _clip(name: str, _mtime: int, size: int) -> Clip:
    return Clip(name, f"guide/audio/{name}{AUDIO_EXT}", round(opus_seconds(audio_path(name))), size)


def opus_seconds(path: Path) -> float:
    """The length of an Ogg Opus file: the last page's granule position (48 kHz samples) less the
    pre-skip of the identification header."""
    data = path.read_bytes()
    if not data.startswith(b"OggS"):
        raise ValueError(f"{path.name}: not an Ogg file")
    head = data.find(b"OpusHead")
    if head < 0:
        raise ValueError(f"{path.name}: not Ogg Opus")
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    return max(0.0, (granule - pre_skip) / 48000)


def text_digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def spoken_digest(path: Path) -> str | None:
    """The TEXT_TAG comment of a narration (in the OpusTags header near the start of the file)."""
    match = re.search(TEXT_TAG.encode() + rb"=([0-9a-f]{64})", path.read_bytes()[:8192])
    return match.group(1).decode() if match else None
