"""Chain of custody: one holder per item, handovers, one-time codes, and the field/desk handover pages."""
import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eopen.extensions import db
from eopen.models import utcnow
from eopen.models import CustodyItem, Event, FieldAction, FieldJob, Handover, HandoverCode, ServiceRequest, User
from eopen.services import custody, sla
from eopen.services.custody import CustodyError, Party
from field import handovers

KEC = "32.75.01"
TODAY = date(2026, 12, 2)  # a Wednesday
T0 = datetime(2026, 12, 2, 3, 0)  # 10.00 in Bekasi


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(sla, "today_local", lambda: TODAY)


@pytest.fixture
def world(app, make_resident, make_staff, make_request):
    """A resident with an Akta Kelahiran request, their RW's satgas, an operator of the kecamatan."""
    resident = make_resident(name="Siti Aminah", birth_date=date(1985, 3, 9), sex="P")
    satgas = make_staff("satgas", KEC)
    operator = make_staff("operator", KEC)
    far_operator = make_staff("operator", "32.75.02")
    req = make_request(resident)
    return {"resident": resident, "satgas": satgas, "operator": operator, "far_operator": far_operator,
            "request": req}


def _job(app, world, kind="pickup", status="requested"):
    with app.app_context():
        req = db.session.get(ServiceRequest, world["request"])
        job = FieldJob(request_id=req.id, kind=kind, status=status, satgas_id=world["satgas"], rw_id=req.rw_id,
                       preferred_date=TODAY, time_window="08-12", created_by_id=world["resident"])
        db.session.add(job)
        db.session.commit()
        return job.id


def _code(app, world) -> str:
    with app.app_context():
        code = custody.resident_code(db.session.get(ServiceRequest, world["request"])).code
        db.session.commit()
        return code


def _desk_code(app, world, who="operator") -> str:
    with app.app_context():
        code = custody.desk_code(db.session.get(User, world[who])).code
        db.session.commit()
        return code


def _assert_invariant():
    """Every item: exactly one holder (the CHECK constraint's shape) and a chain that ends at it."""
    for item in db.session.scalars(select(CustodyItem)):
        party = Party.holding(item)
        assert (party.type == "office") == (party.kecamatan_code is not None)
        assert (party.type in ("resident", "satgas")) == (party.user_id is not None)
        assert custody.check_chain(item), item.label


# --- codes -------------------------------------------------------------------------------------------

def test_resident_code_is_stable_until_used_then_single_use(ctx, world):
    req = db.session.get(ServiceRequest, world["request"])
    first = custody.resident_code(req, now=T0)
    assert len(first.code) == 6 and first.code.isdigit()
    assert custody.resident_code(req, now=T0 + timedelta(hours=1)).id == first.id
    method, owner = custody.confirm_resident(req, code=first.code[:3] + " " + first.code[3:], now=T0)
    assert (method, owner.id) == ("code", world["resident"])
    with pytest.raises(CustodyError) as error:
        custody.confirm_resident(req, code=first.code, now=T0 + timedelta(minutes=1))
    assert "sudah dipakai" in str(error.value)
    second = custody.resident_code(req, now=T0 + timedelta(minutes=2))
    assert second.id != first.id


def test_resident_code_expires(ctx, world):
    req = db.session.get(ServiceRequest, world["request"])
    code = custody.resident_code(req, now=T0)
    later = T0 + timedelta(days=custody.RESIDENT_CODE_DAYS, minutes=1)
    with pytest.raises(CustodyError) as error:
        custody.confirm_resident(req, code=code.code, now=later)
    assert "kedaluwarsa" in str(error.value)
    # ...but a handover that happened on the phone while it was valid is accepted when it arrives late.
    method, _owner = custody.confirm_resident(req, code=code.code, now=later, at=later - timedelta(days=1))
    assert method == "code"


def test_desk_code_lives_fifteen_minutes(ctx, world):
    operator = db.session.get(User, world["operator"])
    code = custody.desk_code(operator, now=T0)
    with pytest.raises(CustodyError):
        custody.use_code("desk", operator, None, code.code, now=T0 + timedelta(minutes=16))
    assert custody.use_code("desk", operator, None, code.code, now=T0 + timedelta(minutes=14)).id == code.id


