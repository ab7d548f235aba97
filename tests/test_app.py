"""The app factory, configuration, migrations, demo data, logging and basic headers."""

import logging

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

import config
from hikisupport import create_app
from hikisupport.core.extensions import db
from hikisupport.core.logs import redact
from hikisupport.models import Event, IndicatorTarget, Municipality


def test_testing_flag():
    assert not create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing


def test_production_needs_a_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_production_config_is_strict(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app(config.ProductionConfig)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS"] is True


def test_default_database_is_the_sqlite_file_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(config.Config, "SQLALCHEMY_DATABASE_URI", None)
    app = create_app(config.DevelopmentConfig)
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{app.instance_path}/hikisupport.sqlite3"
    )


@pytest.mark.only_backend("sqlite")
def test_sqlite_is_configured_for_concurrent_writers(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


@pytest.mark.only_backend("sqlite")
def test_post_requests_begin_immediate_and_get_requests_do_not(app, make_event, sign_up):
    event = make_event()
    seen = []

    def record(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        sign_up(event.id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    # GET pages → BEGIN; each POST (step 1, step 2) → BEGIN IMMEDIATE (the test's own session
    # adds plain BEGINs).
    assert "BEGIN IMMEDIATE" in seen
    assert seen.count("BEGIN IMMEDIATE") == 2


def test_migrations_build_the_same_schema_as_the_models(database_url, schema, app):
    """`flask db upgrade` on an empty database gives exactly the models' schema."""
    db.drop_all()
    try:
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
    finally:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()


def test_demo_load_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == second.exit_code == 0
    assert "already present" in second.output
    municipality = db.session.scalar(sa.select(Municipality))
    assert (municipality.name, municipality.code) == ("杉並区", "131156")
    targets = db.session.execute(
        sa.select(IndicatorTarget.fiscal_year, IndicatorTarget.target).order_by(
            IndicatorTarget.fiscal_year
        )
    ).all()
    assert [tuple(t) for t in targets] == [(2026, 120), (2030, 360)]
    events = db.session.scalars(sa.select(Event).order_by(Event.id)).all()
    assert [(e.kind, len(e.sessions), e.admission) for e in events] == [
        ("lecture", 1, "first_come"),
        ("course", 1, "first_come"),
        ("course", 3, "first_come"),
        ("followup", 1, "lottery"),
    ]


def test_demo_events_are_listed(runner, client):
    runner.invoke(args=["demo", "load"])
    html = client.get("/events").get_data(as_text=True)
    assert "ひきこもりサポーター養成講座（全3回）" in html
    assert "受付中（残り24席）" in html
    assert "杉並区" in html


def test_personal_tokens_never_reach_the_logs(make_event, sign_up, client, caplog):
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    token = location.removeprefix("/r/")
    assert redact(f'"GET {location} HTTP/1.1" 200') == '"GET /r/[redacted] HTTP/1.1" 200'
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - "%s" %s', f"GET {location}/calendar.ics HTTP/1.1", 200)
    assert caplog.records
    assert all(token not in r.getMessage() for r in caplog.records)


def test_security_headers_on_pages(client, app):
    response = client.get("/events")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_home_lists_events(client, make_event):
    make_event(title="講演会テスト", kind="lecture")
    assert "講演会テスト" in client.get("/").get_data(as_text=True)


def test_event_detail_shows_wareki_dates_and_eligibility(client, make_event):
    event = make_event(eligible_residencies=["live", "work"], sessions=2)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "第2回" in html
    assert "令和" in html and "（" in html
    assert "区内在住・区内在勤" in html
    assert "申込受付期間" in html


def test_no_constant_secret_key_outside_tests(monkeypatch, tmp_path):
    import config
    from hikisupport import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app(config.DevelopmentConfig)
    assert app.secret_key not in ("unset", "dev-only-not-secret") and len(app.secret_key) >= 64
    assert create_app(config.DevelopmentConfig).secret_key == app.secret_key  # kept


@pytest.mark.parametrize(("hops", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_trusted_proxies_decide_whose_address_is_recorded(app, client, make_event, hops, expected):
    """Behind the ward's proxy (TRUSTED_PROXIES=1) the audit log records the resident's
    address from X-Forwarded-For; without a proxy the header is anyone's to forge, and ignored."""
    from fixtures.registration import APPLICATION_FORM
    from werkzeug.middleware.proxy_fix import ProxyFix

    from conftest import csrf_from
    from hikisupport.models import AuditLog
    from hikisupport.registration.links import make_token

    event = make_event()
    if hops:  # what create_app does with TRUSTED_PROXIES=1 (on this app, not a second one)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    with app.test_request_context():
        link = f"/events/{event.id}/apply/{make_token(event.id, 'hanako@example.jp')}"
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    page = client.get(link, headers=headers).get_data(as_text=True)
    form = {**APPLICATION_FORM, "csrf_token": csrf_from(page)}
    # Over HTTPS (as the proxy says) Flask-WTF also checks the Referer, as a browser sends it.
    headers["Referer"] = f"https://localhost{link}"
    response = client.post(link, data=form, headers=headers)
    assert response.status_code == 303
    assert db.session.scalar(sa.select(AuditLog.ip)) == expected


def test_trusted_proxies_wrap_the_app_in_proxy_fix():
    from werkzeug.middleware.proxy_fix import ProxyFix

    wrapped = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXIES": 1})
    assert isinstance(wrapped.wsgi_app, ProxyFix)
    plain = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not isinstance(plain.wsgi_app, ProxyFix)
