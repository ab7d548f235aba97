"""One transaction per request: begun by the view's declared kind, committed once after it,
rolled back on any error; views never commit by themselves."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint, has_request_context, request

from hikisupport import PROJECT_ROOT
from hikisupport.core import transaction
from hikisupport.core.extensions import db
from hikisupport.mail import outbox
from hikisupport.models import AuditLog, Organization, OutboxMessage
from hikisupport.staff import audit

VIEW_FILES = sorted((PROJECT_ROOT / "hikisupport").rglob("*views.py"))


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_view_commits_or_rolls_back(path: Path):
    source = path.read_text()
    assert not re.search(r"\.(commit|rollback)\(", source), path


def test_every_route_has_a_transaction_kind(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"OPTIONS"}:
            kind = transaction.kind_of(view, method)
            assert kind in (transaction.READ, transaction.WRITE, transaction.NONE), rule.rule
            if method in ("POST", "PUT", "PATCH", "DELETE") and rule.endpoint != "staff.login":
                # A write request never runs as a read (the login page writes its counters).
                assert kind != transaction.READ or getattr(view, "transaction", None), rule.rule


@pytest.fixture
def probe_app(app):
    """Routes that misbehave on purpose, registered on the test app."""
    bp = Blueprint("probe", __name__)

    @bp.get("/probe/read-writes")
    def read_writes():
        db.session.add(Organization(name="読むだけのはず", kind="npo"))
        db.session.flush()
        return "written"

    @bp.get("/probe/read-audits")
    def read_audits():
        audit.record("roster.view", object_type="sessions", object_id=1)
        return "written"

    @bp.get("/probe/read-mails")
    def read_mails():
        outbox.queue(kind="apply", recipient="a@example.jp", subject="件名", body_text="本文")
        return "written"

    @bp.post("/probe/fails")
    def fails():
        db.session.add(Organization(name="途中まで", kind="npo"))
        db.session.flush()
        raise RuntimeError("after a flush")

    @bp.post("/probe/writes")
    def writes():
        db.session.add(Organization(name="保存される", kind="npo"))
        return "ok"

    app.register_blueprint(bp)
    return app


def _organizations():
    return db.session.scalars(sa.select(Organization.name)).all()


def test_a_read_request_cannot_write(probe_app):
    response = probe_app.test_client().get("/probe/read-writes")
    assert response.status_code == 500
    assert _organizations() == []


@pytest.mark.parametrize("path", ["/probe/read-audits", "/probe/read-mails"])
def test_a_read_request_cannot_write_by_core_insert_either(probe_app, path):
    """The audit log and the outbox are written by Core inserts, past the ORM's flush: they
    refuse a read transaction themselves."""
    response = probe_app.test_client().get(path)
    assert response.status_code == 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_error_after_a_flush_keeps_nothing(probe_app):
    client = probe_app.test_client()
    client.get("/events")  # a session with a CSRF token is not needed: the probe has none
    probe_app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/probe/fails")
    assert response.status_code == 500
    assert _organizations() == []


def test_a_write_request_is_committed_once_after_the_view(probe_app):
    probe_app.config["WTF_CSRF_ENABLED"] = False
    commits = []

    def count(conn):
        if has_request_context():  # the request's own, not the test's
            commits.append(request.path)

    sa.event.listen(db.engine, "commit", count)
    try:
        response = probe_app.test_client().post("/probe/writes")
    finally:
        sa.event.remove(db.engine, "commit", count)
    assert response.status_code == 200
    assert commits == ["/probe/writes"]
    assert _organizations() == ["保存される"]


def test_cli_units_commit_or_roll_back_as_a_whole(app):
    with transaction.writing():
        db.session.add(Organization(name="CLIで追加", kind="npo"))
    with pytest.raises(RuntimeError), transaction.writing():
        db.session.add(Organization(name="取り消される", kind="npo"))
        db.session.flush()
        raise RuntimeError
    assert _organizations() == ["CLIで追加"]


def _another_program_can_take_the_write_lock(database_url: str) -> bool:
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
    other.isolation_level = None
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


@pytest.mark.only_backend("sqlite")
def test_a_write_request_takes_the_write_lock_at_its_first_statement_not_before(
    probe_app, database_url
):
    """What a write view does before it touches the database (checking its form) does not
    hold SQLite's write lock; from its first statement (a read included) the lock is held to
    the end, so every read-check-write stays serialised. A request that touches nothing
    leaves no wish for the lock behind (the next read on the same thread does not take it)."""
    probe_app.config["WTF_CSRF_ENABLED"] = False
    seen = {}

    @probe_app.post("/probe/lock-window")
    def lock_window():
        seen["before"] = _another_program_can_take_the_write_lock(database_url)
        db.session.scalar(sa.select(sa.func.count()).select_from(Organization))
        seen["after a read"] = _another_program_can_take_the_write_lock(database_url)
        return "ok"

    @probe_app.post("/probe/touches-nothing")
    def touches_nothing():
        return "nothing"

    @probe_app.get("/probe/reads")
    def reads():
        db.session.scalar(sa.select(sa.func.count()).select_from(Organization))
        seen["during a read request"] = _another_program_can_take_the_write_lock(database_url)
        return "read"

    client = probe_app.test_client()
    assert client.post("/probe/lock-window").status_code == 200
    assert seen == {"before": True, "after a read": False}
    assert client.post("/probe/touches-nothing").get_data(as_text=True) == "nothing"
    assert client.get("/probe/reads").status_code == 200
    assert seen["during a read request"] is True
    assert _another_program_can_take_the_write_lock(database_url)


@pytest.mark.only_backend("sqlite")
def test_a_waiting_writer_takes_the_write_lock_within_milliseconds_of_its_release(
    app, database_url
):
    """A write transaction waiting for SQLite's write lock tries again every few milliseconds,
    however long it has waited. (SQLite's own busy handler, after 450 ms of waiting, naps
    100 ms at a time: the lock let go at 450 ms was taken only at 528 ms, and under steady
    writes newer writers overtook the old ones — a second's wait for a few requests.)"""
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
    other.isolation_level = None
    lateness = []
    for n in range(3):
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        got_it = threading.Event()
        took_at = []

        def write(name=f"待っていた書き込み{n}", took_at=took_at, got_it=got_it):
            with app.app_context():
                with transaction.writing():
                    took_at.append(time.monotonic())
                    db.session.add(Organization(name=name, kind="npo"))
                got_it.set()

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.45)
        assert not got_it.is_set()  # it waits, and is not refused
        released_at = time.monotonic()
        other.execute("ROLLBACK")
        assert got_it.wait(5)
        writer.join(5)
        lateness.append(took_at[0] - released_at)
    other.close()
    # The median of three, so one scheduling hiccup on a busy machine does not decide it.
    assert sorted(lateness)[1] < 0.04, lateness
    assert {f"待っていた書き込み{n}" for n in range(3)} <= set(_organizations())
