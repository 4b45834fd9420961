"""The penyelia's back office: assignment, performance numbers, SLA breaches and the access log.

Requests are built with the `make_request` fixture as drafts and driven through `lifecycle.perform`
with fixed `now=` timestamps (naive UTC, as stored), so every number below can be worked out by hand.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import AccessLog, Event, RequestDocument, ServiceRequest, User
from eopen.services import audit, performance, sla
from eopen.services.lifecycle import perform

pytestmark = pytest.mark.db

KEC, KEL = "32.75.01", "32.75.01.1001"          # Bekasi Timur / Bekasijaya
FAR_KEC, FAR_KEL = "32.75.02", "32.75.02.1001"  # Bekasi Barat / Bintara
TODAY = date(2026, 1, 7)                        # a Wednesday; the week began on Monday 5 January

PENYELIA_GETS = ("/kantor/penyelia", "/kantor/penyelia/kinerja", "/kantor/penyelia/kinerja.csv",
                 "/kantor/penyelia/pelanggaran-sla")


def utc(*args) -> datetime:
    return datetime(*args)


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def people(app, make_resident, make_staff):
    ids = SimpleNamespace(
        resident=make_resident(),
        penyelia=make_staff("penyelia", KEC), penyelia_far=make_staff("penyelia", FAR_KEC),
        op1=make_staff("operator", KEC), op2=make_staff("operator", KEC),
        op_far=make_staff("operator", FAR_KEC), kasi=make_staff("kasi"), admin=make_staff("admin"),
    )
    with app.app_context():
        for name, uid in (("Ani Operator", ids.op1), ("Budi Operator", ids.op2), ("Joko Barat", ids.op_far),
                          ("Penyelia Timur", ids.penyelia)):
            db.session.get(User, uid).display_name = name
        db.session.commit()
    return ids


@pytest.fixture
def drive(ctx, make_request, people):
    """drive(steps, service=…, kelurahan_code=…) → the request id, after the (action, actor, now[, note, data])
    steps; actor is a name in `people` or None for the system."""
    def run(steps, *, service="akta_kelahiran", kelurahan_code=None):
        rid = make_request(people.resident, service=service, status="draft", kelurahan_code=kelurahan_code)
        req = db.session.get(ServiceRequest, rid)
        for step in steps:
            action, who, now, *rest = step
            note = rest[0] if rest else None
            data = rest[1] if len(rest) > 1 else None
            actor = db.session.get(User, getattr(people, who)) if who else None
            perform(req, action, actor, note=note, data=data, now=now)
        db.session.commit()
        return rid
    return run


def submitted(now):
    return ("submit", "resident", now)


def get_req(rid) -> ServiceRequest:
    return db.session.get(ServiceRequest, rid)


def events_of(rid) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.request_id == rid).order_by(Event.id)))


# --- who may open the penyelia's pages -----------------------------------------------------------

@pytest.mark.parametrize("role", ["operator", "resident", "kasi", "admin", "satgas"])
def test_other_roles_get_403_on_every_penyelia_url(client, login, people, make_staff, make_request, role):
    user = {"operator": people.op1, "resident": people.resident, "kasi": people.kasi,
            "admin": people.admin}.get(role) or make_staff(role, KEC)
    rid = make_request(people.resident)
    with client.application.app_context():
        no = db.session.get(ServiceRequest, rid).tracking_no
    login(user)
    for url in PENYELIA_GETS:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/kantor/penyelia/permohonan/{no}/tugaskan",
                       data={"operator_id": people.op1}).status_code == 403


def test_anonymous_is_sent_to_log_in(client, people, make_request):
    rid = make_request(people.resident)
    with client.application.app_context():
        no = db.session.get(ServiceRequest, rid).tracking_no
    for url in (*PENYELIA_GETS, f"/kantor/permohonan/{no}/akses"):
        r = client.get(url)
        assert r.status_code == 302 and "/masuk" in r.headers["Location"], url
    r = client.post(f"/kantor/penyelia/permohonan/{no}/tugaskan", data={"operator_id": people.op1})
    assert r.status_code == 302 and "/masuk" in r.headers["Location"]


def test_penyelia_pages_render(client, login, people):
    login(people.penyelia)
    for url in PENYELIA_GETS:
        with client.get(url) as r:
            assert r.status_code == 200, url
    page = client.get("/kantor/penyelia").get_data(as_text=True)
    assert "Bekasi Timur".upper() in page.upper()
    assert 'style="' not in page and "<script>" not in page


# --- assignment ----------------------------------------------------------------------------------

def assign_url(no):
    return f"/kantor/penyelia/permohonan/{no}/tugaskan"


def test_dashboard_lists_waiting_requests_with_an_assign_form(client, login, people, make_request, ctx):
    mine = get_req(make_request(people.resident)).tracking_no
    far = get_req(make_request(people.resident, kelurahan_code=FAR_KEL)).tracking_no
    login(people.penyelia)
    page = client.get("/kantor/penyelia").get_data(as_text=True)
    assert mine in page and far not in page
    assert f'action="/kantor/penyelia/permohonan/{mine}/tugaskan"' in page
    assert f'<label for="op-{mine}"' in page and f'id="op-{mine}"' in page
    assert "Ani Operator" in page and "Budi Operator" in page and "Joko Barat" not in page


def test_penyelia_assigns_to_an_operator_of_the_kecamatan(client, login, people, make_request, ctx):
    rid = make_request(people.resident)
    no = get_req(rid).tracking_no
    login(people.penyelia)
    r = client.post(assign_url(no), data={"operator_id": people.op1})
    assert r.status_code == 303 and r.headers["Location"].endswith("/kantor/penyelia")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Permohonan {no} ditugaskan ke Ani Operator." in page
    db.session.expire_all()
    req = get_req(rid)
    assert (req.status, req.operator_id) == ("in_review", people.op1)
    [ev] = events_of(rid)
    assert (ev.action, ev.actor_id, ev.data) == ("assign", people.penyelia, {"operator_id": people.op1})

    # A double click does nothing twice.
    r = client.post(assign_url(no), data={"operator_id": people.op1})
    assert r.status_code == 303
    assert len(events_of(rid)) == 1

    # Reassigning a request in review to another operator.
    r = client.post(assign_url(no), data={"operator_id": people.op2})
    assert r.status_code == 303
    db.session.expire_all()
    assert get_req(rid).operator_id == people.op2
    assert [e.action for e in events_of(rid)] == ["assign", "assign"]


def test_operator_of_another_kecamatan_is_refused_with_a_clear_message(client, login, people, make_request, ctx):
    rid = make_request(people.resident)
    no = get_req(rid).tracking_no
    login(people.penyelia)
    r = client.post(assign_url(no), data={"operator_id": people.op_far})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Pilih operator aktif dari kecamatan permohonan ini." in page
    db.session.expire_all()
    assert (get_req(rid).status, get_req(rid).operator_id) == ("submitted", None)
    assert events_of(rid) == []


def test_inactive_operator_or_not_an_operator_is_refused(client, login, people, make_request, ctx):
    rid = make_request(people.resident)
    no = get_req(rid).tracking_no
    db.session.get(User, people.op2).active = False
    db.session.commit()
    login(people.penyelia)
    for target in (people.op2, people.penyelia, 999999):
        r = client.post(assign_url(no), data={"operator_id": target}, follow_redirects=True)
        assert "Pilih operator aktif dari kecamatan permohonan ini." in r.get_data(as_text=True)
    assert events_of(rid) == []


def test_missing_operator_is_a_422_with_an_error_summary(client, login, people, make_request, ctx):
    no = get_req(make_request(people.resident)).tracking_no
    login(people.penyelia)
    for data in ({}, {"operator_id": ""}, {"operator_id": "abc"}):
        r = client.post(assign_url(no), data=data)
        page = r.get_data(as_text=True)
        assert r.status_code == 422
        assert "<title>Galat:" in page
        assert f'href="#op-{no}"' in page and f'id="op-{no}"' in page and 'aria-invalid="true"' in page


def test_penyelia_of_another_kecamatan_gets_404(client, login, people, make_request, ctx):
    rid = make_request(people.resident)
    no = get_req(rid).tracking_no
    login(people.penyelia_far)
    assert client.post(assign_url(no), data={"operator_id": people.op_far}).status_code == 404
    assert client.post(assign_url(no), data={"operator_id": people.op1}).status_code == 404
    assert client.post(assign_url("XXXXXXXX"), data={"operator_id": people.op1}).status_code == 404
    assert events_of(rid) == []


def test_assign_in_a_wrong_state_is_a_message_not_an_error(client, login, people, drive, ctx):
    rid = drive([submitted(utc(2026, 1, 5, 1)), ("claim", "op1", utc(2026, 1, 5, 2)),
                 ("return", "op1", utc(2026, 1, 5, 3), "Foto KK buram")])
    no = get_req(rid).tracking_no
    login(people.penyelia)
    r = client.post(assign_url(no), data={"operator_id": people.op2}, follow_redirects=True)
    assert r.status_code == 200
    assert "tidak dapat dilakukan pada permohonan berstatus" in r.get_data(as_text=True)
    assert get_req(rid).status == "needs_revision"



def test_no_operator_on_a_request_no_longer_assignable_says_why(client, login, people, drive, ctx):
    rid = drive([submitted(utc(2026, 1, 5, 1)), ("claim", "op1", utc(2026, 1, 5, 2)),
                 ("reject", "op1", utc(2026, 1, 5, 3), "Ganda")])
    login(people.penyelia)
    r = client.post(assign_url(get_req(rid).tracking_no), data={})
    assert r.status_code == 303
    assert "tidak dapat dilakukan pada permohonan berstatus Ditolak" in client.get(r.headers["Location"]).get_data(
        as_text=True)


def test_losing_the_race_to_ones_own_first_click_is_success(client, login, people, make_request, ctx, monkeypatch):
    """Two clicks at once: the second one's conditional update finds the first one's result."""
    from eopen.backoffice import penyelia as routes
    from eopen.services import lifecycle

    rid = make_request(people.resident)
    no = get_req(rid).tracking_no
    real = lifecycle.perform

    def first_click_wins(req, action, actor, **kwargs):
        with client.application.app_context():  # another request, another session
            other = db.session.get(ServiceRequest, req.id)
            real(other, action, db.session.get(User, actor.id), **kwargs)
            db.session.commit()
        raise lifecycle.TransitionError("conflict", "konflik", action=action, status=req.status)

    monkeypatch.setattr(routes.lifecycle, "perform", first_click_wins)
    login(people.penyelia)
    r = client.post(assign_url(no), data={"operator_id": people.op1})
    assert r.status_code == 303
    assert f"Permohonan {no} ditugaskan ke Ani Operator." in client.get(r.headers["Location"]).get_data(as_text=True)
    assert [e.action for e in events_of(rid)] == ["assign"]


def test_assign_with_csrf_protection_on(csrf_app, people, make_request, make_resident):
    c = csrf_app.test_client()
    with csrf_app.app_context():
        rid = make_request(people.resident)
        no = db.session.get(ServiceRequest, rid).tracking_no
    with c.session_transaction() as session:
        session["_user_id"] = str(people.penyelia)
        session["_fresh"] = True
    assert c.post(assign_url(no), data={"operator_id": people.op1}).status_code == 400
    page = c.get("/kantor/penyelia").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c.post(assign_url(no), data={"operator_id": people.op1, "csrf_token": token}).status_code == 303


# --- performance numbers ---------------------------------------------------------------------------

@pytest.fixture
def scenario(drive, people, make_staff):
    """Ani (op1) and Budi (op2) at work; see test_operator_stats for the numbers worked out by hand."""
    s = SimpleNamespace()
    # A: claimed 23:00 WIB on 6 Jan, approved 00:30 WIB on 7 Jan → today (local date), 90 min.
    s.a = drive([submitted(utc(2026, 1, 6, 1)), ("claim", "op1", utc(2026, 1, 6, 16)),
                 ("approve", "op1", utc(2026, 1, 6, 17, 30))])
    # B: returned after 30 min on Monday; resubmitted, claimed again, rejected 23:30 WIB on 6 Jan (12 h 30).
    s.b = drive([submitted(utc(2026, 1, 5, 1)), ("claim", "op1", utc(2026, 1, 5, 2)),
                 ("return", "op1", utc(2026, 1, 5, 2, 30), "Foto buram"),
                 ("resubmit", "resident", utc(2026, 1, 6, 3)), ("claim", "op1", utc(2026, 1, 6, 4)),
                 ("reject", "op1", utc(2026, 1, 6, 16, 30), "Bukan warga Bekasi")])
    # C: last week (Monday 29 Dec), 4 h: in the median window, not in this week.
    s.c = drive([submitted(utc(2025, 12, 29, 1)), ("claim", "op1", utc(2025, 12, 29, 2)),
                 ("reject", "op1", utc(2025, 12, 29, 6), "Ganda")])
    # D: claimed today, still in review: held.
    s.d = drive([submitted(utc(2026, 1, 7, 1)), ("claim", "op1", utc(2026, 1, 7, 2))])
    # E: assigned to Ani by the penyelia on 1 Dec, never decided: held and overdue.
    s.e = drive([submitted(utc(2025, 12, 1, 1)),
                 ("assign", "penyelia", utc(2025, 12, 1, 2), None, {"operator_id": people.op1})])
    # F: decided in November: outside the 30-day window.
    s.f = drive([submitted(utc(2025, 11, 3, 1)), ("claim", "op1", utc(2025, 11, 3, 2)),
                 ("approve", "op1", utc(2025, 11, 3, 12))])
    # J: returned after 60 min on Monday, resubmitted Tuesday: waits for Ani again (held), due today.
    s.j = drive([submitted(utc(2026, 1, 5, 1)), ("claim", "op1", utc(2026, 1, 5, 3)),
                 ("return", "op1", utc(2026, 1, 5, 4), "Lengkapi akta nikah"),
                 ("resubmit", "resident", utc(2026, 1, 6, 5))])
    # G: assigned to Budi, approved an hour later (the assignment is the start); kia: → approved.
    s.g = drive([submitted(utc(2026, 1, 7, 1)),
                 ("assign", "penyelia", utc(2026, 1, 7, 2), None, {"operator_id": people.op2}),
                 ("approve", "op2", utc(2026, 1, 7, 3))], service="kia")
    # H: Budi claims and releases: nothing.
    s.h = drive([submitted(utc(2026, 1, 7, 1)), ("claim", "op2", utc(2026, 1, 7, 3)),
                 ("release", "op2", utc(2026, 1, 7, 3, 10))])
    # Another kecamatan's operator: never listed.
    drive([submitted(utc(2026, 1, 7, 1)), ("claim", "op_far", utc(2026, 1, 7, 2)),
           ("approve", "op_far", utc(2026, 1, 7, 3))], kelurahan_code=FAR_KEL)
    # Citra holds a request and is then deactivated: still listed. Dedi (inactive, idle) and Eka (active, idle).
    s.citra, s.dedi, s.eka = make_staff("operator", KEC), make_staff("operator", KEC), make_staff("operator", KEC)
    for uid, name in ((s.citra, "Citra"), (s.dedi, "Dedi"), (s.eka, "Eka")):
        db.session.get(User, uid).display_name = name
    db.session.commit()
    people.citra = s.citra
    s.k = drive([submitted(utc(2026, 1, 7, 1)), ("claim", "citra", utc(2026, 1, 7, 2))])
    db.session.get(User, s.citra).active = False
    db.session.get(User, s.dedi).active = False
    db.session.commit()
    return s


def test_operator_stats(scenario, people):
    assert get_req(scenario.j).due_date == date(2026, 1, 7)  # 1 working day, pushed 1 day by the revision
    stats = performance.operator_stats(KEC, TODAY)
    assert [s.name for s in stats] == ["Ani Operator", "Budi Operator", "Citra", "Eka"]
    ani, budi, citra, eka = stats

    assert (ani.held, ani.finished_today, ani.finished_week, ani.breaches) == (3, 1, 4, 1)  # held: D, E, J
    assert sorted(ani.durations) == [30 * 60, 60 * 60, 90 * 60, 240 * 60, 750 * 60]
    assert ani.median_seconds == 90 * 60 and ani.median_minutes == 90
    assert ani.median_label == "1 jam 30 menit"

    assert (budi.held, budi.finished_today, budi.finished_week, budi.breaches) == (0, 1, 1, 0)
    assert budi.median_minutes == 60 and budi.median_label == "1 jam 0 menit"

    assert (citra.active, citra.held, citra.finished_week, citra.median_seconds) == (False, 1, 0, None)
    assert citra.median_label == "–"
    assert (eka.active, eka.held, eka.finished_today, eka.finished_week, eka.breaches) == (True, 0, 0, 0, 0)


def test_local_day_boundaries(scenario):
    # The day before: A's approval (00:30 WIB on 7 Jan) is not "yesterday's" work; B's rejection is.
    stats = {s.name: s for s in performance.operator_stats(KEC, date(2026, 1, 6))}
    assert stats["Ani Operator"].finished_today == 1  # B's reject at 23:30 WIB on 6 Jan
    assert stats["Ani Operator"].finished_week == 3   # B return, J return, B reject
    # Next Monday: a new week.
    stats = {s.name: s for s in performance.operator_stats(KEC, date(2026, 1, 12))}
    assert (stats["Ani Operator"].finished_today, stats["Ani Operator"].finished_week) == (0, 0)


def test_operator_stats_does_not_query_per_operator(scenario, make_staff, drive, people):
    statements = []

    def count(*args):
        statements.append(1)

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        performance.operator_stats(KEC, TODAY)
        first = len(statements)
        for n in range(4):
            uid = make_staff("operator", KEC)
            setattr(people, f"extra{n}", uid)
            drive([submitted(utc(2026, 1, 7, 1)), ("claim", f"extra{n}", utc(2026, 1, 7, 2)),
                   ("approve", f"extra{n}", utc(2026, 1, 7, 4))])
        db.session.expire_all()
        statements.clear()
        assert len(performance.operator_stats(KEC, TODAY)) == 8
        assert len(statements) == first <= 4
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


def test_status_counts(scenario):
    counts = performance.status_counts(KEC)
    assert "draft" not in counts
    assert counts["in_review"] == 3      # D, E, K
    assert counts["submitted"] == 2      # J (waiting for Ani), H (released)
    assert counts["verifying"] == 2      # A, F (akta_kelahiran goes to the verifiers)
    assert counts["approved"] == 1       # G (kia)
    assert counts["rejected"] == 2       # B, C
    assert counts["cancelled"] == 0
    assert sum(counts.values()) == 10    # the other kecamatan's request is not counted


def test_performance_page_has_an_accessible_svg_chart(client, login, scenario, people, monkeypatch):
    monkeypatch.setattr(sla, "today_local", lambda: TODAY)
    login(people.penyelia)
    r = client.get("/kantor/penyelia/kinerja")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and 'aria-labelledby="' in svg
    assert svg.count('class="bar"') == 4  # one bar per operator listed
    assert "style=" not in svg and "<script" not in svg
    # The same numbers in a table.
    assert "<table" in page and "1 jam 30 menit" in page
    row = re.search(r"<tr>\s*<th scope=\"row\">Ani Operator.*?</tr>", page, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]
    assert cells == ["3", "1", "4", "1 jam 30 menit", "1"]


def test_bar_chart_svg_escapes_and_scales():
    svg = str(performance.bar_chart_svg([("<b>A&B</b>", 4), ("Nol", 0), ("Dua", 2)], "Judul <x>"))
    assert "<b>" not in svg and "&lt;b&gt;A&amp;B&lt;/b&gt;" in svg and "Judul &lt;x&gt;" in svg
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert len(widths) == 3 and widths[1] == 0 and widths[0] == 2 * widths[2]
    empty = str(performance.bar_chart_svg([], "Kosong"))
    assert 'class="bar"' not in empty and "Belum ada data." in empty


def test_performance_csv(client, login, scenario, people, monkeypatch):
    monkeypatch.setattr(sla, "today_local", lambda: TODAY)
    with client.application.app_context():
        db.session.get(User, scenario.eka).display_name = "=HYPERLINK(\"http://x\")"
        db.session.get(User, scenario.eka).username = "@eka"
        db.session.commit()
    login(people.penyelia)
    with client.get("/kantor/penyelia/kinerja.csv") as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.headers["Content-Disposition"] == 'attachment; filename="kinerja-32.75.01-2026-01-07.csv"'
        rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["Operator", "Nama pengguna", "Aktif", "Sedang dipegang", "Selesai hari ini",
                       "Selesai minggu ini", "Median waktu tangani (menit)", "Pelanggaran SLA terbuka"]
    assert len(rows) == 5
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Ani Operator"][2:] == ["ya", "3", "1", "4", "90", "1"]
    assert by_name["Citra"][2:] == ["tidak", "1", "0", "0", "", "0"]
    assert "'=HYPERLINK(\"http://x\")" in by_name
    assert by_name["'=HYPERLINK(\"http://x\")"][1] == "'@eka"


def test_csv_cell_guards_every_formula_prefix():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert performance.csv_cell(text) == "'" + text
    assert performance.csv_cell("Ani") == "Ani" and performance.csv_cell(None) == "" and performance.csv_cell(3) == "3"


# --- SLA breaches --------------------------------------------------------------------------------

@pytest.fixture
def late(drive):
    s = SimpleNamespace()
    s.r1 = drive([submitted(utc(2025, 12, 1, 1))])                                  # due 2 Dec, nobody
    s.r8 = drive([submitted(utc(2025, 12, 8, 1)), ("claim", "op1", utc(2025, 12, 8, 2)),
                  ("approve", "op1", utc(2025, 12, 8, 3))])                         # due 9 Dec, at the Kasi
    s.r2 = drive([submitted(utc(2025, 12, 15, 1)), ("claim", "op1", utc(2025, 12, 15, 2))])  # due 16 Dec, Ani
    s.revision = drive([submitted(utc(2025, 12, 1, 1)), ("claim", "op1", utc(2025, 12, 1, 2)),
                        ("return", "op1", utc(2025, 12, 1, 3), "Foto buram")])
    s.rejected = drive([submitted(utc(2025, 12, 1, 1)), ("claim", "op1", utc(2025, 12, 1, 2)),
                        ("reject", "op1", utc(2025, 12, 1, 3), "Ganda")])
    s.issued = drive([submitted(utc(2025, 12, 1, 1)), ("claim", "op1", utc(2025, 12, 1, 2)),
                      ("approve", "op1", utc(2025, 12, 1, 3)), ("send_to_siak", None, utc(2025, 12, 1, 4)),
                      ("issue", None, utc(2025, 12, 1, 5))], service="kia")
    s.cancelled = drive([submitted(utc(2025, 12, 1, 1)), ("cancel", "resident", utc(2025, 12, 1, 2))])
    s.on_time = drive([submitted(utc(2026, 1, 6, 1))])                               # due 7 Jan: not late yet
    s.far = drive([submitted(utc(2025, 12, 1, 1))], kelurahan_code=FAR_KEL)
    return s


def test_breaches(late):
    assert get_req(late.issued).status == "issued" and get_req(late.revision).status == "needs_revision"
    found = performance.breaches(KEC, TODAY)
    assert [r.id for r in found] == [late.r1, late.r8, late.r2]
    rows = performance.breach_rows(KEC, TODAY)
    assert [b.days_over for b in rows] == sorted((b.days_over for b in rows), reverse=True)
    assert all(b.days_over >= 1 for b in rows)
    assert [b.holder for b in rows] == ["Antrean (belum ada operator)", "Verifikasi Kasi", "Ani Operator"]
    # On its due date a request is not late; the day after, it is.
    assert late.on_time not in [r.id for r in performance.breaches(KEC, date(2026, 1, 7))]
    assert late.on_time in [r.id for r in performance.breaches(KEC, date(2026, 1, 8))]


def test_breaches_page_and_dashboard_count(client, login, late, people, monkeypatch):
    monkeypatch.setattr(sla, "today_local", lambda: TODAY)
    login(people.penyelia)
    page = client.get("/kantor/penyelia/pelanggaran-sla").get_data(as_text=True)
    numbers = {name: get_req(rid).tracking_no for name, rid in vars(late).items()}
    positions = [page.index(numbers[n]) for n in ("r1", "r8", "r2")]
    assert positions == sorted(positions)
    for name in ("revision", "rejected", "issued", "cancelled", "on_time", "far"):
        assert numbers[name] not in page, name
    assert "Ani Operator" in page and "Verifikasi Kasi" in page
    dashboard = client.get("/kantor/penyelia").get_data(as_text=True)
    assert re.search(r'<span class="big">3</span> <a href="/kantor/penyelia/pelanggaran-sla">', dashboard)


# --- the access log ------------------------------------------------------------------------------

@pytest.fixture
def logged(ctx, people, make_request):
    rid = make_request(people.resident)
    req = get_req(rid)
    doc = RequestDocument(request_id=rid, requirement_code="kk", kind="file", uploaded_by_id=people.resident,
                          storage_name="x" * 32, content_type="image/jpeg", size=1000)
    db.session.add(doc)
    db.session.flush()
    audit.record_access(db.session.get(User, people.op1), req)
    audit.record_access(db.session.get(User, people.op1), req, doc)
    db.session.commit()
    return req.tracking_no


def test_access_log_for_the_penyelia_and_the_admin(client, login, logged, people):
    for reader in (people.penyelia, people.admin):
        login(reader)
        r = client.get(f"/kantor/permohonan/{logged}/akses")
        page = r.get_data(as_text=True)
        assert r.status_code == 200
        assert page.count("Ani Operator") == 2 and "Operator" in page
        assert "Membuka permohonan" in page and "Membuka dokumen: Kartu Keluarga" in page
        assert "<form" not in page.split('id="main"')[1].split("</main>")[0]  # nothing to edit or delete


def test_access_log_is_404_for_everybody_else(client, login, logged, people, make_staff):
    for other in (people.penyelia_far, people.op1, people.kasi, people.resident, make_staff("satgas", KEC)):
        login(other)
        assert client.get(f"/kantor/permohonan/{logged}/akses").status_code == 404
    login(people.penyelia)
    assert client.get("/kantor/permohonan/XXXXXXXX/akses").status_code == 404
    assert client.post(f"/kantor/permohonan/{logged}/akses").status_code == 405


def test_reading_the_access_log_is_not_logged(client, login, logged, people):
    before = db.session.scalar(select(func.count()).select_from(AccessLog))
    login(people.penyelia)
    client.get(f"/kantor/permohonan/{logged}/akses")
    assert db.session.scalar(select(func.count()).select_from(AccessLog)) == before == 2


def test_access_log_times_are_local(client, login, logged, people):
    row = db.session.scalars(select(AccessLog)).first()
    row.created_at = datetime(2026, 1, 6, 17, 30, 5)  # 00:30:05 WIB on 7 January
    db.session.commit()
    login(people.penyelia)
    page = client.get(f"/kantor/permohonan/{logged}/akses").get_data(as_text=True)
    assert "7 Jan 2026, 00.30.05" in page or "7 Jan 2026, 00:30:05" in page
