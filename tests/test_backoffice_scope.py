"""THE back-office scope matrix: every back-office route × every role × own / other kecamatan.

``MATRIX`` below says, for every route of the ``backoffice`` blueprint (plus the issued PDF and the
public verification pages), what each kind of user gets. The routes are read from the app's url_map:
a route added later without a row here fails ``test_every_back_office_route_is_in_the_matrix``.

Columns (``ROLES``); "own kecamatan" is Bekasi Timur (32.75.01), where every request below is filed:

    anonymous     not signed in
    applicant     the resident who filed the request
    resident      another resident of the same kelurahan
    institution   a perangkat daerah account (files for others; not this request)
    satgas        a satgas of 32.75.01 (no RWs assigned yet: sees nothing)
    operator      operator of 32.75.01, the one who claimed the request (the claimant)
    operator_2    operator of 32.75.01, not the claimant
    operator_far  operator of 32.75.02
    penyelia      penyelia of 32.75.01;   penyelia_far: of 32.75.02
    kasi, kabid, kadis   verifiers (city-wide). Verifier routes use a request waiting at the KABID
                  step: kabid is "at the step", kasi already approved it (a step behind), kadis is
                  a step ahead
    admin

Cells: "200"/"302"/"403"/"404" are status codes (and nothing changes); "login" is a redirect to
/masuk?next=<the URL>; for POST actions "303+" means done (303 and the request changed), "303=" a
303 with a message and nothing changed (in scope, but not theirs to do), "422=" the page again with
the error and nothing changed. Every cell starts from a fresh request in the route's state.
The rule: anonymous → log-in; wrong role → 403; right role but out of scope → 404 (exactly as a
request that does not exist); in scope → 200 / 303.

Also checked in every cell: a GET never changes the request, and a staff member's 200 on a request
or document page writes exactly one access record (``Route.logged``) while any refusal writes none.
"""
from __future__ import annotations

import io
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import AccessLog, RequestDocument, ServiceRequest, User
from eopen.services import fulfilment, issuing, lifecycle, siak, uploads
from eopen.services.catalogue import get_catalogue

pytestmark = pytest.mark.db

KEC, KEL = "32.75.01", "32.75.01.1001"              # Bekasi Timur, Bekasijaya
FAR_KEC, FAR_KEL = "32.75.02", "32.75.02.1001"      # Bekasi Barat, Bintara

ROLES = ("anonymous", "applicant", "resident", "institution", "satgas", "operator", "operator_2", "operator_far",
         "penyelia", "penyelia_far", "kasi", "kabid", "kadis", "admin")
STAFF = ("satgas", "operator", "operator_2", "operator_far", "penyelia", "penyelia_far", "kasi", "kabid", "kadis",
         "admin")


class Route(NamedTuple):
    method: str
    state: str                     # the request the URL is built for: see SCENARIOS
    row: tuple[str, ...]           # one cell per ROLES column
    body: str | None = None        # the POST body: see BODIES
    logged: str | None = None      # the access record a staff 200 writes (AccessLog.action)