def test_wrong_tries_are_counted_and_lock(ctx, world):
    req = db.session.get(ServiceRequest, world["request"])
    good = custody.resident_code(req, now=T0).code
    wrong = "000000" if good != "000000" else "111111"
    for attempt in range(custody.MAX_FAILURES):
        with pytest.raises(CustodyError) as error:
            custody.confirm_resident(req, code=wrong, now=T0)
        db.session.rollback()  # what a route does...
        custody.apply_penalty(error.value, T0)  # ...then the wrong try is counted anyway
        db.session.commit()
    assert error.value.reason == "locked"
    # Locked: even the right code (and the date of birth) is refused for 30 minutes.
    with pytest.raises(CustodyError) as error:
        custody.confirm_resident(req, code=good, now=T0 + timedelta(minutes=5))
    assert error.value.reason == "locked"
    with pytest.raises(CustodyError):
        custody.confirm_resident(req, birth_date=date(1985, 3, 9), nik_last4=req.subject_nik[-4:],
                                 now=T0 + timedelta(minutes=5))
    # After the lock a NEW code is shown; the old one was burnt by the wrong tries.
    fresh = custody.resident_code(req, now=T0 + timedelta(minutes=31))
    assert fresh.code != good or fresh.id != db.session.scalar(select(func.min(HandoverCode.id)))
    assert custody.confirm_resident(req, code=fresh.code, now=T0 + timedelta(minutes=31))[0] == "code"


def test_birth_date_and_nik_digits_confirm(ctx, world):
    req = db.session.get(ServiceRequest, world["request"])
    assert custody.confirm_resident(req, birth_date=date(1985, 3, 9), nik_last4=req.subject_nik[-4:],
                                    now=T0)[0] == "birth_nik"
    with pytest.raises(CustodyError) as error:
        custody.confirm_resident(req, birth_date=date(1985, 3, 10), nik_last4=req.subject_nik[-4:], now=T0)
    assert error.value.penalty is not None and "Sisa percobaan" in str(error.value)
    with pytest.raises(CustodyError) as error:
        custody.confirm_resident(req, now=T0)
    assert error.value.field == "code" and error.value.penalty is None


# --- the invariant -----------------------------------------------------------------------------------

def test_the_database_refuses_no_holder_and_two_holders(ctx, world):
    for holder in ({"holder_type": "satgas"},  # nobody
                   {"holder_type": "office", "holder_kecamatan_code": KEC, "holder_user_id": world["satgas"]},
                   {"holder_type": "resident", "holder_user_id": world["resident"], "holder_kecamatan_code": KEC},
                   {"holder_type": "nobody", "holder_user_id": world["resident"]}):
        db.session.add(CustodyItem(request_id=world["request"], kind="original", label="x", **holder))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_random_handovers_keep_exactly_one_holder(ctx, world):
    """300 random handover attempts between the resident, two satgas and two offices: the ones whose giver
    does not hold the item are refused and change nothing; after each, every item has one holder and a
    chain that ends where it is."""
    rng = random.Random(4)
    req = db.session.get(ServiceRequest, world["request"])
    satgas = db.session.get(User, world["satgas"])
    other_satgas = User(role="satgas", username="satgas-b", display_name="B", password_hash="x", kecamatan_code=KEC)
    db.session.add(other_satgas)
    db.session.flush()
    parties = [Party("resident", user_id=world["resident"]), Party("satgas", user_id=satgas.id),
               Party("satgas", user_id=other_satgas.id), Party.office(KEC), Party.office("32.75.02")]
    items = [custody.register(req, "original", f"Dokumen {n}", rng.choice(parties), recorded_by=satgas)
             for n in range(4)]
    accepted = refused = 0
    for _ in range(300):
        if rng.random() < 0.7:  # mostly plausible handovers: the giver hands over (some of) what they hold
            giver = Party.holding(rng.choice(items))
            theirs = [i for i in items if Party.holding(i) == giver]
            chosen = rng.sample(theirs, rng.randint(1, len(theirs)))
            receiver = rng.choice([p for p in parties if p != giver])
        else:  # and some where the giver does not hold everything
            giver, receiver = rng.sample(parties, 2)
            chosen = rng.sample(items, rng.randint(1, 3))
        before = {i.id: Party.holding(i) for i in items}
        try:
            with db.session.begin_nested():
                custody.transfer(req, chosen, giver, receiver, recorded_by=satgas, confirmed_by=None,
                                 method="code", happened_at=T0)
            accepted += 1
            assert all(Party.holding(i) == receiver for i in chosen)
        except CustodyError as error:
            refused += 1
            assert error.reason == "stale"
            for i in items:
                db.session.refresh(i)
            assert {i.id: Party.holding(i) for i in items} == before  # all or nothing
        _assert_invariant()
    assert accepted > 20 and refused > 20
    handovers = db.session.scalar(select(func.count()).select_from(Handover))
    assert handovers == accepted + len(items)


