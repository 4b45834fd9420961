"""The request life cycle (eopen/services/lifecycle.py) and who sees which requests (scope.py).

The expected table below is written out again on purpose: it is the spec the module's table is
checked against, both ways (every allowed transition works; everything else is refused and leaves
no trace).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eopen.extensions import db
from eopen.models import Event, HolidayOverride, ServiceRequest, User
from eopen.services import catalogue, lifecycle, scope
from eopen.services.lifecycle import ACTIONS, STATES, TransitionError, allowed_actions, perform

pytestmark = pytest.mark.db

KEC = "32.75.01"            # Bekasi Timur
KEL = "32.75.01.1001"       # Bekasijaya
FAR_KEC = "32.75.02"        # Bekasi Barat
FAR_KEL = "32.75.02.1001"   # Bintara
NOW = datetime(2026, 1, 5, 3, 0)  # Monday 10:00 in Bekasi
CHAIN = ("kasi", "kabid", "kadis")
ROLES = ("resident", "institution", "satgas", "assistant", "operator", "penyelia", "kasi", "kabid", "kadis",
         "admin", "system")

# (action, from_state, role) → to_state, for everything except the verification chain (VERIFY below).
# "operator" on an in_review request means the operator who claimed it; resident/institution mean the
# applicant; "system" is no user (the SIAK outbox). "assistant" is the satgas (of the kecamatan) who
# started the request at the resident's door: every request of these tests is assisted by them
# (request_in), so the matrices show what the assistant may do besides what any satgas may.
ALLOWED = {
    ("submit", "draft", "resident"): "submitted",
    ("submit", "draft", "institution"): "submitted",
    ("submit", "draft", "assistant"): "submitted",
    ("cancel", "draft", "resident"): "cancelled",
    ("cancel", "draft", "institution"): "cancelled",
    ("cancel", "draft", "assistant"): "cancelled",
    ("cancel", "submitted", "resident"): "cancelled",
    ("cancel", "submitted", "institution"): "cancelled",
    ("claim", "submitted", "operator"): "in_review",
    ("assign", "submitted", "penyelia"): "in_review",
    ("assign", "in_review", "penyelia"): "in_review",
    ("release", "in_review", "operator"): "submitted",
    ("release", "in_review", "penyelia"): "submitted",
    ("return", "in_review", "operator"): "needs_revision",
    ("resubmit", "needs_revision", "resident"): "submitted",
    ("resubmit", "needs_revision", "institution"): "submitted",
    ("reject", "in_review", "operator"): "rejected",
    ("reject", "in_review", "penyelia"): "rejected",
    ("approve", "in_review", "operator"): "verifying",  # akta_kelahiran has steps; see test_approve_*
    ("send_to_siak", "approved", "system"): "sent_to_siak",
    ("issue", "sent_to_siak", "system"): "issued",
    ("ready", "issued", "operator"): "ready_for_collection",
    ("ready", "issued", "penyelia"): "ready_for_collection",
    ("collect", "ready_for_collection", "operator"): "collected",
    ("collect", "ready_for_collection", "penyelia"): "collected",
    ("dispatch", "issued", "operator"): "out_for_delivery",
    ("dispatch", "issued", "penyelia"): "out_for_delivery",
    ("dispatch", "issued", "satgas"): "out_for_delivery",
    ("dispatch", "issued", "assistant"): "out_for_delivery",
    ("dispatch", "ready_for_collection", "operator"): "out_for_delivery",
    ("dispatch", "ready_for_collection", "penyelia"): "out_for_delivery",
    ("dispatch", "ready_for_collection", "satgas"): "out_for_delivery",
    ("dispatch", "ready_for_collection", "assistant"): "out_for_delivery",
    ("deliver", "out_for_delivery", "satgas"): "delivered",
    ("deliver", "out_for_delivery", "assistant"): "delivered",
    ("deliver", "out_for_delivery", "operator"): "delivered",
}
# (action, role, verification_index) → (to_state, verification_index after), on the chain kasi → kabid → kadis.
VERIFY = {
    ("verify", "kasi", 0): ("verifying", 1),
    ("verify", "kabid", 1): ("verifying", 2),
    ("verify", "kadis", 2): ("approved", 3),
    ("verify_return", "kasi", 0): ("in_review", 0),
    ("verify_return", "kabid", 1): ("in_review", 0),
    ("verify_return", "kadis", 2): ("in_review", 0),
}


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def chain(monkeypatch):
    """The catalogue, with akta_kelahiran climbing the whole chain and promising 5 working days."""
    real = catalogue.get_catalogue()
    assert real.service("kia").verification_steps == ()
    fake = catalogue.Catalogue(tuple(
        replace(s, verification_steps=CHAIN, target_days=5) if s.code == "akta_kelahiran" else s for s in real))
    monkeypatch.setattr(catalogue, "get_catalogue", lambda: fake)
    return fake


@pytest.fixture
def people(app, make_resident, make_staff):
    return SimpleNamespace(
        resident=make_resident(), other_resident=make_resident(name="Tetangga"),
        institution=make_staff("institution"),
        operator=make_staff("operator", KEC), operator2=make_staff("operator", KEC),
        operator_far=make_staff("operator", FAR_KEC),
        penyelia=make_staff("penyelia", KEC), penyelia_far=make_staff("penyelia", FAR_KEC),
        satgas=make_staff("satgas", KEC), satgas_far=make_staff("satgas", FAR_KEC),
        assistant=make_staff("satgas", KEC),
        kasi=make_staff("kasi"), kabid=make_staff("kabid"), kadis=make_staff("kadis"), admin=make_staff("admin"),
    )


@pytest.fixture
def user(people):
    def get(name: str) -> User | None:
        return None if name == "system" else db.session.get(User, getattr(people, name))
    return get


@pytest.fixture
def request_in(ctx, make_request, people):
    """request_in("in_review", by="resident", service=…, index=0) → a ServiceRequest in that state.

    From in_review on, the request is claimed by ``people.operator``. Every request was started by
    ``people.assistant`` at the door, unless ``assisted=False``.
    """
    def make(status, *, by="resident", service="akta_kelahiran", index=0, kelurahan_code=None, claimed=None,
             assisted=True):
        rid = make_request(getattr(people, by), service=service, status=status, kelurahan_code=kelurahan_code)
        req = db.session.get(ServiceRequest, rid)
        if claimed is None:
            claimed = status not in ("draft", "submitted", "cancelled")
        req.operator_id = people.operator if claimed else None
        req.assisted_by_id = people.assistant if assisted else None
        req.verification_index = index
        if status != "draft":
            req.submitted_at = NOW
        db.session.commit()
        return req
    return make


def events_of(req) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.request_id == req.id).order_by(Event.id)))


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def consent(people, confirmed_by="code") -> dict:
    """The submit event's data when the assistant submits: the resident agreed at the door."""
    return {"assisted_by": people.assistant, "confirmed_by": confirmed_by}


