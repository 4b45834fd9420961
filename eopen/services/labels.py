"""Words shown to people for statuses and actions (the codes stay English in the database)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .catalogue import get_catalogue

STATUS = {
    "draft": _l("Draf (belum dikirim)"),
    "submitted": _l("Terkirim, menunggu diperiksa"),
    "in_review": _l("Sedang diperiksa petugas"),
    "needs_revision": _l("Perlu perbaikan dari Anda"),
    "rejected": _l("Ditolak"),
    "verifying": _l("Menunggu verifikasi pimpinan"),
    "approved": _l("Disetujui"),
    "sent_to_siak": _l("Diproses di SIAK"),
    "issued": _l("Dokumen terbit"),
    "ready_for_collection": _l("Siap diambil di kecamatan"),
    "collected": _l("Sudah diambil"),
    "out_for_delivery": _l("Sedang diantar Satgas Pamor"),
    "delivered": _l("Sudah diterima"),
    "cancelled": _l("Dibatalkan"),
}

ACTION = {
    "submit": _l("Permohonan dikirim"),
    "cancel": _l("Permohonan dibatalkan"),
    "claim": _l("Mulai diperiksa petugas"),
    "assign": _l("Diserahkan ke petugas pemeriksa"),
    "release": _l("Dikembalikan ke antrean"),
    "return": _l("Dikembalikan untuk perbaikan"),
    "resubmit": _l("Perbaikan dikirim"),
    "reject": _l("Permohonan ditolak"),
    "approve": _l("Disetujui petugas"),
    "verify": _l("Diverifikasi"),
    "verify_return": _l("Dikembalikan ke petugas oleh verifikator"),
    "send_to_siak": _l("Dikirim ke SIAK"),
    "issue": _l("Dokumen terbit"),
    "ready": _l("Siap diambil"),
    "collect": _l("Diambil"),
    "dispatch": _l("Diantar Satgas Pamor"),
    "deliver": _l("Diterima"),
    # Jemput-antar (events that do not change the request's status)
    "job_requested": _l("Jemput/antar diminta"),
    "job_changed": _l("Jadwal jemput/antar diubah"),
    "job_cancelled": _l("Jemput/antar dibatalkan"),
    "job_on_the_way": _l("Satgas Pamor berangkat"),
    "job_rescheduled": _l("Kunjungan Satgas Pamor dijadwalkan ulang"),
    "job_moved": _l("Petugas Satgas Pamor untuk jemput/antar diatur ulang"),
    "pickup_done": _l("Dokumen diterima Satgas Pamor"),
    "handover_office": _l("Dokumen diserahkan ke kantor kecamatan"),
}


# Where staff need other words than the applicant (who is "Anda" in the applicant's labels).
STAFF_STATUS = {
    "submitted": _l("Menunggu diperiksa"),
    "needs_revision": _l("Menunggu perbaikan dari pemohon"),
}


def _viewer_is_staff() -> bool:
    from flask import has_request_context
    from flask_login import current_user
    return has_request_context() and current_user.is_authenticated and current_user.is_staff


def status_label(code: str) -> str:
    if code in STAFF_STATUS and _viewer_is_staff():
        return str(STAFF_STATUS[code])
    return str(STATUS.get(code, code))


def action_label(code: str) -> str:
    return str(ACTION.get(code, code))


def service_label(req) -> str:
    """"Akta Kelahiran — Pencatatan kelahiran" for a request (the variant only when there are several)."""
    service = get_catalogue().service(req.service_code)
    text = _(service.label)
    if req.variant_code and len(service.variants) > 1:
        text += " — " + _(service.variant(req.variant_code).label)
    return text
