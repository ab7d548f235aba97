"""Fixtures: the app on SQLite and (with TEST_DATABASE_URL) PostgreSQL, a real SMTP server,
factories for events and sign-ups, and a live server for concurrency tests.

Every test that uses `app` runs once per database backend. Tables are created once per backend
and emptied after each test, so tests see committed data exactly as production code does.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before the app (and config.py) is imported: no `.env`, none of the contract's variables from
# the developer's shell, and an instance folder (secret key, SQLite file) outside the checkout.
os.environ["HIKISUPPORT_DOTENV"] = "0"
for _name in (
    "APP_ENV",
    "DATABASE_URL",
    "SECRET_KEY",
    "BASE_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "APPLY_LINK_MAX_AGE",
    "RATELIMIT_ENABLED",
    "RATELIMIT_STORAGE_URI",
    "MAX_CONTENT_LENGTH",
    "TRUSTED_PROXIES",
    "PAGE_CACHE",
    "VERIFY_RATE_LIMIT",
    "PAIR_RATE_LIMIT",
):
    os.environ.pop(_name, None)
os.environ["HIKISUPPORT_INSTANCE_PATH"] = _instance = tempfile.mkdtemp(prefix="hikisupport-")
atexit.register(shutil.rmtree, _instance, True)

import email
import email.policy
import re
import socket
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import globals as flask_globals
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from hikisupport import create_app
from hikisupport.core.extensions import db
from hikisupport.models.audit import APPEND_ONLY_DDL

# Fixtures of each area, in tests/fixtures/<area>.py.
pytest_plugins = [
    "fixtures.events",
    "fixtures.registration",
    "fixtures.staff",
    "fixtures.site",
    "fixtures.checkin",
    "fixtures.directory",
    "fixtures.supporters",
]

BACKENDS = ["sqlite"]
if os.environ.get("TEST_DATABASE_URL") or os.environ.get("REQUIRE_POSTGRES") == "1":
    BACKENDS.append("postgresql")


STRICT = os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("REQUIRE_BROWSER") == "1"
_skipped: list[str] = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "only_backend(name): run this test on one database backend only"
    )


def pytest_collection_modifyitems(config, items):
    """Tests about one backend's behaviour are not collected for the other (not skipped)."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        backend = getattr(item, "callspec", None) and item.callspec.params.get("database_url")
        (drop if marker and backend and backend != marker.args[0] else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # In CI (REQUIRE_*=1) nothing may silently skip: a skipped test fails the run.
    if STRICT and _skipped and session.exitstatus == 0:
        session.exitstatus = 1
        print(f"\nFAILED: {len(_skipped)} test(s) skipped under REQUIRE_*=1: {_skipped[:5]}")


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def _fail_or_skip(reason: str, require_var: str):
    if os.environ.get(require_var) == "1":
        pytest.fail(f"{reason} ({require_var}=1)")
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# Databases


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        _fail_or_skip("TEST_DATABASE_URL is not set", "REQUIRE_POSTGRES")
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        _fail_or_skip(f"PostgreSQL unreachable: {exc}", "REQUIRE_POSTGRES")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def schema(database_url):
    """Create the tables once per backend (from the models; migrations have their own test)."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
        yield
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _drop_alembic_version():
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def empty_all_tables():
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            # The audit log refuses TRUNCATE (a trigger): lifted for the clean-up only.
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate")
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate")
        else:
            # The audit log's triggers refuse DELETE: lift them for the clean-up only.
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            for statement in APPEND_ONLY_DDL["sqlite"]:
                conn.exec_driver_sql(statement)


# ---------------------------------------------------------------------------------------------
# Mail: a real SMTP server on a free localhost port


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def clear(self):
        with self.lock:
            self.envelopes.clear()

    def raw_header(self, index: int, name: str) -> str:
        """A header as sent (still RFC 2047 encoded)."""
        with self.lock:
            raw = email.message_from_bytes(self.envelopes[index].content)
        return raw[name]

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(e.content, policy=email.policy.default)
                for e in self.envelopes
            ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server):
    _, box = smtp_server
    box.clear()
    return box


# ---------------------------------------------------------------------------------------------
# The app


def app_config(database_url: str, smtp_port: int, **overrides) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        **overrides,
    }


@pytest.fixture
def app_overrides(request) -> dict:
    """The app's configuration changed for a test: parametrize it indirectly
    (`@pytest.mark.parametrize("app_overrides", [{...}], indirect=True)`) or override it."""
    return getattr(request, "param", {})


@pytest.fixture
def app(database_url, schema, smtp_server, app_overrides):
    port, box = smtp_server
    box.clear()
    app = create_app(app_config(database_url, port, **app_overrides))
    app.test_client_class = SeparateClient
    with app.app_context():
        yield app
        empty_all_tables()
        db.engine.dispose()


class SeparateClient(FlaskClient):
    """A test client whose requests run as real ones do: each in its own app context and
    its own transaction.

    Flask would run a request inside the app context the test pushed, sharing `g` (where
    Flask-Login keeps the signed-in user and Flask-WTF the CSRF token) across requests and
    clients. The test's context is hidden while the request runs, so the request pushes its own.
    The test's session commits before each request (so the request sees the test's set-up) and
    after it (so the test's next read sees what the request committed, not an older snapshot).
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        hidden = flask_globals._cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            flask_globals._cv_app.reset(hidden)
            db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


class CliRunner:
    """Runs a CLI command in its own app context (and so its own database session), as a
    separate `flask` process would: it cannot see or join the test's open transaction."""

    def __init__(self, app):
        self.app = app
        self.runner = app.test_cli_runner()

    def invoke(self, *args, **kwargs):
        db.session.commit()  # like SeparateClient: set-up visible, results visible after
        try:
            with self.app.app_context():
                return self.runner.invoke(*args, **kwargs)
        finally:
            db.session.commit()


@pytest.fixture
def runner(app):
    return CliRunner(app)


# ---------------------------------------------------------------------------------------------
# A live server (threads, real sockets) on the test database


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


# ---------------------------------------------------------------------------------------------
# The demo site in a real browser: Debian's Chromium driven by Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Overrides pytest-playwright's: Debian's Chromium, never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        _fail_or_skip(f"{CHROMIUM} is not installed (apt-get install chromium)", "REQUIRE_BROWSER")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def csrf_of(client) -> str:
    """The CSRF token of a client's session (what its forms carry)."""
    return csrf_from(client.get("/staff/login").get_data(as_text=True))