# --- the journey through the pages -------------------------------------------------------------------

def test_pickup_desk_delivery_journey(app, client, login, world):
    pickup = _job(app, world, "pickup")
    login(world["satgas"])
    page = client.get(f"/lapangan/tugas/{pickup}/serah-terima")
    assert page.status_code == 200 and "Asli: " in page.get_data(as_text=True)
    code = _code(app, world)
    at_door = (utcnow() - timedelta(minutes=3)).replace(microsecond=0)
    with app.app_context():
        choices = [c for c, _label in handovers.pickup_choices(db.session.get(ServiceRequest, world["request"]))]
    form = {"items": [choices[0], "other"], "other": "KK asli", "code": code, "action_id": "pickup-action-1",
            "happened_at": at_door.isoformat() + "Z"}
    response = client.post(f"/lapangan/tugas/{pickup}/serah-terima", data=form)
    assert response.status_code == 303
    again = client.post(f"/lapangan/tugas/{pickup}/serah-terima", data=form)  # a double tap
    assert again.status_code == 303
    with app.app_context():
        job = db.session.get(FieldJob, pickup)
        assert job.status == "done" and job.done_at == at_door  # the phone's time
        items = db.session.scalars(select(CustodyItem)).all()
        assert sorted(i.label for i in items) == ["Asli: Surat keterangan lahir", "KK asli"]
        assert {(i.holder_type, i.holder_user_id) for i in items} == {("satgas", world["satgas"])}
        assert db.session.scalar(select(func.count()).select_from(Handover)) == 1
        handover = db.session.scalar(select(Handover))
        assert (handover.from_type, handover.from_user_id, handover.method) == ("resident", world["resident"], "code")
        assert handover.place.startswith("Rumah warga")
        assert [e.action for e in db.session.scalars(select(Event))] == ["pickup_done"]

    # At the desk: the operator's code; a code of another kecamatan's operator does not work.
    page = client.get("/lapangan/kantor").get_data(as_text=True)
    assert "KK asli" in page
    with app.app_context():
        item_ids = [str(i) for i in db.session.scalars(select(CustodyItem.id))]
    bad = client.post("/lapangan/kantor/serahkan", data={"in-items": item_ids, "in-operator_id": str(world["far_operator"]),
                                                         "in-code": _desk_code(app, world, "far_operator"),
                                                         "action_id": "desk-in-0"})
    assert bad.status_code == 422
    response = client.post("/lapangan/kantor/serahkan", data={
        "in-items": item_ids, "in-operator_id": str(world["operator"]), "in-code": _desk_code(app, world),
        "action_id": "desk-in-1"})
    assert response.status_code == 303
    with app.app_context():
        assert {(i.holder_type, i.holder_kecamatan_code) for i in db.session.scalars(select(CustodyItem))} == \
            {("office", KEC)}
    login(world["operator"])
    desk_page = client.get("/kantor/serah-terima").get_data(as_text=True)
    assert "KK asli" in desk_page

    # The request is issued; the resident asked for delivery; the satgas collects the output.
    with app.app_context():
        req = db.session.get(ServiceRequest, world["request"])
        req.status = "issued"
        db.session.commit()
    delivery = _job(app, world, "delivery")
    login(world["satgas"])
    assert "Ambil untuk diantar" in client.get("/lapangan/kantor").get_data(as_text=True)
    response = client.post("/lapangan/kantor/ambil", data={
        "out-jobs": [str(delivery)], "out-operator_id": str(world["operator"]), "out-code": _desk_code(app, world),
        "action_id": "desk-out-1"})
    assert response.status_code == 303
    with app.app_context():
        req = db.session.get(ServiceRequest, world["request"])
        assert req.status == "out_for_delivery"
        output = db.session.scalar(select(CustodyItem).where(CustodyItem.kind == "output"))
        assert (output.holder_type, output.holder_user_id) == ("satgas", world["satgas"])

    # At the door, without a phone: date of birth + the last 4 NIK digits.
    with app.app_context():
        nik = db.session.get(ServiceRequest, world["request"]).subject_nik
    wrong = client.post(f"/lapangan/tugas/{delivery}/serah-terima",
                        data={"birth_date": "1985-03-10", "nik_last4": nik[-4:], "action_id": "deliver-0"})
    assert wrong.status_code == 422 and "tidak cocok" in wrong.get_data(as_text=True)
    response = client.post(f"/lapangan/tugas/{delivery}/serah-terima",
                           data={"birth_date": "09-03-1985", "nik_last4": nik[-4:], "action_id": "deliver-1"})
    assert response.status_code == 303
    with app.app_context():
        req = db.session.get(ServiceRequest, world["request"])
        assert req.status == "delivered"
        assert db.session.get(FieldJob, delivery).status == "done"
        output = db.session.scalar(select(CustodyItem).where(CustodyItem.kind == "output"))
        assert (output.holder_type, output.holder_user_id) == ("resident", world["resident"])
        _assert_invariant()
        rejected = db.session.scalars(select(FieldAction).where(FieldAction.outcome == "rejected")).all()
        assert {a.client_action_id for a in rejected} == {"desk-in-0", "deliver-0"}
    login(world["resident"])
    with app.app_context():
        tracking = db.session.get(ServiceRequest, world["request"]).tracking_no
    html = client.get(f"/permohonan/{tracking}").get_data(as_text=True)
    assert "Sudah diterima" in html and "ada pada Anda" in html


