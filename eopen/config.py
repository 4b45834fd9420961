"""Configuration: defaults here, then instance/config.py, then EOPEN_* environment variables."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class Defaults:
    # SQLite in the instance folder unless EOPEN_DATABASE_URL says otherwise (set in create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BLUEPRINTS = [
        "eopen.main",
        "eopen.auth",
        "eopen.resident",
        "eopen.apply",
        "eopen.backoffice",
        "eopen.verify",
        "eopen.admin",
        "eopen.help",
        "eopen.halo",
        "field",
        "eopen.notifications",
        "eopen.ops",
    ]
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")
    # 15 MB per file is what we promise residents; a little headroom for the multipart envelope.
    MAX_UPLOAD_BYTES = 15 * 1024 * 1024
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    STORED_IMAGE_MAX_BYTES = 750 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a resident may fill a form slowly; the token lives as long as the session
    HOST = "127.0.0.1"
    PORT = 8000
    PUBLIC_URL = ""  # e.g. https://eopen.bekasikota.go.id, used in QR codes; empty = from the request
    HALO_AUTO_CLOSE_DAYS = 5  # Halo Pamor: an answered thread with no resident reply closes after these days
    # Notifications on other channels (services/channels.py). A channel whose settings are empty writes
    # its messages to instance/outbox.log instead (the default on a fresh install).
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    SMTP_FROM = "E-Open Bekasi <noreply@localhost>"
    SMTP_STARTTLS = False
    SMS_WEBHOOK_URL = ""  # an SMS gateway: POST {"to", "text", "channel"} as JSON
    SMS_WEBHOOK_TOKEN = ""  # sent as "Authorization: Bearer …" when set
    WHATSAPP_WEBHOOK_URL = ""
    WHATSAPP_WEBHOOK_TOKEN = ""
    NOTIFY_TIMEOUT = 15  # seconds per SMTP or webhook call
    OUTBOX_LOG = ""  # the log channel's file; empty = instance/outbox.log
    OUTBOX_MAX_ATTEMPTS = 8  # then the message is "dead" (kept, never deleted)
    OUTBOX_BACKOFF_CAP = 60  # minutes between retries at most (1, 2, 4, 8 … minutes before that)
    OUTBOX_LEASE = 300  # seconds a worker holds a message it took; after a crash it is sent again
    WORKER_INTERVAL = 5  # seconds between the worker's rounds
    # SIAK (services/siak.py, contract in docs/siak-api.md). Empty URL = the local adapter confirms at once.
    SIAK_URL = ""
    SIAK_TOKEN = ""  # sent as "Authorization: Bearer …" when set
    SIAK_TIMEOUT = 15  # seconds per call
    SIAK_BACKOFF_BASE = 30  # seconds before the first retry (doubling, with jitter) …
    SIAK_BACKOFF_CAP = 3600  # … at most this many seconds; Retry-After may ask for longer
    SIAK_RETRY_AFTER_CAP = 86400  # a Retry-After longer than this is cut to it
    SIAK_DEAD_AFTER = 5  # attempts refused for good (4xx) before a hand-off is "dead"; 5xx/503 never
    SIAK_LEASE = 300  # seconds a worker holds a hand-off it took
    SIAK_BANNER_AFTER = 5  # minutes a hand-off may wait before staff see the banner
    # Operations (eopen/ops.py, services/maintenance.py, `flask eopen serve|sweep|backup|restore`).
    SQLITE_BUSY_TIMEOUT = 5000  # ms a SQLite connection waits for another writer's lock
    DB_POOL_SIZE = 10  # PostgreSQL connection pool (pre-pinged)
    DB_MAX_OVERFLOW = 10
    DB_POOL_RECYCLE = 1800  # seconds; older connections are replaced
    READY_OUTBOX_MAX_AGE = 0  # /readyz fails when the oldest pending message is older (seconds); 0 = never
    SHUTDOWN_GRACE = 10  # seconds `serve` lets in-flight requests finish after SIGTERM/SIGINT
    SWEEP_OLDER_THAN = 3600  # seconds: unreferenced upload files younger than this are left alone


ENV_PREFIX = "EOPEN_"
# Environment variables whose values are not plain strings.
_INT_KEYS = {"PORT", "MAX_UPLOAD_BYTES", "MAX_CONTENT_LENGTH", "STORED_IMAGE_MAX_BYTES", "SMTP_PORT",
             "NOTIFY_TIMEOUT", "OUTBOX_MAX_ATTEMPTS", "OUTBOX_BACKOFF_CAP", "OUTBOX_LEASE", "WORKER_INTERVAL",
             "HALO_AUTO_CLOSE_DAYS",
             "SQLITE_BUSY_TIMEOUT", "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_RECYCLE", "READY_OUTBOX_MAX_AGE",
             "SHUTDOWN_GRACE", "SWEEP_OLDER_THAN"}
_BOOL_KEYS = {"SESSION_COOKIE_SECURE", "TESTING", "SMTP_STARTTLS"}
_INT_KEYS |= {"SIAK_BACKOFF_BASE", "SIAK_BACKOFF_CAP", "SIAK_RETRY_AFTER_CAP", "SIAK_DEAD_AFTER", "SIAK_LEASE",
              "SIAK_BANNER_AFTER"}
_FLOAT_KEYS = {"SIAK_TIMEOUT"}


def from_environment(environ: dict[str, str] | None = None) -> dict:
    environ = os.environ if environ is None else environ
    out: dict = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):]
        if name == "DATABASE_URL":
            out["SQLALCHEMY_DATABASE_URI"] = value
        elif name in _INT_KEYS:
            out[name] = int(value)
        elif name in _FLOAT_KEYS:
            out[name] = float(value)
        elif name in _BOOL_KEYS:
            out[name] = value.lower() in {"1", "true", "yes", "on"}
        else:
            out[name] = value
    return out


def secret_key_for(instance_path: str) -> str:
    """A per-installation secret kept in the instance folder (never in the repository)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key
