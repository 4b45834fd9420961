"""`flask eopen sweep`: unreferenced upload files older than the limit go, rows with a missing file are reported."""
from __future__ import annotations

import os
import time
from sqlalchemy import select

from eopen.extensions import db
from eopen.models import Handover, RequestDocument, ServiceRequest
from eopen.models.base import utcnow
from eopen.services import maintenance, uploads

HOUR = 3600


def _age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def _document(app, request_id, user_id, data=b"%PDF-1.4 test\n%%EOF\n", code="ktp"):
    with app.app_context():
        name = uploads.store(app.config["UPLOAD_FOLDER"], data, "pdf")
        req = db.session.get(ServiceRequest, request_id)
        req.documents.append(RequestDocument(requirement_code=code, storage_name=name, uploaded_by_id=user_id,
                                             content_type="application/pdf", size=len(data)))
        db.session.commit()
        return name


def test_sweep_deletes_old_orphans_keeps_young_ones_and_referenced_files(app, make_resident, make_request):
    user_id = make_resident()
    request_id = make_request(user_id)
    root = app.config["UPLOAD_FOLDER"]
    referenced = _document(app, request_id, user_id)
    _age(uploads.path_of(root, referenced), 5 * HOUR)  # old, but referenced: kept
    old_orphan = uploads.store(root, b"%PDF-old", "pdf")
    _age(uploads.path_of(root, old_orphan), 2 * HOUR)
    young_orphan = uploads.store(root, b"%PDF-young", "pdf")
    _age(uploads.path_of(root, young_orphan), 10 * 60)
    leftover = uploads.path_of(root, old_orphan).parent / ".tmp-abc.part"  # a write that never finished
    leftover.write_bytes(b"half")
    _age(leftover, 2 * HOUR)
    foreign = os.path.join(root, "README.txt")  # not ours: never deleted
    with open(foreign, "w") as fh:
        fh.write("keep")
    _age(foreign, 10 * HOUR)

    with app.app_context():
        report = maintenance.sweep(root, older_than=HOUR)

    assert report.scanned == 5
    assert report.referenced == 1
    assert report.too_young == 1
    assert sorted(report.orphans) == sorted([f"{old_orphan[:2]}/{old_orphan}",
                                             leftover.relative_to(root).as_posix()])
    assert report.orphan_bytes == len(b"%PDF-old") + len(b"half")
    assert report.foreign == ["README.txt"]
    assert report.missing == []
    assert uploads.path_of(root, referenced).is_file()
    assert uploads.path_of(root, young_orphan).is_file()
    assert not leftover.exists() and os.path.exists(foreign)
    try:
        uploads.path_of(root, old_orphan)
        raise AssertionError("the old orphan is still there")
    except FileNotFoundError:
        pass


def test_dry_run_deletes_nothing(app):
    root = app.config["UPLOAD_FOLDER"]
    orphan = uploads.store(root, b"%PDF-old", "pdf")
    _age(uploads.path_of(root, orphan), 2 * HOUR)
    with app.app_context():
        report = maintenance.sweep(root, older_than=HOUR, dry_run=True)
    assert report.orphans == [f"{orphan[:2]}/{orphan}"]
    assert uploads.path_of(root, orphan).is_file()


def test_rows_whose_file_is_missing_are_reported_and_kept(app, make_resident, make_request, make_staff):
    user_id = make_resident()
    request_id = make_request(user_id)
    root = app.config["UPLOAD_FOLDER"]
    name = _document(app, request_id, user_id)
    uploads.delete(root, name)
    staff_id = make_staff("satgas")
    with app.app_context():
        gone = "ab" + "0" * 30 + ".jpg"
        handover = Handover(request_id=request_id, from_type="resident", from_user_id=user_id, to_type="satgas",
                            to_user_id=staff_id, recorded_by_id=staff_id, method="code", happened_at=utcnow(),
                            photo_storage_name=gone)
        db.session.add(handover)
        db.session.commit()
        report = maintenance.sweep(root, older_than=HOUR)
        missing = {(m.table, m.column, m.storage_name) for m in report.missing}
        assert ("request_document", "storage_name", name) in missing
        assert ("handover", "photo_storage_name", gone) in missing
        assert db.session.scalar(select(RequestDocument).where(RequestDocument.storage_name == name)) is not None


def test_file_columns_cover_documents_issued_pdfs_and_handover_photos(app):
    with app.app_context():
        columns = set(maintenance.file_columns())
    assert {("request_document", "storage_name"), ("issued_document", "storage_name"),
            ("handover", "photo_storage_name")} <= columns


def test_sweep_command(app, make_resident, make_request):
    root = app.config["UPLOAD_FOLDER"]
    orphan = uploads.store(root, b"%PDF-old", "pdf")
    _age(uploads.path_of(root, orphan), 2 * HOUR)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["eopen", "sweep", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 unreferenced (would delete" in result.output and orphan in result.output
    assert uploads.path_of(root, orphan).is_file()
    result = runner.invoke(args=["eopen", "sweep", "--older-than", str(3 * HOUR)])
    assert result.exit_code == 0 and "0 unreferenced" in result.output
    assert uploads.path_of(root, orphan).is_file()
    result = runner.invoke(args=["eopen", "sweep"])
    assert result.exit_code == 0 and "1 unreferenced (deleted" in result.output
    assert not os.path.exists(os.path.join(root, orphan[:2], orphan))
