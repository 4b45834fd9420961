"""Shared steps of the e2e journeys: requests made through the services where their UI path is tested
elsewhere, and waiting for the live server's worker."""
from __future__ import annotations

import time

from playwright.sync_api import Page


def open_when_issued(page: Page, tracking_no: str, timeout: float = 20) -> None:
    """Open the request's status page once the worker has had SIAK confirm it ("Diproses di SIAK" until
    then): approval hands off to SIAK, the live server's worker issues it a round or two later."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(f"/permohonan/{tracking_no}")
        status = page.locator(".status").first.inner_text()
        if "Dokumen terbit" in status or time.monotonic() > deadline:
            break
        assert "SIAK" in status, status  # waiting for SIAK, nothing else
        page.wait_for_timeout(300)


def submitted_ktp_request(live_server, nik) -> str:
    """A KTP-el replacement (damaged card) for the resident, already submitted: the apply flow has its own
    e2e tests; here the paper's journey matters."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import Person, ServiceRequest, User
    from eopen.services import lifecycle, numbers
    with live_server.app.app_context():
        person = db.session.scalar(select(Person).where(Person.nik == nik))
        user = db.session.scalar(select(User).where(User.person_id == person.id))
        req = ServiceRequest(tracking_no=numbers.new_tracking_no(), service_code="ktp_el", variant_code="rusak",
                             status="draft", applicant_id=user.id, subject_person_id=person.id,
                             subject_name=person.full_name, subject_nik=person.nik,
                             subject_birth_date=person.birth_date, subject_sex=person.sex,
                             kelurahan_code=person.household.kelurahan_code, rw_id=person.household.rw_id, data={})
        db.session.add(req)
        db.session.flush()
        lifecycle.perform(req, "submit", user)
        db.session.commit()
        return req.tracking_no
