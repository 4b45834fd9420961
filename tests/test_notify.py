"""Notifications: who hears of which event (services/notify.py), the texts, the bell and its pages,
and the channel preferences. Sending is tested in test_outbox.py and test_channels.py."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import (FieldJob, HaloThread, Notification, NotificationPreference, OutboxMessage,
                          SatgasAssignment, ServiceRequest, User, utcnow)
from eopen.services import fieldjobs, lifecycle, notify, review, satgas, siak, verification
from tests.test_fieldjobs import working_day
from tests.test_operator import KEC, KIA, KIA_VARIANT, KTP, KTP_DOCS, KTP_VARIANT, submitted

pytestmark = pytest.mark.db


def notes(user_id):
    """(kind, request_id) of the user's notifications, oldest first."""
    return [(n.kind, n.request_id) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))]


def outbox(user_id):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user_id)
                              .order_by(OutboxMessage.id)).all()


def set_user(app, user_id, **values):
    with app.app_context():
        user = db.session.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)
        db.session.commit()


@pytest.fixture
def people(app, make_resident, make_staff):
    ids = {"resident": make_resident(name="Rina Wati"), "operator": make_staff("operator", kecamatan_code=KEC),
           "operator2": make_staff("operator", kecamatan_code=KEC), "penyelia": make_staff("penyelia", kecamatan_code=KEC),
           "kasi": make_staff("kasi")}
    set_user(app, ids["resident"], email="rina@contoh.id")
    return ids


def claim_and_accept(req_id, operator_id, *, accept=True):
    req = db.session.get(ServiceRequest, req_id)
    operator = db.session.get(User, operator_id)
    review.claim(req, operator)
    if accept:
        for doc in req.documents:
            review.review_document(req, doc, operator, "accepted")
    return req, operator


# --- who hears of what ------------------------------------------------------------------------------