# The request states (every request is filed by "applicant" in kelurahan 32.75.01.1001):
#   none        no request in the URL
#   submitted   a KIA request, submitted, nobody holds it
#   in_review   the same, claimed by "operator"
#   at_kabid    an akta kelahiran approved by "operator", verified by "kasi", waiting for the kabid
#   issued      an akta kelahiran through the whole chain, issued with a signed PDF
L, D, S, E = "login", "303+", "303=", "422="
MATRIX: dict[str, Route] = {
    #                                                  anonymous applicant resident institution satgas operator operator_2 operator_far penyelia penyelia_far kasi  kabid  kadis  admin  # noqa: E501
    "backoffice.home":                Route("GET", "none",       (L, "403", "403", "403", "403", "302", "302", "302", "302", "302", "302", "302", "302", "403")),  # noqa: E501
    "backoffice.queue":               Route("GET", "none",       (L, "403", "403", "403", "403", "200", "200", "200", "403", "403", "403", "403", "403", "403")),  # noqa: E501
    "backoffice.claim":               Route("POST", "submitted", (L, "403", "403", "403", "403", D,     D,     "404", "403", "403", "403", "403", "403", "403"), body="empty"),  # noqa: E501
    "backoffice.release":             Route("POST", "in_review", (L, "403", "403", "403", "403", D,     S,     "404", D,     "404", "403", "403", "403", "403"), body="empty"),  # noqa: E501
    "backoffice.review":              Route("GET", "in_review",  (L, "403", "403", "403", "403", "200", "200", "404", "200", "404", "403", "403", "403", "403"), logged="view_request"),  # noqa: E501
    "backoffice.review_document":     Route("POST", "in_review", (L, "403", "403", "403", "403", D,     E,     "404", "403", "403", "403", "403", "403", "403"), body="accept"),  # noqa: E501
    "backoffice.decide":              Route("POST", "in_review", (L, "403", "403", "403", "403", D,     S,     "404", D,     "404", "403", "403", "403", "403"), body="reject"),  # noqa: E501
    "backoffice.card_step":           Route("POST", "card_printed", (L, "403", "403", "403", "403", D,  D,     "404", D,     "404", "403", "403", "403", "403"), body="card_ready"),  # noqa: E501
    "backoffice.document_file":       Route("GET", "at_kabid",   (L, "403", "403", "403", "403", "200", "200", "404", "200", "404", "404", "200", "404", "403"), logged="view_document"),  # noqa: E501
    "backoffice.penyelia_dashboard":  Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "200", "200", "403", "403", "403", "403")),  # noqa: E501
    "backoffice.assign":              Route("POST", "submitted", (L, "403", "403", "403", "403", "403", "403", "403", D,     "404", "403", "403", "403", "403"), body="assign"),  # noqa: E501
    "backoffice.performance":         Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "200", "200", "403", "403", "403", "403")),  # noqa: E501
    "backoffice.performance_csv":     Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "200", "200", "403", "403", "403", "403")),  # noqa: E501
    "backoffice.breaches":            Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "200", "200", "403", "403", "403", "403")),  # noqa: E501
    # The access log answers 404 to everybody but its two readers (documented in penyelia.py), even to
    # roles that would get 403 elsewhere: it never says which requests exist.
    "backoffice.access_log":          Route("GET", "in_review",  (L, "404", "404", "404", "404", "404", "404", "404", "200", "404", "404", "404", "404", "200")),  # noqa: E501
    # The desk code and the custody overview: kecamatan staff, each their own kecamatan's items (test_custody.py).
    "backoffice.desk":                Route("GET", "none",       (L, "403", "403", "403", "403", "200", "200", "200", "200", "200", "403", "403", "403", "403")),  # noqa: E501
    # No handover 0: in scope 404 too; the photo itself is tested in test_custody.py.
    "backoffice.handover_photo":      Route("GET", "in_review",  (L, "403", "403", "403", "403", "404", "404", "404", "404", "404", "403", "403", "403", "403")),  # noqa: E501
    "backoffice.desk_new_code":       Route("POST", "none",      (L, "403", "403", "403", "403", S,     S,     S,     S,     S,     "403", "403", "403", "403"), body="empty"),  # noqa: E501
    # The SIAK outbox: penyelia (own kecamatan) and admin; a confirmed hand-off is not sent again.
    "backoffice.siak_outbox":         Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "200", "200", "403", "403", "403", "200")),  # noqa: E501
    "backoffice.siak_retry":          Route("POST", "card_printed", (L, "403", "403", "403", "403", "403", "403", "403", S, "404", "403", "403", "403", S), body="empty"),  # noqa: E501
    "backoffice.verify_queue":        Route("GET", "none",       (L, "403", "403", "403", "403", "403", "403", "403", "403", "403", "200", "200", "200", "403")),  # noqa: E501
    "backoffice.verify_request":      Route("GET", "at_kabid",   (L, "403", "403", "403", "403", "403", "403", "403", "403", "403", "404", "200", "404", "403"), logged="view_request"),  # noqa: E501
    # kasi: a second click on its own approval is answered as done (303, nothing happens again).
    "backoffice.verify_decide":       Route("POST", "at_kabid",  (L, "403", "403", "403", "403", "403", "403", "403", "403", "403", S,     D,     "404", "403"), body="verify"),  # noqa: E501
    # A batch skips what is not at my step, with a message, and never says more than that.
    "backoffice.verify_batch":        Route("POST", "at_kabid",  (L, "403", "403", "403", "403", "403", "403", "403", "403", "403", S,     D,     S,     "403"), body="batch"),  # noqa: E501
    # The resident side: whoever may not see the request gets 404, whatever their role.
    "resident.issued_pdf":            Route("GET", "issued",     (L, "200", "404", "404", "404", "200", "200", "404", "200", "404", "404", "404", "404", "404"), logged="download_pdf"),  # noqa: E501
    # Public: no log-in, nothing about the holder beyond a masked name.
    "verify.lookup":                  Route("GET", "none",       ("200",) * len(ROLES)),
    "verify.document":                Route("GET", "issued",     ("200",) * len(ROLES)),
}


