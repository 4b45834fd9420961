"""The verification chain seen through HTTP: Kasi → Kabid → Kadis queues, decisions and batch approval.

Requests are brought to a step through the lifecycle (claim, approve, verify) so their events are
real: the queue orders by the time a request reached the step, which it reads from the events.
Issuing a document (eopen/services/issuing.py) is replaced by a stand-in when that module is absent.
"""
from __future__ import annotations

import importlib
import re
import sys
import types
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from eopen.backoffice import verifier
from eopen.services import verification
from eopen.extensions import db
from eopen.models import AccessLog, Event, IssuedDocument, RequestDocument, ServiceRequest, User
from eopen.services import fulfilment, sla
from eopen.services.lifecycle import perform

pytestmark = pytest.mark.db

KEL = "32.75.01.1001"        # Bekasijaya, kecamatan Bekasi Timur
FAR_KEL = "32.75.02.1001"    # Bintara, kecamatan Bekasi Barat
T0 = datetime(2026, 1, 5, 3, 0)  # Monday 10:00 in Bekasi
QUEUE = "/kantor/verifikasi"
BATCH = "/kantor/verifikasi/setujui"


def page_url(no):
    return f"/kantor/verifikasi/{no}"


def decide_url(no):
    return f"/kantor/verifikasi/{no}/keputusan"


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def people(app, make_resident, make_staff):
    ids = SimpleNamespace(
        resident=make_resident(name="Siti Warga"),
        operator=make_staff("operator", "32.75.01"), operator_far=make_staff("operator", "32.75.02"),
        penyelia=make_staff("penyelia", "32.75.01"), satgas=make_staff("satgas", "32.75.01"),
        kasi=make_staff("kasi"), kasi2=make_staff("kasi"), kabid=make_staff("kabid"), kadis=make_staff("kadis"),
        admin=make_staff("admin"), institution=make_staff("institution"))
    names = {"operator": "Budi Operator", "operator_far": "Rina Operator", "kasi": "Kasi Satu",
             "kasi2": "Kasi Dua", "kabid": "Kabid Uji", "kadis": "Kadis Uji"}
    with app.app_context():
        for attr, name in names.items():
            db.session.get(User, getattr(ids, attr)).display_name = name
        db.session.commit()
    return ids


@pytest.fixture
def waiting(app, make_request, people):
    """waiting(service=, step=0, approved_at=, reached_at=, kelurahan_code=) → tracking number.

    The request is submitted, claimed and approved by the operator of its kecamatan at ``approved_at``,
    then verified through the first ``step`` steps at ``reached_at``.
    """
    def make(service="akta_kelahiran", step=0, approved_at=T0, reached_at=None, kelurahan_code=KEL,
             due=date(2026, 1, 12)):
        rid = make_request(people.resident, service=service, status="submitted", kelurahan_code=kelurahan_code)
        with app.app_context():
            req = db.session.get(ServiceRequest, rid)
            req.submitted_at, req.due_date = approved_at, due
            operator = db.session.get(User, people.operator if kelurahan_code.startswith("32.75.01.")
                                      else people.operator_far)
            perform(req, "claim", operator, now=approved_at)
            perform(req, "approve", operator, now=approved_at)
            for role in ("kasi", "kabid", "kadis")[:step]:
                perform(req, "verify", db.session.get(User, getattr(people, role)), now=reached_at or approved_at)
            db.session.commit()
            return req.tracking_no
    return make


@pytest.fixture
def row(app):
    """row(tracking_no) → (status, verification_index, operator_id) read fresh from the database."""
    def get(no):
        with app.app_context():
            req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
            return req.status, req.verification_index, req.operator_id
    return get


@pytest.fixture
def events(app):
    """events(tracking_no) → [(action, actor_id, note)] in order."""
    def get(no):
        with app.app_context():
            req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
            return [(e.action, e.actor_id, e.note) for e in req.events]
    return get


@pytest.fixture
def issuing(monkeypatch):
    """The real eopen.services.issuing when it exists; else a stand-in that only returns a number."""
    try:
        return importlib.import_module("eopen.services.issuing")
    except ImportError:
        fake = types.ModuleType("eopen.services.issuing")
        fake.issue_document = lambda req, folder: SimpleNamespace(number=f"TEST/{req.tracking_no}")
        monkeypatch.setitem(sys.modules, "eopen.services.issuing", fake)
        import eopen.services
        monkeypatch.setattr(eopen.services, "issuing", fake, raising=False)
        return fake


