"""hardening: text that fits what forms allow, people to call, login throttles, TRUNCATE refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- `outbox_messages.subject` and `registrations.cancel_reason` become TEXT: a subject is a prefix
  plus a 200-character title, and a staff member's reason may be 500 characters.
- `contact_tasks`: applicants without e-mail whom a draw, a promotion or a cancellation concerns,
  until staff mark them 連絡済.
- `login_throttles` (per typed address and client) and `staff_users.must_change_password`.
- PostgreSQL: a BEFORE TRUNCATE trigger on `audit_log` (row triggers never see a TRUNCATE).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copy of the vocabulary as of this revision (a migration never imports the app).
CONTACT_REASONS = ("lottery_won", "lottery_waitlisted", "promoted", "event_cancelled")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("subject", type_=sa.Text(), existing_type=sa.String(200))
    with op.batch_alter_table("registrations") as batch:
        batch.alter_column("cancel_reason", type_=sa.Text(), existing_type=sa.String(200))
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("staff_users") as batch:
        batch.alter_column("must_change_password", server_default=None)

    op.create_table(
        "contact_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _in("reason", CONTACT_REASONS), name=op.f("ck_contact_tasks_reason_known")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["staff_users.id"], name=op.f("fk_contact_tasks_done_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_contact_tasks_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"], ["registrations.id"],
            name=op.f("fk_contact_tasks_registration_id_registrations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_tasks")),
    )
    with op.batch_alter_table("contact_tasks") as batch:
        batch.create_index("ix_contact_tasks_event_id_done_at", ["event_id", "done_at"])
        batch.create_index("ix_contact_tasks_registration_id", ["registration_id"])

    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=45), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_login_throttles_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint(
            "account_key", "client", name=op.f("uq_login_throttles_account_key_client")
        ),
    )
    with op.batch_alter_table("login_throttles") as batch:
        batch.create_index("ix_login_throttles_staff_id", ["staff_id"])
        batch.create_index("ix_login_throttles_last_failure_at", ["last_failure_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_table("login_throttles")
    op.drop_table("contact_tasks")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("registrations") as batch:
        batch.alter_column("cancel_reason", type_=sa.String(200), existing_type=sa.Text())
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("subject", type_=sa.String(200), existing_type=sa.Text())
