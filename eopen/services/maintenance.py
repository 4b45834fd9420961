"""Keeping uploads and database consistent, backing both up online, and serving with a graceful stop.

Files and rows: `uploads.store()` writes a file completely (temporary name, fsync, rename) before a
row may name it, and the row is committed only after that. So a file can exist without a row (the
transaction was rolled back, a document was replaced, the process died), never the other way round
unless someone deleted files by hand. `sweep()` removes the first kind once it is old enough that no
transaction can still be about to reference it, and reports the second kind (it never deletes rows).

Every column that names a stored file ends in "storage_name" (RequestDocument.storage_name,
IssuedDocument.storage_name, Handover.photo_storage_name, …); they are found in the metadata, so a new
one is swept and backed up without changes here.

Backups: the database snapshot is taken FIRST (SQLite's online backup API, or pg_dump inside an
exported snapshot), and only then are the upload files copied. A row in the snapshot was committed
before the snapshot, and its file was completely written before the row was committed, so every file
the snapshot references already existed when the copy began. Files written during the copy are
copied or not — either way harmless: the snapshot does not reference them (the sweep removes them
after a restore). The one race left is a file deleted between snapshot and copy (a replaced document
whose old file is removed after commit): the backup lists such names under "missing_files".
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from ..models.base import utcnow
from . import uploads

_STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|pdf)")
_TEMP_FILE = re.compile(r"\.(?:tmp|ready)-.*\.part")
MANIFEST = "manifest.json"
CHECKSUMS = "files.sha256"
FILES_DIR = "uploads"
FORMAT = 1


class MaintenanceError(Exception):
    """A backup or restore that cannot go on; the message says why (for the operator, in English)."""


# --- which columns name files ---------------------------------------------------------------


def file_columns() -> list[tuple[str, str]]:
    """(table, column) of every column that names a stored upload."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name == "storage_name" or column.name.endswith("_storage_name"):
                found.append((table.name, column.name))
    return found


def _referencing_rows(execute) -> list[tuple[str, str, object, str]]:
    """(table, column, id, storage_name) of every row naming a file, through execute(sql) -> rows."""
    rows = []
    for table, column in file_columns():
        key = db.metadata.tables[table].primary_key.columns.values()[0].name
        for row_id, name in execute(f'SELECT "{key}", "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'):
            rows.append((table, column, row_id, name))
    return rows


# --- sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingFile:
    table: str
    column: str
    row_id: object
    storage_name: str


@dataclass
class SweepReport:
    scanned: int = 0  # files found under the upload folder
    referenced: int = 0  # of which some row names them
    too_young: int = 0  # unreferenced, but younger than the limit: kept
    orphans: list[str] = field(default_factory=list)  # relative paths deleted (or to delete, in a dry run)
    orphan_bytes: int = 0
    foreign: list[str] = field(default_factory=list)  # files that are no stored upload: kept, listed
    missing: list[MissingFile] = field(default_factory=list)  # rows whose file is not there
    dry_run: bool = False


def sweep(root: str | os.PathLike, older_than: int = 3600, dry_run: bool = False, now: float | None = None) -> SweepReport:
    """Delete files under root that no row references and that are older than `older_than` seconds.

    The list of referenced names is read before the folder is walked, so a file stored and referenced
    meanwhile is younger than the limit and left alone. Rows are never changed; rows whose file is
    missing are reported.
    """
    root = pathlib.Path(root)
    now = time.time() if now is None else now
    rows = _referencing_rows(lambda sql: db.session.execute(text(sql)).all())
    referenced = {name for _t, _c, _id, name in rows}
    report = SweepReport(dry_run=dry_run)
    for path in _walk(root):
        report.scanned += 1
        relative = path.relative_to(root).as_posix()
        if path.name in referenced and path.parent.name == path.name[:2]:
            report.referenced += 1
            continue
        ours = _STORED_NAME.fullmatch(path.name) or _TEMP_FILE.fullmatch(path.name)
        if not ours:
            report.foreign.append(relative)
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if now - stat.st_mtime < older_than:
            report.too_young += 1
            continue
        report.orphans.append(relative)
        report.orphan_bytes += stat.st_size
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for table, column, row_id, name in rows:
        try:
            uploads.path_of(root, name)
        except FileNotFoundError:
            report.missing.append(MissingFile(table, column, row_id, name))
    return report


def _walk(root: pathlib.Path):
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield pathlib.Path(dirpath) / name


# --- backup ---------------------------------------------------------------------------------


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_archive(path: str | os.PathLike) -> bool:
    return str(path).endswith((".tar.gz", ".tgz"))


