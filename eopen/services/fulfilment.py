"""What happens after the last approval: hand-off to SIAK, then (when SIAK confirms) issue.

`after_decision(req)` is called by every route that may leave a request `approved` (an operator's
approval of a service without verification, the last verifier's approval). It writes the SIAK
hand-off row and moves the request to `sent_to_siak`, in the caller's transaction; it does not call
SIAK. The worker (`siak.deliver_due`) sends the row and, on a confirmed answer only, calls `issue`.
Each step goes through the lifecycle table as the system (actor None).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context

from ..models import ServiceRequest
from . import lifecycle, siak
from .catalogue import get_catalogue


def after_decision(req: ServiceRequest) -> None:
    if req.status != "approved":
        return
    handoff = siak.hand_off(req)
    lifecycle.perform(req, "send_to_siak", None, data={"handoff": handoff.id})


def issue(req: ServiceRequest, reference: str | None, now: datetime | None = None) -> None:
    """SIAK confirmed: issue the request (a signed PDF for document outputs). Flushes."""
    service = get_catalogue().service(req.service_code)
    data = {"siak_reference": reference}
    if service.output == "document":
        from . import issuing
        if has_request_context() or current_app.config.get("PUBLIC_URL"):
            document = issuing.issue_document(req, current_app.config["UPLOAD_FOLDER"])
        else:
            # The worker outside any web request, PUBLIC_URL unset (a local install): the QR code points
            # at the address the app serves on.
            base = f"http://{current_app.config.get('HOST', '127.0.0.1')}:{current_app.config.get('PORT', 8000)}"
            with current_app.test_request_context(base_url=base):
                document = issuing.issue_document(req, current_app.config["UPLOAD_FOLDER"])
        data["document_number"] = document.number
    lifecycle.perform(req, "issue", None, data=data, now=now)
