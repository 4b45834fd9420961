"""E-Open Bekasi: the application factory."""
from __future__ import annotations

import importlib
import os

from flask import Flask, has_request_context, session
from flask_login import current_user

from . import config as config_module
from .extensions import babel, csrf, db, login_manager, migrate


def select_locale() -> str:
    languages = ("id", "en")
    if not has_request_context():  # CLI, background jobs, worker threads: no user, no session
        return "id"
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return "id"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("EOPEN_INSTANCE_PATH") or None)
    app.config.from_object(config_module.Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config_module.from_environment())
    else:
        app.config.update(config_module.from_environment())
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key_for(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "eopen.db")
    app.config.setdefault("UPLOAD_FOLDER", os.path.join(app.instance_path, "uploads"))
    _engine_options(app)

    from . import models  # noqa: F401  (register the tables)

    db.init_app(app)
    _sqlite_pragmas(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    for name in app.config["BLUEPRINTS"]:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)

    from . import cli, errors, web
    errors.register(app)
    web.register(app)
    cli.register(app)
    return app


def _engine_options(app: Flask) -> None:
    """Engine options per database: SQLite waits for a busy lock, PostgreSQL pings and recycles its pool."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": app.config.get("SQLITE_BUSY_TIMEOUT", 5000) / 1000})
    else:
        options.setdefault("pool_pre_ping", True)  # a connection the server dropped is replaced, not an error
        options.setdefault("pool_size", app.config.get("DB_POOL_SIZE", 10))
        options.setdefault("max_overflow", app.config.get("DB_MAX_OVERFLOW", 10))
        options.setdefault("pool_recycle", app.config.get("DB_POOL_RECYCLE", 1800))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://"):]


def _sqlite_pragmas(app: Flask) -> None:
    """Every new SQLite connection: WAL (readers do not block the writer), a busy timeout, foreign keys.

    An in-memory database cannot use WAL; it gets the other two.
    """
    from sqlalchemy import event
    with app.app_context():
        engines = [e for e in db.engines.values() if e.dialect.name == "sqlite"]
    busy = int(app.config.get("SQLITE_BUSY_TIMEOUT", 5000))
    for engine in engines:
        in_memory = engine.url.database in (None, "", ":memory:") or "mode=memory" in str(engine.url)

        def on_connect(dbapi_connection, _record, in_memory=in_memory):
            cursor = dbapi_connection.cursor()
            try:
                if not in_memory:
                    cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={busy}")
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        event.listen(engine, "connect", on_connect)


@login_manager.user_loader
def _load_user(user_id: str):
    from .models import User
    user = db.session.get(User, int(user_id))
    return user if user and user.active else None
