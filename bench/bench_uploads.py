"""How long does normalising an upload take, and how much memory does it need?

    .venv/bin/python bench/bench_uploads.py [--runs N]

Inputs are generated: a 4000x3000 phone photo of a document (JPEG q95), a 12 MP PNG scan and a
PDF holding that photo. Each case runs N times; we print the median, the peak traced by
tracemalloc (Python's own allocations only: Pillow's pixel buffers are allocated in C and do not
show there) and, to see those too, the growth of peak RSS while normalising once in a fresh
process. The baseline is Pillow opening and fully decoding the same JPEG, without re-encoding.
Results also go to bench/results/uploads.txt (git-ignored).
"""
from __future__ import annotations

import argparse
import io
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import PIL  # noqa: E402
from PIL import ExifTags, Image, ImageDraw, ImageFont  # noqa: E402

from eopen.services import uploads  # noqa: E402


def page(size: tuple[int, int], *, noise: float) -> Image.Image:
    light = Image.linear_gradient("L").rotate(30).resize(size).point(lambda v: 150 + v // 3)
    paper = Image.merge("RGB", (light, light, light))
    if noise:
        grain = Image.effect_noise(size, 24)
        paper = Image.blend(paper, Image.merge("RGB", (grain, grain, grain)), noise)
    draw = ImageDraw.Draw(paper)
    font = ImageFont.load_default(size=60)
    for y in range(300, size[1] - 150, 95):
        draw.text((200, y), "NIK 3275014501900001  SITI AMINAH  Kel. Margahayu RT 003/RW 012",
                  fill=(25, 25, 35), font=font)
    return paper


def make_inputs() -> dict[str, bytes]:
    photo = page((4000, 3000), noise=0.12)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    jpeg = io.BytesIO()
    photo.save(jpeg, "JPEG", quality=95, exif=exif)
    png = io.BytesIO()
    page((4000, 3000), noise=0).save(png, "PNG")
    pdf = io.BytesIO()
    photo.save(pdf, "PDF", resolution=300)
    return {"jpeg 4000x3000": jpeg.getvalue(), "png 12 MP": png.getvalue(), "pdf": pdf.getvalue()}


def decode_only(raw: bytes) -> None:
    with Image.open(io.BytesIO(raw)) as im:
        im.load()


def normalise(raw: bytes) -> uploads.Normalised:
    return uploads.normalise_upload(raw)


def measure(function, raw: bytes, runs: int) -> tuple[float, int, object]:
    function(raw)  # warm-up: imports, plugin registration, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function(raw)
        times.append((time.perf_counter() - start) * 1000)
    tracemalloc.start()
    function(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak, result


def peak_rss_growth(path: pathlib.Path, what: str) -> int:
    """KB of extra peak RSS while doing `what` once on the file, in a fresh interpreter."""
    out = subprocess.run([sys.executable, __file__, "--child", what, str(path)],
                         check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def child(what: str, path: str) -> None:
    raw = pathlib.Path(path).read_bytes()
    tiny = io.BytesIO()
    Image.new("RGB", (64, 48)).save(tiny, "JPEG")
    uploads.normalise_upload(tiny.getvalue())  # load libraries and plugins before measuring
    before = peak_rss_kb()
    (decode_only if what == "decode" else normalise)(raw)
    print(peak_rss_kb() - before)


def peak_rss_kb() -> int:
    # VmHWM belongs to this process image; ru_maxrss would carry over the parent's peak (Linux
    # keeps it across fork and exec), which hides everything below the parent's own peak.
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS


def encodes_for(raw: bytes) -> list[int]:
    """The JPEG qualities tried, in order, before one fitted."""
    tried: list[int] = []
    original = uploads._encode

    def spy(image, quality):
        tried.append(quality)
        return original(image, quality)

    uploads._encode = spy
    try:
        uploads.normalise_upload(raw)
    finally:
        uploads._encode = original
    return tried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    began = time.perf_counter()
    inputs = make_inputs()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for index, (name, raw) in enumerate(inputs.items()):
            paths[name] = pathlib.Path(folder) / f"input{index}"
            paths[name].write_bytes(raw)
        base_ms, base_peak, _ = measure(decode_only, inputs["jpeg 4000x3000"], args.runs)
        rows.append(("baseline: decode jpeg", len(inputs["jpeg 4000x3000"]), base_ms, base_peak,
                     peak_rss_growth(paths["jpeg 4000x3000"], "decode"), None, "-"))
        for name, raw in inputs.items():
            ms, peak, result = measure(normalise, raw, args.runs)
            qualities = "-" if result.extension == "pdf" else ",".join(map(str, encodes_for(raw)))
            if result.width:
                qualities += f" -> {result.width}x{result.height}"
            rows.append((f"normalise {name}", len(raw), ms, peak, peak_rss_growth(paths[name], "normalise"),
                         len(result.data), qualities))

    lines = [
        f"normalise_upload benchmark - {time.strftime('%Y-%m-%d %H:%M')} - Python {platform.python_version()}, "
        f"Pillow {PIL.__version__}, {platform.machine()}, runs={args.runs}",
        "",
        f"{'case':<30}{'input KB':>10}{'median ms':>11}{'x base':>8}{'tracemalloc':>13}"
        f"{'peak RSS +':>12}{'output KB':>11}  qualities tried",
    ]
    for name, size, ms, peak, rss, out, qualities in rows:
        lines.append(
            f"{name:<30}{size / 1024:>10.0f}{ms:>11.1f}{ms / base_ms:>8.2f}{peak / 1024 / 1024:>10.1f} MB"
            f"{rss / 1024:>9.0f} MB{'-' if out is None else f'{out / 1024:.0f}':>11}  {qualities}")
    lines += ["", "tracemalloc sees Python allocations only; 'peak RSS +' is the growth of the process's "
                  "peak resident memory while doing the case once in a fresh interpreter.",
              f"total bench time {time.perf_counter() - began:.1f} s"]
    report = "\n".join(lines)
    print(report)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "uploads.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
