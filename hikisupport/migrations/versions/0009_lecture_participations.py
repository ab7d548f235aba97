"""講演会参加者数 kept per person and fiscal year: lecture_participations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

- `lecture_participations`: one row per (fiscal year, person) with that person's lecture
  attendances that year (not undone), filled here from the attendance already recorded and kept
  up to date by the application (`reports.participation`) on every check-in, tick, undo, past
  course import and lecture edit. The policy page counts 実人数 and 延べ from it.
A new table only; no existing row is touched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fiscal_year(column: str) -> str:
    """The Japanese fiscal year (April–March, Japan time) of a stored UTC timestamp."""
    if op.get_bind().dialect.name == "postgresql":
        return (
            f"CAST(EXTRACT(YEAR FROM timezone('Asia/Tokyo', {column}) - interval '3 months') "
            "AS INTEGER)"
        )
    return f"CAST(strftime('%Y', {column}, '+9 hours', '-3 months') AS INTEGER)"


def upgrade():
    op.create_table(
        "lecture_participations",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("attendances", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "attendances > 0", name=op.f("ck_lecture_participations_attendances_positive")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_lecture_participations_person_id_persons")
        ),
        sa.PrimaryKeyConstraint(
            "fiscal_year", "person_id", name=op.f("pk_lecture_participations")
        ),
    )
    fiscal_year = _fiscal_year("sessions.starts_at")
    op.execute(
        "INSERT INTO lecture_participations (fiscal_year, person_id, attendances) "
        f"SELECT {fiscal_year}, registrations.person_id, count(*) "
        "FROM attendances "
        "JOIN sessions ON sessions.id = attendances.session_id "
        "JOIN events ON events.id = sessions.event_id "
        "JOIN registrations ON registrations.id = attendances.registration_id "
        "WHERE events.kind = 'lecture' AND attendances.undone_at IS NULL "
        f"GROUP BY {fiscal_year}, registrations.person_id"
    )


def downgrade():
    op.drop_table("lecture_participations")
