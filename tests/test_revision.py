"""A returned request: the resident sees what to fix, replaces only those documents, and resubmits;
the request comes back to the same operator, at the top of their queue."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from eopen.extensions import db
from eopen.models import RequestDocument, ServiceRequest
from eopen.services import applications, sla, uploads

from tests.test_operator import (KEC, decide, doc_ids, events, flashes, get, photo_bytes, row_order, set_fields,
                            submitted, tracking, verdict)

pytestmark = pytest.mark.db


def upload(c, no, code, data=None, name="pengganti.jpg"):
    fields = MultiDict({"file": FileStorage(io.BytesIO(photo_bytes((200, 150)) if data is None else data), name)})
    boundary, body = encode_multipart(fields)
    return c.post(f"/permohonan/{no}/perbaikan/{code}", data=body, content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def returned(app, client, login, make_request, make_resident, make_staff):
    """A KIA request whose KK the operator returned (blurred, with a note); the akta was accepted."""
    people = {"resident": make_resident(name="Rina Wati"), "operator": make_staff("operator", kecamatan_code=KEC),
              "operator2": make_staff("operator", kecamatan_code=KEC)}
    req_id = submitted(app, make_request, people["resident"])
    no = tracking(app, req_id)
    ids = doc_ids(app, req_id)
    operator = app.test_client()
    login(people["operator"], operator)
    assert operator.post(f"/kantor/permohonan/{no}/ambil").status_code == 303
    verdict(operator, no, ids["akta_kelahiran"], "accepted")
    verdict(operator, no, ids["kk"], "returned", reason="buram", note="Tulisan NIK tidak terbaca")
    assert decide(operator, no, "return", note="Foto ulang di tempat terang").status_code == 303
    login(people["resident"])
    return {"req_id": req_id, "no": no, "ids": ids, "operator": operator, "people": people}


def test_resident_replaces_only_returned_documents_and_resubmits_to_the_same_operator(
        app, client, login, make_request, returned, siak_round):
    req_id, no, ids, people = returned["req_id"], returned["no"], returned["ids"], returned["people"]
    # The request page says a revision is needed, what and why, and links to it.
    html = client.get(f"/permohonan/{no}").get_data(as_text=True)
    assert f'href="/permohonan/{no}/perbaikan"' in html
    assert "Kartu Keluarga (KK)" in html and "Foto buram atau tulisan tidak terbaca" in html
    # The revision page shows exactly the returned document, the reason and the notes.
    r = client.get(f"/permohonan/{no}/perbaikan")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Foto buram atau tulisan tidak terbaca" in html and "Tulisan NIK tidak terbaca" in html
    assert "Foto ulang di tempat terang" in html
    assert f'action="/permohonan/{no}/perbaikan/kk"' in html and "data-upload" in html
    assert "/perbaikan/akta_kelahiran" not in html
    # Not all replaced yet: no resubmit.
    r = client.post(f"/permohonan/{no}/perbaikan/kirim")
    assert r.status_code == 422 and "<title>Galat:" in r.get_data(as_text=True)
    assert get(app, ServiceRequest, req_id).status == "needs_revision"
    # A document that was not returned cannot be replaced, nor an unknown one.
    old_akta = get(app, RequestDocument, ids["akta_kelahiran"])
    assert upload(client, no, "akta_kelahiran").status_code == 403
    assert upload(client, no, "pas_foto").status_code == 403
    assert get(app, RequestDocument, ids["akta_kelahiran"]).storage_name == old_akta.storage_name
    # A bad file is refused with the message beside the field.
    r = upload(client, no, "kk", data=b"not a photo", name="kk.exe")
    assert r.status_code == 415 and 'id="file-kk-error"' in r.get_data(as_text=True)

    old_kk = get(app, RequestDocument, ids["kk"])
    r = upload(client, no, "kk")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}/perbaikan#dok-kk")
    kk = get(app, RequestDocument, ids["kk"])
    assert kk.storage_name != old_kk.storage_name and kk.review_status is None and kk.review_reason is None
    assert get(app, RequestDocument, ids["akta_kelahiran"]).review_status == "accepted"
    with pytest.raises(FileNotFoundError):  # the old file is gone once the change is committed
        uploads.path_of(app.config["UPLOAD_FOLDER"], old_kk.storage_name)
    # A wrong photo can be replaced again before resubmitting.
    assert "Sudah diganti" in client.get(f"/permohonan/{no}/perbaikan").get_data(as_text=True)
    assert upload(client, no, "kk").status_code == 303

    r = client.post(f"/permohonan/{no}/perbaikan/kirim")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}")
    req = get(app, ServiceRequest, req_id)
    assert (req.status, req.operator_id) == ("submitted", people["operator"])
    assert events(app, req_id, actor_id=people["resident"])[-1][:3] == ("resubmit", "needs_revision", "submitted")
    assert client.post(f"/permohonan/{no}/perbaikan/kirim").status_code == 303  # double click: once
    assert len([e for e in events(app, req_id) if e[0] == "resubmit"]) == 1
    kept = get(app, RequestDocument, ids["kk"]).storage_name
    r = upload(client, no, "kk")  # no longer in revision: back to the status page, nothing replaced
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}")
    assert get(app, RequestDocument, ids["kk"]).storage_name == kept

    # The same operator finds it at the top of the queue, even above a request due earlier.
    earlier = submitted(app, make_request, people["resident"])
    set_fields(app, earlier, due_date=sla.today_local() - timedelta(days=5))
    operator = returned["operator"]
    order = row_order(operator.get("/kantor/antrean").get_data(as_text=True))
    assert order[:2] == [no, tracking(app, earlier)]
    # Another operator cannot claim it; the one who returned it can, and sees what changed.
    other = app.test_client()
    login(people["operator2"], other)
    r = other.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/antrean")
    assert any("menunggu Operator" in m for m in flashes(other))
    assert events(app, req_id, actor_id=people["operator2"]) == []
    r = operator.post(f"/kantor/permohonan/{no}/ambil")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/kantor/permohonan/{no}")
    assert get(app, ServiceRequest, req_id).status == "in_review"
    html = operator.get(f"/kantor/permohonan/{no}").get_data(as_text=True)
    assert "Diganti warga setelah dikembalikan" in html
    # Only the replaced document waits for a verdict.
    verdict(operator, no, ids["kk"], "accepted")
    assert decide(operator, no, "approve").status_code == 303
    assert get(app, ServiceRequest, req_id).status == "sent_to_siak"
    assert siak_round().confirmed == 1
    assert get(app, ServiceRequest, req_id).status == "issued"


def test_revision_page_is_the_applicants_only_and_only_in_needs_revision(app, client, login, make_resident,
                                                                          returned):
    no = returned["no"]
    stranger = app.test_client()
    login(make_resident(name="Orang Lain"), stranger)
    assert stranger.get(f"/permohonan/{no}/perbaikan").status_code == 404
    assert upload(stranger, no, "kk").status_code == 404
    assert stranger.post(f"/permohonan/{no}/perbaikan/kirim").status_code == 404
    staff = app.test_client()
    login(returned["people"]["operator"], staff)
    assert staff.get(f"/permohonan/{no}/perbaikan").status_code == 404
    # Outside needs_revision the page sends the resident to the status page.
    set_fields(app, returned["req_id"], status="in_review")
    r = client.get(f"/permohonan/{no}/perbaikan")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/permohonan/{no}")


def test_ensure_editable_in_needs_revision_allows_only_returned_documents(app, returned):
    with app.app_context():
        req = db.session.get(ServiceRequest, returned["req_id"])
        applications.ensure_editable(req, "kk")
        for code in ("akta_kelahiran", None):
            with pytest.raises(applications.ApplyError):
                applications.ensure_editable(req, code)
        assert applications.revisable_codes(req) == {"kk"}