def test_queued_action_answers_json_once_and_refuses_a_moved_job(app, client, login, world, make_staff):
    job_id = _job(app, world, "pickup")
    login(world["satgas"])
    headers = {"Accept": "application/json"}
    first = client.post(f"/lapangan/tugas/{job_id}/berangkat", data={"action_id": "queued-start-1",
                                                                      "happened_at": "2026-12-02T03:00:00Z"},
                        headers=headers)
    assert first.status_code == 200 and first.json["ok"] is True
    replay = client.post(f"/lapangan/tugas/{job_id}/berangkat", data={"action_id": "queued-start-1"}, headers=headers)
    assert replay.status_code == 200 and replay.json["replay"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FieldAction)) == 1
        # The RW gets another satgas while this phone is offline.
        job = db.session.get(FieldJob, job_id)
        job.moved_from_id, job.satgas_id, job.status = world["satgas"], make_staff("satgas", KEC), "requested"
        db.session.commit()
    late = client.post(f"/lapangan/tugas/{job_id}/serah-terima",
                       data={"code": _code(app, world), "items": ["other"], "other": "KTP-el lama",
                             "action_id": "queued-handover-1"}, headers=headers)
    assert late.status_code == 409 and "dialihkan" in late.json["message"]
    with app.app_context():
        refused = db.session.scalar(select(FieldAction).where(FieldAction.client_action_id == "queued-handover-1"))
        assert refused.outcome == "rejected" and refused.payload["other"] == "KTP-el lama"
        assert "code" in refused.payload
        assert db.session.scalar(select(func.count()).select_from(Handover)) == 0


def test_stale_phone_time_is_refused_and_kept(app, client, login, world):
    job_id = _job(app, world, "pickup")
    login(world["satgas"])
    old = (utcnow() - timedelta(days=4)).isoformat() + "Z"
    response = client.post(f"/lapangan/tugas/{job_id}/berangkat", data={"action_id": "old-action-1",
                                                                         "happened_at": old},
                           headers={"Accept": "application/json"})
    assert response.status_code == 409 and response.json["ok"] is False
    with app.app_context():
        assert db.session.get(FieldJob, job_id).status == "requested"
        assert db.session.scalar(select(FieldAction.outcome)) == "rejected"


