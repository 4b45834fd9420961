"""What happens after the last approval: hand-off to SIAK, then issue.

`after_decision(req)` is called by every route that may leave a request `approved` (an operator's
approval of a service without verification, the last verifier's approval). It moves the request on
as far as it can now, each step through the lifecycle table as the system (actor None).
"""
from __future__ import annotations

from flask import current_app

from ..models import ServiceRequest
from . import lifecycle, siak
from .catalogue import get_catalogue


def after_decision(req: ServiceRequest) -> None:
    if req.status != "approved":
        return
    answer = siak.adapter().submit(req, siak.idempotency_key(req))
    lifecycle.perform(req, "send_to_siak", None, data={"siak_reference": answer.reference} if answer.reference else {})
    if not answer.confirmed:
        return  # waits in sent_to_siak until SIAK confirms (the outbox retries, in a later issue)
    service = get_catalogue().service(req.service_code)
    data = {"siak_reference": answer.reference}
    if service.output == "document":
        from . import issuing
        document = issuing.issue_document(req, current_app.config["UPLOAD_FOLDER"])
        data["document_number"] = document.number
    lifecycle.perform(req, "issue", None, data=data)
