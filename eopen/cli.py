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

    @group.command("serve")
    @click.option("--host", default=None, help="Defaults to EOPEN_HOST or 127.0.0.1.")
    @click.option("--port", default=None, type=int, help="Defaults to EOPEN_PORT or 8000.")
    @click.option("--threads", default=8, type=int)
    def serve(host: str | None, port: int | None, threads: int):
        """Serve the app with waitress."""
        import waitress
        host = host or current_app.config["HOST"]
        port = port or current_app.config["PORT"]
        click.echo(f"E-Open serving on http://{host}:{port}")
        waitress.serve(current_app._get_current_object(), host=host, port=port, threads=threads,
                       clear_untrusted_proxy_headers=True, ident="eopen")
