"""`flask eopen backup` / `restore`: an online backup restored into a fresh instance has every request and file."""
from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from eopen import create_app
from eopen.extensions import db
from eopen.models import RequestDocument, ServiceRequest
from eopen.services import maintenance, uploads


def _pdf(seed: str) -> bytes:
    return f"%PDF-1.4\n% {seed}\n".encode() + os.urandom(2048) + b"\n%%EOF\n"


def _attach(app, request_id, user_id, code="ktp"):
    data = _pdf(f"{request_id}-{code}")
    with app.app_context():
        name = uploads.store(app.config["UPLOAD_FOLDER"], data, "pdf")
        req = db.session.get(ServiceRequest, request_id)
        req.documents.append(RequestDocument(requirement_code=code, storage_name=name, uploaded_by_id=user_id,
                                             content_type="application/pdf", size=len(data),
                                             sha256=hashlib.sha256(data).hexdigest()))
        db.session.commit()
        return name


@pytest.fixture
def fresh(database, tmp_path):
    """A second, empty instance: its own SQLite file (or a new PostgreSQL database) and upload folder."""
    url = make_url(database)
    admin = None
    if url.get_backend_name() == "postgresql":
        name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path}/fresh/eopen.db"
        os.makedirs(tmp_path / "fresh", exist_ok=True)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": target,
                      "UPLOAD_FOLDER": str(tmp_path / "fresh" / "uploads")})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _state(app):
    """{tracking_no: {storage_name: sha256 recorded in the row}} and the files' actual sha256 on disk."""
    with app.app_context():
        requests = {}
        for req in db.session.scalars(select(ServiceRequest)):
            requests[req.tracking_no] = {d.storage_name: d.sha256 for d in req.documents if d.storage_name}
        on_disk = {}
        for docs in requests.values():
            for name in docs:
                try:
                    on_disk[name] = hashlib.sha256(uploads.path_of(app.config["UPLOAD_FOLDER"], name).read_bytes()).hexdigest()
                except FileNotFoundError:
                    on_disk[name] = None
        db.session.remove()
    return requests, on_disk


@pytest.mark.parametrize("archive", [False, True], ids=["directory", "tar.gz"])
def test_backup_while_writing_restores_every_request_and_file(app, fresh, make_resident, make_request, tmp_path, archive):
    user_id = make_resident()
    before = []
    for i in range(6):
        request_id = make_request(user_id)
        _attach(app, request_id, user_id, "ktp")
        if i % 2:
            _attach(app, request_id, user_id, "kk")
        before.append(request_id)
    # an orphan (an upload whose transaction was rolled back) is no part of the backup's promise
    uploads.store(app.config["UPLOAD_FOLDER"], _pdf("orphan"), "pdf")

    stop = threading.Event()
    written = []
    errors = []

    def keep_writing():
        try:
            while not stop.is_set():
                request_id = make_request(user_id)
                _attach(app, request_id, user_id)
                written.append(request_id)
        except Exception as error:  # noqa: BLE001 — reported by the test below
            errors.append(error)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 2 and not errors:  # the backup starts while writes are going on
            threading.Event().wait(0.01)
        dest = tmp_path / ("backup.tar.gz" if archive else "backup")
        with app.app_context():
            manifest = maintenance.backup(dest)
            db.session.remove()
        during = len(written)
    finally:
        stop.set()
        writer.join(10)
    assert not errors, errors
    assert during >= 2 and len(written) >= during

    source_requests, _ = _state(app)
    with fresh.app_context():
        restored_manifest = maintenance.restore(dest)
    assert restored_manifest == manifest
    restored, on_disk = _state(fresh)

    # every request made before the backup is there, with its documents, and nothing that never existed
    with app.app_context():
        before_numbers = {db.session.get(ServiceRequest, i).tracking_no for i in before}
    assert before_numbers <= set(restored)
    assert set(restored) <= set(source_requests)
    assert len(restored) == manifest["counts"]["requests"] >= len(before) + 2
    for number, docs in restored.items():
        # the writer adds a request and its document in two transactions: the snapshot may fall between
        if number in before_numbers:
            assert docs == source_requests[number] and docs
        assert docs.items() <= source_requests[number].items()
    # every file a restored row references is there with the same content
    assert on_disk and all(on_disk[name] == digest for docs in restored.values() for name, digest in docs.items())
    assert manifest["missing_files"] == []
    assert manifest["counts"]["referenced_files"] == len(on_disk)
    assert manifest["alembic_revision"]
    assert len(manifest["database"]["sha256"]) == 64


def test_restore_refuses_an_instance_with_data_unless_forced(app, make_resident, make_request, tmp_path):
    user_id = make_resident()
    request_id = make_request(user_id)
    name = _attach(app, request_id, user_id)
    with app.app_context():
        maintenance.backup(tmp_path / "b")
        with pytest.raises(maintenance.MaintenanceError, match="--force"):
            maintenance.restore(tmp_path / "b")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["eopen", "restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "--force" in result.output
    # forced: the deleted file comes back
    uploads.delete(app.config["UPLOAD_FOLDER"], name)
    result = runner.invoke(args=["eopen", "restore", "--force", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert uploads.path_of(app.config["UPLOAD_FOLDER"], name).is_file()


def test_backup_refuses_a_non_empty_destination_and_restore_a_damaged_backup(app, fresh, make_resident, make_request, tmp_path):
    user_id = make_resident()
    name = _attach(app, make_request(user_id), user_id)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with app.app_context():
        with pytest.raises(maintenance.MaintenanceError, match="not an empty directory"):
            maintenance.backup(tmp_path / "full")
        manifest = maintenance.backup(tmp_path / "b")
    copy = tmp_path / "b" / "uploads" / name[:2] / name
    copy.write_bytes(b"%PDF-tampered")
    with fresh.app_context(), pytest.raises(maintenance.MaintenanceError, match="damaged"):
        maintenance.restore(tmp_path / "b")
    (tmp_path / "b" / manifest["database"]["file"]).write_bytes(b"garbage")
    with fresh.app_context(), pytest.raises(maintenance.MaintenanceError, match="damaged"):
        maintenance.restore(tmp_path / "b")


def test_backup_command_writes_a_manifest(app, make_resident, make_request, tmp_path):
    user_id = make_resident()
    _attach(app, make_request(user_id), user_id)
    result = app.test_cli_runner().invoke(args=["eopen", "backup", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert manifest["counts"] == {"requests": 1, "referenced_files": 1, "files": 1}
    assert manifest["app_version"] and manifest["created_at"].endswith("Z")
    db_file = tmp_path / "cli" / manifest["database"]["file"]
    assert hashlib.sha256(db_file.read_bytes()).hexdigest() == manifest["database"]["sha256"]
