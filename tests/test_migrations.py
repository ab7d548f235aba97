"""Migrations: 0001 is frozen; each later revision upgrades a database that has data in it, on
SQLite and PostgreSQL, and what the database enforces (triggers, CHECKs) comes through
`flask db upgrade`, not only through `create_all`.

Helpers for a revision's own test: `migrated` (a fixture giving an empty database and an
`upgrade(revision)` function), `previous_of(revision)` (read from the scripts, so re-chaining
revisions never breaks a test) and `insert(table, **values)`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from hikisupport.core.extensions import db

VERSIONS = Path(__file__).resolve().parents[1] / "hikisupport/migrations/versions"
# The initial schema as it shipped. A change to it would never reach a database that already
# ran it: every change is a new revision.
FROZEN = {"0001_initial_schema.py": "6fb8a37d0265af0a"}  # a prefix of its SHA-256


def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(VERSIONS.parent))


def previous_of(revision: str) -> str:
    return scripts().get_revision(revision).down_revision


def head() -> str:
    (only,) = scripts().get_heads()
    return only


def _clean(conn) -> None:
    db.metadata.drop_all(conn)
    conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE"))


@pytest.fixture
def migrated(app):
    """An empty database to migrate step by step; the tests' schema is restored afterwards."""
    db.session.remove()
    with db.engine.begin() as conn:
        _clean(conn)

    def to(revision: str = "head") -> None:
        db.session.remove()
        upgrade(revision=revision)

    yield to
    db.session.remove()
    with db.engine.begin() as conn:
        _clean(conn)
    db.create_all()


def insert(conn, table: str, **values) -> int:
    """Insert one row with plain SQL (the models may no longer match an old revision)."""
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    returning = " RETURNING id" if conn.dialect.name == "postgresql" else ""
    result = conn.execute(
        sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params}){returning}"), values
    )
    return result.scalar() if returning else result.lastrowid


def test_single_head_and_linear_history():
    assert len(scripts().get_heads()) == 1
    revisions = list(scripts().walk_revisions())
    assert [r.revision for r in revisions][-1] == "0001"


@pytest.mark.parametrize(("name", "prefix"), sorted(FROZEN.items()))
def test_frozen_revisions_are_unchanged(name, prefix):
    digest = hashlib.sha256((VERSIONS / name).read_bytes()).hexdigest()
    assert digest.startswith(prefix), f"{name} changed: add a new revision instead"


def _at(days: int) -> datetime:
    return (datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=days)).replace(tzinfo=None)


def seed_0001(conn) -> dict:
    """A little of everything, as revision 0001 stored it."""
    org = insert(conn, "organizations", name="杉並区", kind="ward", created_at=_at(0))
    event = insert(
        conn,
        "events",
        organization_id=org,
        kind="course",
        title="養成講座",
        description="",
        audience="",
        fee="無料",
        capacity=10,
        waitlist=True,
        admission="first_come",
        certifies=True,
        eligible_residencies='["live"]',
        registration_opens_at=_at(-5),
        registration_closes_at=_at(10),
        status="published",
        reminder_text="",
        created_at=_at(0),
        updated_at=_at(0),
    )
    session = insert(
        conn,
        "sessions",
        event_id=event,
        number=1,
        starts_at=_at(10),
        ends_at=_at(11),
        venue="区役所",
        access="",
    )
    person = insert(conn, "persons", email="hanako@example.jp", created_at=_at(0))
    registration = insert(
        conn,
        "registrations",
        event_id=event,
        person_id=person,
        status="confirmed",
        token="t" * 43,
        ticket="ABCDEFGHJK",
        family_name="杉並",
        given_name="花子",
        family_name_kana="スギナミ",
        given_name_kana="ハナコ",
        phone="0333122111",
        residency="live",
        age_group="50s",
        needs_childcare=False,
        needs_sign_language=False,
        needs_captioning=False,
        needs_wheelchair=False,
        needs_other=False,
        childcare_ages="",
        needs="",
        source="web",
        cancel_reason="",
        created_at=_at(0),
        updated_at=_at(0),
    )
    attendance = insert(
        conn,
        "attendances",
        registration_id=registration,
        session_id=session,
        checked_in_at=_at(10),
        method="qr",
    )
    message = insert(
        conn,
        "outbox_messages",
        kind="confirmed",
        recipient="hanako@example.jp",
        subject="【参加決定】養成講座",
        body_text="本文",
        body_html="",
        status="sent",
        attempts=1,
        last_error="",
        next_attempt_at=_at(0),
        attachment_builder="ticket",
        registration_id=registration,
        created_at=_at(0),
    )
    insert(
        conn,
        "audit_log",
        at=_at(0),
        staff_email="",
        action="registration.create",
        object_type="registrations",
        object_id=registration,
        detail="{}",
        ip="cli",
    )
    return {
        "event": event,
        "registration": registration,
        "attendance": attendance,
        "message": message,
    }


