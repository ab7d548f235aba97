"""A long database lock: requests give up well before gunicorn would kill the worker, and say
so — 503, Retry-After, a Japanese message, nothing saved — on SQLite and PostgreSQL."""

import runpy
import sqlite3

import pytest
import sqlalchemy as sa

import config
from conftest import app_config, csrf_of
from hikisupport import PROJECT_ROOT, create_app
from hikisupport.core.extensions import db
from hikisupport.models import AuditLog, Event


def test_the_lock_timeouts_are_well_under_the_worker_timeout():
    gunicorn = runpy.run_path(str(PROJECT_ROOT / "hikisupport" / "core" / "gunicorn_conf.py"))
    assert gunicorn["timeout"] >= 3 * config.Config.SQLITE_BUSY_TIMEOUT_MS / 1000
    assert gunicorn["timeout"] >= 3 * config.Config.POSTGRES_LOCK_TIMEOUT_MS / 1000
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "SQLITE_BUSY_TIMEOUT_MS" in readme and "gunicorn_conf" in readme


@pytest.fixture
def impatient_app(database_url, schema, smtp_server, app):
    """The app waiting only 300 ms for a lock (the default is 10 s)."""
    quick = create_app(
        app_config(
            database_url,
            smtp_server[0],
            SQLITE_BUSY_TIMEOUT_MS=300,
            POSTGRES_LOCK_TIMEOUT_MS=300,
        )
    )
    yield quick
    with quick.app_context():
        db.engine.dispose()


def hold_the_lock(database_url: str, event_id: int, whole_table: bool = False):
    """A second connection, of another program, holding the lock a write needs (on PostgreSQL
    the event's row, or the whole events table); returns a function that lets go."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=5)
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")  # the database-wide write lock
        return connection.close
    engine = sa.create_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    if whole_table:
        connection.execute(sa.text("LOCK TABLE events IN EXCLUSIVE MODE"))
    else:
        connection.execute(
            sa.text("SELECT id FROM events WHERE id = :id FOR UPDATE"), {"id": event_id}
        )

    def release():
        transaction.rollback()
        connection.close()
        engine.dispose()

    return release


def test_a_write_that_cannot_get_the_lock_answers_503_with_retry_after(
    impatient_app, staff_world, database_url
):
    event = staff_world.event
    event.status = "draft"
    db.session.commit()
    client = impatient_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = staff_world.organizer.get_id()
    token = csrf_of(client)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    release = hold_the_lock(database_url, event.id)
    try:
        answer = client.post(f"/staff/events/{event.id}/publish", data={"csrf_token": token})
        if database_url.startswith("sqlite"):
            # Readers are not blocked (WAL): the resident pages stay up meanwhile.
            assert client.get("/events").status_code == 200
    finally:
        release()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    html = answer.get_data(as_text=True)
    assert "ただいま混み合っています" in html and "保存されていません" in html
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == "draft"  # nothing saved
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == before
    # Once the lock is free the same request goes through.
    again = client.post(f"/staff/events/{event.id}/publish", data={"csrf_token": token})
    assert again.status_code == 303


def test_the_api_says_busy_in_json(impatient_app, staff_world, database_url):
    from hikisupport.staff.services import issue_token

    token = issue_token(staff_world.organizer)
    db.session.commit()
    client = impatient_app.test_client()
    body = {
        "kind": "lecture",
        "title": "混雑中の作成",
        "capacity": 10,
        "waitlist": True,
        "sessions": [
            {
                "starts_at": "2030-01-16T14:00:00+09:00",
                "ends_at": "2030-01-16T16:00:00+09:00",
                "venue": "区役所",
            }
        ],
    }
    release = hold_the_lock(database_url, staff_world.event.id, whole_table=True)
    try:
        answer = client.post(
            "/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        release()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json["error"] == "busy" and "混み合っています" in answer.json["message"]


def test_other_database_errors_are_still_500(app, caplog):
    from flask import Blueprint

    probe = Blueprint("probe_db", __name__)

    @probe.get("/probe/broken-sql")
    def broken():
        db.session.execute(sa.text("SELECT * FROM no_such_table"))

    app.register_blueprint(probe)
    assert app.test_client().get("/probe/broken-sql").status_code == 500


def test_gunicorn_runs_one_worker_per_core_on_sqlite_and_one_more_on_postgresql():
    from hikisupport.core.gunicorn_conf import default_workers

    assert default_workers(None, 2) == 2  # no DATABASE_URL: the SQLite default
    assert default_workers("sqlite:////srv/hikisupport.sqlite3", 1) == 2  # never one alone
    assert default_workers("sqlite:////srv/hikisupport.sqlite3", 8) == 8
    assert default_workers("postgresql+psycopg://app@db/hikisupport", 2) == 3
