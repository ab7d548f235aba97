"""certification: numbered certifications, cohorts (振替), merges, erasures, past-course imports

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- certificate_counters (one row per fiscal year, locked to allocate the next number),
  certifications and the attendance rows each rests on (certification_attendances);
- course_series / course_cohorts: cohorts of one course linked for make-ups (振替);
- person_merges, person_erasures, past_course_imports;
- municipalities: indicator_definition, suppression_threshold (default 5);
- registrations.source may be 'import' (a past course's roster).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as of this revision (a migration never imports the app).
RESIDENCIES = ("live", "work", "study", "other")
AGE_GROUPS = ("under20", "20s", "30s", "40s", "50s", "60s", "70s", "80plus")
SOURCES_BEFORE = ("web", "phone", "postcard", "counter", "walk_in")
SOURCES = (*SOURCES_BEFORE, "import")
CERTIFICATION_SOURCES = ("attendance", "manual", "correction", "import")
REVOCATIONS = ("revoked", "withdrawn", "replaced")
ERASURE_KINDS = ("retention", "request")
DEFINITION = (
    "ひきこもりに関する講演会・サポーター養成講座等に参加し、ひきこもり状態にある方への理解を"
    "深め、相談支援機関等の案内ができるようになった区民の人数"
)
LIVE = sa.text("revoked_at IS NULL")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "certificate_counters",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_certificate_counters")),
    )
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("counted_person_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("residency", sa.String(10), nullable=False),
        sa.Column("age_group", sa.String(10), nullable=True),
        sa.Column("family_name", sa.String(60), nullable=False),
        sa.Column("given_name", sa.String(60), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("verification_code", sa.String(43), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("certified_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation", sa.String(12), nullable=True),
        sa.Column("revoked_by", sa.String(254), nullable=False),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("serial > 0 AND edition > 0", name=op.f("ck_certifications_number_positive")),
        sa.CheckConstraint(_in("residency", RESIDENCIES), name=op.f("ck_certifications_residency_known")),
        sa.CheckConstraint(_in("age_group", AGE_GROUPS), name=op.f("ck_certifications_age_group_known")),
        sa.CheckConstraint(_in("source", CERTIFICATION_SOURCES), name=op.f("ck_certifications_source_known")),
        sa.CheckConstraint(_in("revocation", REVOCATIONS), name=op.f("ck_certifications_revocation_known")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_certifications_person_id_persons")),
        sa.ForeignKeyConstraint(["counted_person_id"], ["persons.id"], name=op.f("fk_certifications_counted_person_id_persons")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_certifications_event_id_events")),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"], name=op.f("fk_certifications_registration_id_registrations")),
        sa.ForeignKeyConstraint(["replaces_id"], ["certifications.id"], name=op.f("fk_certifications_replaces_id_certifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.UniqueConstraint("fiscal_year", "serial", "edition", name=op.f("uq_certifications_fiscal_year_serial_edition")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_certifications_verification_code")),
    )
    op.create_index("ix_certifications_person_id", "certifications", ["person_id"])
    op.create_index("ix_certifications_counted_person_id", "certifications", ["counted_person_id"])
    op.create_index("ix_certifications_event_id", "certifications", ["event_id"])
    op.create_index("ix_certifications_registration_id", "certifications", ["registration_id"])
    op.create_index(
        "uq_certifications_live_person_event", "certifications", ["person_id", "event_id"],
        unique=True, sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_index(
        "ix_certifications_count", "certifications", ["residency", "counted_person_id", "completed_at"],
        sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_table(
        "certification_attendances",
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("attendance_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["certification_id"], ["certifications.id"], name=op.f("fk_certification_attendances_certification_id_certifications"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attendance_id"], ["attendances.id"], name=op.f("fk_certification_attendances_attendance_id_attendances")),
        sa.PrimaryKeyConstraint("certification_id", "attendance_id", name=op.f("pk_certification_attendances")),
    )
    op.create_index("ix_certification_attendances_attendance_id", "certification_attendances", ["attendance_id"])

    op.create_index(
        "ix_attendances_counted", "attendances", ["session_id", "registration_id"],
        sqlite_where=sa.text("undone_at IS NULL"), postgresql_where=sa.text("undone_at IS NULL"),
    )

    op.create_table(
        "course_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_course_series_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_series")),
    )
    op.create_index("ix_course_series_organization_id", "course_series", ["organization_id"])
    op.create_table(
        "course_cohorts",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_course_cohorts_event_id_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["course_series.id"], name=op.f("fk_course_cohorts_series_id_course_series")),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_course_cohorts")),
    )
    op.create_index("ix_course_cohorts_series_id", "course_cohorts", ["series_id"])

    op.create_table(
        "person_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duplicate_id", sa.Integer(), nullable=False),
        sa.Column("into_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_by", sa.String(254), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["duplicate_id"], ["persons.id"], name=op.f("fk_person_merges_duplicate_id_persons")),
        sa.ForeignKeyConstraint(["into_id"], ["persons.id"], name=op.f("fk_person_merges_into_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
        sa.UniqueConstraint("duplicate_id", name=op.f("uq_person_merges_duplicate_id")),
    )
    op.create_index("ix_person_merges_into_id", "person_merges", ["into_id"])
    op.create_table(
        "person_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("erased_by", sa.String(254), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("kind", ERASURE_KINDS), name=op.f("ck_person_erasures_kind_known")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_person_erasures_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_erasures")),
        sa.UniqueConstraint("person_id", name=op.f("uq_person_erasures_person_id")),
    )
    op.create_table(
        "past_course_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_past_course_imports_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_course_imports")),
    )

    with op.batch_alter_table("municipalities") as batch:
        batch.add_column(sa.Column("indicator_definition", sa.Text(), nullable=False, server_default=DEFINITION))
        batch.add_column(sa.Column("suppression_threshold", sa.Integer(), nullable=False, server_default="5"))
    with op.batch_alter_table("municipalities") as batch:
        batch.alter_column("indicator_definition", server_default=None)
        batch.alter_column("suppression_threshold", server_default=None)

    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint(op.f("ck_registrations_source_known"), type_="check")
        batch.create_check_constraint("source_known", _in("source", SOURCES))


def downgrade():
    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint(op.f("ck_registrations_source_known"), type_="check")
        batch.create_check_constraint("source_known", _in("source", SOURCES_BEFORE))
    with op.batch_alter_table("municipalities") as batch:
        batch.drop_column("suppression_threshold")
        batch.drop_column("indicator_definition")
    op.drop_table("past_course_imports")
    op.drop_table("person_erasures")
    op.drop_index("ix_person_merges_into_id", table_name="person_merges")
    op.drop_table("person_merges")
    op.drop_index("ix_course_cohorts_series_id", table_name="course_cohorts")
    op.drop_table("course_cohorts")
    op.drop_index("ix_course_series_organization_id", table_name="course_series")
    op.drop_table("course_series")
    op.drop_index("ix_attendances_counted", table_name="attendances")
    op.drop_index("ix_certification_attendances_attendance_id", table_name="certification_attendances")
    op.drop_table("certification_attendances")
    op.drop_table("certifications")
    op.drop_table("certificate_counters")
