"""Waiting for the live server's worker in e2e tests."""
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
