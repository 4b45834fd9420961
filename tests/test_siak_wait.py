"""The time a request waits for SIAK: its own line on the timelines and a median in the penyelia's report."""
from datetime import datetime, timedelta
from types import SimpleNamespace

from eopen.extensions import db
from eopen.models import Event, ServiceRequest
from eopen.services import fulfilment, performance, sla


def test_wait_is_read_from_the_events():
    t0 = datetime(2026, 12, 1, 2, 0)
    events = [SimpleNamespace(action="approve", created_at=t0),
              SimpleNamespace(action="send_to_siak", created_at=t0 + timedelta(minutes=1))]
    waiting = performance.siak_wait(events, now=t0 + timedelta(hours=3, minutes=1))
    assert waiting.ended is None and waiting.seconds == 3 * 3600
    events.append(SimpleNamespace(action="issue", created_at=t0 + timedelta(hours=26, minutes=1)))
    done = performance.siak_wait(events, now=t0 + timedelta(days=9))
    assert done.ended is not None and done.label == "26 jam 0 menit"
    assert performance.siak_wait(events[:1]) is None


def test_timelines_and_report_show_the_siak_wait(app, client, login, make_resident, make_request, make_staff,
                                                siak_round):
    resident = make_resident()
    req_id = make_request(resident, service="kia", status="approved")
    with app.app_context():
        req = db.session.get(ServiceRequest, req_id)
        fulfilment.after_decision(req)
        db.session.commit()
        tracking = req.tracking_no
    login(resident)
    assert "Sedang menunggu SIAK sejak" in client.get(f"/permohonan/{tracking}").get_data(as_text=True)
    siak_round()
    with app.app_context():
        # The hand-off took two hours in this story.
        sent = db.session.query(Event).filter_by(request_id=req_id, action="send_to_siak").one()
        sent.created_at -= timedelta(hours=2)
        db.session.commit()
    html = client.get(f"/permohonan/{tracking}").get_data(as_text=True)
    assert "Menunggu SIAK: 2 jam 0 menit" in html
    login(make_staff("operator", "32.75.01"))
    assert "Menunggu SIAK: 2 jam 0 menit" in client.get(f"/kantor/permohonan/{tracking}").get_data(as_text=True)
    login(make_staff("penyelia", "32.75.01"))
    report = client.get("/kantor/penyelia/kinerja").get_data(as_text=True)
    assert "1 permohonan terbit): 2 jam 0 menit" in report
    median, count = None, 0
    with app.app_context():
        median, count = performance.siak_wait_median("32.75.01", sla.today_local())
    assert (round(median), count) == (7200, 1)
