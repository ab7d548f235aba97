"""Fixtures: the app on SQLite and (with TEST_DATABASE_URL) PostgreSQL, a real SMTP server,
factories for events and sign-ups, and a live server for concurrency tests.

Every test that uses `app` runs once per database backend. Tables are created once per backend
and emptied after each test, so tests see committed data exactly as production code does.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import globals as flask_globals
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from hikisupport import create_app
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Event, Session
from hikisupport.models.audit import APPEND_ONLY_DDL

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
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
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
def app_overrides() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


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
# Factories


@pytest.fixture
def make_event(app):
    """Create a published event whose registration is open now, with N sessions ahead."""

    def make(sessions: int = 1, **fields) -> Event:
        from hikisupport.staff.services import get_or_create_organization

        if "organization" not in fields and "organization_id" not in fields:
            fields["organization"] = get_or_create_organization("杉並区", kind="ward")
        now = utcnow()
        start = (now + timedelta(days=14)).replace(minute=0, second=0, microsecond=0)
        defaults = {
            "kind": "course",
            "title": "ひきこもりサポーター養成講座",
            "description": "ひきこもりについて学ぶ講座です。",
            "capacity": 10,
            "waitlist": True,
            "certifies": True,
            "registration_opens_at": now - timedelta(days=1),
            "registration_closes_at": start,
        }
        event = Event(**{**defaults, **fields})
        event.sessions = [
            Session(
                number=i + 1,
                starts_at=start + timedelta(days=7 * i),
                ends_at=start + timedelta(days=7 * i, hours=2),
                venue="杉並区役所 中棟6階 第4会議室",
            )
            for i in range(sessions)
        ]
        db.session.add(event)
        db.session.commit()
        return event

    return make


VALID_FORM = {
    "family_name": "杉並",
    "given_name": "花子",
    "family_name_kana": "スギナミ",
    "given_name_kana": "ハナコ",
    "email": "hanako@example.jp",
    "phone": "03-3312-2111",
    "residency": "live",
    "age_group": "50s",
    "consent": "y",
}

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


@pytest.fixture
def valid_form():
    return dict(VALID_FORM)


@pytest.fixture
def csrf_token(client, make_event):
    """A CSRF token valid for `client`'s session, taken from an open event's form."""
    cache = {}

    def get() -> str:
        if "token" not in cache:
            helper = make_event(title="CSRFトークン取得用")
            page = client.get(f"/events/{helper.id}/register").get_data(as_text=True)
            cache["token"] = csrf_from(page)
        return cache["token"]

    return get


@pytest.fixture
def sign_up(client, csrf_token):
    """Fill in the form like a browser: GET it (CSRF token), POST it. Returns the response.

    When the page shows no form (registration closed), the token comes from another form, as a
    resident with a stale tab would have one.
    """

    def post(event_id: int, data: dict | None = None, **fields):
        form = {**VALID_FORM, **(data or {}), **fields}
        form = {k: v for k, v in form.items() if v is not None}
        page = client.get(f"/events/{event_id}/register").get_data(as_text=True)
        match = CSRF_INPUT.search(page)
        form["csrf_token"] = match.group(1) if match else csrf_token()
        return client.post(f"/events/{event_id}/register", data=form)

    return post


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


class Site:
    """The demo data on its own SQLite database, served on a free port by a threaded server."""

    def __init__(self, app, url: str):
        self.app = app
        self.url = url
        self.samples: dict[str, list] = {}

    def paths_for(self, rule) -> list[str]:
        """Concrete paths for a URL rule, from the sample values of each of its arguments."""
        paths = [rule.rule]
        for argument in rule.arguments:
            values = self.samples.get(argument)
            assert values, f"no sample value for <{argument}> in {rule.rule}: add one in `site`"
            paths = [
                re.sub(rf"<(?:[a-z]+:)?{argument}>", str(value), path)
                for path in paths
                for value in values
            ]
        return paths


@pytest.fixture(scope="session")
def site(tmp_path_factory, smtp_server):
    from hikisupport.demo.data import load_demo
    from hikisupport.models import Registration
    from hikisupport.registration import services
    from hikisupport.registration.services import Applicant

    port, _ = smtp_server
    url = f"sqlite:///{tmp_path_factory.mktemp('site') / 'site.sqlite3'}"
    app = create_app(app_config(url, port))
    with app.app_context():
        db.create_all()
        load_demo()
        db.session.commit()
        events = db.session.scalars(sa.select(Event).order_by(Event.id)).all()
        # One registration in each state, for the personal pages.
        full = next(e for e in events if e.title.endswith("（全3回）"))
        full.capacity = 1
        tokens = []
        for i, name in enumerate(["確定", "待ち", "取消"]):
            applicant = Applicant(
                family_name="見本",
                given_name=name,
                family_name_kana="ミホン",
                given_name_kana="タロウ",
                email=f"sample{i}@example.jp",
                phone="0333122111",
                residency="live",
                age_group="40s",
            )
            registration = services.register(full, applicant).registration
            tokens.append(registration.token)
        db.session.commit()
        services.cancel(db.session.scalar(sa.select(Registration).filter_by(token=tokens[2])))
        lottery = next(e for e in events if e.is_lottery)
        tokens.append(services.register(lottery, applicant).registration.token)  # 抽選待ち
        db.session.commit()
        event_ids = [e.id for e in events]
        from hikisupport.models import ApiToken, OutboxMessage, StaffUser
        from hikisupport.staff.services import issue_token

        issue_token(db.session.scalar(sa.select(StaffUser).filter_by(role="organizer")))
        db.session.commit()
        samples = {
            "event_id": event_ids,
            "token": tokens,
            "session_id": [s.id for e in events for s in e.sessions][:2],
            "registration_id": [
                db.session.scalar(sa.select(Registration.id).filter_by(token=tokens[1]))
            ],
            "staff_id": [db.session.scalar(sa.select(StaffUser.id).filter_by(role="policy"))],
            "token_id": [db.session.scalar(sa.select(ApiToken.id))],
            "message_id": [db.session.scalar(sa.select(OutboxMessage.id))],
        }

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site = Site(app, f"http://127.0.0.1:{server.server_port}")
    site.samples = samples
    yield site
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, site):
    """A phone (390×844, touch) in Japanese, pointed at the demo site."""
    return {
        **browser_context_args,
        "base_url": site.url,
        "locale": "ja-JP",
        "timezone_id": "Asia/Tokyo",
        "viewport": PHONE,
        "has_touch": True,
        "is_mobile": True,
    }


NON_HTML_ENDPOINTS = {
    "static",
    "registration.calendar",
    "health.healthz",
    "rosters.export_csv",
    "rosters.export_xlsx",
}
# Routes checked as routes (role matrix, headers) but not as pages to look at.
NOT_A_PAGE = {"staff.logout", "staff.home"}  # home redirects to the events page
DEMO_ADMIN = ("admin@example.jp", "demo-admin-2026")


def is_staff_rule(app, rule) -> bool:
    access = getattr(app.view_functions[rule.endpoint], "access", None)
    return access is not None and not access.public


def html_get_rules(app, staff: bool = False):
    """Every GET route that renders a page (walked from the URL map, not a hand-kept list):
    the resident pages, or (staff=True) the pages behind the staff login."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint not in NON_HTML_ENDPOINTS | NOT_A_PAGE
        and not rule.endpoint.startswith("api.")
        and is_staff_rule(app, rule) == staff
    ]


