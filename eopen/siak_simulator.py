"""A SIAK simulator: the contract of docs/siak-api.md, with faults that can be set per run.

A small WSGI app (no Flask, no database: records live in memory) served by werkzeug's threaded
server. ``flask eopen siak-simulator`` runs it; tests start it in a thread (``start()``).

Faults, in the order a call meets them: ``latency`` (seconds of sleep), maintenance (a forced flag or
a window ``start/end`` in UTC: 503 with Retry-After), ``error_rate`` (500, nothing stored),
``timeout_rate`` (the record may be stored, then the answer comes ``timeout_sleep`` seconds late — past
the client's timeout, a "lost answer"). ``duplicates`` counts records that would be a second one for the
same request (same tracking number, another key): a client with stable keys keeps it at 0.
"""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SETTINGS = ("latency", "error_rate", "timeout_rate", "timeout_sleep", "maintenance", "windows", "now", "seed",
            "token", "retry_after")


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.strip())
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def parse_window(text: str) -> tuple[datetime, datetime]:
    """"2026-12-01T00:00/2026-12-02T00:00" (UTC) → (start, end)."""
    start, _, end = text.partition("/")
    first, last = _parse_time(start), _parse_time(end)
    if last <= first:
        raise ValueError(f"window ends before it starts: {text}")
    return first, last


@dataclass
class State:
    latency: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_sleep: float = 2.0
    maintenance: bool = False  # forced on, whatever the windows say
    windows: list = field(default_factory=list)  # ["start/end", …] in UTC
    now: str | None = None  # the simulator's clock (ISO, UTC) for tests; None = the real clock
    seed: int | None = None
    token: str = ""  # when set, calls must carry "Authorization: Bearer <token>"
    retry_after: int = 0  # seconds sent in maintenance; 0 = until the window ends (forced: 60)
    records: dict = field(default_factory=dict)  # key → {"reference", "payload", "created_at"}
    by_tracking: dict = field(default_factory=dict)  # tracking_no → key of the first record
    counters: dict = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset_counters(self) -> None:
        self.counters = {"calls": 0, "created": 0, "replayed": 0, "duplicates": 0, "maintenance": 0, "errors": 0,
                         "timeouts": 0, "lost_answers": 0, "unauthorised": 0, "invalid": 0}

    def settings(self) -> dict:
        return {name: getattr(self, name) for name in SETTINGS if name != "token"}

    def apply(self, values: dict) -> None:
        for name, value in values.items():
            if name not in SETTINGS:
                raise ValueError(f"unknown setting {name}")
            if name in ("latency", "error_rate", "timeout_rate", "timeout_sleep"):
                value = float(value)
                if value < 0 or (name.endswith("_rate") and value > 1):
                    raise ValueError(f"{name} out of range")
            elif name == "windows":
                value = [str(v) for v in value]
                for window in value:
                    parse_window(window)
            elif name == "now" and value is not None:
                _parse_time(value)
            elif name == "maintenance":
                value = bool(value)
            elif name == "retry_after":
                value = int(value)
            setattr(self, name, value)
            if name == "seed":
                self.rng = random.Random(value)

    def clock(self) -> datetime:
        return _parse_time(self.now) if self.now else datetime.now(timezone.utc).replace(tzinfo=None)

    def in_maintenance(self) -> int | None:
        """Seconds to send as Retry-After when in maintenance, else None."""
        now = self.clock()
        for window in self.windows:
            start, end = parse_window(window)
            if start <= now < end:
                return self.retry_after or max(1, int((end - now).total_seconds() + 0.999))
        if self.maintenance:
            return self.retry_after or 60
        return None


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


