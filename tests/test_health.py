"""/healthz and /readyz, and the database engine settings (SQLite WAL + busy timeout, PostgreSQL pre-ping)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from eopen import create_app
from eopen.extensions import db
from eopen.models import OutboxMessage
from eopen.models.base import utcnow


def test_healthz_answers_without_the_database(database, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/x.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_reports_database_storage_and_outbox_backlog(app, client, make_resident):
    user_id = make_resident()
    with app.app_context():
        old = utcnow() - timedelta(minutes=10)
        db.session.add_all([
            OutboxMessage(user_id=user_id, channel="log", address="x", body="a", created_at=old),
            OutboxMessage(user_id=user_id, channel="log", address="x", body="b"),
            OutboxMessage(user_id=user_id, channel="log", address="x", body="c", status="sent",
                          created_at=old - timedelta(days=1)),
        ])
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["database"] == "ok" and body["storage"] == "ok"
    assert body["outbox"]["pending"] == 2
    assert 590 <= body["outbox"]["oldest_seconds"] <= 700
    if "siak" in body:  # the SIAK hand-off table, where it exists
        assert body["siak"]["pending"] == 0
    # nothing personal in it
    assert "x" not in {str(v) for v in body.values()}


def test_readyz_fails_when_the_outbox_is_too_old_if_a_limit_is_set(app, client, make_resident):
    user_id = make_resident()
    app.config["READY_OUTBOX_MAX_AGE"] = 60
    with app.app_context():
        db.session.add(OutboxMessage(user_id=user_id, channel="log", address="x", body="a",
                                     created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["outbox"]["status"] == "backlog"


def test_readyz_503_when_storage_is_not_writable(app, client, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app.config["UPLOAD_FOLDER"] = str(blocker / "uploads")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["storage"] == "error" and body["database"] == "ok"


def test_readyz_503_when_the_database_is_unreachable(database, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "UPLOAD_FOLDER": str(tmp_path / "u"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/x.db"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "error" and body["storage"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_leaves_no_probe_file_behind(app, client):
    assert client.get("/readyz").status_code == 200
    import os
    assert os.listdir(app.config["UPLOAD_FOLDER"]) == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_in_memory_sqlite_skips_wal(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "memory"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_postgresql_pool_is_pre_pinged(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (EOPEN_TEST_DATABASE_URL)")
        assert db.engine.pool._pre_ping is True
        assert db.engine.pool.size() == 10
        assert db.engine.pool._recycle == 1800
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1


def test_postgresql_engine_options_are_set_per_url(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:1/none"})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["pool_size"] == 10 and options["max_overflow"] == 10 and options["pool_recycle"] == 1800
    with app.app_context():
        assert db.engine.pool._pre_ping is True
