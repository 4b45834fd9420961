"""Fault test: the app server is killed with SIGKILL at random moments during 50 submissions with uploads.

The real server (`flask eopen serve`) runs in a subprocess with its own instance folder and a fresh,
migrated SQLite database. A client signs up, adds a child, then applies 50 times for an Akta Kelahiran
(draft with a fixed client_token, subject, data, three photos, submit). A killer thread SIGKILLs the
server at seeded random moments and starts it again; the client retries each step until it succeeds.

Afterwards every submission is complete exactly once (one request, three documents, one submit event),
the database passes `PRAGMA integrity_check` / `foreign_key_check`, and after the sweep
(`maintenance.sweep`, older_than=0) no upload file is left unreferenced and no row misses its file.
The numbers are printed (run with -s to see them).
"""
from __future__ import annotations

import http.cookiejar
import io
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

SUBMISSIONS = 50
SEED = 6
ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
SIGNUP = {
    "nik": "3275011505900081", "no_kk": "3275011001150881", "full_name": "Rina Wati", "birth_date": "1990-05-15",
    "sex": "L", "phone": "0812-3456-0881", "email": "", "kelurahan": "32.75.01.1001", "rw": "1", "rt": "2",
    "street": "Jl. Melati 3", "password": "rahasia-123", "password_confirm": "rahasia-123",
}
DATA = {"tempat_lahir": "Bekasi", "jam_lahir": "08:30", "jenis_kelahiran": "tunggal", "kelahiran_ke": "1",
        "penolong_kelahiran": "bidan", "berat_bayi_kg": "3,2", "panjang_bayi_cm": "49", "nama_ayah": "Rudi",
        "nik_ayah": "", "nama_ibu": "Rina Wati", "nik_ibu": "3275015505900008"}
