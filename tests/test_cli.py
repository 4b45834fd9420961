"""The `flask eopen …` commands: seeding is idempotent, holiday overrides change the SLA calendar."""
from datetime import date

from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import FieldJob, HolidayOverride, Region, ServiceRequest, User
from eopen.services import sla


def test_seed_twice_changes_nothing(app, tmp_path):
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["eopen", "seed"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
        regions = db.session.scalar(select(func.count(Region.code)))
    second = runner.invoke(args=["eopen", "seed"])
    assert second.exit_code == 0 and "0 new region rows" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users == 9
        assert db.session.scalar(select(func.count(Region.code))) == regions
        # One submitted demo request (three generated documents) for the back office to work on.
        demo = db.session.scalars(select(ServiceRequest)).all()
        assert [(r.service_code, r.status, len(r.documents)) for r in demo] == [("akta_kelahiran", "submitted", 3)]
        # The demo satgas covers the demo RW and has the demo request's pickup job (once).
        jobs = db.session.scalars(select(FieldJob)).all()
        satgas = db.session.scalar(select(User).where(User.username == "satgas.bekasijaya"))
        assert [(j.kind, j.status, j.satgas_id) for j in jobs] == [("pickup", "requested", satgas.id)]
    # The same passwords are printed both times, one account per role.
    assert first.output.split("Demo accounts")[1] == second.output.split("Demo accounts")[1]
    for role in ("resident", "institution", "satgas", "operator", "penyelia", "kasi", "kabid", "kadis", "admin"):
        assert f"  {role} " in second.output


def test_holiday_override_commands(app):
    runner = app.test_cli_runner()
    monday = date(2026, 12, 28)
    with app.app_context():
        assert sla.is_working_day(monday)
    out = runner.invoke(args=["eopen", "holiday", "add", "2026-12-28", "Cuti bersama tambahan"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        assert not sla.is_working_day(monday)
    out = runner.invoke(args=["eopen", "holiday", "list", "--year", "2026"])
    assert "2026-12-28" in out.output and "2026-12-25" in out.output
    assert runner.invoke(args=["eopen", "holiday", "remove", "2026-12-28"]).exit_code == 0
    assert runner.invoke(args=["eopen", "holiday", "remove", "2026-12-28"]).exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HolidayOverride)) == 0
        assert sla.is_working_day(monday)