def as_user(app, login, user_id):
    c = app.test_client()
    login(user_id, c)
    return c


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<div class="notice[^"]*" role="status">(.*?)</div>',
                                                                html, re.S)]


def queue_numbers(html: str) -> list[str]:
    return re.findall(r'name="tracking_no" value="([^"]+)"', html)


# --- the queue --------------------------------------------------------------------------------

def test_queue_holds_exactly_the_requests_at_my_step_oldest_first(app, login, people, waiting):
    # Reached kasi: at T0+2h (approved), T0 (approved), T0+1h (ktp_el, one step only).
    late = waiting(approved_at=T0 + timedelta(hours=2))
    early = waiting(approved_at=T0)
    ktp = waiting(service="ktp_el", approved_at=T0 + timedelta(hours=1))
    # At kabid: approved early but reached kabid late, and the other way round.
    kabid_late = waiting(step=1, approved_at=T0 - timedelta(days=3), reached_at=T0 + timedelta(hours=5))
    kabid_early = waiting(step=1, approved_at=T0 - timedelta(days=1), reached_at=T0 + timedelta(hours=1),
                          kelurahan_code=FAR_KEL)
    at_kadis = waiting(service="akta_kematian", step=2)
    waiting(service="kia", step=0)  # no verification: approved straight on, never in a queue

    kasi = as_user(app, login, people.kasi)
    r = kasi.get(QUEUE)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert queue_numbers(html) == [early, ktp, late]
    assert "Budi Operator" in html and "Bekasi Timur" in html and "Siti Warga" in html
    assert "KTP Elektronik" in html and "Akta Kelahiran" in html
    assert f'<label for="pilih-{early}" class="visually-hidden">Pilih {early}</label>' in html
    assert f'href="{page_url(early)}"' in html

    html = as_user(app, login, people.kabid).get(QUEUE).get_data(as_text=True)
    assert queue_numbers(html) == [kabid_early, kabid_late]  # by arrival at kabid, not by approval
    assert "Rina Operator" in html and "Bekasi Barat" in html

    html = as_user(app, login, people.kadis).get(QUEUE).get_data(as_text=True)
    assert queue_numbers(html) == [at_kadis]


def test_queue_shows_the_due_date_and_time_left(app, login, people, waiting, monkeypatch):
    monkeypatch.setattr(verification.sla, "today_local", lambda: date(2026, 1, 14))  # Wednesday
    late = waiting(due=date(2026, 1, 12))
    soon = waiting(due=date(2026, 1, 16))
    html = as_user(app, login, people.kasi).get(QUEUE).get_data(as_text=True)
    assert queue_numbers(html) == [late, soon]
    with app.app_context():
        overdue, left = (sla.time_left(date(2026, 1, 12), date(2026, 1, 14)),
                         sla.time_left(date(2026, 1, 16), date(2026, 1, 14)))
    assert overdue < 0 < left
    assert f"terlambat {-overdue} hari kerja" in html and f"sisa {left} hari kerja" in html
    assert "12 Jan 2026" in html and "16 Jan 2026" in html


def test_queue_filters_by_service_and_kecamatan(app, login, people, waiting):
    akta = waiting()
    ktp = waiting(service="ktp_el")
    far = waiting(kelurahan_code=FAR_KEL)
    kasi = as_user(app, login, people.kasi)
    assert queue_numbers(kasi.get(QUEUE + "?service=ktp_el").get_data(as_text=True)) == [ktp]
    assert queue_numbers(kasi.get(QUEUE + "?kecamatan=32.75.02").get_data(as_text=True)) == [far]
    assert queue_numbers(kasi.get(QUEUE + "?service=akta_kelahiran&kecamatan=32.75.01")
                         .get_data(as_text=True)) == [akta]
    html = kasi.get(QUEUE + "?service=&kecamatan=").get_data(as_text=True)
    assert sorted(queue_numbers(html)) == sorted([akta, ktp, far])
    # The service filter offers only services that pass the kasi; kabid does not see ktp_el at all.
    assert '<option value="ktp_el">' in html and '<option value="kia">' not in html
    kabid_html = as_user(app, login, people.kabid).get(QUEUE).get_data(as_text=True)
    assert '<option value="ktp_el">' not in kabid_html and '<option value="akta_kematian">' in kabid_html


