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
        "field",
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


ENV_PREFIX = "EOPEN_"
# Environment variables whose values are not plain strings.
_INT_KEYS = {"PORT", "MAX_UPLOAD_BYTES", "MAX_CONTENT_LENGTH", "STORED_IMAGE_MAX_BYTES"}
_BOOL_KEYS = {"SESSION_COOKIE_SECURE", "TESTING"}


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