def applicant_for(role: str) -> str:
    return role if role in ("resident", "institution") else "resident"


# --- every allowed transition --------------------------------------------------------------------

@pytest.mark.parametrize("action,from_state,role", sorted(ALLOWED))
def test_allowed_transition(chain, request_in, user, people, action, from_state, role):
    req = request_in(from_state, by=applicant_for(role))
    actor = user(role)
    data = {"why": "test", **({"operator_id": people.operator2} if action == "assign" else {}),
            **(consent(people) if (action, role) == ("submit", "assistant") else {})}
    event = perform(req, action, actor, note="  catatan uji  ", data=data, now=NOW)

    assert req.status == ALLOWED[action, from_state, role]
    assert event.id is not None and event.request_id == req.id
    assert (event.action, event.from_status, event.to_status) == (action, from_state, req.status)
    assert event.actor_id == (actor.id if actor else None)
    assert event.note == "catatan uji" and event.data == data and event.created_at == NOW
    if action == "assign":
        assert req.operator_id == people.operator2
    assert req.updated_at == NOW
    assert [e.id for e in events_of(req)] == [event.id]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).status == ALLOWED[action, from_state, role]


@pytest.mark.parametrize("action,role,index", sorted(VERIFY))
def test_allowed_verification_step(chain, request_in, user, action, role, index):
    req = request_in("verifying", index=index)
    event = perform(req, action, user(role), note="catatan", now=NOW)
    assert (req.status, req.verification_index) == VERIFY[action, role, index]
    assert (event.from_status, event.to_status, event.actor_id) == ("verifying", req.status, user(role).id)
    assert req.operator_id is not None  # a returned request goes back to the operator who had it