def test_unknown_filter_is_422_with_an_error_summary(app, login, people, waiting):
    waiting()
    r = as_user(app, login, people.kasi).get(QUEUE + "?service=bogus&kecamatan=32.75.01")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<title>Galat:" in html and 'class="error-summary"' in html and 'href="#service"' in html


def test_queue_paginates_and_keeps_the_filters(app, login, people, waiting, monkeypatch):
    monkeypatch.setattr(verification, "PAGE_SIZE", 2)
    numbers = [waiting(approved_at=T0 + timedelta(minutes=i)) for i in range(5)]
    kasi = as_user(app, login, people.kasi)
    html = kasi.get(QUEUE + "?service=akta_kelahiran").get_data(as_text=True)
    assert queue_numbers(html) == numbers[:2]
    assert "Halaman 1 dari 3" in html and "halaman=2" in html and "service=akta_kelahiran" in html
    assert queue_numbers(kasi.get(QUEUE + "?service=akta_kelahiran&halaman=3").get_data(as_text=True)) == numbers[4:]
    assert queue_numbers(kasi.get(QUEUE + "?halaman=99").get_data(as_text=True)) == numbers[4:]  # clamped
    assert queue_numbers(kasi.get(QUEUE + "?halaman=x").get_data(as_text=True)) == numbers[:2]


def test_select_all_on_this_page_works_without_javascript(app, login, people, waiting):
    numbers = [waiting(), waiting()]
    kasi = as_user(app, login, people.kasi)
    html = kasi.get(QUEUE).get_data(as_text=True)
    assert "pilih=semua" in html and " checked" not in html
    html = kasi.get(QUEUE + "?pilih=semua").get_data(as_text=True)
    assert html.count(" checked>") == len(numbers)


def test_empty_queue(app, login, people):
    html = as_user(app, login, people.kadis).get(QUEUE).get_data(as_text=True)
    assert "Tidak ada permohonan yang menunggu verifikasi Anda." in html


# --- the request page -------------------------------------------------------------------------

def test_request_page_shows_data_documents_review_and_timeline(app, login, people, waiting):
    no = waiting(step=1)
    with app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
        requirements = verifier.get_catalogue().service(req.service_code).variant(req.variant_code).requirements
        first, second = requirements[0], requirements[1]
        db.session.add_all([
            RequestDocument(request_id=req.id, requirement_code=first.code, kind="file", storage_name="abc123",
                            content_type="image/jpeg", size=200 * 1024, uploaded_by_id=people.resident,
                            review_status="returned", review_reason="buram", review_note="Tulisan tidak terbaca",
                            reviewed_by_id=people.operator),
            RequestDocument(request_id=req.id, requirement_code=second.code, kind="sptjm",
                            declaration="Saya menyatakan dengan sebenarnya.", uploaded_by_id=people.resident,
                            review_status="accepted", reviewed_by_id=people.operator),
        ])
        req.data = {"nama_ayah": "Ahmad"}
        db.session.commit()
        first_label, second_label = first.label, second.label
        logged_before = db.session.scalar(select(func.count()).select_from(AccessLog))

    r = as_user(app, login, people.kabid).get(page_url(no))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert no in html and "Siti Warga" in html and "Akta Kelahiran" in html and "Bekasijaya" in html
    assert first_label in html and second_label in html
    assert "Dikembalikan petugas" in html and "Foto buram atau tulisan tidak terbaca" in html  # the reason's label
    assert "Tulisan tidak terbaca" in html
    assert "Diganti dengan SPTJM." in html and "Saya menyatakan dengan sebenarnya." in html
    assert "Diterima petugas" in html
    # timeline, newest first, with the labels of eopen/services/labels.py and who did it
    assert html.index("Diverifikasi") < html.index("Disetujui petugas") < html.index("Mulai diperiksa petugas")
    assert "Kasi Satu" in html and "Budi Operator" in html
    # both decisions, the next step named
    assert html.count(f'action="{decide_url(no)}"') == 2
    assert 'name="decision" value="approve"' in html and 'name="decision" value="return"' in html
    assert "diteruskan ke Kadis" in html
    assert '<label for="note">' in html
    with app.app_context():
        doc_id = db.session.scalar(select(RequestDocument.id).where(RequestDocument.requirement_code == first.code))
        assert f'<img class="bo-doc-img" src="/kantor/permohonan/{no}/dokumen/{doc_id}"' in html
        logs = db.session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
        assert len(logs) == logged_before + 1
        assert (logs[-1].user_id, logs[-1].action) == (people.kabid, "view_request")


