"""`flask --app eopen eopen …` commands: seed reference and demo data, serve with waitress."""
from __future__ import annotations

import click
from flask import Flask, current_app

from .extensions import db


def register(app: Flask) -> None:
    @app.cli.group("eopen")
    def group():
        """E-Open administration commands."""

    @group.command("seed")
    @click.option("--demo/--no-demo", default=True, help="Also load the demo users and households.")
    def seed(demo: bool):
        """Load reference data (regions) and, by default, the demo data set. Idempotent."""
        from .services import demo as demo_data
        from .services import reference
        added = reference.load_regions()
        db.session.commit()
        click.echo(f"Reference data: {added} new region rows.")
        if demo:
            accounts = demo_data.load_demo(current_app.instance_path)
            db.session.commit()
            click.echo("Demo accounts (log in at /masuk):")
            for row in accounts:
                click.echo(f"  {row['role']:<12} {row['login']:<22} {row['password']}   {row['name']}")

    @group.group("holiday")
    def holiday():
        """Corrections to the holiday calendar (extra cuti bersama, or a listed holiday that is worked)."""

    @holiday.command("add")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.argument("name")
    @click.option("--workday", is_flag=True, help="The day is worked although the calendar lists it as a holiday.")
    def holiday_add(day, name: str, workday: bool):
        """Add or change the override for DAY (YYYY-MM-DD)."""
        from .models import HolidayOverride
        row = db.session.get(HolidayOverride, day.date()) or HolidayOverride(day=day.date())
        row.is_holiday = not workday
        row.name = name
        db.session.add(row)
        db.session.commit()
        click.echo(f"{row.day}: {'working day' if workday else 'holiday'} ({name})")

    @holiday.command("remove")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    def holiday_remove(day):
        """Remove the override for DAY; the national calendar applies again."""
        from .models import HolidayOverride
        row = db.session.get(HolidayOverride, day.date())
        if row is None:
            raise click.ClickException(f"no override for {day.date()}")
        db.session.delete(row)
        db.session.commit()
        click.echo(f"{day.date()}: override removed")

    @holiday.command("list")
    @click.option("--year", type=int, default=None, help="Also list the national holidays of this year.")
    def holiday_list(year: int | None):
        """List the overrides (and, with --year, the calendar the SLA clock uses)."""
        from sqlalchemy import select

        from .models import HolidayOverride
        from .services import sla
        for row in db.session.scalars(select(HolidayOverride).order_by(HolidayOverride.day)):
            click.echo(f"{row.day}  {'holiday' if row.is_holiday else 'working day'}  {row.name}  (override)")
        if year:
            for day in sorted(sla.holidays_in(year)):
                click.echo(f"{day}  holiday  {sla.holiday_name(day)}")

    @group.command("revoke")
    @click.argument("number")
    @click.option("--reason", required=True, help="Why the document is void (shown on the verification page).")
    def revoke(number: str, reason: str):
        """Revoke the issued document NUMBER: its QR code then shows "Dicabut"."""
        from .services import issuing
        document = issuing.find(issuing.normalise_number(number))
        if document is None:
            raise click.ClickException(f"no issued document {number}")
        if not reason.strip():
            raise click.ClickException("--reason must not be empty")
        already = document.revoked_at is not None
        issuing.revoke(document, None, reason)
        db.session.commit()
        click.echo(f"{document.number}: {'already revoked' if already else 'revoked'} ({document.revoked_at:%Y-%m-%d %H:%M} UTC)")

    @group.command("siak-simulator")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=8090, type=int)
    @click.option("--latency", default=0.0, type=float, help="Seconds each call takes.")
    @click.option("--error-rate", default=0.0, type=float, help="Share of calls answered 500 (0–1).")
    @click.option("--timeout-rate", default=0.0, type=float, help="Share of calls answered too late (0–1).")
    @click.option("--timeout-sleep", default=30.0, type=float, help="Seconds a late answer takes.")
    @click.option("--maintenance", multiple=True, help="A window START/END in UTC (ISO), answered 503; repeatable.")
    @click.option("--seed", default=None, type=int, help="Seed for the random faults (a repeatable run).")
    @click.option("--token", default="", help="Require 'Authorization: Bearer TOKEN'.")
    def siak_simulator(host, port, latency, error_rate, timeout_rate, timeout_sleep, maintenance, seed, token):
        """Serve the SIAK simulator (docs/siak-api.md); settings change at POST /_admin/settings."""
        from werkzeug.serving import run_simple

        from .siak_simulator import Simulator
        try:
            app = Simulator(latency=latency, error_rate=error_rate, timeout_rate=timeout_rate,
                            timeout_sleep=timeout_sleep, windows=list(maintenance), seed=seed, token=token)
        except ValueError as error:
            raise click.ClickException(str(error))
        click.echo(f"SIAK simulator on http://{host}:{port} (EOPEN_SIAK_URL); state at /_admin/state")
        run_simple(host, port, app, threaded=True)

    @group.command("worker")
    @click.option("--once", is_flag=True, help="Run one round and stop (tests, cron).")
    @click.option("--interval", default=None, type=float, help="Seconds between rounds (EOPEN_WORKER_INTERVAL, 5).")
    def worker(once: bool, interval: float | None):
        """Send the outbox (e-mail, SMS, WhatsApp, log) with retries, and run Halo Pamor's timers."""
        import signal
        import time

        from .services import outbox
        interval = interval if interval is not None else float(current_app.config.get("WORKER_INTERVAL", 5))
        stopping = []

        def stop(_signum, _frame):
            stopping.append(True)  # finish the current round, then leave

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            click.echo(f"E-Open worker: sending the outbox every {interval:g} s (Ctrl+C stops it)")
        while True:
            try:
                done = outbox.run_round()
            except Exception as error:  # noqa: BLE001 — e.g. the database restarting: try again next round
                db.session.rollback()
                current_app.logger.exception("worker round failed")
                if once:
                    raise click.ClickException(f"worker round failed: {error}")
            else:
                if done.total or once:
                    click.echo(f"outbox: {done.sent} sent, {done.retried} to retry, {done.dead} dead")
                if done.siak is not None and (done.siak.total or once):
                    click.echo(f"siak: {done.siak.confirmed} confirmed, {done.siak.retried} to retry, "
                               f"{done.siak.dead} dead")
            finally:
                db.session.remove()
            if once:
                return
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
            if stopping:
                click.echo("E-Open worker stopped")
                return

    @group.command("serve")
    @click.option("--host", default=None, help="Defaults to EOPEN_HOST or 127.0.0.1.")
    @click.option("--port", default=None, type=int, help="Defaults to EOPEN_PORT or 8000.")
    @click.option("--threads", default=8, type=int)
    @click.option("--grace", default=None, type=float,
                  help="Seconds in-flight requests may take after SIGTERM/SIGINT (EOPEN_SHUTDOWN_GRACE, 10).")
    def serve(host: str | None, port: int | None, threads: int, grace: float | None):
        """Serve the app with waitress; SIGTERM or Ctrl+C stops it gracefully."""
        from .services import maintenance
        host = host or current_app.config["HOST"]
        port = port or current_app.config["PORT"]
        grace = grace if grace is not None else float(current_app.config.get("SHUTDOWN_GRACE", 10))
        click.echo(f"E-Open serving on http://{host}:{port}")
        unfinished = maintenance.serve_until_signalled(current_app._get_current_object(), host=host, port=port,
                                                       threads=threads, grace=grace)
        click.echo("E-Open stopped" + (f" ({unfinished} request(s) cut off after {grace:g} s)" if unfinished else ""))

    @group.command("sweep")
    @click.option("--older-than", default=None, type=int,
                  help="Seconds; younger unreferenced files are left alone (EOPEN_SWEEP_OLDER_THAN, 3600).")
    @click.option("--dry-run", is_flag=True, help="Only report what would be deleted.")
    def sweep(older_than: int | None, dry_run: bool):
        """Delete upload files no row references; report rows whose file is missing (rows are kept)."""
        from .services import maintenance
        if older_than is None:
            older_than = int(current_app.config.get("SWEEP_OLDER_THAN", 3600))
        report = maintenance.sweep(current_app.config["UPLOAD_FOLDER"], older_than=older_than, dry_run=dry_run)
        db.session.rollback()
        verb = "would delete" if dry_run else "deleted"
        click.echo(f"files: {report.scanned} scanned, {report.referenced} referenced, "
                   f"{len(report.orphans)} unreferenced ({verb}, {report.orphan_bytes} bytes), "
                   f"{report.too_young} unreferenced but younger than {older_than} s (kept), "
                   f"{len(report.foreign)} not ours (kept)")
        for path in report.orphans:
            click.echo(f"  {verb}: {path}")
        for path in report.foreign:
            click.echo(f"  not a stored upload (kept): {path}")
        click.echo(f"rows whose file is missing: {len(report.missing)}")
        for row in report.missing:
            click.echo(f"  {row.table}.{row.column} id={row.row_id}: {row.storage_name}")

    @group.command("backup")
    @click.argument("dest", type=click.Path())
    def backup(dest: str):
        """Back up the database and the uploaded files to DEST (a new directory, or a .tar.gz), online."""
        from .services import maintenance
        try:
            manifest = maintenance.backup(dest)
        except maintenance.MaintenanceError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"backup written to {dest}: {manifest['counts']['requests']} requests, "
                   f"{manifest['counts']['files']} files, database {manifest['database']['file']} "
                   f"(sha256 {manifest['database']['sha256'][:12]}…)")
        if manifest["missing_files"]:
            click.echo(f"warning: {len(manifest['missing_files'])} referenced file(s) were already missing "
                       "(see manifest.json)")

    @group.command("restore")
    @click.argument("src", type=click.Path(exists=True))
    @click.option("--force", is_flag=True, help="Overwrite a database or upload folder that is not empty.")
    def restore(src: str, force: bool):
        """Restore a backup made by `flask eopen backup` into this instance (stop the server first)."""
        from .services import maintenance
        try:
            manifest = maintenance.restore(src, force=force)
        except maintenance.MaintenanceError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"restored {manifest['counts']['requests']} requests and {manifest['counts']['files']} files "
                   f"from the backup of {manifest['created_at']}")