@pytest.mark.parametrize("service,to_state", [("akta_kelahiran", "verifying"), ("kk", "verifying"),
                                              ("kia", "approved")])
def test_approve_goes_to_verification_only_when_the_service_has_steps(request_in, user, service, to_state):
    req = request_in("in_review", service=service, index=2)
    perform(req, "approve", user("operator"))
    assert req.status == to_state
    assert req.verification_index == 0


# --- everything else is refused and leaves no trace ----------------------------------------------

def test_forbidden_matrix(chain, request_in, user):
    requests = {(state, by): request_in(state, by=by) for state in STATES for by in ("resident", "institution")}
    actors = {role: user(role) for role in ROLES}
    tried = 0
    for state in STATES:
        for role in ROLES:
            req = requests[state, applicant_for(role)]
            allowed = {action for (action, s, r) in ALLOWED if s == state and r == role}
            allowed |= {action for (action, r, index) in VERIFY if state == "verifying" and r == role and index == 0}
            assert set(allowed_actions(req, actors[role])) == allowed, (state, role)
            for action in (*ACTIONS, "frobnicate"):
                if action in allowed:
                    continue
                with pytest.raises(TransitionError) as error:
                    perform(req, action, actors[role], note="catatan")
                expected = ("unknown_action" if action == "frobnicate" else
                            "wrong_state" if state not in lifecycle.TABLE[action].from_states else "forbidden")
                assert error.value.reason == expected, (state, action, role)
                assert str(error.value)
                assert req.status == state
                tried += 1
    assert tried > 2000
    assert not db.session.new and not db.session.dirty
    assert event_count() == 0
    db.session.expire_all()
    for (state, _by), req in requests.items():
        assert req.status == state and req.verification_index == 0


def test_admin_may_do_nothing(chain, request_in, user):
    admin = user("admin")
    for state in STATES:
        assert allowed_actions(request_in(state), admin) == []


def test_unknown_action_message(request_in, user):
    req = request_in("submitted")
    with pytest.raises(TransitionError) as error:
        perform(req, "frobnicate", user("operator"))
    assert error.value.reason == "unknown_action"
    assert "frobnicate" in str(error.value)


def test_wrong_state_message_names_the_status(request_in, user):
    req = request_in("draft")
    with pytest.raises(TransitionError) as error:
        perform(req, "claim", user("operator"))
    assert error.value.reason == "wrong_state"
    assert "Draf" in str(error.value)


# --- scope: kecamatan, applicant, claim ----------------------------------------------------------

def test_staff_of_another_kecamatan_are_forbidden(request_in, user):
    submitted = request_in("submitted")
    for role in ("operator_far", "penyelia_far"):
        with pytest.raises(TransitionError) as error:
            perform(submitted, "claim", user(role))
        assert error.value.reason == "forbidden"
    in_review = request_in("in_review")
    with pytest.raises(TransitionError, match="berhak"):
        perform(in_review, "reject", user("penyelia_far"), note="bukan wilayah saya")
    issued = request_in("issued")
    for role in ("operator_far", "penyelia_far", "satgas_far"):
        with pytest.raises(TransitionError) as error:
            perform(issued, "dispatch", user(role))
        assert error.value.reason == "forbidden"
    assert event_count() == 0


def test_kecamatan_follows_the_request_kelurahan(request_in, user):
    req = request_in("submitted", kelurahan_code=FAR_KEL)
    assert req.kecamatan_code == FAR_KEC
    assert allowed_actions(req, user("operator")) == []
    assert allowed_actions(req, user("operator_far")) == ["claim"]
    perform(req, "claim", user("operator_far"))
    assert req.operator_id == user("operator_far").id


def test_other_applicants_are_forbidden(request_in, user):
    mine = request_in("draft")
    theirs = request_in("needs_revision", by="institution")
    for action in ("submit", "cancel"):
        with pytest.raises(TransitionError) as error:
            perform(mine, action, user("other_resident"))
        assert error.value.reason == "forbidden"
        with pytest.raises(TransitionError):
            perform(mine, action, user("institution"))
    with pytest.raises(TransitionError) as error:
        perform(theirs, "resubmit", user("resident"))
    assert error.value.reason == "forbidden"
    assert mine.status == "draft" and theirs.status == "needs_revision"