def in_matrix(endpoint: str) -> bool:
    return endpoint.startswith(("backoffice.", "verify.")) or endpoint == "resident.issued_pdf"


BODIES = {
    "empty": lambda ctx: {},
    "accept": lambda ctx: {f"d{ctx['doc_id']}-verdict": "accepted"},
    "reject": lambda ctx: {"decision": "reject", "note": "Bukan penduduk Kota Bekasi."},
    "assign": lambda ctx: {"operator_id": str(ctx["operator_id"])},
    "verify": lambda ctx: {"decision": "approve"},
    "batch": lambda ctx: {"tracking_no": [ctx["tracking_no"]]},
    "card_ready": lambda ctx: {"action": "ready"},
}
QUERY = {"verify.document": lambda ctx: {"s": ctx["s"]}}


# --- the people and the requests ---------------------------------------------------------------


@pytest.fixture
def users(make_resident, make_staff) -> dict[str, int]:
    return {
        "applicant": make_resident(name="Warga Pemohon", kelurahan_code=KEL),
        "resident": make_resident(name="Warga Tetangga", kelurahan_code=KEL),
        "institution": make_staff("institution"),
        "satgas": make_staff("satgas", KEC),
        "operator": make_staff("operator", KEC),
        "operator_2": make_staff("operator", KEC),
        "operator_far": make_staff("operator", FAR_KEC),
        "penyelia": make_staff("penyelia", KEC),
        "penyelia_far": make_staff("penyelia", FAR_KEC),
        "kasi": make_staff("kasi"), "kabid": make_staff("kabid"), "kadis": make_staff("kadis"),
        "admin": make_staff("admin"),
    }


@pytest.fixture
def clients(app, users, login) -> dict[str, object]:
    """A test client per column, signed in once."""
    result = {"anonymous": app.test_client()}
    for role, user_id in users.items():
        result[role] = app.test_client()
        login(user_id, result[role])
    return result


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 190, 180)).save(buf, "JPEG")
    return buf.getvalue()


BIRTH_DATA = {"tempat_lahir": "Kota Bekasi", "jam_lahir": "08:15", "jenis_kelahiran": "tunggal",
              "kelahiran_ke": 2, "penolong_kelahiran": "bidan", "nama_ayah": "Budi Santoso",
              "nik_ayah": "3275011505900001", "nama_ibu": "Siti Aminah", "nik_ibu": "3275015505920002"}
SCENARIOS = {
    # state: (service, variant, documents, actions after submit as (action, column))
    "submitted": ("kia", "kurang_5", ("akta_kelahiran", "kk"), ()),
    "in_review": ("kia", "kurang_5", ("akta_kelahiran", "kk"), (("claim", "operator"),)),
    "at_kabid": ("akta_kelahiran", "kelahiran", ("kk",),
                 (("claim", "operator"), ("approve", "operator"), ("verify", "kasi"))),
    "card_printed": ("kia", "kurang_5", ("akta_kelahiran", "kk"),
                     (("claim", "operator"), ("approve", "operator"))),  # KIA has no verification steps
    "issued": ("akta_kelahiran", "kelahiran", ("kk",),
               (("claim", "operator"), ("approve", "operator"), ("verify", "kasi"), ("verify", "kabid"),
                ("verify", "kadis"))),
}


