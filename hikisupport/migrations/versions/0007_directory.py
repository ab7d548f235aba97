"""the directory of 相談窓口 and 居場所: services, opening rules, dated closures

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- `services`: one directory entry (kind, name and kana, operator, audiences, contact, cost,
  booking, ways to consult, 匿名, family alone, notes, coordinates, status, 最終確認日).
- `service_schedules`: opening rules after Open Referral HSDS `schedule` (freq, byday,
  opens_at, closes_at, valid_from, valid_to) plus `closed` for a rule that closes.
- `service_closures`: dated exceptions (臨時休業) with a reason.
New tables only: no existing row is touched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as of this revision (a migration never imports the app).
SERVICE_KINDS = ("consultation", "ibasho", "family_group", "other")
BOOKINGS = ("required", "preferred", "none")
SERVICE_STATUSES = ("published", "paused", "closed")
FREQUENCIES = ("WEEKLY", "MONTHLY")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_kana", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("age_note", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("access", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("cost", sa.String(length=200), nullable=False),
        sa.Column("booking", sa.String(length=12), nullable=False),
        sa.Column("how_to_apply", sa.Text(), nullable=False),
        sa.Column("consult_methods", sa.JSON(), nullable=False),
        sa.Column("anonymous_ok", sa.Boolean(), nullable=False),
        sa.Column("family_alone_ok", sa.Boolean(), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=False),
        sa.Column("confidentiality", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("closed_year_end", sa.Boolean(), nullable=False),
        sa.Column("schedule_note", sa.String(length=300), nullable=False),
        sa.Column("last_checked_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("kind", SERVICE_KINDS), name=op.f("ck_services_kind_known")),
        sa.CheckConstraint(_in("booking", BOOKINGS), name=op.f("ck_services_booking_known")),
        sa.CheckConstraint(
            _in("status", SERVICE_STATUSES), name=op.f("ck_services_status_known")
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR latitude BETWEEN -90 AND 90", name=op.f("ck_services_latitude")
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180",
            name=op.f("ck_services_longitude"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_table(
        "service_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_service_closures_period")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_closures_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_closures")),
    )
    op.create_index(
        op.f("ix_service_closures_service_id"), "service_closures", ["service_id"], unique=False
    )
    op.create_table(
        "service_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("freq", sa.String(length=10), nullable=False),
        sa.Column("byday", sa.String(length=60), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            _in("freq", FREQUENCIES), name=op.f("ck_service_schedules_freq_known")
        ),
        sa.CheckConstraint(
            "closed OR (opens_at IS NOT NULL AND closes_at IS NOT NULL AND closes_at > opens_at)",
            name=op.f("ck_service_schedules_hours"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_service_schedules_validity"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_schedules_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_schedules")),
    )
    op.create_index(
        op.f("ix_service_schedules_service_id"),
        "service_schedules",
        ["service_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_service_schedules_service_id"), table_name="service_schedules")
    op.drop_table("service_schedules")
    op.drop_index(op.f("ix_service_closures_service_id"), table_name="service_closures")
    op.drop_table("service_closures")
    op.drop_table("services")