# --- the assistant: the satgas who filled a draft in at the resident's door ------------------------

def test_assistant_submits_only_with_the_residents_consent(request_in, user, people):
    req = request_in("draft")
    for data in (None, {}, {"assisted_by": people.assistant},
                 {"assisted_by": people.assistant, "confirmed_by": "applicant"},
                 {"assisted_by": people.assistant, "confirmed_by": "trust me"},
                 {"assisted_by": people.satgas, "confirmed_by": "code"}):
        with pytest.raises(TransitionError) as error:
            perform(req, "submit", user("assistant"), data=data)
        assert error.value.reason == "forbidden"
        assert "disetujui warga" in str(error.value)
    assert req.status == "draft" and event_count() == 0
    event = perform(req, "submit", user("assistant"), data=consent(people, "birth_nik"))
    assert (req.status, event.actor_id) == ("submitted", people.assistant)
    assert event.data == {"assisted_by": people.assistant, "confirmed_by": "birth_nik"}
    # Once sent, the request is the resident's: the assistant cannot cancel it.
    assert allowed_actions(req, user("assistant")) == []
    with pytest.raises(TransitionError) as error:
        perform(req, "cancel", user("assistant"))
    assert error.value.reason == "forbidden"


def test_the_resident_may_still_submit_an_assisted_draft(request_in, user):
    req = request_in("draft")
    assert allowed_actions(req, user("resident")) == ["submit", "cancel"]
    perform(req, "submit", user("resident"))
    assert req.status == "submitted"


def test_only_the_assisting_satgas_of_the_kecamatan_is_the_assistant(request_in, user, people):
    req = request_in("draft")
    for name in ("satgas", "satgas_far", "operator", "penyelia"):
        assert allowed_actions(req, user(name)) == [], name
        with pytest.raises(TransitionError) as error:
            perform(req, "submit", user(name), data={"assisted_by": getattr(people, name), "confirmed_by": "code"})
        assert error.value.reason == "forbidden"
    assert allowed_actions(request_in("draft", assisted=False), user("assistant")) == []
    assert allowed_actions(request_in("draft", kelurahan_code=FAR_KEL), user("assistant")) == []
    # Somebody who is not a satgas named on the draft is no assistant either.
    by_operator = request_in("draft")
    by_operator.assisted_by_id = people.operator
    assert allowed_actions(by_operator, user("operator")) == []
    assistant = user("assistant")
    assistant.active = False
    assert allowed_actions(req, assistant) == []
    with pytest.raises(TransitionError):
        perform(req, "submit", assistant, data=consent(people))
    assert req.status == "draft" and event_count() == 0


def test_only_the_claiming_operator_reviews(request_in, user):
    req = request_in("in_review")
    other = user("operator2")
    assert allowed_actions(req, other) == []
    for action in ("release", "return", "reject", "approve"):
        with pytest.raises(TransitionError) as error:
            perform(req, action, other, note="catatan")
        assert error.value.reason == "forbidden"
    # The penyelia frees it; then anyone of the kecamatan's operators may claim it.
    assert allowed_actions(req, user("penyelia")) == ["assign", "release", "reject"]
    perform(req, "release", user("penyelia"))
    assert req.status == "submitted" and req.operator_id is None
    perform(req, "claim", other)
    assert req.operator_id == other.id
    assert allowed_actions(req, other) == ["release", "return", "reject", "approve"]
    assert [(e.action, e.actor_id) for e in events_of(req)] == [("release", user("penyelia").id),
                                                                ("claim", other.id)]


def test_verifier_must_be_the_current_step(chain, request_in, user):
    req = request_in("verifying", index=1)  # waiting for the kabid
    assert allowed_actions(req, user("kabid")) == ["verify", "verify_return"]
    for role in ("kasi", "kadis", "operator", "penyelia"):
        assert allowed_actions(req, user(role)) == []
        with pytest.raises(TransitionError) as error:
            perform(req, "verify", user(role))
        assert error.value.reason == "forbidden"


def test_anonymous_is_not_the_system(request_in):
    from flask_login import AnonymousUserMixin
    req = request_in("approved")
    assert allowed_actions(req, AnonymousUserMixin()) == []
    with pytest.raises(TransitionError) as error:
        perform(req, "send_to_siak", AnonymousUserMixin())
    assert error.value.reason == "forbidden"


