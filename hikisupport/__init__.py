"""hikisupport: the ward's ひきこもりサポーター programme, end to end.

``create_app(config=None)`` builds the Flask application; gunicorn's entry point is
``hikisupport:create_app()``.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from hikisupport import cli, errors, security
from hikisupport.database import sqlite_engine_options
from hikisupport.extensions import csrf, db, mail, migrate
from hikisupport.logs import install_redaction
from hikisupport.routing import CONVERTERS
from hikisupport.staff import auth as staff_auth
from hikisupport.templating import register_template_helpers

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: object | dict | None = None) -> Flask:
    """Build the app. `config`: None (APP_ENV), a config class, or a dict of overrides."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _load_config(app, config)
    app.url_map.converters.update(CONVERTERS)
    _register_extensions(app)
    _register_blueprints(app)
    errors.register(app)
    security.register(app)
    register_template_helpers(app)
    cli.register(app)
    install_redaction(app)
    return app


def _load_config(app: Flask, config: object | dict | None) -> None:
    env = os.environ.get("APP_ENV", "development")
    overrides: dict = {}
    if isinstance(config, dict):
        if config.get("TESTING"):
            env = "testing"
        overrides = config
        config = None
    config_class = config or config_module.CONFIGS.get(env)
    if config_class is None:
        raise RuntimeError(f"APP_ENV={env!r}: use development or production")
    if hasattr(config_class, "check"):
        config_class.check()
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.config["WTF_I18N_ENABLED"] = False

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        path = Path(app.instance_path) / "hikisupport.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.update(sqlite_engine_options(app.config["SQLITE_BUSY_TIMEOUT_MS"]))
    else:
        # A server connection can drop (restart, failover, idle timeout): test it on checkout.
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _register_extensions(app: Flask) -> None:
    db.init_app(app)
    # Sessions are request-scoped (see extensions._session_scope): end each with its request.
    app.teardown_request(lambda exc: db.session.remove())
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    staff_auth.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind the ward's reverse proxy: the client's address (for the audit log) and the
        # scheme come from its X-Forwarded-* headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_blueprints(app: Flask) -> None:
    from hikisupport.api.views import bp as api_bp
    from hikisupport.events.staff_views import bp as staff_events_bp
    from hikisupport.events.views import bp as events_bp
    from hikisupport.health import bp as health_bp
    from hikisupport.mail.views import bp as staff_mail_bp
    from hikisupport.registration.staff_views import bp as staff_registrations_bp
    from hikisupport.registration.views import bp as registration_bp
    from hikisupport.staff.views import bp as staff_bp

    for blueprint in (
        events_bp,
        registration_bp,
        health_bp,
        staff_bp,
        staff_events_bp,
        staff_registrations_bp,
        staff_mail_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)
