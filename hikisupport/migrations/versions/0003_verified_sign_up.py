"""verified sign-up: a person is an address and a name; event contact details

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- A person is found by address *and* normalised フリガナ (`persons.name_key`): a family sharing
  one address are separate persons. Existing data (one person per address) is split by the names
  its registrations carry: the first name keeps the person row, each other name gets a new
  person with the same address, and its registrations move to it. Every registration keeps a
  person; no row is deleted.
- One *live* registration per person and event (a partial unique index), so a cancelled
  registration stays as it was, and its old link still says it was cancelled.
- Events carry their own 問い合わせ先 (phone, mail, hours), 持ち物, the venue's address and a
  map link.
- Outbox rows say whether a resident's own action caused them (indexed by recipient and time
  for the per-address caps), and may have their text written when sent (`body_builder`).
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# A frozen copy of `models.people.name_key` (a migration never imports the app).
_NOT_IN_KEY = re.compile(r"[\s・･]+")


def _name_key(family_kana, given_kana) -> str:
    return _NOT_IN_KEY.sub("", f"{family_kana or ''}{given_kana or ''}")


def upgrade():
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("name_key", sa.String(130), nullable=False, server_default=""))
        batch.drop_constraint("uq_persons_email", type_="unique")
    _split_persons_by_name()
    with op.batch_alter_table("persons") as batch:
        batch.alter_column("name_key", server_default=None, existing_type=sa.String(130))
        batch.create_unique_constraint("uq_persons_email_name_key", ["email", "name_key"])

    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint("uq_registrations_event_id_person_id", type_="unique")
    op.create_index(
        "uq_registrations_event_id_person_id_live",
        "registrations",
        ["event_id", "person_id"],
        unique=True,
        sqlite_where=sa.text("status != 'cancelled'"),
        postgresql_where=sa.text("status != 'cancelled'"),
    )

    with op.batch_alter_table("events") as batch:
        for name, length in (
            ("contact_phone", 30),
            ("contact_email", 254),
            ("contact_hours", 100),
            ("belongings", 500),
            ("venue_address", 200),
            ("map_url", 500),
        ):
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=""))
    with op.batch_alter_table("events") as batch:
        for name, length in (
            ("contact_phone", 30),
            ("contact_email", 254),
            ("contact_hours", 100),
            ("belongings", 500),
            ("venue_address", 200),
            ("map_url", 500),
        ):
            batch.alter_column(name, server_default=None, existing_type=sa.String(length))

    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column("by_resident", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("body_builder", sa.String(40), nullable=False, server_default="")
        )
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("by_resident", server_default=None, existing_type=sa.Boolean())
        batch.alter_column("body_builder", server_default=None, existing_type=sa.String(40))
        batch.create_index(
            "ix_outbox_messages_recipient_created_at", ["recipient", "created_at"]
        )


def _split_persons_by_name():
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT r.id, r.person_id, r.family_name_kana, r.given_name_kana, p.email, "
            "p.created_at FROM registrations r JOIN persons p ON p.id = r.person_id "
            "ORDER BY r.person_id, r.created_at, r.id"
        )
    ).all()
    keyed: dict[tuple[int, str], int] = {}  # (old person, name key) → person id
    named: set[int] = set()
    for registration_id, person_id, family, given, email, created_at in rows:
        key = _name_key(family, given)
        target = keyed.get((person_id, key))
        if target is None and person_id not in named:
            # The first name seen keeps the existing person row.
            conn.execute(
                sa.text("UPDATE persons SET name_key = :key WHERE id = :id"),
                {"key": key, "id": person_id},
            )
            named.add(person_id)
            target = person_id
        elif target is None:
            # Another name on the same address: a person of their own.
            insert = sa.text(
                "INSERT INTO persons (email, name_key, created_at) "
                "VALUES (:email, :key, :created_at)"
                + (" RETURNING id" if conn.dialect.name == "postgresql" else "")
            )
            result = conn.execute(insert, {"email": email, "key": key, "created_at": created_at})
            target = result.scalar() if conn.dialect.name == "postgresql" else result.lastrowid
        keyed[(person_id, key)] = target
        if target != person_id:
            conn.execute(
                sa.text("UPDATE registrations SET person_id = :p WHERE id = :id"),
                {"p": target, "id": registration_id},
            )


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_index("ix_outbox_messages_recipient_created_at")
        batch.drop_column("body_builder")
        batch.drop_column("by_resident")
    with op.batch_alter_table("events") as batch:
        for name in ("contact_phone", "contact_email", "contact_hours", "belongings", "venue_address", "map_url"):
            batch.drop_column(name)
    op.drop_index("uq_registrations_event_id_person_id_live", table_name="registrations")
    # Back to one person per address: every registration moves to the address's first person;
    # a person left with two registrations for one event cannot be expressed and stops here.
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE registrations SET person_id = (SELECT min(q.id) FROM persons p "
            "JOIN persons q ON q.email = p.email WHERE p.id = registrations.person_id) "
            "WHERE person_id IN (SELECT id FROM persons WHERE email IS NOT NULL)"
        )
    )
    conn.execute(
        sa.text(
            "DELETE FROM persons WHERE email IS NOT NULL AND id NOT IN "
            "(SELECT min(id) FROM persons WHERE email IS NOT NULL GROUP BY email)"
        )
    )
    with op.batch_alter_table("registrations") as batch:
        batch.create_unique_constraint(
            "uq_registrations_event_id_person_id", ["event_id", "person_id"]
        )
    with op.batch_alter_table("persons") as batch:
        batch.drop_constraint("uq_persons_email_name_key", type_="unique")
        batch.create_unique_constraint("uq_persons_email", ["email"])
        batch.drop_column("name_key")