def test_last_step_says_it_issues(app, login, people, waiting):
    no = waiting(service="ktp_el")
    html = as_user(app, login, people.kasi).get(page_url(no)).get_data(as_text=True)
    assert "Ini tahap terakhir" in html


# --- decisions --------------------------------------------------------------------------------

def verifier_events(app, no, actor_id):
    with app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
        return db.session.scalars(select(Event).where(Event.request_id == req.id, Event.actor_id == actor_id)).all()


def test_approve_climbs_kasi_kabid_kadis_then_issues(app, login, people, waiting, row, events, issuing, siak_round):
    no = waiting()
    for role, expected in (("kasi", ("verifying", 1)), ("kabid", ("verifying", 2))):
        user_id = getattr(people, role)
        before = len(events(no))
        r = as_user(app, login, user_id).post(decide_url(no), data={"decision": "approve"})
        assert r.status_code == 303 and r.headers["Location"].endswith(QUEUE)
        assert row(no)[:2] == expected
        assert len(events(no)) == before + 1 and events(no)[-1][:2] == ("verify", user_id)

    kadis = as_user(app, login, people.kadis)
    before = len(events(no))
    r = kadis.post(decide_url(no), data={"decision": "approve"}, follow_redirects=True)
    assert r.status_code == 200
    assert row(no)[0] == "sent_to_siak"  # handed off; the worker's SIAK step issues it
    assert any(f"{no} disetujui dan dikirim ke SIAK" in m for m in flashes(r.get_data(as_text=True)))
    assert siak_round().confirmed == 1
    assert row(no)[0] == "issued"
    assert [e[0] for e in events(no)[before:]] == ["verify", "send_to_siak", "issue"]
    assert [e[1] for e in events(no)[before:]] == [people.kadis, None, None]  # one Event by the kadis
    with app.app_context():
        issue = db.session.scalar(select(Event).where(Event.action == "issue"))
        assert issue.data["document_number"]
        if hasattr(issuing, "__file__"):  # the real issuing module, not the stand-in
            assert db.session.scalar(select(func.count()).select_from(IssuedDocument)) == 1


def test_approving_a_card_at_its_only_step_goes_to_siak_and_issues(app, login, people, waiting, row, events,
                                                                    siak_round):
    no = waiting(service="ktp_el")
    r = as_user(app, login, people.kasi).post(decide_url(no), data={"decision": "approve"})
    assert r.status_code == 303
    assert row(no)[0] == "sent_to_siak"
    assert siak_round().confirmed == 1
    assert row(no)[0] == "issued"
    assert [e[0] for e in events(no)][-3:] == ["verify", "send_to_siak", "issue"]
    assert len(verifier_events(app, no, people.kasi)) == 1


def test_last_step_calls_after_decision_once(app, login, people, waiting, row, monkeypatch):
    calls = []
    monkeypatch.setattr(fulfilment, "after_decision", lambda req: calls.append((req.tracking_no, req.status)))
    first = waiting(step=1)
    last = waiting(step=2)
    kabid, kadis = as_user(app, login, people.kabid), as_user(app, login, people.kadis)
    kabid.post(decide_url(first), data={"decision": "approve"})
    kadis.post(decide_url(last), data={"decision": "approve"})
    assert calls == [(last, "approved")]
    assert row(first)[:2] == ("verifying", 2) and row(last)[:2] == ("approved", 3)


@pytest.mark.parametrize("step,role", [(0, "kasi"), (1, "kabid"), (2, "kadis")])
def test_return_goes_back_to_the_operator_with_the_note(app, login, people, waiting, row, events, step, role):
    no = waiting(step=step)
    user_id = getattr(people, role)
    before = len(events(no))
    r = as_user(app, login, user_id).post(decide_url(no), data={"decision": "return", "note": "  Nama ayah beda  "},
                                          follow_redirects=True)
    assert r.status_code == 200
    assert row(no) == ("in_review", 0, people.operator)  # the operator keeps it; the chain starts again
    assert events(no)[before:] == [("verify_return", user_id, "Nama ayah beda")]
    assert any("dikembalikan ke petugas" in m for m in flashes(r.get_data(as_text=True)))
    # The operator approves again: it is back at the kasi, first in the chain.
    with app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
        perform(req, "approve", db.session.get(User, people.operator))
        db.session.commit()
    assert row(no)[:2] == ("verifying", 0)
    assert no in queue_numbers(as_user(app, login, people.kasi).get(QUEUE).get_data(as_text=True))