@pytest.fixture
def build(app, make_request, users):
    """build(state, kelurahan_code=KEL) → ctx: the URL's values (tracking_no, doc_id, number, s, …)."""
    def make(state: str, kelurahan_code: str = KEL) -> dict:
        ctx = {"operator_id": users["operator"]}
        if state == "none":
            return ctx
        service, variant, docs, steps = SCENARIOS[state]
        req_id = make_request(users["applicant"], service=service, variant=variant, status="draft",
                              kelurahan_code=kelurahan_code)
        with app.test_request_context():  # issuing builds the QR code's URL from the request
            req = db.session.get(ServiceRequest, req_id)
            if service == "akta_kelahiran":
                req.data = dict(BIRTH_DATA)
            for code in docs:
                data = jpeg()
                req.documents.append(RequestDocument(
                    requirement_code=code, kind="file", content_type="image/jpeg", size=len(data),
                    storage_name=uploads.store(app.config["UPLOAD_FOLDER"], data, "jpg"),
                    original_name=f"{code}.jpg", uploaded_by_id=req.applicant_id))
            db.session.flush()
            lifecycle.perform(req, "submit", db.session.get(User, users["applicant"]))
            for action, column in steps:
                lifecycle.perform(req, action, db.session.get(User, users[column]))
            if state in ("card_printed", "issued"):
                fulfilment.after_decision(req)  # handed to SIAK; the worker's confirmed answer issues it
                db.session.commit()
                assert siak.deliver_due().confirmed == 1
                db.session.refresh(req)
                assert req.status == "issued", req.status
            if state == "issued":
                document = issuing.document_for(req)
                ctx.update(number=document.number, s=document.signature)
            db.session.commit()
            ctx.update(req_id=req.id, tracking_no=req.tracking_no, doc_id=req.documents[0].id, handover_id=0)
        return ctx
    return make


def snapshot(app, ctx: dict):
    """Everything an action may change about the request (None when the URL has no request)."""
    if "req_id" not in ctx:
        return None
    with app.app_context():
        req = db.session.get(ServiceRequest, ctx["req_id"])
        return (req.status, req.operator_id, req.verification_index, len(req.events), req.updated_at,
                tuple((d.id, d.review_status) for d in req.documents))


def access_rows(app) -> list[tuple]:
    with app.app_context():
        return [(a.user_id, a.request_id, a.document_id, a.action)
                for a in db.session.scalars(select(AccessLog).order_by(AccessLog.id))]


def rules_by_endpoint(app) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        if in_matrix(rule.endpoint):
            found.setdefault(rule.endpoint, []).append(rule)
    return found


def url_of(app, endpoint: str, ctx: dict) -> str:
    rule = rules_by_endpoint(app)[endpoint][0]
    with app.test_request_context():
        values = {name: ctx[name] for name in rule.arguments}
        values.update(QUERY.get(endpoint, lambda _: {})(ctx))
        return url_for(endpoint, **values)


def is_login_redirect(status: int, location: str | None, url: str) -> bool:
    if status not in (302, 303) or not location:
        return False
    target = urlsplit(location)
    return target.path == "/masuk" and parse_qs(target.query).get("next") == [url]


# --- the route list --------------------------------------------------------------------------


def test_every_back_office_route_is_in_the_matrix(app):
    routes = rules_by_endpoint(app)
    missing = sorted(set(routes) - set(MATRIX))
    assert not missing, (
        f"New back-office route(s) without a row in MATRIX (tests/test_backoffice_scope.py): {missing}. "
        "Add a row saying what each role gets (403 wrong role, 404 out of scope, 200/303 in scope).")
    stale = sorted(set(MATRIX) - set(routes))
    assert not stale, f"MATRIX has rows for routes that no longer exist: {stale}"
    for endpoint, rules in routes.items():
        methods = set().union(*(rule.methods for rule in rules)) - {"HEAD", "OPTIONS"}
        assert methods == {MATRIX[endpoint].method}, (
            f"{endpoint} answers {sorted(methods)}; MATRIX knows only {MATRIX[endpoint].method}: "
            "give every method its own check")
    for endpoint, route in MATRIX.items():
        assert len(route.row) == len(ROLES), endpoint
        assert (route.body is not None) == (route.method == "POST"), endpoint
        for cell in route.row:
            assert cell in ("200", "302", "403", "404", L, D, S, E), (endpoint, cell)


