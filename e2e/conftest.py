"""Playwright end-to-end fixtures: Debian Chromium, a live server, a cheap phone, axe-core, a big photo.

The app runs in a thread of this process on a real HTTP server (127.0.0.1, a free port) with its own
temporary instance folder, SQLite database and upload folder, with CSRF protection on as in
production. The browser is a 360×640 phone (Indonesian locale); the resident journey runs with
JavaScript on and off. Staff work on a 1280×900 office screen (`fresh_context`); their accounts are
made directly in the live server's database (`staff_user`) and they log in through /masuk (`log_in`).

Accessibility: `axe(page, "name")` runs axe-core (the copy shipped with axe-playwright-python) on the
page and fails the test with a readable list of violations. With JavaScript off, axe cannot run in
that page (page.evaluate itself works, but `axe.run` never settles there): the exact HTML the page shows
is then handed to a JavaScript-enabled checker page at the same URL (a route fulfils the document,
so CSS and the strict CSP still apply; the page's own scripts are blocked so the DOM stays the
no-JS one) and axe runs there.
"""
from __future__ import annotations

import itertools
import logging
import re
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "id-ID"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1, "is_mobile": False,
           "has_touch": False, "locale": "id-ID"}

PASSWORD = "rahasia-e2e-123"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]

expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# --- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, base_url):
    return {**browser_context_args, **PHONE, "base_url": base_url}


# --- the live server ---------------------------------------------------------------------------

class BodySizes:
    """WSGI middleware: remembers (path, Content-Length) of every POST, to see what the browser sent."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.posts: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            with self._lock:
                self.posts.append((environ.get("PATH_INFO", ""), int(environ.get("CONTENT_LENGTH") or 0)))
        return self.wsgi_app(environ, start_response)

    def since(self, mark: int, path_pattern: str) -> list[int]:
        with self._lock:
            return [size for path, size in self.posts[mark:] if re.search(path_pattern, path)]


@dataclass
class LiveServer:
    url: str
    app: object
    root: Path
    bodies: BodySizes


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from eopen import create_app
    from eopen.extensions import db
    from eopen.services import demo, reference

    root = tmp_path_factory.mktemp("live")
    instance = root / "instance"
    instance.mkdir()
    with pytest.MonkeyPatch.context() as mp:  # the instance folder is chosen when the app is made
        mp.setenv("EOPEN_INSTANCE_PATH", str(instance))
        app = create_app({
            "SECRET_KEY": secrets.token_hex(32),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root}/e2e.db",
            "UPLOAD_FOLDER": str(root / "uploads"),
            "WTF_CSRF_ENABLED": True,
        })
    assert app.instance_path == str(instance)
    with app.app_context():
        upgrade()
        reference.load_regions()
        demo.ensure_rws()
        db.session.commit()

    bodies = BodySizes(app.wsgi_app)
    app.wsgi_app = bodies
    werkzeug_log = logging.getLogger("werkzeug")
    old_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)  # one line per request is noise; errors still show
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Documents are issued by the worker, outside any request: links in them use the public address.
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="e2e-live-server", daemon=True)
    thread.start()
    # The worker beside the server, as `make run` starts them: SIAK hand-offs, notifications, Halo timers.
    stop_worker = threading.Event()

    def work():
        from eopen.services import outbox
        while not stop_worker.wait(0.3):
            with app.app_context():
                try:
                    outbox.run_round()
                except Exception:  # noqa: BLE001 — e.g. "database is locked" for a moment: next round
                    logging.getLogger("e2e-worker").exception("worker round failed")
                finally:
                    db.session.remove()

    worker = threading.Thread(target=work, name="e2e-worker", daemon=True)
    worker.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, root=root, bodies=bodies)
    finally:
        stop_worker.set()
        worker.join(timeout=10)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        werkzeug_log.setLevel(old_level)


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


# --- contexts: a cheap phone, JavaScript on and off ---------------------------------------------

_NO_JS: "weakref.WeakSet[BrowserContext]" = weakref.WeakSet()


def js_enabled(page: Page) -> bool:
    return page.context not in _NO_JS


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def phone(request, new_context) -> BrowserContext:
    """A fresh phone-sized context (browser_context_args), once with JavaScript on and once off."""
    ctx = new_context(java_script_enabled=request.param)
    if not request.param:
        _NO_JS.add(ctx)
    ctx.set_default_timeout(15_000)
    ctx.set_default_navigation_timeout(30_000)
    return ctx


@pytest.fixture
def phone_js(phone) -> bool:
    """Whether JavaScript is on in this run's phone context."""
    return phone not in _NO_JS


