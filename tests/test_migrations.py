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
    from hikisupport.mail.outbox import to_email_message
    from hikisupport.models import OutboxMessage

    message = to_email_message(db.session.get(OutboxMessage, ids["message"]))
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert names[0] == "ticket.png" and names[1].endswith(".ics")
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


def test_0003_gives_every_registration_a_person_of_its_name(migrated):
    """Today's data: one person per address, whose registrations (for different events) may
    carry different names — a family sharing an address. After 0003 each name is a person of
    its own on that address, every registration keeps a person, nothing is lost."""
    migrated("0001")
    with db.engine.begin() as conn:
        ids = seed_0001(conn)  # 花子 (スギナミ ハナコ) on hanako@example.jp, event 1
    migrated(previous_of("0003"))
    with db.engine.begin() as conn:
        person = conn.execute(
            sa.text("SELECT person_id FROM registrations WHERE id = :id"),
            {"id": ids["registration"]},
        ).scalar()
        org = conn.execute(sa.text("SELECT organization_id FROM events")).scalar()
        second_event = insert(
            conn,
            "events",
            organization_id=org,
            kind="lecture",
            title="講演会",
            description="",
            audience="",
            fee="無料",
            capacity=10,
            waitlist=True,
            admission="first_come",
            certifies=False,
            eligible_residencies='["live"]',
            registration_opens_at=_at(-5),
            registration_closes_at=_at(10),
            status="published",
            reminder_text="",
            created_at=_at(0),
            updated_at=_at(0),
        )
        common = {
            "family_name": "杉並",
            "family_name_kana": "スギナミ",
            "phone": "0333122111",
            "residency": "live",
            "age_group": "20s",
            "needs_childcare": False,
            "needs_sign_language": False,
            "needs_captioning": False,
            "needs_wheelchair": False,
            "needs_other": False,
            "childcare_ages": "",
            "needs": "",
            "source": "web",
            "cancel_reason": "",
            "created_at": _at(1),
            "updated_at": _at(1),
        }
        # The same address, for another event: her son, and (as typed then) 花子 again.
        son = insert(
            conn,
            "registrations",
            event_id=second_event,
            person_id=person,
            status="confirmed",
            token="s" * 43,
            ticket="BCDEFGHJKM",
            given_name="太郎",
            given_name_kana="タロウ",
            **common,
        )
        hanako_again = insert(
            conn,
            "registrations",
            event_id=second_event,
            person_id=insert(conn, "persons", email="other@example.jp", created_at=_at(0)),
            status="waitlisted",
            waitlist_position=1,
            token="h" * 43,
            ticket="CDEFGHJKMN",
            given_name="花子",
            given_name_kana="ハナコ",
            **common,
        )
        lonely = insert(conn, "persons", email="nobody@example.jp", created_at=_at(0))
    migrated("0003")
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.id, r.person_id, p.email, p.name_key FROM registrations r "
                "JOIN persons p ON p.id = r.person_id ORDER BY r.id"
            )
        ).all()
        assert len(rows) == 3  # every registration, each with a person
        by_id = {r.id: r for r in rows}
        hanako, taro = by_id[ids["registration"]], by_id[son]
        assert (hanako.person_id, hanako.email, hanako.name_key) == (
            person,
            "hanako@example.jp",
            "スギナミハナコ",
        )
        assert taro.person_id != person  # a person of his own, on the same address
        assert (taro.email, taro.name_key) == ("hanako@example.jp", "スギナミタロウ")
        assert by_id[hanako_again].email == "other@example.jp"
        assert conn.execute(sa.text("SELECT count(*) FROM persons")).scalar() == 4
        assert (
            conn.execute(
                sa.text("SELECT name_key FROM persons WHERE id = :id"), {"id": lonely}
            ).scalar()
            == ""
        )
        assert conn.execute(sa.text("SELECT count(*) FROM attendances")).scalar() == 1
    # The new rules hold in the migrated database: a second person on one address for one
    # event is allowed, the same person twice (live) is not.
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE registrations SET event_id = :e WHERE id = :id"),
            {"e": ids["event"], "id": son},
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE registrations SET person_id = :p WHERE id = :id"),
            {"p": person, "id": son},
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        insert(
            conn, "persons", email="hanako@example.jp", name_key="スギナミハナコ", created_at=_at(2)
        )