DOCS = ("surat_keterangan_lahir", "bukti_perkawinan", "kk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (seed % 256, 120, 90)).save(buf, "JPEG")
    return buf.getvalue()


class Server:
    def __init__(self, env, port):
        self.env, self.port, self.proc, self.kills = env, port, None, 0
        self.lock = threading.Lock()

    def start(self):
        self.proc = subprocess.Popen([FLASK, "--app", "eopen", "eopen", "serve", "--port", str(self.port),
                                      "--threads", "4"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill_and_restart(self):
        with self.lock:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
            self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class Client:
    def __init__(self, base):
        self.base, self.retries, self.csrf = base, 0, ""
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _once(self, path, fields=None, files=None):
        url = self.base + path
        if fields is None and files is None:
            req = urllib.request.Request(url)
        elif files:
            boundary = uuid.uuid4().hex
            parts = []
            for k, v in fields.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
            for k, (name, raw) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                             f'Content-Type: image/jpeg\r\n\r\n'.encode() + raw + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            req = urllib.request.Request(url, data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        else:
            req = urllib.request.Request(url, data=urllib.parse.urlencode(fields, doseq=True).encode())
        with self.opener.open(req, timeout=15) as resp:
            return resp.geturl(), resp.read().decode()

    def call(self, path, fields=None, files=None):
        """The request, retried after a dropped connection or a 5xx until it gets an answer."""
        for _attempt in range(200):
            try:
                return self._once(path, None if fields is None else {"csrf_token": self.csrf, **fields}, files)
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    raise AssertionError(f"{path}: {error.code} {error.read()[:300]!r}")
            except (urllib.error.URLError, ConnectionError, socket.timeout, http.client.HTTPException):
                pass
            self.retries += 1
            time.sleep(0.05)
        raise AssertionError(f"{path}: no answer after 200 tries")


def setup_database(env):
    script = ("from eopen import create_app\nfrom eopen.extensions import db\nfrom flask_migrate import upgrade\n"
              "from eopen.services import demo, reference\napp = create_app()\nwith app.app_context():\n"
              "    upgrade()\n    reference.load_regions()\n    demo.ensure_rws()\n    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True)


def test_sigkill_during_submissions(capsys, tmp_path):
    started = time.monotonic()
    instance = tmp_path / "instance"
    db_file = tmp_path / "kill.db"
    uploads = instance / "uploads"
    env = {**os.environ, "EOPEN_INSTANCE_PATH": str(instance), "EOPEN_DATABASE_URL": f"sqlite:///{db_file}",
           "EOPEN_UPLOAD_FOLDER": str(uploads), "PYTHONDONTWRITEBYTECODE": "1"}
    setup_database(env)
    port = free_port()
    server = Server(env, port)
    server.start()
    rng = random.Random(SEED)
    stop = threading.Event()

    def killer():
        while not stop.wait(rng.uniform(0.3, 1.2)):
            server.kill_and_restart()

    client = Client(f"http://127.0.0.1:{port}")
    tracking = []
    try:
        client.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.call("/daftar")[1]).group(1)
        client.call("/daftar", SIGNUP)
        born = (date.today() - timedelta(days=10)).isoformat()
        client.call("/keluarga/tambah", {"full_name": "Bayi Rina", "nik": "", "birth_date": born, "sex": "P",
                                         "relation": "anak"})
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        person = None
        for i in range(SUBMISSIONS):
            url, page = client.call("/ajukan/", {"service": "akta_kelahiran", "client_token": f"kill-{SEED}-{i:03d}"})
            no = re.search(r"/ajukan/([^/]+)/", url).group(1)
            if person is None:
                person = re.search(r'name="person"[^>]*value="(\d+)"', client.call(f"/ajukan/{no}/untuk")[1]).group(1)
            client.call(f"/ajukan/{no}/untuk", {"person": person})
            client.call(f"/ajukan/{no}/data", DATA)
            for n, code in enumerate(DOCS):
                client.call(f"/ajukan/{no}/dokumen/{code}", {}, files={"file": (f"{code}.jpg", jpeg(i * 3 + n))})
            url, _page = client.call(f"/ajukan/{no}/periksa", {})
            assert url.endswith("/terkirim"), url
            tracking.append(no)
    finally:
        stop.set()
        server.stop()

    # --- the state after the storm ---------------------------------------------------------------------
    con = sqlite3.connect(db_file)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    rows = con.execute("SELECT id, tracking_no, status, client_token FROM service_request").fetchall()
    complete = absent = 0
    for i in range(SUBMISSIONS):
        mine = [r for r in rows if r[3] == f"kill-{SEED}-{i:03d}"]
        assert len(mine) <= 1
        if not mine:
            absent += 1
            continue
        req_id, no, status, _token = mine[0]
        assert status == "submitted"
        assert con.execute("SELECT count(*) FROM event WHERE request_id=? AND action='submit'", (req_id,)).fetchone()[0] == 1
        docs = con.execute("SELECT storage_name FROM request_document WHERE request_id=?", (req_id,)).fetchall()
        assert len(docs) == len(DOCS) and all((uploads / d[0]).exists() or any(uploads.rglob(d[0])) for d in docs)
        complete += 1
    assert len(rows) == complete  # nothing but the 50
    con.close()

    from eopen import create_app
    from eopen.extensions import db
    from eopen.services import maintenance
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}", "UPLOAD_FOLDER": str(uploads),
                      "SECRET_KEY": "x"})
    with app.app_context():
        swept = maintenance.sweep(str(uploads), older_than=0)
        after = maintenance.sweep(str(uploads), older_than=0, dry_run=True)
        db.session.rollback()
        db.engine.dispose()
    with capsys.disabled():  # the numbers belong in the suite's output
        print(f"\nkill test: {server.kills} kills, {client.retries} retries, {complete} complete, {absent} absent, "
              f"{len(swept.orphans)} orphan files swept, {time.monotonic() - started:.1f} s")
    assert complete == SUBMISSIONS == len(tracking)
    assert after.orphans == [] and after.missing == [] and swept.missing == []
    assert server.kills >= 5
