"""Cross-cutting response handling: security headers, gzip, template helpers."""
from __future__ import annotations

import gzip
from pathlib import Path

from flask import Flask, Response, request, url_for
from flask_babel import get_locale
from werkzeug.routing import BuildError

HTMX_FILE = "js/htmx-2.0.11.min.js"
COMPRESSIBLE = {"text/html", "text/css", "application/javascript", "text/javascript", "image/svg+xml",
                "text/csv", "application/json", "text/plain"}
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def register(app: Flask) -> None:
    static_cache: dict[tuple[str, float], bytes] = {}

    from .services import custody, labels, performance

    def field_home() -> str | None:
        """The field mode's start page when the `field` package is plugged in (eopen never imports it)."""
        try:
            return url_for("field.home")
        except BuildError:
            return None

    @app.context_processor
    def template_globals():
        return {"htmx_file": HTMX_FILE, "current_locale": str(get_locale() or "id"),
                "catalogue_label": labels.service_label, "status_label": labels.status_label,
                "action_label": labels.action_label, "holder_label": custody.holder_label,
                "handover_sentence": custody.handover_sentence, "field_home": field_home(),
                "siak_wait": performance.siak_wait}

    @app.after_request
    def upload_redirect(response: Response) -> Response:
        """upload.js sends uploads with XHR: instead of a redirect it would follow (loading the next page
        twice and losing its flash messages), tell it where to go."""
        if request.headers.get("X-Eopen-Upload") == "1" and response.status_code in (301, 302, 303):
            target = response.headers["Location"]
            response = Response(status=204)
            response.headers["X-Eopen-Location"] = target
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages carry personal data: never keep them in a shared cache.
            response.headers["Cache-Control"] = "no-store"
        return _compress(response, static_cache)


def stored_file_or_404(doc) -> Path:
    """The path of a request document's stored file; 404 (and an error in the log) when it is missing."""
    from flask import abort, current_app

    from .services import uploads
    if doc.kind != "file" or not doc.storage_name:
        abort(404)
    try:
        return uploads.path_of(current_app.config["UPLOAD_FOLDER"], doc.storage_name)
    except FileNotFoundError:
        current_app.logger.error("file of document %s is missing", doc.id)
        abort(404)


def uploaded_file_headers(response: Response) -> Response:
    """Headers for a resident's uploaded file, shown inline to someone allowed to see it.

    Never cached, may be framed only by our own pages (the review page shows PDFs in an iframe).
    Images are sandboxed. PDFs are not: Chromium's PDF viewer refuses to run in a sandbox, and the
    upload pipeline already refuses PDFs with scripts, launch actions or embedded files.
    """
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    policy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    if response.mimetype != "application/pdf":
        policy += "; sandbox"
    response.headers["Content-Security-Policy"] = policy
    return response


def _compress(response: Response, cache: dict) -> Response:
    """gzip text responses for clients that accept it (slow networks pay per byte)."""
    if (response.status_code < 200 or response.status_code >= 300
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding")
            or response.mimetype not in COMPRESSIBLE
            or response.is_streamed and not response.direct_passthrough):
        return response
    key = None
    if request.endpoint == "static" and response.last_modified:
        key = (request.path, response.last_modified.timestamp())
    body = cache.get(key) if key else None
    if body is not None:
        response.close()  # the file send_file opened is not needed: the compressed copy is cached
    else:
        response.direct_passthrough = False
        raw = response.get_data()
        if len(raw) < 512:
            return response
        body = gzip.compress(raw, compresslevel=6, mtime=0)
        if key:
            cache[key] = body
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.vary.add("Accept-Encoding")
    if response.headers.get("ETag"):
        etag, weak = response.get_etag()
        response.set_etag(etag + "-gz", weak=weak)
    return response
