"""check-in devices, pairing codes; attendances record device, times, late uploads and undo

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- `devices` (a tablet for some events of one organization; only the SHA-256 of its token),
  `device_events`, `device_pairings` (one-time codes, valid for minutes).
- `attendances` gains the device, the staff member who entered a paper tick, the scan and
  receive times, a late flag, and who or which device undid it. Existing rows keep their
  values (not late; received when checked in).
- The attendance method vocabulary gains `paper` (a tick on the printed 受付名簿).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the vocabulary as of this revision (a migration never imports the app).
METHODS_BEFORE = ("qr", "name", "walk_in", "staff")
METHODS = (*METHODS_BEFORE, "paper")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_devices_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_users.id"], name=op.f("fk_devices_created_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["staff_users.id"], name=op.f("fk_devices_revoked_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_devices_token_hash")),
    )
    with op.batch_alter_table("devices") as batch:
        batch.create_index(batch.f("ix_devices_organization_id"), ["organization_id"])

    op.create_table(
        "device_events",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_events_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_device_events_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "event_id", name=op.f("pk_device_events")),
    )
    with op.batch_alter_table("device_events") as batch:
        batch.create_index(batch.f("ix_device_events_event_id"), ["event_id"])

    op.create_table(
        "device_pairings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_pairings_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_device_pairings_created_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_pairings")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_device_pairings_code_hash")),
    )
    with op.batch_alter_table("device_pairings") as batch:
        batch.create_index(batch.f("ix_device_pairings_device_id"), ["device_id"])

    with op.batch_alter_table("attendances") as batch:
        batch.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("undone_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("undone_by_device_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_attendances_device_id_devices"), "devices", ["device_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_attendances_recorded_by_id_staff_users"),
            "staff_users",
            ["recorded_by_id"],
            ["id"],
        )
        batch.create_foreign_key(
            batch.f("fk_attendances_undone_by_id_staff_users"),
            "staff_users",
            ["undone_by_id"],
            ["id"],
        )
        batch.create_foreign_key(
            batch.f("fk_attendances_undone_by_device_id_devices"),
            "devices",
            ["undone_by_device_id"],
            ["id"],
        )
        batch.create_index(batch.f("ix_attendances_device_id"), ["device_id"])
        batch.drop_constraint(batch.f("ck_attendances_known"), type_="check")
        batch.create_check_constraint("known", _in("method", METHODS))
    op.execute("UPDATE attendances SET received_at = checked_in_at WHERE received_at IS NULL")
    with op.batch_alter_table("attendances") as batch:
        batch.alter_column("late", server_default=None, existing_type=sa.Boolean())


def downgrade():
    op.execute("UPDATE attendances SET method = 'staff' WHERE method = 'paper'")
    with op.batch_alter_table("attendances") as batch:
        batch.drop_constraint(batch.f("ck_attendances_known"), type_="check")
        batch.create_check_constraint("known", _in("method", METHODS_BEFORE))
        batch.drop_index(batch.f("ix_attendances_device_id"))
        batch.drop_constraint(batch.f("fk_attendances_undone_by_device_id_devices"), "foreignkey")
        batch.drop_constraint(batch.f("fk_attendances_undone_by_id_staff_users"), "foreignkey")
        batch.drop_constraint(batch.f("fk_attendances_recorded_by_id_staff_users"), "foreignkey")
        batch.drop_constraint(batch.f("fk_attendances_device_id_devices"), "foreignkey")
        for column in (
            "undone_by_device_id",
            "undone_by_id",
            "late",
            "received_at",
            "scanned_at",
            "recorded_by_id",
            "device_id",
        ):
            batch.drop_column(column)
    op.drop_table("device_pairings")
    op.drop_table("device_events")
    op.drop_table("devices")