def _pg_env(url) -> dict[str, str]:
    """libpq environment variables for a database URL (keeps the password off the command line)."""
    env = dict(os.environ)
    parts = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
             "PGDATABASE": url.database}
    for key, value in parts.items():
        if value is not None:
            env[key] = str(value)
    for option, key in (("sslmode", "PGSSLMODE"), ("host", "PGHOST"), ("port", "PGPORT")):
        value = url.query.get(option)
        if value:
            env[key] = value if isinstance(value, str) else value[0]
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise MaintenanceError(f"{command[0]} is not installed (the PostgreSQL client tools are needed)")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MaintenanceError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _alembic_revision(execute) -> str | None:
    try:
        rows = execute("SELECT version_num FROM alembic_version")
    except Exception:  # noqa: BLE001 — a database made without migrations
        return None
    return ",".join(sorted(str(r[0]) for r in rows)) or None


def _snapshot_sqlite(work: pathlib.Path) -> tuple[str, list, int, str | None]:
    """Copy the live SQLite database with the online backup API; read the references from the copy."""
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise MaintenanceError("an in-memory SQLite database cannot be backed up")
    target = work / "database.sqlite3"
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent read transaction
    finally:
        source.close()
    try:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        execute = lambda sql: copy.execute(sql).fetchall()  # noqa: E731
        rows = _referencing_rows(execute)
        requests = copy.execute("SELECT count(*) FROM service_request").fetchone()[0]
        revision = _alembic_revision(execute)
    finally:
        copy.close()
    return target.name, rows, requests, revision


def _snapshot_postgresql(work: pathlib.Path) -> tuple[str, list, int, str | None]:
    """pg_dump inside a snapshot exported by a REPEATABLE READ transaction that also reads the references."""
    target = work / "database.dump"
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            execute = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
            rows = _referencing_rows(execute)
            requests = conn.execute(text("SELECT count(*) FROM service_request")).scalar_one()
            with conn.begin_nested():
                revision = _alembic_revision(execute)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}"], _pg_env(db.engine.url))
    return target.name, rows, requests, revision


def backup(dest: str | os.PathLike) -> dict:
    """Back up the database, then the upload folder, to dest (a new or empty directory, or a .tar.gz).

    Safe while the app runs; see the module's docstring for why the order gives a consistent pair.
    Returns the manifest.
    """
    dest = pathlib.Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise MaintenanceError(f"{dest} exists and is not an empty directory")
    archive = _is_archive(dest)
    with contextlib.ExitStack() as stack:
        if archive:
            work = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eopen-backup-")))
        else:
            dest.mkdir(parents=True, exist_ok=True)
            work = dest
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            db_file, rows, requests, revision = _snapshot_sqlite(work)
        elif dialect == "postgresql":
            db_file, rows, requests, revision = _snapshot_postgresql(work)
        else:  # pragma: no cover
            raise MaintenanceError(f"no backup for {dialect} databases")
        root = pathlib.Path(current_app.config["UPLOAD_FOLDER"])
        files_dir = work / FILES_DIR
        files_dir.mkdir()
        checksums = []
        for path in _walk(root):  # after the snapshot, file by file
            if not _STORED_NAME.fullmatch(path.name):
                continue  # temporary and foreign files are no part of a backup
            relative = path.relative_to(root)
            target = files_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, target)
            except FileNotFoundError:  # deleted meanwhile (an orphan the sweep took, a replaced document)
                continue
            checksums.append(f"{_sha256(target)}  {relative.as_posix()}\n")
        (work / CHECKSUMS).write_text("".join(checksums))
        copied = {line.rsplit("/", 1)[-1].strip() for line in checksums}
        missing = sorted({name for _t, _c, _id, name in rows if name not in copied})
        manifest = {
            "format": FORMAT,
            "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            "app_version": _app_version(),
            "alembic_revision": revision,
            "database": {"dialect": dialect, "file": db_file, "sha256": _sha256(work / db_file)},
            "counts": {"requests": int(requests), "referenced_files": len({r[3] for r in rows}),
                       "files": len(checksums)},
            "missing_files": missing,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if archive:
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + ".part")
            with tarfile.open(partial, "w:gz") as tar:
                for item in sorted(work.iterdir()):
                    tar.add(item, arcname=item.name)
            os.replace(partial, dest)
    return manifest


def _app_version() -> str:
    try:
        return importlib_metadata.version("eopen")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


# --- restore --------------------------------------------------------------------------------


def _instance_is_empty() -> bool:
    root = pathlib.Path(current_app.config["UPLOAD_FOLDER"])
    if any(_STORED_NAME.fullmatch(p.name) for p in _walk(root)):
        return False
    with db.engine.connect() as conn:
        for table in ("service_request", "user"):
            try:
                with conn.begin():
                    if conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one():
                        return False
            except Exception:  # noqa: BLE001 — no such table yet: a fresh database
                continue
    return True


