"""Revision 0006 (certification) upgrades a database with data in it, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from test_migrations import _at, insert, migrated, previous_of, seed_0001  # noqa: F401

from hikisupport.core.extensions import db


def test_0006_keeps_the_data_and_adds_certification(migrated):  # noqa: F811
    migrated("0001")
    with db.engine.begin() as conn:
        ids = seed_0001(conn)
        insert(
            conn,
            "municipalities",
            name="杉並区",
            code="131156",
            programme_name="事業",
            office_name="",
            office_contact="",
            indicator_name="ひきこもりサポーターの人数",
            indicator_unit="人",
            counted_residencies='["live"]',
            retention_fiscal_years=3,
        )
    migrated(previous_of("0006"))
    migrated("0006")
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM attendances")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM registrations")).scalar() == 1
        row = conn.execute(
            sa.text("SELECT suppression_threshold, indicator_definition FROM municipalities")
        ).one()
        assert row[0] == 5 and row[1].startswith("ひきこもりに関する")
        person = conn.execute(sa.text("SELECT person_id FROM registrations")).scalar()
        values = dict(
            person_id=person,
            counted_person_id=person,
            event_id=ids["event"],
            registration_id=ids["registration"],
            fiscal_year=2026,
            serial=1,
            edition=1,
            completed_at=_at(10),
            residency="live",
            family_name="杉並",
            given_name="花子",
            source="attendance",
            verification_code="c" * 32,
            reason="",
            certified_by="",
            created_at=_at(10),
            revoked_by="",
            revoke_reason="",
        )
        insert(conn, "certifications", **values)
        # A registration from a past course's roster is a known source now.
        conn.execute(sa.text("UPDATE registrations SET source = 'import'"))
    # One valid certification per person and event, enforced by the database.
    try:
        with db.engine.begin() as conn:
            insert(conn, "certifications", **{**values, "serial": 2, "verification_code": "d" * 32})
        raise AssertionError("a second valid certification was accepted")
    except sa.exc.IntegrityError:
        pass