def test_handover_pages_are_scoped(app, client, login, world, make_staff):
    job_id = _job(app, world, "pickup")
    login(make_staff("satgas", KEC))
    assert client.get(f"/lapangan/tugas/{job_id}/serah-terima").status_code == 404
    assert client.post(f"/lapangan/tugas/{job_id}/serah-terima", data={"code": "123456"}).status_code == 404
    login(world["resident"])
    assert client.get("/lapangan/kantor").status_code == 403
    login(world["far_operator"])
    assert client.get("/kantor/serah-terima").status_code == 200
    with app.app_context():
        req = db.session.get(ServiceRequest, world["request"])
        custody.register(req, "original", "Rahasia Kecamatan Lain", Party.office(KEC),
                         recorded_by=db.session.get(User, world["operator"]))
        db.session.commit()
    assert "Rahasia Kecamatan Lain" not in client.get("/kantor/serah-terima").get_data(as_text=True)
    login(world["operator"])
    assert "Rahasia Kecamatan Lain" in client.get("/kantor/serah-terima").get_data(as_text=True)


def test_a_wrong_code_is_counted_over_http(app, client, login, world):
    job_id = _job(app, world, "pickup")
    good = _code(app, world)
    login(world["satgas"])
    response = client.post(f"/lapangan/tugas/{job_id}/serah-terima",
                           data={"code": "000000" if good != "000000" else "111111", "items": ["other"],
                                 "other": "KK asli", "action_id": "wrong-code-1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Kode serah terima salah" in html and 'href="#code"' in html and good not in html
    with app.app_context():
        assert db.session.scalar(select(func.max(HandoverCode.failed_attempts))) == 1
        assert db.session.get(FieldJob, job_id).status == "requested"


def test_status_page_and_receipt_show_the_same_code_while_a_job_is_open(app, client, login, world, make_resident):
    with app.app_context():
        tracking = db.session.get(ServiceRequest, world["request"]).tracking_no
    login(world["resident"])
    assert "kode-serah-terima" not in client.get(f"/permohonan/{tracking}").get_data(as_text=True)
    job_id = _job(app, world, "pickup")
    status = client.get(f"/permohonan/{tracking}").get_data(as_text=True)
    receipt = client.get(f"/permohonan/{tracking}/tanda-terima").get_data(as_text=True)
    with app.app_context():
        codes = db.session.scalars(select(HandoverCode)).all()
        assert len(codes) == 1  # shown twice, made once
        shown = codes[0].code[:3] + " " + codes[0].code[3:]
    assert shown in status and shown in receipt
    # Nobody else sees it: another resident gets a 404, the satgas' pages never show it.
    login(make_resident(name="Tetangga"))
    assert client.get(f"/permohonan/{tracking}").status_code == 404
    login(world["satgas"])
    assert shown not in client.get(f"/lapangan/tugas/{job_id}").get_data(as_text=True)


def _jpeg() -> bytes:
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "orange").save(buffer, "JPEG")
    return buffer.getvalue()


def test_proof_photo_is_optional_normalised_and_shown_only_to_kecamatan_staff(app, client, login, world):
    import io
    job_id = _job(app, world, "pickup")
    login(world["satgas"])
    pdf = client.post(f"/lapangan/tugas/{job_id}/serah-terima", content_type="multipart/form-data", data={
        "items": ["other"], "other": "KK asli", "code": _code(app, world), "action_id": "photo-pdf-1",
        "photo": (io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), "bukti.pdf")})
    assert pdf.status_code in (400, 422) and "bukan PDF" in pdf.get_data(as_text=True)
    response = client.post(f"/lapangan/tugas/{job_id}/serah-terima", content_type="multipart/form-data", data={
        "items": ["other"], "other": "KK asli", "code": _code(app, world), "action_id": "photo-1",
        "photo": (io.BytesIO(_jpeg()), "bukti.jpg")})
    assert response.status_code == 303
    with app.app_context():
        handover = db.session.scalar(select(Handover))
        assert handover.photo_storage_name
        tracking = db.session.get(ServiceRequest, world["request"]).tracking_no
    url = f"/kantor/permohonan/{tracking}/serah-terima/{handover.id}/foto"
    assert client.get(url).status_code == 403  # the satgas: not a back-office reader
    login(world["far_operator"])
    assert client.get(url).status_code == 404
    login(world["operator"])
    assert 'href="' + url in client.get(f"/kantor/permohonan/{tracking}").get_data(as_text=True)
    with client.get(url) as photo:
        assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data[:2] == b"\xff\xd8"
        assert "sandbox" in photo.headers["Content-Security-Policy"]
    with app.app_context():
        from eopen.models import AccessLog
        assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.action == "view_handover_photo", AccessLog.user_id == world["operator"])) == 1