def restore(src: str | os.PathLike, force: bool = False) -> dict:
    """Bring back a backup: the database (replacing this instance's) and the upload files.

    Refuses a database or upload folder that holds data unless force. Checks the database file's and
    every file's sha256 against the backup first. Returns the backup's manifest.
    """
    src = pathlib.Path(src)
    with contextlib.ExitStack() as stack:
        if src.is_file():
            if not tarfile.is_tarfile(src):
                raise MaintenanceError(f"{src} is neither a backup directory nor a .tar.gz")
            work = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eopen-restore-")))
            with tarfile.open(src, "r:gz") as tar:
                tar.extractall(work, filter="data")
        else:
            work = src
        try:
            manifest = json.loads((work / MANIFEST).read_text())
        except (OSError, ValueError) as error:
            raise MaintenanceError(f"{src}: no readable {MANIFEST}") from error
        dialect = db.engine.dialect.name
        if manifest["database"]["dialect"] != dialect:
            raise MaintenanceError(f"the backup holds a {manifest['database']['dialect']} database, "
                                   f"this instance uses {dialect}")
        db_file = work / manifest["database"]["file"]
        if not db_file.is_file() or _sha256(db_file) != manifest["database"]["sha256"]:
            raise MaintenanceError(f"{db_file.name}: missing or damaged (sha256 differs from the manifest)")
        files = _checked_files(work)
        if not force and not _instance_is_empty():
            raise MaintenanceError("this instance already holds data; use --force to overwrite it")
        db.session.remove()
        db.engine.dispose()
        if dialect == "sqlite":
            _restore_sqlite(db_file)
        else:
            _restore_postgresql(db_file)
        db.engine.dispose()
        root = pathlib.Path(current_app.config["UPLOAD_FOLDER"])
        for relative in files:
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
            os.close(fd)
            try:
                shutil.copyfile(work / FILES_DIR / relative, tmp)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
    return manifest


def _checked_files(work: pathlib.Path) -> list[str]:
    files = []
    checksums = work / CHECKSUMS
    lines = checksums.read_text().splitlines() if checksums.is_file() else []
    for line in lines:
        digest, _, relative = line.partition("  ")
        path = work / FILES_DIR / relative
        if ".." in pathlib.PurePosixPath(relative).parts or not _STORED_NAME.fullmatch(path.name):
            raise MaintenanceError(f"{CHECKSUMS}: unexpected entry {relative!r}")
        if not path.is_file() or _sha256(path) != digest:
            raise MaintenanceError(f"{relative}: missing or damaged in the backup")
        files.append(relative)
    return files


def _restore_sqlite(db_file: pathlib.Path) -> None:
    target_path = db.engine.url.database
    if not target_path or target_path == ":memory:":
        raise MaintenanceError("cannot restore into an in-memory SQLite database")
    pathlib.Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(db_file)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target)  # replaces every page of the target, WAL included
    finally:
        target.close()
        source.close()


def _restore_postgresql(db_file: pathlib.Path) -> None:
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={db.engine.url.database}", str(db_file)], _pg_env(db.engine.url))


# --- serving --------------------------------------------------------------------------------


def serve_until_signalled(app, host: str, port: int, threads: int = 8, grace: float = 10.0, ready=None) -> int:
    """Serve app with waitress until SIGTERM or SIGINT, then stop gracefully.

    On the signal the listening socket is closed (no new connections), idle keep-alive connections
    are closed, and requests already arriving or received are finished and their responses sent, for up to
    `grace` seconds. Returns the number of requests still unfinished when the grace ran out (0 normally).
    waitress has no graceful stop of its own; this drives its documented create_server() object and
    the asyncore loop it runs, one short round at a time.
    """
    import waitress
    from waitress import wasyncore
    from waitress.channel import HTTPChannel

    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="eopen",
                                    clear_untrusted_proxy_headers=True)
    stopping = threading.Event()

    def stop(_signum, _frame):
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    channels = lambda: [c for c in list(server._map.values()) if isinstance(c, HTTPChannel)]  # noqa: E731
    try:
        if ready is not None:
            ready(server)
        while not stopping.is_set():
            wasyncore.loop(timeout=0.2, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
        wasyncore.dispatcher.close(server)  # stop listening; the trigger stays for the worker threads
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            busy = 0
            for channel in channels():
                # a request queued or running, a response being sent, or a request (an upload) being received
                if channel.requests or channel.total_outbufs_len or getattr(channel, "request", None) is not None:
                    busy += 1
                else:
                    channel.will_close = True  # idle keep-alive: closed on the next round
            if not busy and not channels():
                break
            wasyncore.loop(timeout=0.1, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
        unfinished = sum(1 for c in channels() if c.requests)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        with contextlib.suppress(OSError):
            server.close()
        wasyncore.close_all(server._map)
        return unfinished
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
