"""`flask eopen serve`: SIGTERM/SIGINT stop accepting, let in-flight requests finish, and exit 0."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

SLOW_APP = textwrap.dedent('''
    import pathlib, time
    from eopen import create_app

    app = create_app()

    @app.get("/_test/slow")
    def slow():
        pathlib.Path(app.instance_path, "slow-started").touch()
        time.sleep(2)
        return "done"
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def server(tmp_path):
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    port = _free_port()
    env = dict(os.environ, EOPEN_INSTANCE_PATH=str(tmp_path / "instance"),
               EOPEN_DATABASE_URL=f"sqlite:///{tmp_path}/serve.db", PYTHONPATH=str(tmp_path))
    env.pop("EOPEN_TEST_DATABASE_URL", None)
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    process = subprocess.Popen([flask, "--app", "slowapp", "eopen", "serve", "--port", str(port), "--threads", "4"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            if _get(port, "/healthz", timeout=1) == (200, "ok\n"):
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the server did not start: " + (process.communicate()[0] or ""))
        time.sleep(0.1)
    yield process, port, tmp_path / "instance" / "slow-started"
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_the_request_in_flight_finish_and_exits_0(server, signum):
    process, port, started = server
    result = {}

    def slow_request():
        try:
            result["response"] = _get(port, "/_test/slow")
        except Exception as error:  # noqa: BLE001
            result["error"] = error

    client = threading.Thread(target=slow_request)
    client.start()
    deadline = time.monotonic() + 5
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists(), "the slow request never reached the app"

    process.send_signal(signum)
    time.sleep(0.3)
    # no new connections while the slow request finishes
    assert process.poll() is None, "the server quit before the request in flight was done"
    with pytest.raises(OSError):
        _get(port, "/healthz", timeout=1)

    client.join(10)
    output, _ = process.communicate(timeout=10)
    assert result.get("response") == (200, "done"), (result, output)
    assert process.returncode == 0, output
    assert "E-Open stopped" in output and "cut off" not in output


def test_an_idle_server_stops_at_once(server):
    process, port, _ = server
    assert _get(port, "/healthz") == (200, "ok\n")
    begun = time.monotonic()
    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert time.monotonic() - begun < 3
