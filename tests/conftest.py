"""Fixtures in the style of Flask's tutorial: a small `app`/`client`, and factories that return callables.

The database is migrated once per test session (SQLite in a temp folder by default, or the URL in
EOPEN_TEST_DATABASE_URL, e.g. PostgreSQL) and reference data is loaded once; after each test the
tables a test can write to are emptied.
"""
from __future__ import annotations

import itertools
import os
from datetime import date

import pytest
from sqlalchemy import delete, select, text
from werkzeug.security import generate_password_hash

from eopen import create_app
from eopen.extensions import db
from eopen.models import (FaqEntry, HaloMessage, HaloThread, Notification, NotificationPreference, OutboxMessage, CustodyItem, FieldAction, Handover, HandoverCode, handover_item, RT, RW, AccessLog, AssignmentLog, FieldJob, SatgasAssignment, Event, HolidayOverride, Household, IssuedDocument, Person, RequestDocument,
                          ServiceRequest, SiakHandoff, SiakRecord, SigningKey, User)

PASSWORD = "rahasia-123"
_PASSWORD_HASH = generate_password_hash(PASSWORD)
# Emptied after every test, children first. Regions, RWs and RTs are reference data kept for the session.
PER_TEST_TABLES = [OutboxMessage, Notification, NotificationPreference, HaloMessage, HaloThread, FaqEntry, handover_item, Handover, CustodyItem, HandoverCode, FieldAction, FieldJob, AssignmentLog, SatgasAssignment, AccessLog, IssuedDocument, SiakRecord, SiakHandoff, Event, RequestDocument, ServiceRequest, SigningKey, User, Person,
                   Household, HolidayOverride]


def _database_url(tmp_root) -> str:
    return os.environ.get("EOPEN_TEST_DATABASE_URL") or f"sqlite:///{tmp_root}/test.db"


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("db")
    url = _database_url(root)
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"}
    app = create_app(config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        from flask_migrate import upgrade
        upgrade()
        from eopen.services import demo, reference
        reference.load_regions()
        demo.ensure_rws()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database, tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": database,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "SIGNING_KEY_FILE": str(tmp_path / "signing_key.pem"),
        "WTF_CSRF_ENABLED": False,
    })
    yield app
    with app.app_context():
        db.session.rollback()
        for model in PER_TEST_TABLES:
            db.session.execute(delete(model))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def csrf_app(database, tmp_path):
    """The app with CSRF protection on, as in production."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "SIGNING_KEY_FILE": str(tmp_path / "signing_key.pem")})
    yield app
    with app.app_context():
        for model in PER_TEST_TABLES:
            db.session.execute(delete(model))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield app


_serial = itertools.count(1)


def nik_for(birth: date, sex: str, kecamatan: str = "327501") -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{kecamatan}{day:02d}{birth.month:02d}{birth.year % 100:02d}{next(_serial) % 10000 or 1:04d}"


@pytest.fixture
def make_resident(app):
    """make_resident(name=…, kelurahan_code=…, birth_date=…, sex=…) → a resident User with a household."""
    def make(name="Warga Uji", kelurahan_code="32.75.01.1001", birth_date=date(1990, 5, 15), sex="L",
             phone=None, rw_number=1):
        with app.app_context():
            rw = db.session.scalar(select(RW).where(RW.kelurahan_code == kelurahan_code, RW.number == rw_number))
            rt = db.session.scalar(select(RT).where(RT.rw_id == rw.id, RT.number == 1))
            household = Household(no_kk=f"327501100115{next(_serial):04d}",
                                  kelurahan_code=kelurahan_code, rw_id=rw.id, rt_id=rt.id, street="Jl. Uji 1")
            person = Person(nik=nik_for(birth_date, sex), full_name=name, birth_date=birth_date, sex=sex,
                            relation="kepala_keluarga", household=household)
            user = User(role="resident", person=person, display_name=name, password_hash=_PASSWORD_HASH,
                        phone=phone or f"+62812{next(_serial):08d}")
            db.session.add(user)
            db.session.commit()
            return user.id
    return make


@pytest.fixture
def make_staff(app):
    """make_staff("operator", kecamatan_code="32.75.01") → a staff or institution User id."""
    def make(role="operator", kecamatan_code=None, username=None):
        with app.app_context():
            user = User(role=role, username=username or f"{role}{next(_serial)}", display_name=role.title(),
                        password_hash=_PASSWORD_HASH, kecamatan_code=kecamatan_code,
                        institution_kind="perangkat_daerah" if role == "institution" else None)
            db.session.add(user)
            db.session.commit()
            return user.id
    return make


@pytest.fixture
def make_request(app):
    """make_request(applicant_id, service="akta_kelahiran", status="submitted") → a ServiceRequest id.

    Sets the status directly (a fixture, not a transition), for tests that need a request in a state.
    """
    def make(applicant_id, service="akta_kelahiran", variant=None, status="submitted", kelurahan_code=None):
        from eopen.services import numbers
        from eopen.services.catalogue import get_catalogue
        with app.app_context():
            applicant = db.session.get(User, applicant_id)
            subject = applicant.person
            variant = variant or get_catalogue().service(service).variants[0].code
            req = ServiceRequest(
                tracking_no=numbers.new_tracking_no(), service_code=service, variant_code=variant, status=status,
                applicant_id=applicant_id, subject_person_id=subject.id if subject else None,
                subject_name=subject.full_name if subject else "Orang Lain", subject_nik=subject.nik if subject else None,
                subject_birth_date=subject.birth_date if subject else date(2000, 1, 1),
                subject_sex=subject.sex if subject else "L",
                kelurahan_code=kelurahan_code or (subject.household.kelurahan_code if subject else "32.75.01.1001"),
                rw_id=subject.household.rw_id if subject and not kelurahan_code else None,
                data={})
            db.session.add(req)
            db.session.commit()
            return req.id
    return make


@pytest.fixture
def login(client):
    """login(user_id): sign the test client in without going through the form."""
    def do(user_id, c=None):
        with (c or client).session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
    return do


@pytest.fixture
def siak_round(app):
    """siak_round(): one run of the worker's SIAK step — approval only hands a request off to SIAK
    (sent_to_siak); the worker's confirmed answer issues it."""
    def run():
        from eopen.services import siak
        with app.test_request_context():
            done = siak.deliver_due()
            db.session.remove()
        return done
    return run
