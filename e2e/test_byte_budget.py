"""A byte budget: every page a resident meets first costs at most 40 KB on the wire, all included.

Each page is loaded in a fresh phone context with the browser cache disabled (CDP
Network.setCacheDisabled), so every visit counts like a first one: the HTML plus all the CSS, JS and
images it pulls in. Bytes are Chromium's own count of what crossed the network, headers included
(CDP Network.loadingFinished encodedDataLength). Pages are gzip-compressed by the app (eopen/web.py).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from playwright.sync_api import Page, expect

BUDGET = 40 * 1024


@dataclass
class Loaded:
    url: str
    loader: str = ""
    kind: str = ""
    status: int = 0
    mime: str = ""
    encoding: str = ""
    bytes: int = 0
    finished: bool = False


@dataclass
class Measurement:
    name: str
    resources: list[Loaded] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.bytes for r in self.resources)

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for r in self.resources:
            kind = ("html" if "html" in r.mime else "css" if "css" in r.mime
                    else "js" if "javascript" in r.mime else "other")
            kinds[kind] = kinds.get(kind, 0) + r.bytes
        return kinds


class ByteCounter:
    """Transferred bytes per request, from the DevTools protocol."""

    def __init__(self, page: Page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.loads: dict[str, Loaded] = {}
        self.last_event = time.monotonic()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._received)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event):
        redirect = event.get("redirectResponse")
        if redirect:  # the same requestId goes on to the new URL: keep the redirect's bytes apart
            self.loads[event["requestId"] + "#" + redirect["url"]] = Loaded(
                url=redirect["url"], loader=event.get("loaderId", ""), kind=event.get("type", ""),
                status=redirect["status"], bytes=int(redirect.get("encodedDataLength", 0)), finished=True)
        self.loads[event["requestId"]] = Loaded(url=event["request"]["url"], loader=event.get("loaderId", ""),
                                                kind=event.get("type", ""))
        self.last_event = time.monotonic()

    def _received(self, event):
        load = self.loads.setdefault(event["requestId"], Loaded(url=event["response"]["url"]))
        response = event["response"]
        load.status, load.mime = response["status"], response.get("mimeType", "")
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        load.encoding = headers.get("content-encoding", "")

    def _finished(self, event):
        load = self.loads.setdefault(event["requestId"], Loaded(url="?"))
        load.bytes, load.finished = int(event["encodedDataLength"]), True
        self.last_event = time.monotonic()

    def _failed(self, event):
        load = self.loads.setdefault(event["requestId"], Loaded(url="?"))
        load.finished = True

    def measure(self, name: str, path: str) -> Measurement:
        """Load `path` and count what its document pulled in (requests of that navigation's loader,
        so a late favicon of the previous page is not charged to this one, and this page's is)."""
        self.loads = {}
        response = self.page.goto(path, wait_until="networkidle")
        assert response is not None
        documents = [load for load in self.loads.values() if load.kind == "Document" and load.url == response.url]
        assert len(documents) == 1, (path, self.loads)
        loader = documents[0].loader

        def mine():
            return [load for load in self.loads.values() if load.loader == loader]

        deadline = time.monotonic() + 5  # settle: everything finished and nothing new for 300 ms
        while time.monotonic() < deadline and (not all(load.finished for load in mine())
                                               or time.monotonic() - self.last_event < 0.3):
            self.page.wait_for_timeout(50)
        assert all(load.finished for load in mine()), mine()
        # data: URLs (Chromium's own date/time picker icons) cost nothing on the wire.
        return Measurement(name, [load for load in mine() if not load.url.startswith("data:")])


def test_first_visit_of_each_page_fits_in_40_kb(new_context, new_resident, sign_up, capsys, staff_user, log_in):
    page = new_context(java_script_enabled=True).new_page()
    counter = ByteCounter(page)
    results: list[Measurement] = []

    def measure(name: str, path: str, heading: str | re.Pattern) -> None:
        m = counter.measure(name, path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        document = m.resources[0]
        assert document.status == 200 and "html" in document.mime, (name, document)
        assert document.encoding == "gzip", f"{name}: the HTML was sent without gzip ({document})"
        results.append(m)

    measure("home", "/", "Layanan kependudukan Kota Bekasi dari ponsel Anda")
    measure("/daftar", "/daftar", "Daftar akun")
    measure("/masuk", "/masuk", re.compile("Masuk"))

    resident = new_resident(name="Ujang Hemat")
    sign_up(page, resident, check=False)
    measure("apply: service", "/ajukan/", "Layanan apa yang Anda perlukan?")
    page.get_by_label("Akta Kelahiran", exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(re.compile(r"/ajukan/[^/]+/untuk$"))
    base = page.url.rsplit("/", 1)[0]

    measure("apply: subject", base + "/untuk", "Untuk siapa permohonan ini?")
    page.get_by_label(resident.name, exact=True).check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page).to_have_url(base + "/data")

    measure("apply: data", base + "/data", "Data yang diperlukan")
    page.get_by_label("Tempat lahir").fill("Kota Bekasi")
    page.get_by_label("Jenis kelahiran").select_option("tunggal")
    page.get_by_label("Anak ke-").fill("1")
    page.get_by_label("Penolong kelahiran").select_option("dokter")
    page.get_by_label("Nama lengkap ayah").fill("Asep Hemat")
    page.get_by_label("Nama lengkap ibu").fill("Euis Hemat")
    page.get_by_label("NIK ibu").fill("3275015505900008")
    page.get_by_role("button", name="Simpan dan lanjut").click()
    expect(page).to_have_url(base + "/dokumen/surat_keterangan_lahir")

    measure("apply: upload", base + "/dokumen/surat_keterangan_lahir", "Surat keterangan lahir")
    measure("apply: check", base + "/periksa", "Periksa kembali permohonan Anda")

    # The Satgas Pamor's phone: the field pages also load the offline queue's script.
    satgas = staff_user("satgas", "32.75.01")
    # Service workers blocked: this counts what the network carries on a first visit, and a worker would
    # answer the second page from the copies it keeps (the offline mode, tested in test_offline_queue.py).
    page = new_context(java_script_enabled=True, service_workers="block").new_page()
    log_in(page, satgas.username)
    counter = ByteCounter(page)
    measure("field: jobs", "/lapangan/", "Tugas hari ini")
    measure("field: desk", "/lapangan/kantor", "Serah terima di kantor kecamatan")

    lines = [f"{'page':<18} {'total':>8} {'html':>7} {'css':>7} {'js':>7} {'other':>7}  requests"]
    for m in results:
        kinds = m.by_kind()
        lines.append(f"{m.name:<18} {m.total:>8} {kinds.get('html', 0):>7} {kinds.get('css', 0):>7} "
                     f"{kinds.get('js', 0):>7} {kinds.get('other', 0):>7}  {len(m.resources)}")
    table = "\n".join(lines)
    with capsys.disabled():
        print(f"\nBytes on the wire per first visit (budget {BUDGET}):\n{table}")

    over = [f"{m.name}: {m.total} B > {BUDGET} B; " + ", ".join(f"{r.url} {r.bytes}" for r in m.resources)
            for m in results if m.total > BUDGET]
    assert not over, "over the byte budget:\n" + "\n".join(over) + "\n" + table
