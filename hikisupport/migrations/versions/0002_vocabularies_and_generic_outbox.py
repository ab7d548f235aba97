"""vocabularies checked by the database; the outbox refers to any area's object

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

- CHECK constraints for the vocabularies that had none: a registration's residency, age group
  and source, an organization's kind, an outbox row's status, an attendance's method.
- The outbox row's `registration_id` becomes (`about_type`, `about_id`), so a mail can be about
  a certification or a directory entry as well; existing rows keep what they were about.
- An attendance can be undone without being deleted (`undone_at`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as of this revision (a migration never imports the app).
RESIDENCIES = ("live", "work", "study", "other")
AGE_GROUPS = ("under20", "20s", "30s", "40s", "50s", "60s", "70s", "80plus")
SOURCES = ("web", "phone", "postcard", "counter", "walk_in")
ORGANIZATION_KINDS = ("ward", "npo")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
ATTENDANCE_METHODS = ("qr", "name", "walk_in", "staff")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table("registrations") as batch:
        batch.create_check_constraint("residency_known", _in("residency", RESIDENCIES))
        batch.create_check_constraint("age_group_known", _in("age_group", AGE_GROUPS))
        batch.create_check_constraint("source_known", _in("source", SOURCES))
    with op.batch_alter_table("organizations") as batch:
        batch.create_check_constraint("known", _in("kind", ORGANIZATION_KINDS))
    with op.batch_alter_table("attendances") as batch:
        batch.create_check_constraint("known", _in("method", ATTENDANCE_METHODS))
        batch.add_column(sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("about_type", sa.String(30), nullable=False, server_default=""))
        batch.add_column(sa.Column("about_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE outbox_messages SET about_type = 'registrations', about_id = registration_id "
        "WHERE registration_id IS NOT NULL"
    )
    # Builders are now registered by name per area (create_app): "ticket" is the registration's.
    op.execute(
        "UPDATE outbox_messages SET attachment_builder = 'registration.ticket' "
        "WHERE attachment_builder = 'ticket'"
    )
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_index("ix_outbox_messages_registration_id")
        batch.drop_constraint("fk_outbox_messages_registration_id_registrations", type_="foreignkey")
        batch.drop_column("registration_id")
        batch.alter_column("about_type", server_default=None)
        batch.alter_column(
            "attachment_builder", type_=sa.String(40), existing_type=sa.String(20)
        )
        batch.create_index("ix_outbox_messages_about_type_about_id", ["about_type", "about_id"])
        batch.create_check_constraint("known", _in("status", OUTBOX_STATUSES))


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_constraint(op.f("ck_outbox_messages_known"), type_="check")
        batch.drop_index("ix_outbox_messages_about_type_about_id")
        batch.alter_column(
            "attachment_builder", type_=sa.String(20), existing_type=sa.String(40)
        )
        batch.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE outbox_messages SET registration_id = about_id "
        "WHERE about_type = 'registrations' AND about_id IN (SELECT id FROM registrations)"
    )
    op.execute(
        "UPDATE outbox_messages SET attachment_builder = 'ticket' "
        "WHERE attachment_builder = 'registration.ticket'"
    )
    with op.batch_alter_table("outbox_messages") as batch:
        batch.create_foreign_key(
            "fk_outbox_messages_registration_id_registrations",
            "registrations",
            ["registration_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_outbox_messages_registration_id", ["registration_id"])
        batch.drop_column("about_id")
        batch.drop_column("about_type")
    with op.batch_alter_table("attendances") as batch:
        batch.drop_column("undone_at")
        batch.drop_constraint(op.f("ck_attendances_known"), type_="check")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint(op.f("ck_organizations_known"), type_="check")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint(op.f("ck_registrations_source_known"), type_="check")
        batch.drop_constraint(op.f("ck_registrations_age_group_known"), type_="check")
        batch.drop_constraint(op.f("ck_registrations_residency_known"), type_="check")