def html_pages(site: Site, staff: bool = False) -> list[str]:
    rules = html_get_rules(site.app, staff)
    return sorted({path for rule in rules for path in site.paths_for(rule)})


def staff_client(app, email: str, password: str):
    """A test client signed in through the login form."""
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]
    return client


# ---------------------------------------------------------------------------------------------
# Staff


@dataclass
class StaffWorld:
    """Two organizations, one of each role, an event of the ward with people on it."""

    ward: object
    npo: object
    admin: object
    organizer: object  # of the ward
    other_organizer: object  # of the NPO
    policy: object
    event: object
    registrations: list


@pytest.fixture
def staff_world(app, make_event, sign_up):
    from hikisupport.models import Registration, StaffUser
    from hikisupport.staff.services import get_or_create_organization

    ward = get_or_create_organization("杉並区", kind="ward")
    npo = get_or_create_organization("NPO法人 すぎなみ居場所ネット")

    def staff(email, role, org=None):
        # Not through create_staff: a real password hash costs ~50 ms, and these never log in
        # with a password (see `login_as`).
        member = StaffUser(email=email, role=role, organization=org, password_hash="!")
        db.session.add(member)
        return member

    world = StaffWorld(
        ward=ward,
        npo=npo,
        admin=staff("admin@example.jp", "admin"),
        organizer=staff("ward@example.jp", "organizer", ward),
        other_organizer=staff("npo@example.jp", "organizer", npo),
        policy=staff("policy@example.jp", "policy"),
        event=None,
        registrations=[],
    )
    db.session.commit()
    world.event = make_event(capacity=1, organization=ward, sessions=2)
    for i in range(3):
        sign_up(world.event.id, email=f"person{i}@example.jp", given_name=f"花子{i}")
    world.registrations = db.session.scalars(
        sa.select(Registration).order_by(Registration.id)
    ).all()
    return world


@pytest.fixture
def login_as(app):
    """A test client whose session is signed in as `staff` (the login form has its own tests)."""

    def client_for(staff):
        client = app.test_client()
        client.get("/staff/login")  # a session with a CSRF token
        with client.session_transaction() as session:
            session["_user_id"] = staff.get_id()
            session["_fresh"] = True
        return client

    return client_for


def csrf_of(client) -> str:
    """The CSRF token of a client's session (what its forms carry)."""
    return csrf_from(client.get("/staff/login").get_data(as_text=True))
