"""supporters linked to the services they help at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

- `service_supporters`: a certified supporter (their certification) who opted in to help at
  a 居場所 or 相談窓口. One row per (service, certification); opting out deletes it.
New table only: no existing row is touched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_supporters",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certifications.id"],
            name=op.f("fk_service_supporters_certification_id_certifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_supporters_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_id", "certification_id", name=op.f("pk_service_supporters")
        ),
    )
    op.create_index(
        op.f("ix_service_supporters_certification_id"),
        "service_supporters",
        ["certification_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_service_supporters_certification_id"), table_name="service_supporters")
    op.drop_table("service_supporters")
