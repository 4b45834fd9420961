"""Which guide page the "Bantuan" link of each screen opens.

A screen is named by its endpoint (or, for a whole blueprint, by its prefix "name."); the target is a
guide page's slug, optionally with a section ("unggah-dokumen#perbaikan"). INDEX is the guide's first
page. tests/test_help.py walks the app's URL map: every GET endpoint that shows a page must be listed
here, or in NOT_PAGES when it is no page (a file, a download, a script).
"""
from __future__ import annotations

from dataclasses import dataclass

INDEX = ""

BY_ENDPOINT: dict[str, str] = {
    "main.home": INDEX,
    "auth.signup": "daftar",
    "auth.login": "daftar#masuk",
    "resident.household": "daftar",
    "resident.add_member": "daftar#keluarga",
    "apply.start": INDEX,  # choosing a service: the index lists the five service pages
    "apply.document": "unggah-dokumen",
    "resident.requests": "pantau-permohonan#status",
    "resident.request_detail": "pantau-permohonan#status",
    "resident.confirmation": "pantau-permohonan",
    "resident.receipt": "pantau-permohonan",
    "resident.revision": "unggah-dokumen#perbaikan",
    "resident.job_new": "jemput-antar",
    "resident.job_edit": "jemput-antar",
    "verify.": "pantau-permohonan#status",  # checking an issued document's QR code
    "backoffice.": "antrean-operator",
    "backoffice.desk": "antrean-operator#meja",
    "backoffice.verify_queue": "verifikasi",
    "backoffice.verify_request": "verifikasi",
    "field.": "mode-lapangan",
    "field.desk": "mode-lapangan#kantor",
    "field.assist_start": "mode-lapangan#bantu",
    "field.assist_service": "mode-lapangan#bantu",
    "field.assist_done": "mode-lapangan#bantu",
    "halo.": "halo-pamor",
    "halo.staff_list": "halo-pamor#petugas",
    "halo.staff_thread": "halo-pamor#petugas",
    "halo.escalations": "halo-pamor#petugas",
    "notifications.": "pantau-permohonan#pemberitahuan",
    "admin.": INDEX,  # no guide page for the admin (yet)
    "help.": INDEX,
}

# Steps of the apply flow: the guide page of the service being applied for, once it is chosen.
APPLY_STEPS = {"apply.change_service", "apply.variant", "apply.subject", "apply.data", "apply.check",
               "apply.resume"}

# GET endpoints that are no page with a menu: files, downloads, scripts.
NOT_PAGES = {
    "static",
    "apply.document_file",
    "resident.document_file",
    "resident.issued_pdf",
    "backoffice.document_file",
    "backoffice.handover_photo",
    "backoffice.performance_csv",
    "field.service_worker",
    "notifications.open",  # marks a notification read and redirects to what it is about
    "ops.healthz",  # probes for the process supervisor and load balancer (eopen/ops.py)
    "ops.readyz",
}


@dataclass(frozen=True)
class Target:
    slug: str  # INDEX for the guide's first page
    anchor: str = ""


def _split(value: str) -> Target:
    slug, _, anchor = value.partition("#")
    return Target(slug, anchor)


def target_for(endpoint: str | None, service_code: str | None = None) -> Target | None:
    """The guide page for a screen, or None when the screen is not listed."""
    if not endpoint:
        return None
    if endpoint in APPLY_STEPS:
        if service_code:
            from .pages import service_slug
            return Target(service_slug(service_code), "cara")
        return Target(INDEX)
    if endpoint in BY_ENDPOINT:
        return _split(BY_ENDPOINT[endpoint])
    prefix = endpoint.split(".", 1)[0] + "."
    if "." in endpoint and prefix in BY_ENDPOINT:
        return _split(BY_ENDPOINT[prefix])
    return None