@pytest.mark.parametrize("note", ["", "   "])
def test_return_without_a_note_is_422_and_changes_nothing(app, login, people, waiting, row, events, note):
    no = waiting()
    before = events(no)
    r = as_user(app, login, people.kasi).post(decide_url(no), data={"decision": "return", "note": note})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<title>Galat:" in html and 'class="error-summary"' in html and 'href="#note"' in html
    assert 'aria-invalid="true"' in html and "Tuliskan apa yang perlu diperiksa ulang" in html
    assert row(no)[:2] == ("verifying", 0) and events(no) == before


def test_unknown_decision_is_400(app, login, people, waiting, row):
    no = waiting()
    r = as_user(app, login, people.kasi).post(decide_url(no), data={"decision": "reject"})
    assert r.status_code == 400 and row(no)[:2] == ("verifying", 0)


def test_double_click_on_approve_does_it_once(app, login, people, waiting, row, events):
    no = waiting()
    kasi = as_user(app, login, people.kasi)
    first = kasi.post(decide_url(no), data={"decision": "approve"})
    second = kasi.post(decide_url(no), data={"decision": "approve"}, follow_redirects=True)
    assert first.status_code == 303 and second.status_code == 200
    assert row(no)[:2] == ("verifying", 1)
    assert len(verifier_events(app, no, people.kasi)) == 1
    assert any(f"{no} disetujui dan diteruskan ke Kabid" in m for m in flashes(second.get_data(as_text=True)))


def test_double_click_on_return_does_it_once(app, login, people, waiting, row):
    no = waiting()
    kasi = as_user(app, login, people.kasi)
    for _ in range(2):
        r = kasi.post(decide_url(no), data={"decision": "return", "note": "Periksa KK"})
        assert r.status_code == 303
    assert row(no)[:2] == ("in_review", 0)
    assert len(verifier_events(app, no, people.kasi)) == 1


def test_a_colleague_decided_first(app, login, people, waiting, row):
    no = waiting()
    kasi = as_user(app, login, people.kasi)
    assert kasi.get(page_url(no)).status_code == 200
    as_user(app, login, people.kasi2).post(decide_url(no), data={"decision": "approve"})
    r = kasi.post(decide_url(no), data={"decision": "return", "note": "x"}, follow_redirects=True)
    assert r.status_code == 200
    assert any("sudah disetujui oleh Kasi Dua" in m for m in flashes(r.get_data(as_text=True)))
    assert row(no)[:2] == ("verifying", 1)
    assert verifier_events(app, no, people.kasi) == []


def test_conflict_inside_the_decision_is_a_flash_not_a_500(app, login, people, waiting, row, monkeypatch):
    """The row changes between the page's read and the conditional UPDATE (the lifecycle's conflict)."""
    no = waiting()
    real_decide = verification.decide

    def colleague_first(user, req, action, note=None):
        with app.app_context():  # another session commits first
            other = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == no))
            perform(other, "verify", db.session.get(User, people.kasi2))
            db.session.commit()
        return real_decide(user, req, action, note)

    monkeypatch.setattr(verification, "decide", colleague_first)
    r = as_user(app, login, people.kasi).post(decide_url(no), data={"decision": "approve"}, follow_redirects=True)
    assert r.status_code == 200
    assert any("sudah disetujui oleh Kasi Dua" in m for m in flashes(r.get_data(as_text=True)))
    assert row(no)[:2] == ("verifying", 1)
    assert verifier_events(app, no, people.kasi) == []


# --- batch approval ---------------------------------------------------------------------------

