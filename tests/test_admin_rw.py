"""Admin: RWs/RTs per kelurahan and Satgas Pamor assignment (eopen/admin, eopen/services/satgas.py)."""
import re

import pytest
from sqlalchemy import delete, select

from eopen.extensions import db
from eopen.models import RT, RW, AssignmentLog, SatgasAssignment, User

KEL = "32.75.01.1001"
OTHER_KEL = "32.75.01.1002"
TEST_NUMBERS = (901, 902, 903)  # RWs are session-wide reference data: the ones a test adds are removed after it


@pytest.fixture(autouse=True)
def _remove_added_rws(app):
    yield
    with app.app_context():
        ids = db.session.scalars(select(RW.id).where(RW.number.in_(TEST_NUMBERS))).all()
        db.session.execute(delete(AssignmentLog).where(AssignmentLog.rw_id.in_(ids)))
        db.session.execute(delete(SatgasAssignment).where(SatgasAssignment.rw_id.in_(ids)))
        db.session.execute(delete(RT).where(RT.rw_id.in_(ids)))
        db.session.execute(delete(RT).where(RT.number.in_(TEST_NUMBERS)))
        db.session.execute(delete(RW).where(RW.id.in_(ids)))
        db.session.commit()


@pytest.fixture
def admin(make_staff, login):
    user_id = make_staff("admin")
    login(user_id)
    return user_id


def rw_id(app, number, kelurahan=KEL):
    with app.app_context():
        return db.session.scalar(select(RW.id).where(RW.kelurahan_code == kelurahan, RW.number == number))


def holder(app, rw, kind):
    with app.app_context():
        return db.session.scalar(select(SatgasAssignment.satgas_id).where(SatgasAssignment.rw_id == rw,
                                                                          SatgasAssignment.kind == kind))


def assign(client, rw, kind, satgas_id):
    return client.post(f"/admin/rw/{rw}/satgas/{kind}", data={f"{kind}{rw}-satgas_id": str(satgas_id)})


def test_anonymous_goes_to_login_and_other_roles_get_403(app, client, make_staff, login):
    with app.test_request_context():
        from flask import url_for
        url_for_login = url_for("auth.login")
    for path in ("/admin/", f"/admin/kelurahan/{KEL}", "/admin/satgas"):
        response = client.get(path)
        assert response.status_code == 302 and url_for_login in response.location
    response = client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "901"})
    assert response.status_code == 302
    for role in ("operator", "penyelia", "satgas", "kadis", "institution"):
        login(make_staff(role, "32.75.01"))
        for path in ("/admin/", f"/admin/kelurahan/{KEL}", "/admin/satgas"):
            assert client.get(path).status_code == 403
        assert client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "901"}).status_code == 403
    assert rw_id(client.application, 901) is None


def test_home_lists_kelurahan_with_rws_without_satgas(client, admin):
    response = client.get("/admin/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"/admin/kelurahan/{KEL}" in page
    assert "3 RW tanpa satgas" in page


def test_add_rw_and_rt_and_duplicates(app, client, admin):
    response = client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "901"})
    assert response.status_code == 303
    new_rw = rw_id(app, 901)
    assert new_rw is not None
    response = client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "901"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "RW 901 sudah ada di kelurahan ini." in page and "Galat:" in page and 'value="901"' in page
    assert client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "0"}).status_code == 422
    assert client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "abc"}).status_code == 422

    assert client.post(f"/admin/rw/{new_rw}/rt", data={f"rt{new_rw}-number": "5"}).status_code == 303
    response = client.post(f"/admin/rw/{new_rw}/rt", data={f"rt{new_rw}-number": "5"})
    assert response.status_code == 422
    assert "RT 005 sudah ada di RW 901." in response.get_data(as_text=True)
    with app.app_context():
        assert [rt.number for rt in db.session.get(RW, new_rw).rts] == [5]
    page = client.get(f"/admin/kelurahan/{KEL}").get_data(as_text=True)
    assert "RW 901" in page and "RT 005" in page and "Tanpa satgas utama" in page


def test_remove_refused_when_in_use_and_allowed_when_not(app, client, admin, make_resident, make_staff):
    make_resident(kelurahan_code=KEL, rw_number=1)  # a household in RW 001 / RT 001
    used_rw = rw_id(app, 1)
    with app.app_context():
        used_rt = db.session.scalar(select(RT.id).where(RT.rw_id == used_rw, RT.number == 1))
    response = client.post(f"/admin/rt/{used_rt}/hapus")
    assert response.status_code == 409
    assert "masih dipakai 1 kartu keluarga" in response.get_data(as_text=True)
    response = client.post(f"/admin/rw/{used_rw}/hapus")
    assert response.status_code == 409 and "tidak dapat dihapus" in response.get_data(as_text=True)
    assert rw_id(app, 1) == used_rw

    client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "902"})
    new_rw = rw_id(app, 902)
    client.post(f"/admin/rw/{new_rw}/rt", data={f"rt{new_rw}-number": "1"})
    satgas = make_staff("satgas")
    assert assign(client, new_rw, "primary", satgas).status_code == 303
    response = client.post(f"/admin/rw/{new_rw}/hapus")
    assert response.status_code == 409 and "penugasan satgas" in response.get_data(as_text=True)
    with app.app_context():
        db.session.execute(delete(AssignmentLog).where(AssignmentLog.rw_id == new_rw))
        db.session.execute(delete(SatgasAssignment).where(SatgasAssignment.rw_id == new_rw))
        db.session.commit()
        rt_id = db.session.scalar(select(RT.id).where(RT.rw_id == new_rw))
    assert client.post(f"/admin/rt/{rt_id}/hapus").status_code == 303
    client.post(f"/admin/rw/{new_rw}/rt", data={f"rt{new_rw}-number": "2"})
    assert client.post(f"/admin/rw/{new_rw}/hapus").status_code == 303
    assert rw_id(app, 902) is None