@pytest.fixture
def fresh_context(browser, base_url):
    """fresh_context(screen="desktop", js=True) → a new context, closed when the test ends.

    "desktop" is a 1280×900 office screen (staff), "phone" the same cheap phone as `phone` (someone
    scanning a QR code, say): without cookies, so nobody is logged in.
    """
    contexts: list[BrowserContext] = []

    def make(screen: str = "desktop", js: bool = True) -> BrowserContext:
        options = {"desktop": DESKTOP, "phone": PHONE}[screen]
        ctx = browser.new_context(**options, base_url=base_url, java_script_enabled=js)
        if not js:
            _NO_JS.add(ctx)
        ctx.set_default_timeout(15_000)
        ctx.set_default_navigation_timeout(30_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


# --- axe-core ------------------------------------------------------------------------------------

def _axe_source() -> str:
    import axe_playwright_python
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def format_violations(violations: list[dict]) -> str:
    out = []
    for v in violations:
        out.append(f"- {v['id']} [{v.get('impact')}]: {v['help']} ({v.get('helpUrl', '')})")
        for node in v["nodes"]:
            out.append(f"    at {' '.join(map(str, node['target']))}: {node.get('html', '')[:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                out.append(f"      {summary[:300]}")
    return "\n".join(out)


class AxeChecker:
    def __init__(self, browser: Browser, base_url: str):
        self.source = _axe_source()
        self.browser = browser
        self.base_url = base_url
        self._checkers: dict[tuple[int, int], Page] = {}
        self.pages_checked: list[str] = []

    def _run(self, page: Page) -> list[dict]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        return result["violations"]

    def _checker_page(self, viewport: dict | None) -> Page:
        """A JS-enabled page of the same kind (phone or office screen) as the page to check."""
        options = DESKTOP if viewport and viewport["width"] > PHONE["viewport"]["width"] else PHONE
        options = {**options, "viewport": viewport or options["viewport"]}
        key = (options["viewport"]["width"], options["viewport"]["height"])
        if key not in self._checkers:
            ctx = self.browser.new_context(**options, base_url=self.base_url)
            ctx.set_default_timeout(15_000)
            self._checkers[key] = ctx.new_page()
        return self._checkers[key]

    def _run_as_no_js(self, page: Page) -> list[dict]:
        """The DOM a no-JS page shows, checked by axe in a JS-enabled page at the same URL."""
        html, url = page.content(), page.url
        checker = self._checker_page(page.viewport_size)
        ctx = checker.context
        document_url = url.split("#")[0]

        def serve_document(route):
            if route.request.url.split("#")[0] == document_url and route.request.resource_type == "document":
                route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8",
                              headers={"Content-Security-Policy": _csp()})
            else:
                route.fallback()

        ctx.route("**/*", serve_document)
        ctx.route(re.compile(r"\.js(\?.*)?$"), lambda route: route.abort())  # the no-JS DOM, untouched
        try:
            checker.goto(url, wait_until="load")
            return self._run(checker)
        finally:
            ctx.unroute_all(behavior="wait")

    def __call__(self, page: Page, name: str | None = None) -> None:
        label = name or page.url
        violations = self._run(page) if js_enabled(page) else self._run_as_no_js(page)
        self.pages_checked.append(label)
        assert not violations, f"axe found {len(violations)} violation(s) on {label}:\n" + format_violations(violations)

    def close(self):
        for checker in self._checkers.values():
            checker.context.close()
        self._checkers.clear()


def _csp() -> str:
    from eopen.web import CSP
    return CSP


@pytest.fixture(scope="session")
def axe(browser, base_url):
    checker = AxeChecker(browser, base_url)
    yield checker
    checker.close()


# --- a phone photo of a document -----------------------------------------------------------------

@pytest.fixture(scope="session")
def phone_photo(tmp_path_factory) -> Path:
    """A 4000×3000 JPEG (quality 95) of a printed page with sensor noise: about 4–5 MB, like a phone's."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 4000, 3000
    img = Image.new("RGB", (width, height), (226, 221, 208))
    draw = ImageDraw.Draw(img)
    draw.rectangle([300, 150, 3700, 2850], fill=(245, 242, 235))
    fonts = Path("/usr/share/fonts/truetype/dejavu")
    try:
        title = ImageFont.truetype(str(fonts / "DejaVuSans-Bold.ttf"), 110)
        body = ImageFont.truetype(str(fonts / "DejaVuSans.ttf"), 56)
    except OSError:
        title, body = ImageFont.load_default(110), ImageFont.load_default(56)
    draw.text((600, 260), "SURAT KETERANGAN LAHIR", font=title, fill=(20, 20, 20))
    lines = ["Yang bertanda tangan di bawah ini menerangkan bahwa telah lahir",
             "seorang bayi perempuan pada hari Senin, pukul 08.30 WIB",
             "di Kota Bekasi, dengan berat 3,2 kg dan panjang 49 cm.",
             "Nama ibu: Rina Wati   NIK 3275015505900008", "Nama ayah: Rudi Hartono",
             "Penolong kelahiran: Bidan", "Demikian surat keterangan ini dibuat untuk dipergunakan",
             "sebagaimana mestinya."]
    y = 520
    for i in range(26):
        draw.text((450, y), lines[i % len(lines)], font=body, fill=(30, 30, 40))
        y += 88
    img = Image.blend(img, Image.effect_noise((width, height), 40).convert("RGB"), 0.12)
    path = tmp_path_factory.mktemp("photo") / "IMG_20250101_083000.jpg"
    img.save(path, "JPEG", quality=95)
    assert 3_000_000 <= path.stat().st_size <= 6_500_000, path.stat().st_size
    return path


# --- residents -----------------------------------------------------------------------------------

_serials = itertools.count(secrets.randbelow(8000) + 1000)


@dataclass
class Resident:
    name: str
    nik: str
    no_kk: str
    phone: str
    birth_date: date = date(1990, 5, 15)
    password: str = PASSWORD
    children: list[str] = field(default_factory=list)


@pytest.fixture
def new_resident():
    """new_resident() → a Resident with a NIK, No. KK and phone number nobody has used in this session."""
    def make(name: str = "Rudi Hartono") -> Resident:
        serial = next(_serials) % 10000 or 1
        return Resident(
            name=name,
            nik=f"327501150590{serial:04d}",        # Bekasi Timur, a man born 15-05-1990
            no_kk=f"327501100115{serial:04d}",      # recorded 10-01-2015
            phone=f"0812-3456-{serial:04d}",
        )
    return make


@pytest.fixture
def sign_up(axe):
    """sign_up(page, resident, check=True): the sign-up form, by labels; ends on the household page."""
    def do(page: Page, resident: Resident, check: bool = True) -> None:
        page.goto("/daftar")
        expect(page.get_by_role("heading", name="Daftar akun", level=1)).to_be_visible()
        if check:
            axe(page, "/daftar")
        page.get_by_label("NIK", exact=True).fill(resident.nik)
        page.get_by_label("Nomor Kartu Keluarga (No. KK)").fill(resident.no_kk)
        page.get_by_label("Nama lengkap").fill(resident.name)
        page.get_by_label("Tanggal lahir").fill(resident.birth_date.isoformat())
        page.get_by_label("Laki-laki").check()
        page.get_by_label("Nomor HP").fill(resident.phone)
        page.get_by_label("Kelurahan").select_option("32.75.01.1001")
        page.get_by_label("RW", exact=True).fill("1")
        page.get_by_label("RT", exact=True).fill("2")
        page.get_by_label("Alamat jalan").fill("Jl. Melati 3")
        page.get_by_label("Kata sandi", exact=True).fill(resident.password)
        page.get_by_label("Ulangi kata sandi").fill(resident.password)
        page.get_by_role("button", name="Buat akun").click()
        expect(page).to_have_url(re.compile(r"/keluarga$"))
        expect(page.get_by_role("heading", name="Keluarga saya", level=1)).to_be_visible()
    return do


@pytest.fixture
def add_newborn(axe):
    """add_newborn(page, resident, check=True) → the child's name.

    From the household page: a girl born 10 days ago, without a NIK yet; ends back on the household
    page with her in the list.
    """
    def do(page: Page, resident: Resident, check: bool = True) -> str:
        page.get_by_role("link", name="Tambah anggota keluarga").click()
        expect(page.get_by_role("heading", name="Tambah anggota keluarga", level=1)).to_be_visible()
        if check:
            axe(page, "add member")
        child = "Bayi " + resident.name.split()[0]
        born = date.today() - timedelta(days=10)
        page.get_by_label("Nama lengkap").fill(child)
        expect(page.get_by_label("NIK (opsional)")).to_be_empty()
        page.get_by_label("Tanggal lahir").fill(born.isoformat())
        page.get_by_label("Perempuan").check()
        page.get_by_label("Hubungan dalam keluarga").select_option("anak")
        page.get_by_role("button", name="Simpan").click()
        expect(page).to_have_url(re.compile(r"/keluarga$"))
        expect(page.get_by_role("cell", name=child, exact=True)).to_be_visible()
        resident.children.append(child)
        return child
    return do


BIRTH_DOCUMENTS = (  # (code, label) in the order the catalogue asks for them
    ("surat_keterangan_lahir", "Surat keterangan lahir"),
    ("bukti_perkawinan", "Buku nikah atau akta perkawinan orang tua"),
    ("kk", "Kartu Keluarga (KK)"),
)


@dataclass
class BirthApplication:
    """What apply_for_birth_certificate entered (the resident is the father)."""
    tracking_no: str
    child: str
    mother_name: str = "Rina Wati"
    mother_nik: str = "3275015505900008"  # a woman born 15-05-1990 (day + 40)
    documents: tuple[tuple[str, str], ...] = BIRTH_DOCUMENTS


@pytest.fixture
def apply_for_birth_certificate(axe):
    """apply_for_birth_certificate(page, resident, child, photo, check=True) → a BirthApplication.

    From a page with the "Ajukan permohonan" link (the household page): the service, the child, the
    data, then the photo for each of the three documents; ends on the check-answers page, not submitted.
    """
    def do(page: Page, resident: Resident, child: str, photo: Path, check: bool = True) -> BirthApplication:
        page.get_by_role("link", name="Ajukan permohonan", exact=True).click()
        expect(page).to_have_url(re.compile(r"/ajukan/$"))
        if check:
            axe(page, "service choice")
        page.get_by_label("Akta Kelahiran", exact=True).check()
        page.get_by_role("button", name="Lanjut").click()

        # For whom (one variant only: the variant page is skipped).
        expect(page).to_have_url(re.compile(r"/ajukan/[^/]+/untuk$"))
        application = BirthApplication(tracking_no=re.search(r"/ajukan/([^/]+)/untuk", page.url).group(1),
                                       child=child)
        tracking_no = application.tracking_no
        expect(page.get_by_role("group", name="Untuk siapa permohonan ini?")).to_be_visible()
        if check:
            axe(page, "subject")
        page.get_by_label(child, exact=True).check()
        page.get_by_role("button", name="Lanjut").click()

        expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/data$"))
        expect(page.get_by_role("heading", name="Data yang diperlukan")).to_be_visible()
        if check:
            axe(page, "data")
        page.get_by_label("Tempat lahir").fill("Kota Bekasi")
        page.get_by_label("Jam lahir").fill("08:30")
        page.get_by_label("Jenis kelahiran").select_option("tunggal")
        page.get_by_label("Anak ke-").fill("1")
        page.get_by_label("Penolong kelahiran").select_option("bidan")
        page.get_by_label("Berat bayi saat lahir (kg)").fill("3,2")
        page.get_by_label("Panjang bayi saat lahir (cm)").fill("49")
        page.get_by_label("Nama lengkap ayah").fill(resident.name)
        page.get_by_label("NIK ayah").fill(resident.nik)
        page.get_by_label("Nama lengkap ibu").fill(application.mother_name)
        page.get_by_label("NIK ibu").fill(application.mother_nik)
        page.get_by_role("button", name="Simpan dan lanjut").click()

        for number, (code, label) in enumerate(application.documents, start=1):
            expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/dokumen/{code}$"))
            expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()
            expect(page.get_by_text(f"dokumen {number} dari {len(application.documents)}")).to_be_visible()
            if check:
                axe(page, f"upload {code}")
            page.get_by_label("Foto atau PDF dokumen").set_input_files(photo)
            page.get_by_role("button", name="Unggah", exact=True).click()
            expect(page).not_to_have_url(re.compile(rf"/dokumen/{code}$"), timeout=60_000)

        expect(page).to_have_url(re.compile(rf"/ajukan/{tracking_no}/periksa$"))
        expect(page.get_by_role("heading", name="Periksa kembali permohonan Anda", level=1)).to_be_visible()
        return application
    return do


# --- staff -----------------------------------------------------------------------------------------

STAFF_NAMES = {"operator": "Dewi Lestari", "penyelia": "Bambang Sutrisno", "kasi": "Hendra Gunawan",
               "kabid": "Sri Wahyuni", "kadis": "Agus Prasetyo"}


@dataclass
class Staff:
    role: str
    username: str
    name: str
    kecamatan_code: str | None = None
    password: str = PASSWORD


@pytest.fixture
def staff_user(live_server):
    """staff_user("operator", "32.75.01") → a Staff account made directly in the live server's database.

    The password is hashed with werkzeug (User.set_password); the username is new in this session.
    """
    from eopen.extensions import db
    from eopen.models import User

    def make(role: str, kecamatan_code: str | None = None, name: str | None = None) -> Staff:
        serial = next(_serials)
        staff = Staff(role=role, username=f"{role}.e2e{serial}", name=name or f"{STAFF_NAMES.get(role, role)} {serial}",
                      kecamatan_code=kecamatan_code)
        with live_server.app.app_context():
            user = User(role=role, username=staff.username, display_name=staff.name,
                        kecamatan_code=kecamatan_code)
            user.set_password(staff.password)
            db.session.add(user)
            db.session.commit()
        return staff
    return make


@pytest.fixture
def log_in():
    """log_in(page, username, password): the real log-in page, by labels; ends on the page it leads to."""
    def do(page: Page, username: str, password: str = PASSWORD) -> None:
        page.goto("/masuk")
        expect(page.get_by_role("heading", name="Masuk", level=1)).to_be_visible()
        page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(username)
        page.get_by_label("Kata sandi").fill(password)
        page.get_by_role("button", name="Masuk", exact=True).click()
        expect(page).not_to_have_url(re.compile(r"/masuk"))
        expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    return do

