"""Make the guide's media (run by `make guide`; the results are committed).

    python -m eopen.help.build images DIR   PNG screenshots of the e2e tour (DIR/<shot>.png) → compressed
                                            WebP in eopen/static/guide/img/
    python -m eopen.help.build audio        each section's narration → eopen/static/guide/audio/*.opus
    python -m eopen.help.build texts        print what would be spoken (nothing is written)

The narration is the text the page shows: every guide page is rendered in Indonesian by the app itself and
the text of each ``[data-narration]`` element (less ``[data-narration-skip]`` parts: the player, the
pictures) is spoken by espeak-ng's Indonesian voice and compressed with opusenc for speech. Each file
carries a digest of the text it speaks (tests/test_help.py compares it with what the page says now).
Output is deterministic (fixed Ogg serial numbers), so regenerating unchanged pages changes no file.

Files no page refers to any more are deleted; a screenshot a page wants but the tour did not take is
reported (and the old picture, if any, kept).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

from . import media

PHONE_WIDTH = 540       # phone shots (a 360 px screen taken at 2×) are shown at most 18rem (288 px) wide:
OFFICE_WIDTH = 720      # 540 px stays sharp on a 2× screen; office screens (1024 px) are scaled down to 720
IMAGE_QUALITY = 60      # WebP; screens are flat colours and text, which WebP keeps legible at this quality
VOICE = "id"            # espeak-ng's Indonesian voice
WORDS_PER_MINUTE = 150  # a little slower than espeak's default 175: clearer for residents
OPUS_KBPS = 12          # mono speech; about 90 KB a minute

# What the ordered steps' numbers are called when spoken (the narration is Indonesian only).
STEP_WORD = "Langkah"


# --- what the pages say ------------------------------------------------------------------------------

class NarrationParser(HTMLParser):
    """Collects the text of each [data-narration] element, block by block."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "div", "section", "ol", "ul", "dl", "article",
              "blockquote", "figcaption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.clips: dict[str, list[str]] = {}
        self.stack: list[dict] = []
        self.current: list[str] = []

    def _clip(self) -> str | None:
        for frame in reversed(self.stack):
            if frame["skip"]:
                return None
            if frame["clip"]:
                return frame["clip"]
        return None

    def _flush(self) -> None:
        clip = self._clip()
        text = " ".join("".join(self.current).split())
        self.current = []
        if clip and text:
            self.clips.setdefault(clip, []).append(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in self.BLOCKS:
            self._flush()
        if tag in self.VOID:
            return
        frame = {"tag": tag, "clip": attributes.get("data-narration"), "skip": "data-narration-skip" in attributes,
                 "steps": tag == "ol" and "guide-steps" in (attributes.get("class") or "").split(), "count": 0}
        parent = self.stack[-1] if self.stack else None
        self.stack.append(frame)
        if tag == "li" and parent and parent["steps"]:
            parent["count"] += 1
            if self._clip():
                self.current.append(f"{STEP_WORD} {parent['count']}. ")

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if tag in self.BLOCKS:
            self._flush()
        while self.stack:
            frame = self.stack.pop()
            if frame["tag"] == tag:
                break

    def handle_data(self, data):
        if self._clip():
            self.current.append(data)


def sentences(blocks: list[str]) -> str:
    """One block a line, each ending like a sentence, so the voice pauses where the page breaks."""
    lines = []
    for block in blocks:
        block = block.strip()
        if block and block[-1] not in ".!?:;":
            block += "."
        lines.append(block)
    return "\n".join(lines) + "\n"


def narrations() -> dict[str, str]:
    """{clip name: text} for every section of every guide page, as the app renders them in Indonesian."""
    from .pages import all_pages

    app = guide_app()
    with app.test_request_context():
        slugs = [page.slug for page in all_pages()]
        expected = {clip for page in all_pages() for clip in page.clips}
    out: dict[str, str] = {}
    with app.test_client() as client:
        for slug in slugs:
            response = client.get(f"/bantuan/{slug}")  # no session: the source language, Indonesian
            if response.status_code != 200:
                raise SystemExit(f"/bantuan/{slug} answered {response.status_code}")
            for clip, text in page_narrations(response.get_data(as_text=True)).items():
                out[clip] = text
    missing = expected - set(out)
    if missing:
        raise SystemExit(f"no narrated text for: {', '.join(sorted(missing))}")
    return out


def page_narrations(html: str) -> dict[str, str]:
    """{clip name: text} of one rendered guide page."""
    parser = NarrationParser()
    parser.feed(html)
    parser.close()
    return {clip: sentences(blocks) for clip, blocks in parser.clips.items()}


def guide_app():
    """The app, only to render the guide's pages (no database is touched)."""
    from .. import create_app
    return create_app({"SECRET_KEY": "guide-build", "SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})


# --- audio ---------------------------------------------------------------------------------------------

def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise SystemExit(f"{tool} is missing: apt-get install espeak-ng opus-tools (make guide does)")
    return path


def speak(name: str, text: str, target: Path, workdir: Path) -> None:
    espeak, opusenc = need("espeak-ng"), need("opusenc")
    text_file, wav = workdir / f"{name}.txt", workdir / f"{name}.wav"
    text_file.write_text(text, encoding="utf-8")
    subprocess.run([espeak, "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-f", str(text_file), "-w", str(wav)],
                   check=True)
    serial = zlib.crc32(name.encode()) & 0x7FFFFFFF
    tmp = target.with_suffix(".tmp")
    subprocess.run([opusenc, "--quiet", "--speech", "--bitrate", str(OPUS_KBPS), "--downmix-mono",
                    "--serial", str(serial), "--title", name, "--artist", "E-Open Bekasi",
                    "--comment", f"{media.TEXT_TAG}={media.text_digest(text)}", str(wav), str(tmp)], check=True)
    os.replace(tmp, target)


def build_audio() -> None:
    texts = narrations()
    media.AUDIO_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in sorted(texts.items()):
            target = media.audio_path(name)
            speak(name, text, target, Path(tmp))
            print(f"{target.relative_to(media.GUIDE_DIR.parent.parent)}: {target.stat().st_size // 1024} KB, "
                  f"{media.opus_seconds(target):.0f} s")
    for stale in media.AUDIO_DIR.glob(f"*{media.AUDIO_EXT}"):
        if stale.stem not in texts:
            print(f"removed {stale.name}: no page narrates it any more")
            stale.unlink()


# --- images --------------------------------------------------------------------------------------------

def wanted_shots() -> set[str]:
    from .pages import all_pages
    with guide_app().test_request_context():
        return {shot for page in all_pages() for shot in page.shots}


def build_images(source: Path) -> None:
    from PIL import Image

    wanted = wanted_shots()
    media.IMG_DIR.mkdir(parents=True, exist_ok=True)
    taken = {path.stem: path for path in source.glob("*.png")}
    for name in sorted(wanted):
        if name not in taken:
            print(f"warning: no screenshot {name}.png in {source}", file=sys.stderr)
            continue
        with Image.open(taken[name]) as img:
            img = img.convert("RGB")
            width = PHONE_WIDTH if img.height > img.width else OFFICE_WIDTH
            if img.width > width:
                img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
            target = media.image_path(name)
            tmp = target.with_suffix(".tmp")
            img.save(tmp, "WEBP", quality=IMAGE_QUALITY, method=6)
            os.replace(tmp, target)
            print(f"{target.name}: {img.width}×{img.height}, {target.stat().st_size // 1024} KB")
    for name in sorted(set(taken) - wanted):
        print(f"note: {name}.png is used by no guide page", file=sys.stderr)
    for stale in media.IMG_DIR.glob(f"*{media.IMG_EXT}"):
        if stale.stem not in wanted:
            print(f"removed {stale.name}: no page shows it any more")
            stale.unlink()


def main(argv: list[str]) -> None:
    if argv[:1] == ["images"] and len(argv) == 2:
        build_images(Path(argv[1]))
    elif argv == ["audio"]:
        build_audio()
    elif argv == ["texts"]:
        for name, text in sorted(narrations().items()):
            words = len(re.findall(r"\w+", text))
            print(f"== {name} ({words} words)\n{text}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