def test_assign_primary_and_backup_and_reassign_logs(app, client, admin, make_staff):
    first, second, backup = make_staff("satgas"), make_staff("satgas"), make_staff("satgas")
    rw = rw_id(app, 1)
    assert assign(client, rw, "primary", first).status_code == 303
    assert assign(client, rw, "backup", backup).status_code == 303
    assert holder(app, rw, "primary") == first and holder(app, rw, "backup") == backup
    with app.app_context():
        assert db.session.get(User, first).kecamatan_code == "32.75.01"
    # Sent twice: nothing changes, no second log row.
    assert assign(client, rw, "primary", first).status_code == 303
    assert assign(client, rw, "primary", second).status_code == 303
    assert holder(app, rw, "primary") == second
    with app.app_context():
        logs = db.session.scalars(select(AssignmentLog).where(AssignmentLog.rw_id == rw)
                                  .order_by(AssignmentLog.id)).all()
        assert [(l.kind, l.from_satgas_id, l.to_satgas_id, l.by_id, l.moved_jobs) for l in logs] == [
            ("primary", None, first, admin, 0), ("backup", None, backup, admin, 0),
            ("primary", first, second, admin, 0)]
    page = client.get(f"/admin/kelurahan/{KEL}").get_data(as_text=True)
    assert "Riwayat penugasan RW 001" in page

    assert client.post(f"/admin/rw/{rw}/cadangan/lepas").status_code == 303
    assert holder(app, rw, "backup") is None
    with app.app_context():
        last = db.session.scalars(select(AssignmentLog).order_by(AssignmentLog.id.desc())).first()
        assert (last.kind, last.from_satgas_id, last.to_satgas_id) == ("backup", backup, None)


def test_primary_and_backup_must_differ(app, client, admin, make_staff):
    satgas = make_staff("satgas")
    rw = rw_id(app, 1)
    assign(client, rw, "primary", satgas)
    response = assign(client, rw, "backup", satgas)
    assert response.status_code == 422
    assert "harus orang yang berbeda" in response.get_data(as_text=True)
    assert holder(app, rw, "backup") is None


def test_one_kelurahan_per_satgas(app, client, admin, make_staff):
    satgas = make_staff("satgas")
    assert assign(client, rw_id(app, 1), "primary", satgas).status_code == 303
    assert assign(client, rw_id(app, 2), "backup", satgas).status_code == 303  # same kelurahan: fine
    other = rw_id(app, 1, OTHER_KEL)
    response = assign(client, other, "primary", satgas)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "sudah bertugas di Kelurahan" in page and "Satu satgas hanya boleh" in page
    assert holder(app, other, "primary") is None


def test_assign_requires_an_active_satgas(app, client, admin, make_staff):
    operator = make_staff("operator", "32.75.01")
    rw = rw_id(app, 1)
    assert assign(client, rw, "primary", operator).status_code == 422
    assert client.post(f"/admin/rw/{rw}/satgas/primary", data={}).status_code == 422
    assert holder(app, rw, "primary") is None


def test_availability_toggle_and_satgas_page(app, client, admin, make_staff, make_resident, make_request):
    from datetime import date

    from eopen.models import FieldJob
    satgas = make_staff("satgas")
    resident = make_resident(kelurahan_code=KEL, rw_number=1)
    with app.app_context():
        rw = rw_id(app, 1)
        for status in ("requested", "on_the_way", "done", "cancelled"):
            # Open jobs are jemput-antar jobs (requested, on the way), not open requests.
            req = make_request(resident, status="submitted")
            db.session.add(FieldJob(request_id=req, kind="pickup", status=status, satgas_id=None, rw_id=rw,
                                    preferred_date=date(2030, 1, 2), time_window="08-12", created_by_id=resident))
        db.session.commit()
    assign(client, rw, "primary", satgas)  # the waiting jobs go to the new primary
    page = client.get("/admin/satgas").get_data(as_text=True)
    assert f'id="satgas-{satgas}"' in page
    row = page[page.index(f'id="satgas-{satgas}"'):]
    assert '<td class="num">2</td>' in row[:row.index("</tr>")]
    assert "RW tanpa satgas utama" in page and "RW 002" in page

    response = client.post(f"/admin/satgas/{satgas}/ketersediaan", data={"available": "0"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, satgas).available is False
    assert client.post(f"/admin/satgas/{satgas}/ketersediaan", data={"available": "0"}).status_code == 303
    assert client.post(f"/admin/satgas/{satgas}/ketersediaan", data={"available": "x"}).status_code == 422
    assert client.post(f"/admin/satgas/{satgas}/ketersediaan", data={"available": "1"}).status_code == 303
    with app.app_context():
        assert db.session.get(User, satgas).available is True


def test_forms_need_csrf(csrf_app, make_staff):
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(make_staff("admin"))
        session["_fresh"] = True
    assert client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "903"}).status_code == 400
    page = client.get(f"/admin/kelurahan/{KEL}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/admin/kelurahan/{KEL}/rw", data={"rw-number": "903", "csrf_token": token})
    assert response.status_code == 303
    with csrf_app.app_context():
        assert db.session.scalar(select(RW.id).where(RW.kelurahan_code == KEL, RW.number == 903)) is not None