class Simulator:
    def __init__(self, **settings):
        self.state = State()
        self.state.reset_counters()
        self.state.apply(settings)

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path, method = request.path.rstrip("/"), request.method
        if path == "/v1/records" and method == "POST":
            return self.create(request)
        if path.startswith("/v1/records/") and method == "GET":
            return self.read(request, path.rsplit("/", 1)[1])
        if path == "/_admin/state" and method == "GET":
            with self.state.lock:
                return _json(200, {"settings": self.state.settings(), "counters": dict(self.state.counters),
                                   "records": len(self.state.records)})
        if path == "/_admin/settings" and method == "POST":
            try:
                with self.state.lock:
                    self.state.apply(request.get_json(force=True, silent=False) or {})
            except (ValueError, TypeError) as error:
                return _json(400, {"error": str(error)})
            return _json(200, {"settings": self.state.settings()})
        if path == "/_admin/reset" and method == "POST":
            with self.state.lock:
                self.state.records.clear()
                self.state.by_tracking.clear()
                self.state.reset_counters()
            return _json(200, {"ok": True})
        return _json(404, {"error": "not found"})

    def _authorised(self, request: Request) -> bool:
        return not self.state.token or request.headers.get("Authorization") == f"Bearer {self.state.token}"

    def create(self, request: Request) -> Response:
        state = self.state
        with state.lock:
            state.counters["calls"] += 1
            latency, roll, roll_store = state.latency, state.rng.random(), state.rng.random()
        if latency:
            time.sleep(latency)
        if not self._authorised(request):
            with state.lock:
                state.counters["unauthorised"] += 1
            return _json(401, {"error": "unauthorised"})
        body = request.get_json(silent=True)
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        data = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(key, str) or not 8 <= len(key) <= 128 or not isinstance(data, dict):
            with state.lock:
                state.counters["invalid"] += 1
            return _json(422, {"error": "idempotency_key (8–128 chars) and payload (object) are required"})
        with state.lock:
            wait = state.in_maintenance()
            if wait is not None:
                state.counters["maintenance"] += 1
                return _json(503, {"error": "maintenance"}, {"Retry-After": str(wait)})
            if roll < state.error_rate:
                state.counters["errors"] += 1
                return _json(500, {"error": "internal error (simulated)"})
            timeout = roll < state.error_rate + state.timeout_rate
            status, record = self._store(key, data) if (not timeout or roll_store < 0.5) else (None, None)
            if timeout:
                state.counters["timeouts"] += 1
                if record is not None:
                    state.counters["lost_answers"] += 1
            sleep = state.timeout_sleep
        if timeout:
            time.sleep(sleep)
            if record is None:
                return _json(504, {"error": "gateway timeout (simulated)"})
        return _json(status, {"reference": record["reference"], "idempotency_key": key})

    def _store(self, key: str, data: dict) -> tuple[int, dict]:
        """Under the lock: the record for ``key`` (200) or a new one (201)."""
        state = self.state
        record = state.records.get(key)
        if record is not None:
            state.counters["replayed"] += 1
            return 200, record
        tracking = data.get("tracking_no")
        if tracking is not None and tracking in state.by_tracking:
            state.counters["duplicates"] += 1  # a second record for one request: the client's keys are unstable
        state.by_tracking.setdefault(tracking, key)
        record = {"reference": f"SIAK-{len(state.records) + 1:08d}", "payload": data,
                  "created_at": state.clock().isoformat(timespec="seconds")}
        state.records[key] = record
        state.counters["created"] += 1
        return 201, record

    def read(self, request: Request, key: str) -> Response:
        if not self._authorised(request):
            return _json(401, {"error": "unauthorised"})
        with self.state.lock:
            record = self.state.records.get(key)
        if record is None:
            return _json(404, {"error": "no record for this key"})
        return _json(200, {"reference": record["reference"], "idempotency_key": key, "payload": record["payload"],
                           "created_at": record["created_at"]})


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # tests make hundreds of calls
        pass


class Running:
    """A simulator served in a background thread (tests): ``.url``, ``.app``, ``.stop()``."""

    def __init__(self, app: Simulator, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start(host: str = "127.0.0.1", port: int = 0, **settings) -> Running:
    return Running(Simulator(**settings), host, port)
