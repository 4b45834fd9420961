"""The operator's back office through the test client: queue, claim, review page, verdicts, decisions.

The rules checked: an operator sees and touches only their own kecamatan (another kecamatan's
request is a 404 at every URL), every view is in the access log, every decision is exactly one
Event written through the lifecycle, and a double click or a race never does anything twice.
"""
from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import AccessLog, Event, RequestDocument, ServiceRequest, User
from eopen.services import lifecycle, review, sla, uploads

pytestmark = pytest.mark.db

KEC, KEL = "32.75.01", "32.75.01.1001"              # Bekasi Timur, Bekasijaya
KEL_2 = "32.75.01.1002"                              # another kelurahan of Bekasi Timur
FAR_KEC, FAR_KEL = "32.75.02", "32.75.02.1001"      # Bekasi Barat
# KIA for a child under five: two mandatory documents, no verification steps (approve → SIAK → issued).
KIA, KIA_VARIANT, KIA_DOCS = "kia", "kurang_5", ("akta_kelahiran", "kk")
# KTP-el lost: a date field, two mandatory documents, verified by the kasi.
KTP, KTP_VARIANT, KTP_DOCS = "ktp_el", "hilang", ("kk", "surat_kehilangan_polisi")


# --- helpers -----------------------------------------------------------------------------------


