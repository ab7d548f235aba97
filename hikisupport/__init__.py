"""hikisupport: the ward's ひきこもりサポーター programme, end to end.

``create_app(config=None)`` builds the Flask application; gunicorn's entry point is
``hikisupport:create_app()``. The factory is the one place that wires the areas together:
their blueprints, their CLI commands, their mail attachments and how their callers sign in.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from hikisupport.core import errors, limits, security, templating, transaction
from hikisupport.core.database import sqlite_engine_options
from hikisupport.core.extensions import csrf, db, migrate
from hikisupport.core.extensions import mail as mail_extension
from hikisupport.core.logs import install_redaction
from hikisupport.core.routing import CONVERTERS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: object | dict | None = None) -> Flask:
    """Build the app. `config`: None (APP_ENV), a config class, or a dict of overrides."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("HIKISUPPORT_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _load_config(app, config)
    app.url_map.converters.update(CONVERTERS)
    _register_extensions(app)
    _register_areas(app)
    limits.init_rate_limits(app)  # on the views the areas marked
    errors.register(app)
    security.register(app)
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

    if (
        not os.environ.get("SECRET_KEY")
        and not app.config.get("TESTING")
        and (app.config["SECRET_KEY"] == config_module.Config.SECRET_KEY)
    ):
        app.config["SECRET_KEY"] = _instance_secret_key(app)

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        path = Path(app.instance_path) / "hikisupport.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Query parameters are personal data (names, tokens): keep them out of error messages.
    options.setdefault("hide_parameters", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.update(sqlite_engine_options(app.config["SQLITE_BUSY_TIMEOUT_MS"]))
    else:
        # A server connection can drop (restart, failover, idle timeout): test it on checkout.
        options.setdefault("pool_pre_ping", True)
        # A row lock not had within this time fails the statement (answered 503, see
        # core.errors), long before gunicorn would kill the worker.
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault(
            "options", f"-c lock_timeout={app.config['POSTGRES_LOCK_TIMEOUT_MS']}"
        )
        options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _instance_secret_key(app: Flask) -> str:
    """Without SECRET_KEY (a development machine), a random key kept in the instance folder:
    never a constant that anyone could use to forge a staff session."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}.tmp")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # atomic, never replaces: every worker ends up with one key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _register_extensions(app: Flask) -> None:
    db.init_app(app)
    transaction.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    limits.init_body_limits(app)  # before CSRF protection reads a body
    csrf.init_app(app)
    mail_extension.init_app(app)
    templating.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind the ward's reverse proxy: the client's address (for the audit log) and the
        # scheme come from its X-Forwarded-* headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_areas(app: Flask) -> None:
    """Each area's blueprints, commands, mail attachments and callers, in one list."""
    from hikisupport.api.views import bp as api_bp
    from hikisupport.checkin import services as checkin_services
    from hikisupport.checkin.api_views import bp as checkin_api_bp
    from hikisupport.checkin.cli import device_cli
    from hikisupport.checkin.staff_views import bp as checkin_staff_bp
    from hikisupport.checkin.views import bp as checkin_bp
    from hikisupport.core.health import bp as health_bp
    from hikisupport.demo.cli import demo_cli
    from hikisupport.directory.staff_views import bp as staff_directory_bp
    from hikisupport.directory.views import bp as directory_bp
    from hikisupport.events.services import register_change_hook
    from hikisupport.events.staff_views import bp as staff_events_bp
    from hikisupport.events.views import bp as events_bp
    from hikisupport.mail.cli import mail_cli
    from hikisupport.mail.outbox import register_attachment_builder, register_body_builder
    from hikisupport.mail.views import bp as staff_mail_bp
    from hikisupport.municipality import templating as municipality_templating
    from hikisupport.registration import notifications
    from hikisupport.registration.cli import mail_remind
    from hikisupport.registration.staff_views import bp as staff_registrations_bp
    from hikisupport.registration.views import bp as registration_bp
    from hikisupport.reports import participation
    from hikisupport.reports.api import bp as reports_api_bp
    from hikisupport.reports.cli import report_cli
    from hikisupport.reports.staff_views import bp as staff_reports_bp
    from hikisupport.reports.views import bp as reports_bp
    from hikisupport.rosters.views import bp as rosters_bp
    from hikisupport.staff import auth as staff_auth
    from hikisupport.staff.access import register_caller_loader
    from hikisupport.staff.cli import staff_cli
    from hikisupport.staff.views import bp as staff_bp
    from hikisupport.supporters import notifications as supporter_notifications
    from hikisupport.supporters import templating as supporters_templating
    from hikisupport.supporters.cli import retention_cli
    from hikisupport.supporters.staff_views import bp as staff_supporters_bp
    from hikisupport.supporters.views import bp as supporters_bp

    # The check-in API lives under /api/v1 with the rest of the API (endpoints api.checkin.*).
    # (Blueprints are module-level: nested once per process, before the first app takes them.)
    for child in (checkin_api_bp, reports_api_bp):
        if not any(registered is child for registered, _ in api_bp._blueprints):
            api_bp.register_blueprint(child)
    # Check-in devices by their token (tried first: it needs no query unless the bearer token is
    # a device's), then staff by session cookie or API token.
    register_caller_loader(checkin_services.device_caller)
    register_change_hook(app, participation.event_changed)
    staff_auth.init_app(app)
    municipality_templating.init_app(app)
    supporters_templating.init_app(app)
    for blueprint in (
        events_bp,
        registration_bp,
        health_bp,
        staff_bp,
        staff_events_bp,
        staff_registrations_bp,
        rosters_bp,
        directory_bp,
        staff_directory_bp,
        staff_mail_bp,
        checkin_bp,
        checkin_staff_bp,
        api_bp,
        supporters_bp,
        staff_supporters_bp,
        reports_bp,
        staff_reports_bp,
    ):
        app.register_blueprint(blueprint)

    register_attachment_builder(app, notifications.TICKET, notifications.ticket_parts)
    register_attachment_builder(
        app, supporter_notifications.CERTIFICATE, supporter_notifications.certificate_parts
    )
    register_body_builder(app, notifications.BODY, notifications.registration_body)
    register_body_builder(
        app, supporter_notifications.CERTIFIED_BODY, supporter_notifications.certified_body
    )

    if app.config.get("DEV_MAILBOX"):
        from hikisupport.mail.dev_views import bp as dev_mailbox_bp
        from hikisupport.mail.dev_views import refuse_outside_development

        refuse_outside_development(app)
        app.register_blueprint(dev_mailbox_bp)

    mail_cli.add_command(mail_remind)
    for command in (demo_cli, device_cli, mail_cli, staff_cli, retention_cli, report_cli):
        app.cli.add_command(command)