def test_batch_approves_each_and_skips_the_one_a_colleague_approved(app, login, people, waiting, row, events,
                                                                    siak_round):
    numbers = [waiting(), waiting(), waiting(service="kk")]
    kasi = as_user(app, login, people.kasi)
    html = kasi.get(QUEUE).get_data(as_text=True)
    assert sorted(queue_numbers(html)) == sorted(numbers)
    # Meanwhile the other kasi approves the second one.
    colleague = as_user(app, login, people.kasi2)
    assert colleague.post(decide_url(numbers[1]), data={"decision": "approve"}).status_code == 303

    r = kasi.post(BATCH, data={"tracking_no": numbers}, follow_redirects=True)
    assert r.status_code == 200
    messages = flashes(r.get_data(as_text=True))
    assert f"2 disetujui, 1 dilewati: {numbers[1]} (sudah disetujui oleh Kasi Dua)" in messages
    assert row(numbers[0])[:2] == ("verifying", 1)
    assert row(numbers[1])[:2] == ("verifying", 1)
    assert row(numbers[2])[0] == "sent_to_siak"  # kk: the kasi is its only step
    assert siak_round().confirmed == 1
    assert row(numbers[2])[0] == "issued"
    for no in numbers:
        assert len([e for e in events(no) if e[0] == "verify"]) == 1
    assert [len(verifier_events(app, no, people.kasi)) for no in numbers] == [1, 0, 1]


def test_batch_double_click_reports_skips_not_errors(app, login, people, waiting, row):
    numbers = [waiting(), waiting()]
    kasi = as_user(app, login, people.kasi)
    first = kasi.post(BATCH, data={"tracking_no": numbers}, follow_redirects=True)
    second = kasi.post(BATCH, data={"tracking_no": numbers}, follow_redirects=True)
    assert first.status_code == second.status_code == 200
    assert "2 disetujui." in flashes(first.get_data(as_text=True))
    assert (f"0 disetujui, 2 dilewati: {numbers[0]} (sudah Anda setujui), {numbers[1]} (sudah Anda setujui)"
            in flashes(second.get_data(as_text=True)))
    assert 'class="notice notice-info"' in second.get_data(as_text=True)
    assert [row(no)[:2] for no in numbers] == [("verifying", 1)] * 2
    assert [len(verifier_events(app, no, people.kasi)) for no in numbers] == [1, 1]


def test_batch_with_nothing_selected_is_422_on_the_queue(app, login, people, waiting):
    no = waiting()
    r = as_user(app, login, people.kasi).post(BATCH, data={"service": "akta_kelahiran"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<title>Galat:" in html and 'class="error-summary"' in html and 'href="#tracking_no"' in html
    assert 'id="tracking_no"' in html and queue_numbers(html) == [no]


def test_batch_has_a_ceiling(app, login, people, waiting, row, monkeypatch):
    monkeypatch.setattr(verifier, "MAX_BATCH", 1)
    numbers = [waiting(), waiting()]
    r = as_user(app, login, people.kasi).post(BATCH, data={"tracking_no": numbers})
    assert r.status_code == 422 and "Pilih paling banyak 1 permohonan sekaligus." in r.get_data(as_text=True)
    assert [row(no)[:2] for no in numbers] == [("verifying", 0)] * 2


def test_batch_skips_what_is_not_mine_without_saying_more(app, login, people, waiting, row, make_request):
    mine = waiting()
    passed = waiting(step=1)  # the kasi approved it earlier
    done = waiting(service="akta_kematian", step=2)  # this kabid approved it at step 1
    submitted = make_request(people.resident, status="submitted")
    with app.app_context():
        submitted = db.session.get(ServiceRequest, submitted).tracking_no
    r = as_user(app, login, people.kabid).post(
        BATCH, data={"tracking_no": [passed, mine, done, submitted, "EO-NOPE", passed]}, follow_redirects=True)
    assert (f"1 disetujui, 4 dilewati: {mine} (tidak menunggu verifikasi Anda), "
            f"{done} (sudah Anda setujui), {submitted} (tidak menunggu verifikasi Anda), "
            "EO-NOPE (tidak menunggu verifikasi Anda)") in flashes(r.get_data(as_text=True))
    assert row(passed)[:2] == ("verifying", 2)
    assert [row(no)[:2] for no in (mine, done)] == [("verifying", 0), ("verifying", 2)]
    assert row(submitted)[0] == "submitted"


def test_batch_failure_of_one_does_not_undo_the_others(app, login, people, waiting, row, monkeypatch, siak_round):
    numbers = [waiting(service="ktp_el"), waiting(service="ktp_el"), waiting(service="ktp_el")]
    real = fulfilment.after_decision

    def flaky(req):
        if req.tracking_no == numbers[1]:
            raise RuntimeError("SIAK is down")
        return real(req)

    monkeypatch.setattr(fulfilment, "after_decision", flaky)
    r = as_user(app, login, people.kasi).post(BATCH, data={"tracking_no": numbers}, follow_redirects=True)
    assert f"2 disetujui, 1 dilewati: {numbers[1]} (gagal diproses, coba lagi nanti)" in flashes(
        r.get_data(as_text=True))
    assert [row(no)[0] for no in numbers] == ["sent_to_siak", "verifying", "sent_to_siak"]  # the failed one rolled back
    assert siak_round().confirmed == 2
    assert [row(no)[0] for no in numbers] == ["issued", "verifying", "issued"]
    assert verifier_events(app, numbers[1], people.kasi) == []


def test_batch_keeps_the_filters_on_the_way_back(app, login, people, waiting):
    no = waiting(service="ktp_el")
    r = as_user(app, login, people.kasi).post(BATCH, data={"tracking_no": [no], "service": "ktp_el"})
    assert r.status_code == 303 and r.headers["Location"].endswith(QUEUE + "?service=ktp_el")


# --- who may ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who,step", [("kabid", 0), ("kadis", 0), ("kasi", 1), ("kasi2", 1), ("kadis", 1),
                                      ("kasi", 2), ("kasi2", 2), ("kabid", 2)])