def photo_bytes(size=(120, 80), left=(220, 30, 30), right=(30, 30, 220)) -> bytes:
    """A JPEG whose left half is red and right half blue, to see which way it was turned."""
    im = Image.new("RGB", size, right)
    im.paste(Image.new("RGB", (size[0] // 2, size[1]), left), (0, 0))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


PDF_BYTES = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")


def add_file(app, req_id, code, data=None, content_type="image/jpeg"):
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        data = data if data is not None else photo_bytes()
        name = uploads.store(app.config["UPLOAD_FOLDER"], data, "pdf" if content_type == "application/pdf" else "jpg")
        doc = RequestDocument(request_id=req_id, requirement_code=code, kind="file", storage_name=name,
                              content_type=content_type, size=len(data), original_name=f"{code}.jpg",
                              uploaded_by_id=req.applicant_id)
        db.session.add(doc)
        db.session.commit()
        return doc.id


def add_sptjm(app, req_id, code, text="Saya menyatakan dengan sebenarnya bahwa anak ini lahir di Bekasi."):
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        doc = RequestDocument(request_id=req_id, requirement_code=code, kind="sptjm", declaration=text,
                              uploaded_by_id=req.applicant_id)
        db.session.add(doc)
        db.session.commit()
        return doc.id


def submitted(app, make_request, applicant_id, *, service=KIA, variant=KIA_VARIANT, docs=KIA_DOCS, data=None,
              kelurahan_code=None):
    """A request filed and submitted through the lifecycle (so it has a due date and a submit event)."""
    req_id = make_request(applicant_id, service=service, variant=variant, status="draft",
                          kelurahan_code=kelurahan_code)
    for code in docs:
        add_file(app, req_id, code)
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        if data:
            req.data = data
        lifecycle.perform(req, "submit", db.session.get(User, applicant_id))
        db.session.commit()
    return req_id


def get(app, model, id_):
    with app.app_context():
        obj = db.session.get(model, id_)
        db.session.expunge(obj)
        return obj


def tracking(app, req_id) -> str:
    return get(app, ServiceRequest, req_id).tracking_no


def events(app, req_id, *, actor_id=None):
    with app.app_context():
        stmt = select(Event).where(Event.request_id == req_id).order_by(Event.id)
        if actor_id is not None:
            stmt = stmt.where(Event.actor_id == actor_id)
        rows = db.session.scalars(stmt).all()
        return [(e.action, e.from_status, e.to_status, e.note, e.data) for e in rows]


def set_fields(app, req_id, **values):
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        for key, value in values.items():
            setattr(req, key, value)
        db.session.commit()


def doc_ids(app, req_id) -> dict[str, int]:
    with app.app_context():
        return {d.requirement_code: d.id for d in db.session.scalars(
            select(RequestDocument).where(RequestDocument.request_id == req_id))}


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


@pytest.fixture
def people(make_resident, make_staff):
    return {
        "resident": make_resident(name="Rina Wati"),
        "far_resident": make_resident(name="Joko Barat", kelurahan_code=FAR_KEL),
        "operator": make_staff("operator", kecamatan_code=KEC),
        "operator2": make_staff("operator", kecamatan_code=KEC),
        "far_operator": make_staff("operator", kecamatan_code=FAR_KEC),
        "penyelia": make_staff("penyelia", kecamatan_code=KEC),
    }


def claimed(app, client, login, make_request, people, **kwargs):
    """A KIA request claimed by people["operator"]; returns (req_id, tracking_no, {code: doc_id})."""
    req_id = submitted(app, make_request, people["resident"], **kwargs)
    no = tracking(app, req_id)
    login(people["operator"])
    r = client.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/kantor/permohonan/{no}")
    return req_id, no, doc_ids(app, req_id)


def verdict(client, no, doc_id, verdict_, reason="", note=""):
    return client.post(f"/kantor/permohonan/{no}/dokumen/{doc_id}/putusan",
                       data={f"d{doc_id}-verdict": verdict_, f"d{doc_id}-reason": reason, f"d{doc_id}-note": note})


# --- the queue ---------------------------------------------------------------------------------


def row_order(html: str) -> list[str]:
    return re.findall(r'<a class="mono" href="/kantor/permohonan/([^"]+)"', html)


def test_queue_shows_own_kecamatan_resubmitted_first_then_by_due_date(app, client, login, make_request, people):
    today = sla.today_local()
    later = submitted(app, make_request, people["resident"])
    overdue = submitted(app, make_request, people["resident"])
    mine = submitted(app, make_request, people["resident"])          # resubmitted after revision, for me
    theirs = submitted(app, make_request, people["resident"])        # resubmitted, for operator2
    far = submitted(app, make_request, people["far_resident"])       # another kecamatan
    done = submitted(app, make_request, people["resident"])          # rejected: not in the default view
    draft = make_request(people["resident"], service=KIA, status="draft")
    set_fields(app, later, due_date=today + timedelta(days=20))
    set_fields(app, overdue, due_date=today - timedelta(days=10))
    set_fields(app, mine, due_date=today + timedelta(days=30), operator_id=people["operator"])
    set_fields(app, theirs, due_date=today - timedelta(days=20), operator_id=people["operator2"])
    set_fields(app, done, status="rejected")

    login(people["operator"])
    r = client.get("/kantor/antrean")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    order = row_order(html)
    assert order == [tracking(app, i) for i in (mine, theirs, overdue, later)]
    assert tracking(app, far) not in html and tracking(app, done) not in html and tracking(app, draft) not in html
    # Overdue stands out in words, not colour alone.
    left = sla.time_left(today - timedelta(days=10), today)
    assert f"Terlambat {-left} hari kerja" in html
    assert "Perbaikan dari warga, untuk Anda" in html
    # Claimed-by is shown; a request waiting for another operator cannot be claimed from here.
    assert html.count('action="/kantor/permohonan/') == 3  # claim buttons: mine, overdue, later

    # The status filter shows the others.
    r = client.get("/kantor/antrean?status=rejected")
    assert row_order(r.get_data(as_text=True)) == [tracking(app, done)]
    r = client.get("/kantor/antrean?status=all")
    assert set(row_order(r.get_data(as_text=True))) == {tracking(app, i) for i in (later, overdue, mine, theirs, done)}


def test_queue_filters_and_search(app, client, login, make_request, make_resident, people):
    today = sla.today_local()
    other_kel = make_resident(name="Bambang Setiawan", kelurahan_code=KEL_2)
    kia = submitted(app, make_request, people["resident"])
    ktp = submitted(app, make_request, other_kel, service=KTP, variant=KTP_VARIANT, docs=KTP_DOCS)
    set_fields(app, kia, due_date=today - timedelta(days=7))
    set_fields(app, ktp, due_date=today)
    login(people["operator"])

    def found(query: str) -> list[str]:
        r = client.get("/kantor/antrean", query_string=query)
        assert r.status_code == 200
        return row_order(r.get_data(as_text=True))

    assert found("service=ktp_el") == [tracking(app, ktp)]
    assert found("kelurahan=" + KEL_2) == [tracking(app, ktp)]
    assert found("due=overdue") == [tracking(app, kia)]
    assert found("due=today") == [tracking(app, ktp)]
    assert found("status=in_review") == []
    # Search: the tracking number typed in lower case without dashes, a NIK, a part of a name.
    no = tracking(app, ktp)
    assert found({"q": no.replace("-", "").lower()}) == [no]
    assert found({"q": no[3:].lower()}) == [no]
    nik = get(app, ServiceRequest, kia).subject_nik
    assert found({"q": nik}) == [tracking(app, kia)]
    assert found({"q": "bambang set"}) == [no]
    assert found({"q": "RINA"}) == [tracking(app, kia)]
    assert found({"q": "tidak ada orang ini"}) == []
    # The filter form keeps what was chosen.
    html = client.get("/kantor/antrean?q=rina&service=kia").get_data(as_text=True)
    assert 'value="rina"' in html and re.search(r'<option selected value="kia">|<option value="kia" selected', html)


def test_queue_htmx_gets_only_the_table_block(app, client, login, make_request, people):
    submitted(app, make_request, people["resident"])
    login(people["operator"])
    r = client.get("/kantor/antrean?service=kia", headers={"HX-Request": "true", "HX-Target": "queue-table"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="queue-table">') and "<html" not in html


def test_queue_pages(app, client, login, make_request, people, monkeypatch):
    monkeypatch.setattr(review, "PER_PAGE", 2)
    for _ in range(3):
        submitted(app, make_request, people["resident"])
    login(people["operator"])
    first = client.get("/kantor/antrean").get_data(as_text=True)
    second = client.get("/kantor/antrean?halaman=2").get_data(as_text=True)
    assert len(row_order(first)) == 2 and len(row_order(second)) == 1
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_queue_is_for_operators_only(app, client, login, people, make_staff):
    r = client.get("/kantor/antrean")
    assert r.status_code == 302 and "/masuk" in r.headers["Location"]
    for user in (people["resident"], people["penyelia"], make_staff("kasi"), make_staff("admin")):
        login(user)
        assert client.get("/kantor/antrean").status_code == 403


# --- claim and release -------------------------------------------------------------------------


def test_claim_and_release(app, client, login, make_request, people):
    req_id, no, _ = claimed(app, client, login, make_request, people)
    req = get(app, ServiceRequest, req_id)
    assert req.status == "in_review" and req.operator_id == people["operator"]
    # A double click claims once.
    r = client.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/kantor/permohonan/{no}")
    assert [e[:3] for e in events(app, req_id, actor_id=people["operator"])] == [("claim", "submitted", "in_review")]

    r = client.post(f"/kantor/permohonan/{no}/lepas")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    req = get(app, ServiceRequest, req_id)
    assert req.status == "submitted" and req.operator_id is None
    assert client.post(f"/kantor/permohonan/{no}/lepas").status_code == 303  # the second click: no error
    assert [e[:3] for e in events(app, req_id, actor_id=people["operator"])] == [
        ("claim", "submitted", "in_review"), ("release", "in_review", "submitted")]


def test_a_claimed_request_cannot_be_claimed_by_another(app, client, login, make_request, people):
    req_id, no, _ = claimed(app, client, login, make_request, people)
    other = app.test_client()
    login(people["operator2"], other)
    r = other.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    assert any("sudah diambil oleh Operator" in m for m in flashes(other))
    assert get(app, ServiceRequest, req_id).operator_id == people["operator"]
    assert len(events(app, req_id, actor_id=people["operator2"])) == 0


def test_claim_race_two_threads_exactly_one_wins(app, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    no = tracking(app, req_id)
    clients = [app.test_client(), app.test_client()]
    login(people["operator"], clients[0])
    login(people["operator2"], clients[1])
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(i):
        barrier.wait()
        with clients[i].post(f"/kantor/permohonan/{no}/ambil") as r:
            results[i] = (r.status_code, r.headers["Location"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(status == 303 for status, _ in results)
    winners = [i for i, (_, location) in enumerate(results) if location.endswith(f"/kantor/permohonan/{no}")]
    assert len(winners) == 1
    loser = 1 - winners[0]
    assert results[loser][1].endswith("/kantor/antrean")
    assert any("sudah diambil" in m for m in flashes(clients[loser]))
    claims = [e for e in events(app, req_id) if e[0] == "claim"]
    assert len(claims) == 1
    winner_id = (people["operator"], people["operator2"])[winners[0]]
    assert get(app, ServiceRequest, req_id).operator_id == winner_id


# --- the review page and the files -------------------------------------------------------------


def test_review_page_shows_data_and_documents_and_logs_every_view(app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"], service=KTP, variant=KTP_VARIANT, docs=KTP_DOCS,
                       data={"tanggal_kehilangan": "2024-08-17", "_saved": "1"})
    no = tracking(app, req_id)
    ids = doc_ids(app, req_id)
    req = get(app, ServiceRequest, req_id)
    login(people["operator"])
    r = client.get(f"/kantor/permohonan/{no}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for text in ("Rina Wati", req.subject_nik, "15 Mei 1990", "Laki-laki", "Bekasijaya",
                 "Tanggal kehilangan", "17 Agustus 2024", "Kartu Keluarga (KK)",
                 "Surat keterangan kehilangan dari kepolisian", "Perbesar", "Putar", "Ambil untuk diperiksa"):
        assert text in html, text
    for doc_id in ids.values():
        assert f'src="/kantor/permohonan/{no}/dokumen/{doc_id}"' in html
    assert "Simpan penilaian" not in html  # not claimed yet: nothing to judge
    with app.app_context():
        rows = db.session.scalars(select(AccessLog).where(AccessLog.request_id == req_id)).all()
        assert [(a.user_id, a.action, a.document_id) for a in rows] == [(people["operator"], "view_request", None)]

    with client.get(f"/kantor/permohonan/{no}/dokumen/{ids['kk']}") as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.headers["Cache-Control"] == "private, no-store"
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    with app.app_context():
        rows = db.session.scalars(select(AccessLog).where(AccessLog.request_id == req_id)
                                  .order_by(AccessLog.id)).all()
        assert [(a.action, a.document_id) for a in rows] == [("view_request", None), ("view_document", ids["kk"])]


def test_penyelia_sees_the_review_page_read_only(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    login(people["penyelia"])
    html = client.get(f"/kantor/permohonan/{no}").get_data(as_text=True)
    assert "Rina Wati" in html and "Simpan penilaian" not in html and 'value="approve"' not in html
    assert 'value="reject"' in html  # the penyelia may reject (the lifecycle allows it)
    with client.get(f"/kantor/permohonan/{no}/dokumen/{ids['kk']}") as r:
        assert r.status_code == 200
    assert verdict(client, no, ids["kk"], "accepted").status_code == 403  # verdicts: operators only
    r = decide(client, no, "reject", note="Bukan penduduk Kota Bekasi")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/")
    assert events(app, req_id, actor_id=people["penyelia"])[-1][:3] == ("reject", "in_review", "rejected")


def test_rotation_returns_a_rotated_jpeg(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    with client.get(f"/kantor/permohonan/{no}/dokumen/{ids['kk']}?putar=90") as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.headers["Cache-Control"] == "private, no-store" and "sandbox" in r.headers["Content-Security-Policy"]
        im = Image.open(io.BytesIO(r.get_data()))
        assert im.format == "JPEG" and im.size == (80, 120)
        # Turned clockwise: what was on the left (red) is now at the top.
        top, bottom = im.getpixel((40, 10)), im.getpixel((40, 110))
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    with client.get(f"/kantor/permohonan/{no}/dokumen/{ids['kk']}?putar=180") as r:
        assert Image.open(io.BytesIO(r.get_data())).size == (120, 80)
    with client.get(f"/kantor/permohonan/{no}/dokumen/{ids['kk']}?putar=45") as r:  # not a rotation: the file
        assert Image.open(io.BytesIO(r.get_data())).size == (120, 80)
    # The review page links to the turned image and to the next turn.
    html = client.get(f"/kantor/permohonan/{no}?putar{ids['kk']}=90").get_data(as_text=True)
    assert f'src="/kantor/permohonan/{no}/dokumen/{ids["kk"]}?putar=90"' in html
    assert f'putar{ids["kk"]}=180#dok-{ids["kk"]}' in html
    with app.app_context():
        views = db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.request_id == req_id, AccessLog.action == "view_document"))
        assert views == 3


def test_pdf_is_shown_inline_and_sptjm_as_declared_text(app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"], docs=())
    pdf = add_file(app, req_id, "akta_kelahiran", data=PDF_BYTES, content_type="application/pdf")
    add_sptjm(app, req_id, "kk", text="Saya menyatakan dengan sebenarnya bahwa KK saya hilang.")
    no = tracking(app, req_id)
    login(people["operator"])
    html = client.get(f"/kantor/permohonan/{no}").get_data(as_text=True)
    assert f'<iframe class="doc-pdf" src="/kantor/permohonan/{no}/dokumen/{pdf}"' in html
    assert "Saya menyatakan dengan sebenarnya bahwa KK saya hilang." in html
    with client.get(f"/kantor/permohonan/{no}/dokumen/{pdf}") as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    with client.get(f"/kantor/permohonan/{no}/dokumen/{pdf}?unduh=1") as r:
        assert r.headers["Content-Disposition"].startswith("attachment")


# --- verdicts and decisions --------------------------------------------------------------------


def test_document_verdicts(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    r = verdict(client, no, ids["kk"], "returned")  # no reason
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<title>Galat:" in html and "Pilih alasan dokumen ini dikembalikan." in html
    assert f'href="#d{ids["kk"]}-reason"' in html
    r = verdict(client, no, ids["kk"], "returned", reason="lainnya")  # "lainnya" needs a note
    assert r.status_code == 422 and "Tuliskan apa yang perlu diperbaiki warga." in r.get_data(as_text=True)
    assert verdict(client, no, ids["kk"], "returned", reason="zzz").status_code == 422
    assert verdict(client, no, ids["kk"], "maybe").status_code == 422

    r = verdict(client, no, ids["kk"], "returned", reason="buram", note="Foto goyang")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#dok-{ids['kk']}")
    doc = get(app, RequestDocument, ids["kk"])
    assert (doc.review_status, doc.review_reason, doc.review_note, doc.reviewed_by_id) == (
        "returned", "buram", "Foto goyang", people["operator"])
    assert doc.reviewed_at is not None
    assert verdict(client, no, ids["akta_kelahiran"], "accepted", reason="buram").status_code == 303
    doc = get(app, RequestDocument, ids["akta_kelahiran"])
    assert (doc.review_status, doc.review_reason) == ("accepted", None)
    assert events(app, req_id, actor_id=people["operator"]) == [
        ("claim", "submitted", "in_review", None, {})]  # verdicts are not status changes

    # Only the claimant judges documents.
    other = app.test_client()
    login(people["operator2"], other)
    assert verdict(other, no, ids["kk"], "accepted").status_code == 422
    assert get(app, RequestDocument, ids["kk"]).review_status == "returned"


def decide(client, no, decision, note=""):
    return client.post(f"/kantor/permohonan/{no}/keputusan", data={"decision": decision, "note": note})


def test_approve_needs_every_mandatory_document_accepted(app, client, login, make_request, people, siak_round):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    r = decide(client, no, "approve")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<title>Galat:" in html and "belum dapat disetujui" in html and "Akta kelahiran anak" in html
    verdict(client, no, ids["akta_kelahiran"], "accepted")
    assert decide(client, no, "approve").status_code == 422  # the KK is still not accepted
    verdict(client, no, ids["kk"], "returned", reason="buram")
    assert decide(client, no, "approve").status_code == 422  # nor a returned one
    assert get(app, ServiceRequest, req_id).status == "in_review"

    verdict(client, no, ids["kk"], "accepted")
    r = decide(client, no, "approve")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    # KIA has no verification steps: approved and handed to SIAK by the system, in one commit; the
    # worker's SIAK step issues it once SIAK confirms.
    assert get(app, ServiceRequest, req_id).status == "sent_to_siak"
    assert siak_round().confirmed == 1
    assert get(app, ServiceRequest, req_id).status == "issued"
    assert [e[:3] for e in events(app, req_id, actor_id=people["operator"])] == [
        ("claim", "submitted", "in_review"), ("approve", "in_review", "approved")]
    assert [e[0] for e in events(app, req_id)][-2:] == ["send_to_siak", "issue"]
    # A second click changes nothing and is not an error.
    r = decide(client, no, "approve")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    assert len(events(app, req_id, actor_id=people["operator"])) == 2


def test_approve_with_verification_goes_to_the_kasi_and_sptjm_counts_when_accepted(
        app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"], service="akta_kelahiran", variant="kelahiran",
                       docs=("kk",))
    add_sptjm(app, req_id, "surat_keterangan_lahir")
    add_sptjm(app, req_id, "bukti_perkawinan")
    no = tracking(app, req_id)
    ids = doc_ids(app, req_id)
    login(people["operator"])
    client.post(f"/kantor/permohonan/{no}/ambil")
    for doc_id in ids.values():
        assert verdict(client, no, doc_id, "accepted").status_code == 303
    assert decide(client, no, "approve", note="Lengkap").status_code == 303
    req = get(app, ServiceRequest, req_id)
    assert (req.status, req.verification_index) == ("verifying", 0)
    assert events(app, req_id, actor_id=people["operator"])[-1][:4] == ("approve", "in_review", "verifying", "Lengkap")


def test_return_writes_one_event_with_the_documents(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    r = decide(client, no, "return")  # nothing marked, no note
    assert r.status_code == 422 and "Tandai dokumen" in r.get_data(as_text=True)
    verdict(client, no, ids["akta_kelahiran"], "accepted")
    verdict(client, no, ids["kk"], "returned", reason="terpotong", note="Bagian bawah KK terpotong")
    r = decide(client, no, "return", note="Mohon foto ulang di tempat terang")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    req = get(app, ServiceRequest, req_id)
    assert (req.status, req.operator_id) == ("needs_revision", people["operator"])
    action, from_status, to_status, note, data = events(app, req_id, actor_id=people["operator"])[-1]
    assert (action, from_status, to_status) == ("return", "in_review", "needs_revision")
    assert data["documents"] == [{"code": "kk", "reason": "terpotong", "note": "Bagian bawah KK terpotong"}]
    assert "Mohon foto ulang di tempat terang" in note and "Kartu Keluarga" in note and "terpotong" in note
    assert decide(client, no, "return", note="lagi").status_code == 303  # double click: no second event
    assert len([e for e in events(app, req_id) if e[0] == "return"]) == 1


def test_reject_needs_a_reason_and_is_final(app, client, login, make_request, people):
    req_id, no, _ = claimed(app, client, login, make_request, people)
    r = decide(client, no, "reject", note="   ")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'href="#reject-note"' in html and "alasan penolakan" in html.lower()
    assert get(app, ServiceRequest, req_id).status == "in_review"
    r = decide(client, no, "reject", note="Bukan penduduk Kota Bekasi")
    assert r.status_code == 303
    assert events(app, req_id, actor_id=people["operator"])[-1][:4] == (
        "reject", "in_review", "rejected", "Bukan penduduk Kota Bekasi")
    assert lifecycle.allowed_actions(get(app, ServiceRequest, req_id), None) == []


def test_only_the_claimant_decides(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    for doc_id in ids.values():
        verdict(client, no, doc_id, "accepted")
    other = app.test_client()
    login(people["operator2"], other)
    r = decide(other, no, "approve")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/kantor/permohonan/{no}")
    assert any("tidak berhak" in m for m in flashes(other))
    assert decide(other, no, "nonsense").status_code == 422
    assert get(app, ServiceRequest, req_id).status == "in_review"
    assert events(app, req_id, actor_id=people["operator2"]) == []


def test_every_decision_writes_exactly_one_event(app, client, login, make_request, people):
    outcomes = {}
    for decision in ("approve", "return", "reject"):
        req_id, no, ids = claimed(app, client, login, make_request, people)
        for code, doc_id in ids.items():
            verdict(client, no, doc_id, "returned" if decision == "return" and code == "kk" else "accepted",
                    reason="buram")
        before = len(events(app, req_id, actor_id=people["operator"]))
        assert decide(client, no, decision, note="Alasan").status_code == 303
        mine = events(app, req_id, actor_id=people["operator"])
        assert len(mine) == before + 1
        outcomes[decision] = mine[-1][:3]
    assert outcomes == {"approve": ("approve", "in_review", "approved"),
                        "return": ("return", "in_review", "needs_revision"),
                        "reject": ("reject", "in_review", "rejected")}


# --- scope -------------------------------------------------------------------------------------


def test_another_kecamatans_operator_gets_404_everywhere(app, client, login, make_request, people):
    req_id, no, ids = claimed(app, client, login, make_request, people)
    far = app.test_client()
    login(people["far_operator"], far)
    doc = ids["kk"]
    assert far.get(f"/kantor/permohonan/{no}").status_code == 404
    assert far.get(f"/kantor/permohonan/{no}/dokumen/{doc}").status_code == 404
    assert far.get(f"/kantor/permohonan/{no}/dokumen/{doc}?putar=90").status_code == 404
    for path, data in ((f"/kantor/permohonan/{no}/ambil", {}), (f"/kantor/permohonan/{no}/lepas", {}),
                       (f"/kantor/permohonan/{no}/keputusan", {"decision": "reject", "note": "x"}),
                       (f"/kantor/permohonan/{no}/dokumen/{doc}/putusan", {f"d{doc}-verdict": "accepted"})):
        assert far.post(path, data=data).status_code == 404, path
    assert no not in far.get("/kantor/antrean").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.user_id == people["far_operator"])) == 0
    assert get(app, ServiceRequest, req_id).status == "in_review"
    # A document of another request through this request's URL is a 404 too.
    other_id = submitted(app, make_request, people["resident"])
    other_doc = doc_ids(app, other_id)["kk"]
    with client.get(f"/kantor/permohonan/{no}/dokumen/{other_doc}") as r:
        assert r.status_code == 404


def test_residents_get_403_on_staff_pages(app, client, login, make_request, people):
    req_id = submitted(app, make_request, people["resident"])
    no = tracking(app, req_id)
    login(people["resident"])
    assert client.get("/kantor/antrean").status_code == 403
    assert client.get(f"/kantor/permohonan/{no}").status_code == 403
    assert client.post(f"/kantor/permohonan/{no}/ambil").status_code == 403


def test_a_printed_card_goes_ready_then_collected(app, client, login, make_request, people):
    """KTP-el and KIA end at the kecamatan desk: printed (issued) → ready for collection → collected."""
    from eopen.services import lifecycle as lc
    resident = people["resident"]
    req_id = make_request(resident, service="kia", status="sent_to_siak")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        lc.perform(req, "issue", None)
        db.session.commit()
        no = req.tracking_no
    login(people["operator"])
    queue_html = client.get("/kantor/antrean").get_data(as_text=True)
    assert no in queue_html  # a printed card waits in the queue for the desk
    assert "Tandai siap diambil" in client.get(f"/kantor/permohonan/{no}").get_data(as_text=True)
    r = client.post(f"/kantor/permohonan/{no}/kartu", data={"action": "ready"})
    assert r.status_code == 303
    assert client.post(f"/kantor/permohonan/{no}/kartu", data={"action": "ready"}).status_code == 303  # twice
    r = client.post(f"/kantor/permohonan/{no}/kartu", data={"action": "collect"}, follow_redirects=True)
    assert "sudah diserahkan" in r.get_data(as_text=True)
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        assert req.status == "collected"
        assert [e.action for e in req.events] == ["issue", "ready", "collect"]
    assert no not in client.get("/kantor/antrean").get_data(as_text=True)


def test_card_steps_are_for_card_services_only(app, client, login, make_request, people):
    req_id = make_request(people["resident"], service="akta_kelahiran", status="issued")
    with app.app_context():
        no = db.session.get(ServiceRequest, req_id).tracking_no
    login(people["operator"])
    r = client.post(f"/kantor/permohonan/{no}/kartu", data={"action": "ready"}, follow_redirects=True)
    assert "hanya untuk layanan kartu" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ServiceRequest, req_id).status == "issued"