# --- the matrix --------------------------------------------------------------------------------


def _check(route: Route, role: str, expected: str, url: str, status: int, location: str | None,
           changed: bool | None, new_logs: list[tuple], user_id: int | None, ctx: dict) -> str | None:
    """None when the cell is as expected, else what went wrong (in words)."""
    problems = []
    if expected == L:
        if not is_login_redirect(status, location, url):
            problems.append(f"{status} → {location}")
    elif expected[:3] != str(status):
        problems.append(f"{status}" + (f" → {location}" if location else ""))
    if changed is not None:
        if expected == D and not changed:
            problems.append("the request did not change")
        if expected != D and changed:
            problems.append("the request CHANGED")
    logged = route.logged and expected == "200" and role in STAFF
    if logged:
        want = [(user_id, ctx["req_id"], ctx["doc_id"] if route.logged == "view_document" else None, route.logged)]
        if new_logs != want:
            problems.append(f"access records {new_logs}, expected {want}")
    elif new_logs:
        problems.append(f"unexpected access records {new_logs}")
    return "; ".join(problems) or None


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_scope_matrix(app, users, clients, build, endpoint):
    route = MATRIX[endpoint]
    shared = build(route.state) if route.method == "GET" else None  # a GET changes nothing: one request
    mismatches = []
    for role, expected in zip(ROLES, route.row):
        ctx = shared if shared is not None else build(route.state)  # a fresh request per POST cell
        url = url_of(app, endpoint, ctx)
        before, logs_before = snapshot(app, ctx), access_rows(app)
        if route.method == "GET":
            with clients[role].get(url) as r:
                status, location = r.status_code, r.headers.get("Location")
        else:
            r = clients[role].post(url, data=BODIES[route.body](ctx))
            status, location = r.status_code, r.headers.get("Location")
        after = snapshot(app, ctx)
        changed = None if before is None else before != after
        problem = _check(route, role, expected, url, status, location, changed,
                         access_rows(app)[len(logs_before):], users.get(role), ctx)
        if problem:
            mismatches.append(f"  {role:<13} expected {expected:<6} got {problem}")
    assert not mismatches, f"{route.method} {endpoint} ({route.state}):\n" + "\n".join(mismatches)


# --- lists show only what is in scope ----------------------------------------------------------


def test_lists_show_only_requests_in_scope(app, clients, build):
    own = build("submitted")["tracking_no"]
    far = build("submitted", kelurahan_code=FAR_KEL)["tracking_no"]
    at_kabid = build("at_kabid")["tracking_no"]

    def page(role, url):
        r = clients[role].get(url)
        assert r.status_code == 200, (role, url)
        return r.get_data(as_text=True)

    for role, url, shown, hidden in [
        ("operator", "/kantor/antrean", {own}, {far, at_kabid}),  # the queue: work not yet decided
        ("operator_far", "/kantor/antrean", {far}, {own, at_kabid}),
        ("penyelia", "/kantor/penyelia", {own}, {far}),
        ("penyelia_far", "/kantor/penyelia", {far}, {own}),
        ("kabid", "/kantor/verifikasi", {at_kabid}, {own, far}),
        ("kasi", "/kantor/verifikasi", set(), {own, far, at_kabid}),
        ("kadis", "/kantor/verifikasi", set(), {own, far, at_kabid}),
    ]:
        html = page(role, url)
        for no in shown:
            assert no in html, (role, url, no)
        for no in hidden:
            assert no not in html, (role, url, no)


# --- the access records, row by row ------------------------------------------------------------