def test_submit_confirms_to_the_applicant_and_claim_tells_them_but_not_the_operator(app, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        assert notes(people["resident"]) == [("submitted", req_id)]
        claim_and_accept(req_id, people["operator"], accept=False)
        db.session.commit()
        assert notes(people["resident"]) == [("submitted", req_id), ("claimed", req_id)]
        assert notes(people["operator"]) == []  # their own action
        # The resident has an e-mail address: e-mail is on by default, one message per notification.
        messages = outbox(people["resident"])
        assert [(m.channel, m.address, m.status) for m in messages] == [("email", "rina@contoh.id", "pending")] * 2
        no = db.session.get(ServiceRequest, req_id).tracking_no
        assert no in messages[0].subject and no in messages[0].body
        assert "Permohonan diterima" in messages[0].subject


def test_return_tells_the_applicant_which_documents_and_why(app, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        req, operator = claim_and_accept(req_id, people["operator"], accept=False)
        kk = req.document_for("kk")
        akta = req.document_for("akta_kelahiran")
        review.review_document(req, akta, operator, "accepted")
        review.review_document(req, kk, operator, "returned", reason="buram", note="NIK tidak terbaca")
        review.decide(req, operator, "return", note="Foto ulang di tempat terang")
        db.session.commit()
        n = db.session.scalar(select(Notification).where(Notification.user_id == people["resident"],
                                                         Notification.kind == "returned"))
        assert n.params["documents"] == [{"code": "kk", "reason": "buram", "note": "NIK tidak terbaca"}]
        text = notify.render(n)
        assert text.details == ["Kartu Keluarga (KK): Foto buram atau tulisan tidak terbaca (NIK tidak terbaca)",
                                "Catatan petugas: Foto ulang di tempat terang"]
        email = outbox(people["resident"])[-1]
        assert "Kartu Keluarga (KK): Foto buram atau tulisan tidak terbaca" in email.body
        assert "Foto ulang di tempat terang" in email.body
        assert notes(people["operator"]) == []
        # The resident resubmits: the operator who returned it hears of it, the resident does not.
        resident = db.session.get(User, people["resident"])
        lifecycle.perform(req, "resubmit", resident)
        db.session.commit()
        assert notes(people["operator"]) == [("resubmitted", req_id)]
        assert [k for k, _ in notes(people["resident"])].count("resubmitted") == 0


def test_approve_without_verification_then_issue(app, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        req, operator = claim_and_accept(req_id, people["operator"])
        review.decide(req, operator, "approve")
        db.session.commit()
        assert [k for k, _ in notes(people["resident"])][-1] == "approved"
        # KIA: no verification steps → approved → SIAK; the worker's confirmed answer issues it (a card:
        # "we tell you when it is ready")
        assert siak.deliver_due().confirmed == 1
        db.session.refresh(req)
        kinds = [k for k, _ in notes(people["resident"])]
        assert kinds == ["submitted", "claimed", "approved", "issued_card"]
        lifecycle.perform(req, "ready", operator)
        db.session.commit()
        assert [k for k, _ in notes(people["resident"])][-1] == "ready"


def test_approve_with_verification_tells_twice_and_verifier_return_tells_the_operator(app, make_request, people):
    req_id = submitted(app, make_request, people["resident"], service=KTP, variant=KTP_VARIANT, docs=KTP_DOCS,
                       data={"tanggal_hilang": "2026-01-05"})
    with app.app_context():
        req, operator = claim_and_accept(req_id, people["operator"])
        review.decide(req, operator, "approve")
        db.session.commit()
        assert [k for k, _ in notes(people["resident"])][-1] == "approved_step"
        kasi = db.session.get(User, people["kasi"])
        lifecycle.perform(req, "verify_return", kasi, note="Tanggal kehilangan tidak cocok")
        db.session.commit()
        assert notes(people["operator"]) == [("verify_returned", req_id)]
        n = db.session.scalar(select(Notification).where(Notification.user_id == people["operator"]))
        assert "Tanggal kehilangan tidak cocok" in notify.render(n).body
        review.decide(req, operator, "approve")
        verification.decide(kasi, req, "verify")
        db.session.commit()
        assert siak.deliver_due().confirmed == 1
        kinds = [k for k, _ in notes(people["resident"])]
        assert kinds[-2:] == ["approved", "issued_card"] and kinds.count("approved_step") == 2
        assert notes(people["kasi"]) == []


def test_reject_and_assign(app, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        penyelia = db.session.get(User, people["penyelia"])
        lifecycle.perform(req, "assign", penyelia, data={"operator_id": people["operator2"]})
        db.session.commit()
        assert notes(people["operator2"]) == [("assigned", req_id)]
        assert [k for k, _ in notes(people["resident"])] == ["submitted", "claimed"]
        review.decide(req, db.session.get(User, people["operator2"]), "reject", note="Bukan penduduk Kota Bekasi")
        db.session.commit()
        n = db.session.scalars(select(Notification).where(Notification.user_id == people["resident"])
                               .order_by(Notification.id.desc())).first()
        assert n.kind == "rejected" and "Bukan penduduk Kota Bekasi" in notify.render(n).body
        assert notes(people["penyelia"]) == []


def test_own_cancel_is_not_notified_and_institutions_are_applicants(app, make_request, make_staff, people):
    req_id = submitted(app, make_request, people["resident"])
    institution = make_staff("institution")
    other = make_request(institution, service=KIA, variant=KIA_VARIANT, status="submitted",
                         kelurahan_code="32.75.01.1001")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        lifecycle.perform(req, "cancel", db.session.get(User, people["resident"]))
        lifecycle.perform(db.session.get(ServiceRequest, other), "claim", db.session.get(User, people["operator"]))
        db.session.commit()
        assert [k for k, _ in notes(people["resident"])] == ["submitted"]
        assert notes(institution) == [("claimed", other)]
        # An institution account has no e-mail or phone here: only the bell.
        assert outbox(institution) == []


@pytest.fixture
def rw_with_satgas(app, make_staff, make_resident, make_request, people):
    primary, backup = make_staff("satgas", kecamatan_code=KEC), make_staff("satgas", kecamatan_code=KEC)
    req_id = make_request(people["resident"], status="submitted")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        db.session.add_all([SatgasAssignment(rw_id=req.rw_id, satgas_id=primary, kind="primary"),
                            SatgasAssignment(rw_id=req.rw_id, satgas_id=backup, kind="backup")])
        db.session.commit()
    return {"req": req_id, "primary": primary, "backup": backup}


def test_job_events_reach_the_applicant_and_the_satgas(app, people, rw_with_satgas):
    resident, primary, backup, req_id = (people["resident"], rw_with_satgas["primary"], rw_with_satgas["backup"],
                                         rw_with_satgas["req"])
    day = working_day(3)
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        user = db.session.get(User, resident)
        job = fieldjobs.request_job(req, user, "pickup", day, "08-12", None, None)
        db.session.commit()
        # The resident gets the schedule as a receipt (their own action, but a confirmation); the satgas a job.
        assert notes(resident) == [("job_scheduled", req_id)]
        assert notes(primary) == [("job_new", req_id)]
        n = db.session.scalar(select(Notification).where(Notification.user_id == resident))
        body = notify.render(n).body
        assert "penjemputan" in body and "Pagi 08.00–12.00" in body and str(day.year) in body
        fieldjobs.change_job(job, user, working_day(4), "12-16", None)
        db.session.commit()
        assert notes(primary)[-1] == ("job_changed", req_id)
        # The primary becomes unavailable: the job moves to the backup; both hear of it, the resident not.
        satgas.set_available(db.session.get(User, primary), False, by=None)
        db.session.commit()
        assert notes(primary)[-1] == ("job_moved_away", req_id)
        assert notes(backup) == [("job_new", req_id)]
        assert len(notes(resident)) == 2
        job = db.session.get(FieldJob, job.id)
        fieldjobs.cancel_job(job, user)
        db.session.commit()
        assert notes(backup)[-1] == ("job_cancelled", req_id)
        assert len(notes(resident)) == 2  # own cancel: nothing


def test_satgas_on_the_way_and_reschedule_reach_the_applicant(app, people, rw_with_satgas):
    from field import services as field_services
    resident, primary, req_id = people["resident"], rw_with_satgas["primary"], rw_with_satgas["req"]
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        job = fieldjobs.request_job(req, db.session.get(User, resident), "pickup", working_day(2), "08-12", None, None)
        db.session.commit()
        field_services.start(job, db.session.get(User, primary))
        new_date = working_day(5)
        field_services.reschedule(job, "not_home", None, new_date)
        db.session.commit()
        kinds = [k for k, _ in notes(resident)]
        assert kinds == ["job_scheduled", "job_on_the_way", "job_rescheduled"]
        assert [k for k, _ in notes(primary)] == ["job_new"]  # their own actions: nothing more
        n = db.session.scalars(select(Notification).where(Notification.user_id == resident)
                               .order_by(Notification.id.desc())).first()
        text = notify.render(n)
        assert str(new_date.year) in text.body and "Warga tidak ada di rumah" in text.body
        assert n.params["date"] == new_date.isoformat()


def test_inactive_users_get_nothing(app, make_request, people):
    set_user(app, people["resident"], active=False)
    req_id = make_request(people["resident"], service=KIA, variant=KIA_VARIANT, status="submitted")
    with app.app_context():
        claim_and_accept(req_id, people["operator"], accept=False)
        db.session.commit()
        assert notes(people["resident"]) == [] and outbox(people["resident"]) == []


# --- texts ---------------------------------------------------------------------------------------------


LONG_NAME = "Raden Ayu Siti Nurhaliza Kusumawardhani Purbaningrum Setyaningsih Wulandari Prameswari"


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_sms_fits_one_message(app, make_resident, make_request, people, locale):
    resident = make_resident(name=LONG_NAME)
    req_id = make_request(resident, service="akta_kelahiran", status="submitted")
    app.config["PUBLIC_URL"] = "https://eopen.bekasikota.go.id"
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        thread = HaloThread(resident_id=resident, kind="complaint", category="lainnya", subject="S" * 200,
                            kecamatan_code=KEC, request_id=req_id)
        db.session.add(thread)
        db.session.flush()
        user = db.session.get(User, resident)
        user.locale = locale
        long = "Sangat panjang sekali " * 20
        params = {"documents": [{"code": "kk", "reason": "buram", "note": long}] * 6, "note": long,
                  "job_id": 999999, "job_kind": "delivery", "date": "2026-09-30", "window": "16-20", "reason": long,
                  "items": [long, long], "subject": "Ä“" * 200, "by": LONG_NAME}
        checked = 0
        for kind in [*notify.TEXTS, "unknown_kind"]:
            n = notify.notify(user, kind, request=req if not kind.startswith("halo") else None,
                              thread=thread if kind.startswith("halo") else None, params=params)
            with force_locale(locale):
                text = notify.sms_text(notify.render(n), notify.short_link(n))
            assert len(text) <= notify.SMS_LIMIT, (kind, len(text), text)
            assert text.isascii() and not set("[]{}\\^~|€") & set(text), text  # GSM-7 without escapes
            assert req.tracking_no in text and text.endswith(f"https://eopen.bekasikota.go.id/n/{n.id}"), text
            checked += 1
        assert checked == len(notify.TEXTS) + 1


def test_sms_message_in_the_outbox_is_short_and_complete(app, make_request, people):
    set_user(app, people["resident"], email=None)
    with app.app_context():
        user = db.session.get(User, people["resident"])
        notify.set_preferences(user, {"sms": True, "whatsapp": True})
        db.session.commit()
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        messages = {m.channel: m for m in outbox(people["resident"])}
        assert set(messages) == {"sms", "whatsapp"}
        no = db.session.get(ServiceRequest, req_id).tracking_no
        n = db.session.scalar(select(Notification).where(Notification.user_id == people["resident"]))
        sms = messages["sms"]
        assert len(sms.body) <= 160 and no in sms.body and sms.body.endswith(f"/n/{n.id}")
        assert sms.address == db.session.get(User, people["resident"]).phone and sms.subject is None
        assert no in messages["whatsapp"].body and "Permohonan diterima" in messages["whatsapp"].body


def test_outbox_text_in_the_recipients_language_bell_in_the_readers(app, client, login, make_request, people):
    set_user(app, people["resident"], locale="en")
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        email = outbox(people["resident"])[0]
        # The service's name comes from the English catalogue (the notification texts will follow).
        assert "Child identity card" in email.body and "Kartu Identitas Anak —" not in email.body
        assert db.session.get(ServiceRequest, req_id).tracking_no in email.subject
    set_user(app, people["resident"], locale="id")
    login(people["resident"])
    html = client.get("/notifikasi").get_data(as_text=True)
    assert "Permohonan diterima" in html and "Kartu Identitas Anak" in html and "Child identity card" not in html


# --- the bell and its pages --------------------------------------------------------------------------


def make_notes(app, user_id, count, start=None):
    start = start or utcnow() - timedelta(hours=count)
    with app.app_context():
        user = db.session.get(User, user_id)
        ids = [notify.notify(user, "halo_reply", params={"subject": f"Pertanyaan {i}", "by": "Petugas"},
                             now=start + timedelta(minutes=i)).id for i in range(count)]
        db.session.commit()
        return ids


def bell_text(html):
    match = re.search(r'<a href="/notifikasi" class="bell[^"]*">(.*?)</a>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else None


def test_bell_shows_the_unread_count_as_text_on_every_page(app, client, login, people):
    login(people["resident"])
    assert bell_text(client.get("/").get_data(as_text=True)) == "Notifikasi"
    make_notes(app, people["resident"], 3)
    make_notes(app, people["operator"], 2)  # someone else's
    for path in ("/", "/permohonan", "/notifikasi"):
        assert bell_text(client.get(path).get_data(as_text=True)) == "Notifikasi (3) belum dibaca", path
    client.post("/keluar")
    assert bell_text(client.get("/").get_data(as_text=True)) is None


def test_list_newest_first_paged_and_mark_all_read(app, client, login, people):
    ids = make_notes(app, people["resident"], notify.PER_PAGE + 3)
    other = make_notes(app, people["operator"], 1)
    login(people["resident"])
    r = client.get("/notifikasi")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    shown = [int(x) for x in re.findall(r'href="/n/(\d+)"', html)]
    assert shown == list(reversed(ids))[:notify.PER_PAGE] and other[0] not in shown
    assert html.count(">Baru<") == notify.PER_PAGE and "Pertanyaan 22" in html
    page2 = client.get("/notifikasi?halaman=2").get_data(as_text=True)
    assert [int(x) for x in re.findall(r'href="/n/(\d+)"', page2)] == list(reversed(ids))[notify.PER_PAGE:]
    assert client.get("/notifikasi?halaman=abc").status_code == 200
    # Looking at the list changes nothing; the button does.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.read_at.is_(None))) == len(ids) + 1
    r = client.post("/notifikasi/baca")
    assert r.status_code == 303 and r.headers["Location"] == "/notifikasi"
    with app.app_context():
        unread = db.session.scalars(select(Notification.user_id).where(Notification.read_at.is_(None))).all()
        assert unread == [people["operator"]]  # only someone else's stays unread
    html = client.get("/notifikasi").get_data(as_text=True)
    assert ">Baru<" not in html and "Tandai semua sudah dibaca" not in html


def test_opening_one_marks_it_read_and_goes_where_it_is_about(app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    thread_note = make_notes(app, people["resident"], 1)[0]
    with app.app_context():
        n = db.session.scalar(select(Notification).where(Notification.user_id == people["resident"],
                                                         Notification.kind == "submitted"))
        no = db.session.get(ServiceRequest, req_id).tracking_no
        note_id = n.id
    # Not logged in: to the login page first, nothing read.
    r = client.get(f"/n/{note_id}")
    assert r.status_code == 302 and "/masuk" in r.headers["Location"]
    login(people["resident"])
    r = client.get(f"/n/{note_id}")
    assert r.status_code == 303 and r.headers["Location"] == f"/permohonan/{no}"
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is not None
        assert db.session.get(Notification, thread_note).read_at is None
    assert bell_text(client.get("/").get_data(as_text=True)) == "Notifikasi (1) belum dibaca"
    # A Halo Pamor notification about a thread goes to the thread.
    with app.app_context():
        thread = HaloThread(resident_id=people["resident"], kind="question", category="lainnya", subject="Tanya",
                            kecamatan_code=KEC)
        db.session.add(thread)
        db.session.flush()
        halo_note = notify.notify(db.session.get(User, people["resident"]), "halo_reply", thread=thread,
                                  params={"subject": "Tanya", "by": "Operator"}).id
        thread_id = thread.id
        db.session.commit()
    r = client.get(f"/n/{halo_note}")
    assert r.status_code == 303 and r.headers["Location"] == f"/halo/{thread_id}"


def test_someone_elses_notification_is_a_404_and_stays_unread(app, client, login, people):
    theirs = make_notes(app, people["operator"], 1)[0]
    login(people["resident"])
    assert client.get(f"/n/{theirs}").status_code == 404
    assert client.get("/n/999999").status_code == 404
    client.post("/notifikasi/baca")
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def test_staff_links_lead_to_their_own_pages(app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        lifecycle.perform(req, "assign", db.session.get(User, people["penyelia"]),
                          data={"operator_id": people["operator"]})
        db.session.commit()
        n = db.session.scalar(select(Notification).where(Notification.user_id == people["operator"]))
        no = req.tracking_no
    login(people["operator"])
    r = client.get(f"/n/{n.id}")
    assert r.status_code == 303 and r.headers["Location"] == f"/kantor/permohonan/{no}"


def test_mark_read_needs_csrf(csrf_app, make_resident):
    resident = make_resident()
    make_notes(csrf_app, resident, 1)
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(resident)
        session["_fresh"] = True
    assert client.post("/notifikasi/baca").status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.read_at.is_(None))) == 1


# --- preferences ---------------------------------------------------------------------------------------


def test_preferences_default_and_respected(app, make_request, people):
    with app.app_context():
        user = db.session.get(User, people["resident"])
        assert notify.preferences(user) == {"email": True, "sms": False, "whatsapp": False}
        assert notify.active_channels(user) == ["email"]
        notify.set_preferences(user, {"email": False, "sms": True})
        db.session.commit()
        assert notify.active_channels(user) == ["sms"]
    req_id = submitted(app, make_request, people["resident"])
    with app.app_context():
        assert [m.channel for m in outbox(people["resident"])] == ["sms"]  # no e-mail when it is off
        assert notes(people["resident"]) == [("submitted", req_id)]  # the bell is always on
        # No phone any more: SMS is chosen but has nowhere to go.
        user = db.session.get(User, people["resident"])
        user.phone = None
        db.session.commit()
        assert notify.active_channels(user) == []
        claim_and_accept(req_id, people["operator"], accept=False)
        db.session.commit()
        assert len(outbox(people["resident"])) == 1 and len(notes(people["resident"])) == 2


def is_checked(html, field_id):
    tag = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', html).group(0)
    return " checked" in tag


def test_preferences_page(app, client, login, people):
    login(people["resident"])
    r = client.get("/akun/notifikasi")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert is_checked(html, "email") and not is_checked(html, "sms") and not is_checked(html, "whatsapp")
    assert "rina@contoh.id" in html and 'for="sms"' in html and "<legend>" in html
    r = client.post("/akun/notifikasi", data={"sms": "y", "whatsapp": "y"})
    assert r.status_code == 303 and r.headers["Location"] == "/akun/notifikasi"
    with app.app_context():
        rows = dict(db.session.execute(select(NotificationPreference.channel, NotificationPreference.enabled)
                                       .where(NotificationPreference.user_id == people["resident"])).all())
        assert rows == {"email": False, "sms": True, "whatsapp": True}
    html = client.get("/akun/notifikasi").get_data(as_text=True)
    assert is_checked(html, "sms") and is_checked(html, "whatsapp") and not is_checked(html, "email")
    assert "Pilihan pemberitahuan disimpan." in html


def test_preferences_page_refuses_a_channel_without_address(app, client, make_staff, login):
    staff = make_staff("operator", kecamatan_code=KEC)  # no e-mail, no phone
    login(staff)
    html = client.get("/akun/notifikasi").get_data(as_text=True)
    assert 'id="email"' not in html and "belum punya alamat email" in html
    r = client.post("/akun/notifikasi", data={"email": "y"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<title>Galat:" in html and 'href="#email"' in html and 'id="email-error"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    assert client.get("/akun/notifikasi").status_code == 200


def test_pages_need_login(client):
    for path in ("/notifikasi", "/akun/notifikasi", "/n/1"):
        r = client.get(path)
        assert r.status_code == 302 and "/masuk" in r.headers["Location"], path