def test_inactive_staff_may_not_act(request_in, user):
    req = request_in("submitted")
    operator = user("operator")
    operator.active = False
    with pytest.raises(TransitionError) as error:
        perform(req, "claim", operator)
    assert error.value.reason == "forbidden"


# --- notes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("action,role,state", [("return", "operator", "in_review"),
                                               ("reject", "operator", "in_review"),
                                               ("reject", "penyelia", "in_review"),
                                               ("verify_return", "kasi", "verifying")])
def test_note_required(request_in, user, action, role, state):
    req = request_in(state)
    for note in (None, "", "   \n "):
        with pytest.raises(TransitionError) as error:
            perform(req, action, user(role), note=note)
        assert error.value.reason == "note_required"
        assert str(error.value)
    assert req.status == state and event_count() == 0
    event = perform(req, action, user(role), note=" Foto KK buram, mohon unggah ulang. ")
    assert event.note == "Foto KK buram, mohon unggah ulang."


def test_note_is_optional_elsewhere(request_in, user):
    req = request_in("submitted")
    assert perform(req, "claim", user("operator")).note is None


# --- transactions: flush only, conditional update ------------------------------------------------

def test_perform_flushes_but_does_not_commit(request_in, user):
    req = request_in("submitted")
    perform(req, "claim", user("operator"))
    assert event_count() == 1
    db.session.rollback()
    assert req.status == "submitted" and req.operator_id is None
    assert event_count() == 0


def test_simultaneous_claims_one_wins(request_in, user, people):
    req = request_in("submitted")
    with Session(db.engine) as elsewhere:
        stale = elsewhere.get(ServiceRequest, req.id)   # the second operator opened the same request
        second = elsewhere.get(User, people.operator2)
        assert stale.status == "submitted"

        perform(req, "claim", user("operator"))
        db.session.commit()

        assert stale.status == "submitted"  # what the second operator still sees
        with pytest.raises(TransitionError) as error:
            perform(stale, "claim", second)
        assert error.value.reason == "conflict"
        assert "orang lain" in str(error.value)
        elsewhere.rollback()
        assert stale.status == "in_review"  # reloaded: the page can show who has it

    db.session.expire_all()
    assert req.status == "in_review" and req.operator_id == people.operator
    assert [(e.action, e.actor_id) for e in events_of(req)] == [("claim", people.operator)]


def test_stale_release_after_reclaim_conflicts(request_in, user, people):
    """Same status, different claim: the row is not as the first operator saw it."""
    req = request_in("in_review")  # claimed by people.operator
    with Session(db.engine) as elsewhere:
        stale = elsewhere.get(ServiceRequest, req.id)
        first = elsewhere.get(User, people.operator)
        assert stale.operator_id == people.operator

        perform(req, "release", user("penyelia"))
        perform(req, "claim", user("operator2"))
        db.session.commit()

        with pytest.raises(TransitionError) as error:
            perform(stale, "release", first)
        assert error.value.reason == "conflict"
        elsewhere.rollback()
    db.session.expire_all()
    assert req.status == "in_review" and req.operator_id == people.operator2


def test_stale_verification_conflicts(chain, request_in, user, people):
    """Two clicks on "verify" from two tabs advance the chain once."""
    req = request_in("verifying", index=0)
    with Session(db.engine) as elsewhere:
        stale = elsewhere.get(ServiceRequest, req.id)
        kasi = elsewhere.get(User, people.kasi)
        perform(req, "verify", user("kasi"))
        db.session.commit()
        with pytest.raises(TransitionError) as error:
            perform(stale, "verify", kasi)
        assert error.value.reason == "conflict"
        elsewhere.rollback()
    db.session.expire_all()
    assert (req.status, req.verification_index) == ("verifying", 1)


# --- the verification chain ----------------------------------------------------------------------

def _walk(req, user, steps):
    perform(req, "claim", user("operator"))
    perform(req, "approve", user("operator"))
    for index, step in enumerate(steps):
        assert (req.status, req.verification_index) == ("verifying", index)
        assert lifecycle.current_step(req) == step
        for role in CHAIN:
            assert allowed_actions(req, user(role)) == (["verify", "verify_return"] if role == step else [])
        perform(req, "verify", user(step))
    assert req.status == "approved"