def test_staff_views_in_scope_are_recorded_and_refusals_are_not(app, users, clients, build):
    in_review, at_kabid, issued = build("in_review"), build("at_kabid"), build("issued")
    views = [
        # (column, URL, the record expected, or None for a refusal)
        ("operator", f"/kantor/permohonan/{in_review['tracking_no']}", (in_review, None, "view_request")),
        ("penyelia", f"/kantor/permohonan/{in_review['tracking_no']}", (in_review, None, "view_request")),
        ("operator_far", f"/kantor/permohonan/{in_review['tracking_no']}", None),
        ("penyelia_far", f"/kantor/permohonan/{in_review['tracking_no']}", None),
        ("operator", f"/kantor/permohonan/{at_kabid['tracking_no']}/dokumen/{at_kabid['doc_id']}",
         (at_kabid, at_kabid["doc_id"], "view_document")),
        ("kabid", f"/kantor/permohonan/{at_kabid['tracking_no']}/dokumen/{at_kabid['doc_id']}",
         (at_kabid, at_kabid["doc_id"], "view_document")),
        ("kasi", f"/kantor/permohonan/{at_kabid['tracking_no']}/dokumen/{at_kabid['doc_id']}", None),
        ("operator_far", f"/kantor/permohonan/{at_kabid['tracking_no']}/dokumen/{at_kabid['doc_id']}", None),
        # A document of another request, under this request's number: refused, not recorded.
        ("operator", f"/kantor/permohonan/{in_review['tracking_no']}/dokumen/{at_kabid['doc_id']}", None),
        ("kabid", f"/kantor/verifikasi/{at_kabid['tracking_no']}", (at_kabid, None, "view_request")),
        ("kadis", f"/kantor/verifikasi/{at_kabid['tracking_no']}", None),
        ("kasi", f"/kantor/verifikasi/{at_kabid['tracking_no']}", None),
        ("operator", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", (issued, None, "download_pdf")),
        ("penyelia", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", (issued, None, "download_pdf")),
        ("operator_far", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", None),
        ("admin", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", None),
        ("kadis", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", None),
        # The applicant's own download is not a staff access: no record.
        ("applicant", f"/permohonan/{issued['tracking_no']}/dokumen-terbit.pdf", "no record"),
    ]
    for role, url, record in views:
        before = len(access_rows(app))
        with clients[role].get(url) as r:
            status = r.status_code
        new = access_rows(app)[before:]
        if record is None:
            assert status in (403, 404), (role, url, status)
            assert new == [], (role, url, new)
        elif record == "no record":
            assert status == 200 and new == [], (role, url, status, new)
        else:
            ctx, doc_id, action = record
            assert status == 200, (role, url, status)
            assert new == [(users[role], ctx["req_id"], doc_id, action)], (role, url, new)
    # Each view is one more record: opening the review page twice is two rows.
    with app.app_context():
        count = db.session.scalar(select(func.count(AccessLog.id)).where(AccessLog.user_id == users["operator"]))
    clients["operator"].get(f"/kantor/permohonan/{in_review['tracking_no']}")
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessLog.id))
                                 .where(AccessLog.user_id == users["operator"])) == count + 1


def test_staff_views_through_the_resident_urls_are_recorded_too(app, users, clients, build):
    ctx = build("in_review")
    no, doc_id = ctx["tracking_no"], ctx["doc_id"]
    for url, document in ((f"/permohonan/{no}", None), (f"/permohonan/{no}/tanda-terima", None),
                          (f"/permohonan/{no}/dokumen/{doc_id}", doc_id)):
        before = len(access_rows(app))
        with clients["operator"].get(url) as r:
            assert r.status_code == 200, url  # staff in scope may see it (tests/test_scope_http.py)
        new = access_rows(app)[before:]
        assert len(new) == 1 and new[0][:3] == (users["operator"], ctx["req_id"], document), (url, new)


def test_the_access_log_page_lists_the_views(app, clients, build):
    ctx = build("in_review")
    clients["operator"].get(f"/kantor/permohonan/{ctx['tracking_no']}")
    r = clients["penyelia"].get(f"/kantor/permohonan/{ctx['tracking_no']}/akses")
    assert r.status_code == 200
    assert "Membuka permohonan" in r.get_data(as_text=True)


def test_the_verification_chain_of_the_at_kabid_request_is_what_the_matrix_assumes():
    steps = get_catalogue().service("akta_kelahiran").verification_steps
    assert steps[:3] == ("kasi", "kabid", "kadis")
    assert get_catalogue().service("kia").verification_steps == ()