def test_0002_keeps_every_row_and_points_the_outbox_at_its_registration(migrated):
    migrated(previous_of("0002"))
    with db.engine.begin() as conn:
        ids = seed_0001(conn)
    migrated("0002")
    with db.engine.connect() as conn:
        # A batch rebuild of registrations must not cascade into attendances (SQLite).
        assert conn.execute(sa.text("SELECT count(*) FROM attendances")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM registrations")).scalar() == 1
        row = conn.execute(
            sa.text("SELECT about_type, about_id FROM outbox_messages WHERE id = :id"),
            {"id": ids["message"]},
        ).one()
        assert tuple(row) == ("registrations", ids["registration"])  # as about_of() names it
    # A mail queued before the upgrade still gets its QR ticket and calendar file when sent
    # (with today's models, so on today's schema).
    migrated("head")
    from hikisupport.mail.outbox import to_flask_message
    from hikisupport.models import OutboxMessage

    message = to_flask_message(db.session.get(OutboxMessage, ids["message"]))
    assert [a.filename for a in message.attachments] == ["ticket.png", "event.ics"]
    db.session.rollback()


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("registrations", "residency", "mars"),
        ("registrations", "status", "maybe"),
        ("organizations", "kind", "club"),
        ("attendances", "method", "telepathy"),
        ("outbox_messages", "status", "lost"),
    ],
)
def test_vocabularies_are_checked_by_the_migrated_database(migrated, table, column, value):
    migrated(previous_of("0002"))
    with db.engine.begin() as conn:
        ids = seed_0001(conn)
    migrated("head")
    row_id = {
        "registrations": ids["registration"],
        "organizations": 1,
        "attendances": ids["attendance"],
        "outbox_messages": ids["message"],
    }[table]
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
            {"value": value, "id": row_id},
        )


def test_the_audit_log_is_append_only_after_flask_db_upgrade(migrated):
    migrated("head")
    with db.engine.begin() as conn:
        insert(
            conn,
            "audit_log",
            at=_at(0),
            staff_email="",
            action="test",
            object_type="",
            detail="{}",
            ip="cli",
        )
    for statement in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT action FROM audit_log")).scalar() == "test"


def test_0005_keeps_attendances_and_adds_the_check_in_record(migrated):
    migrated("0001")
    with db.engine.begin() as conn:
        ids = seed_0001(conn)
    migrated(previous_of("0005"))
    migrated("0005")
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT registration_id, method, late, received_at, checked_in_at, device_id "
                "FROM attendances WHERE id = :id"
            ),
            {"id": ids["attendance"]},
        ).one()
    assert row.registration_id == ids["registration"] and row.method == "qr"
    assert not row.late and row.device_id is None
    assert str(row.received_at)[:19] == str(row.checked_in_at)[:19]
    # The new method is allowed, the unique pair still holds.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE attendances SET method = 'paper'"))
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        insert(
            conn,
            "attendances",
            registration_id=ids["registration"],
            session_id=conn.execute(sa.text("SELECT id FROM sessions")).scalar(),
            checked_in_at=_at(10),
            method="qr",
            late=False,
        )