@pytest.mark.parametrize("service", [s.code for s in catalogue.get_catalogue() if s.verification_steps])
def test_verification_chain_of_each_catalogue_service(request_in, user, service):
    steps = catalogue.get_catalogue().service(service).verification_steps
    req = request_in("submitted", service=service)
    _walk(req, user, steps)
    assert [e.action for e in events_of(req)] == ["claim", "approve", *["verify"] * len(steps)]


def test_full_chain_then_issue_and_deliver(chain, request_in, user):
    req = request_in("submitted")
    _walk(req, user, CHAIN)
    perform(req, "send_to_siak", None)
    perform(req, "issue", None)
    perform(req, "dispatch", user("satgas"))
    perform(req, "deliver", user("satgas"))
    assert req.status == "delivered"
    assert [(e.from_status, e.to_status) for e in events_of(req)] == [
        ("submitted", "in_review"), ("in_review", "verifying"), ("verifying", "verifying"),
        ("verifying", "verifying"), ("verifying", "approved"), ("approved", "sent_to_siak"),
        ("sent_to_siak", "issued"), ("issued", "out_for_delivery"), ("out_for_delivery", "delivered")]
    assert allowed_actions(req, user("operator")) == []


def test_verify_return_restarts_the_chain(chain, request_in, user):
    req = request_in("submitted")
    perform(req, "claim", user("operator"))
    perform(req, "approve", user("operator"))
    perform(req, "verify", user("kasi"))
    perform(req, "verify", user("kabid"))
    perform(req, "verify_return", user("kadis"), note="Nama ayah tidak sama dengan buku nikah.")
    assert (req.status, req.verification_index, req.operator_id) == ("in_review", 0, user("operator").id)
    perform(req, "approve", user("operator"))
    assert lifecycle.current_step(req) == "kasi"


def test_collection_at_the_kecamatan(request_in, user):
    req = request_in("issued", service="kia")
    perform(req, "ready", user("penyelia"))
    assert allowed_actions(req, user("satgas")) == ["dispatch"]
    perform(req, "collect", user("operator2"))  # any operator of the kecamatan hands it over
    assert req.status == "collected"


# --- side effects: submitted_at, due date --------------------------------------------------------

def test_submit_sets_submitted_at_and_due_date(chain, request_in, user):
    req = request_in("draft")
    assert req.submitted_at is None and req.due_date is None
    friday = datetime(2026, 3, 13, 3, 0)
    perform(req, "submit", user("resident"), now=friday)
    assert req.submitted_at == friday
    assert req.due_date == date(2026, 3, 27)  # 5 working days: 16, 17, (Lebaran 18–24), 25, 26, 27


def test_submit_late_evening_counts_from_the_local_date(chain, request_in, user):
    req = request_in("draft")
    perform(req, "submit", user("resident"), now=datetime(2026, 1, 9, 23, 30))  # Saturday 06:30 WIB
    assert req.due_date == date(2026, 1, 16 + 3)  # Mon 12 .. Thu 15, Fri 16 is Isra' Mi'raj, Mon 19


def test_submit_reads_the_holiday_overrides(chain, request_in, user):
    db.session.add(HolidayOverride(day=date(2026, 1, 7), is_holiday=True, name="Libur daerah"))
    req = request_in("draft")
    perform(req, "submit", user("resident"), now=NOW)
    assert req.due_date == date(2026, 1, 13)  # Wednesday 7 off: 6, 8, 9, 12, 13


def test_resubmit_after_a_pause_extends_the_due_date(chain, request_in, user):
    req = request_in("draft")
    perform(req, "submit", user("resident"), now=NOW)  # Monday 5 Jan
    assert req.due_date == date(2026, 1, 12)
    tuesday, thursday = datetime(2026, 1, 6, 2), datetime(2026, 1, 8, 4)
    perform(req, "claim", user("operator"), now=tuesday)
    perform(req, "return", user("operator"), note="Unggah ulang akta nikah yang terbaca.", now=tuesday)
    assert req.due_date == date(2026, 1, 12)  # unchanged while paused
    perform(req, "resubmit", user("resident"), now=thursday)
    assert req.status == "submitted"
    assert req.due_date == date(2026, 1, 14)  # paused (Tue, Thu]: two working days
    assert req.submitted_at == NOW  # the first submission, kept
    # A release back to the queue is not a pause.
    perform(req, "claim", user("operator"), now=thursday)
    perform(req, "release", user("operator"), now=datetime(2026, 1, 9, 3))
    assert req.due_date == date(2026, 1, 14)