def test_a_verifier_never_reaches_a_request_at_another_step(app, login, people, waiting, row, events, who, step):
    """404, except a POST about a request that already passed the user's step in this round: that is a
    late click (own or a colleague's decision came first), answered with a message and nothing done."""
    no = waiting(step=step)
    before = events(no)
    c = as_user(app, login, getattr(people, who))
    passed = ("kasi", "kabid", "kadis").index(who.rstrip("2")) < step
    assert c.get(page_url(no)).status_code == 404
    assert no not in queue_numbers(c.get(QUEUE).get_data(as_text=True))
    for data in ({"decision": "approve"}, {"decision": "return", "note": "x"}):
        r = c.post(decide_url(no), data=data)
        assert r.status_code == (303 if passed else 404)
    if passed:
        html = c.get(QUEUE).get_data(as_text=True)
        assert "tidak lagi menunggu verifikasi Anda" in html or "disetujui dan diteruskan" in html
    assert row(no)[:2] == ("verifying", step) and events(no) == before


def test_unknown_tracking_number_is_404(app, login, people):
    c = as_user(app, login, people.kasi)
    assert c.get(page_url("EO-NOPE")).status_code == 404
    assert c.post(decide_url("EO-NOPE"), data={"decision": "approve"}).status_code == 404


@pytest.mark.parametrize("role", ["resident", "institution", "satgas", "operator", "penyelia", "admin"])
def test_other_roles_get_403(app, login, people, waiting, row, role):
    no = waiting()
    c = as_user(app, login, getattr(people, role))
    assert c.get(QUEUE).status_code == 403
    assert c.get(page_url(no)).status_code == 403
    assert c.post(decide_url(no), data={"decision": "approve"}).status_code == 403
    assert c.post(BATCH, data={"tracking_no": [no]}).status_code == 403
    assert row(no)[:2] == ("verifying", 0)


def test_anonymous_is_sent_to_log_in(app, people, waiting, row):
    no = waiting()
    c = app.test_client()
    for response in (c.get(QUEUE), c.get(page_url(no)), c.post(decide_url(no), data={"decision": "approve"}),
                     c.post(BATCH, data={"tracking_no": [no]})):
        assert response.status_code in (302, 303) and "/masuk" in response.headers["Location"]
    assert row(no)[:2] == ("verifying", 0)


def test_the_office_home_sends_a_verifier_to_the_queue(app, login, people):
    r = as_user(app, login, people.kabid).get("/kantor/")
    assert r.status_code == 302 and r.headers["Location"].endswith(QUEUE)


def test_posts_need_the_csrf_token(csrf_app, people, waiting, row):
    no = waiting()
    c = csrf_app.test_client()
    with c.session_transaction() as session:
        session["_user_id"] = str(people.kasi)
    assert c.post(decide_url(no), data={"decision": "approve"}).status_code == 400
    assert c.post(BATCH, data={"tracking_no": [no]}).status_code == 400
    html = c.get(page_url(no)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert c.post(decide_url(no), data={"decision": "approve", "csrf_token": token}).status_code == 303
    assert row(no)[:2] == ("verifying", 1)