def test_cancel_keeps_no_due_date(request_in, user):
    req = request_in("draft")
    perform(req, "cancel", user("resident"))
    assert req.status == "cancelled" and req.submitted_at is None and req.due_date is None


# --- visibility (scope.py) -----------------------------------------------------------------------

def visible_ids(user_obj) -> set[int]:
    return set(db.session.scalars(scope.visible_requests(user_obj).with_only_columns(ServiceRequest.id)))


def test_visibility(chain, request_in, user):
    own_draft = request_in("draft")
    own_submitted = request_in("submitted")
    cancelled_draft = request_in("cancelled")
    cancelled_draft.submitted_at = None
    institution_filed = request_in("in_review", by="institution")
    far = request_in("submitted", kelurahan_code=FAR_KEL)
    at_kasi = request_in("verifying", index=0)
    at_kabid = request_in("verifying", index=1)
    at_kadis = request_in("verifying", index=2)
    ktp_at_kasi = request_in("verifying", service="ktp_el", index=0)
    db.session.commit()
    every = {r.id for r in (own_draft, own_submitted, cancelled_draft, institution_filed, far, at_kasi,
                            at_kabid, at_kadis, ktp_at_kasi)}

    resident_sees = every - {institution_filed.id}
    kecamatan_sees = every - {own_draft.id, cancelled_draft.id, far.id}
    expected = {
        "resident": resident_sees,
        "other_resident": set(),
        "institution": {institution_filed.id},
        "operator": kecamatan_sees, "operator2": kecamatan_sees, "penyelia": kecamatan_sees,
        "operator_far": {far.id}, "penyelia_far": {far.id},
        "kasi": {at_kasi.id, ktp_at_kasi.id}, "kabid": {at_kabid.id}, "kadis": {at_kadis.id},
        "satgas": set(), "satgas_far": set(), "admin": set(),
    }
    for name, ids in expected.items():
        who = user(name)
        assert visible_ids(who) == ids, name
        for req in db.session.scalars(select(ServiceRequest)):
            assert scope.can_view(who, req) == (req.id in ids), (name, req.id)
    assert visible_ids(None) == set()


def test_visibility_of_verifiers_follows_the_real_catalogue(request_in, user):
    akta_at_kabid = request_in("verifying", index=1)
    kia_verifying = request_in("verifying", service="kia", index=0)  # no steps: nobody's turn
    assert visible_ids(user("kabid")) == {akta_at_kabid.id}
    assert visible_ids(user("kadis")) == set()  # no service in the catalogue goes up to the kadis
    assert not scope.can_view(user("kasi"), kia_verifying)


def test_anonymous_sees_nothing(app, request_in):
    from flask_login import AnonymousUserMixin
    request_in("submitted")
    assert visible_ids(AnonymousUserMixin()) == set()


def test_the_request_object_is_fresh_after_perform(request_in, user):
    req = request_in("submitted")
    assert req.events == []  # loaded before the change
    event = perform(req, "claim", user("operator"))
    assert req.events == [event]
    assert req.operator is not None and req.operator.id == user("operator").id


def test_assign_needs_an_operator_of_the_kecamatan(chain, request_in, user, people):
    req = request_in("submitted")
    for bad in (None, people.operator_far, people.penyelia, 999999):
        with pytest.raises(TransitionError) as error:
            perform(req, "assign", user("penyelia"), data={"operator_id": bad})
        assert error.value.reason == "forbidden"
    assert req.status == "submitted" and event_count() == 0
    perform(req, "assign", user("penyelia"), data={"operator_id": people.operator2})
    assert (req.status, req.operator_id) == ("in_review", people.operator2)


def test_resubmitted_request_waits_for_the_operator_who_returned_it(chain, request_in, user, people):
    req = request_in("in_review")
    perform(req, "return", user("operator"), note="Foto KK buram")
    perform(req, "resubmit", user("resident"))
    assert (req.status, req.operator_id) == ("submitted", people.operator)
    assert "claim" not in allowed_actions(req, user("operator2"))
    with pytest.raises(TransitionError):
        perform(req, "claim", user("operator2"))
    perform(req, "claim", user("operator"))
    assert req.status == "in_review"
