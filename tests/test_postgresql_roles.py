"""The production set-up of hikisupport/migrations/postgresql-roles.sql, run against the test
database: the application's role owns no table and may only INSERT and SELECT on audit_log —
UPDATE, DELETE and TRUNCATE are refused by PostgreSQL's privileges, before any trigger is even
asked."""

import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from test_migrations import migrated  # noqa: F401 - the fixture

from hikisupport import PROJECT_ROOT
from hikisupport.core.extensions import db

SQL = PROJECT_ROOT / "hikisupport" / "migrations" / "postgresql-roles.sql"


@pytest.fixture
def roles(migrated, database_url):  # noqa: F811 - the imported fixture
    """Unique role names for this run, the file applied after `flask db upgrade`, and the
    roles dropped again afterwards (roles belong to the whole server, not one database)."""
    migrated("head")
    suffix = secrets.token_hex(4)
    owner, app_role, password = f"hks_owner_{suffix}", f"hks_app_{suffix}", secrets.token_hex(12)
    text = SQL.read_text().replace("hikisupport_owner", owner).replace("hikisupport_app", app_role)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(text)
        conn.exec_driver_sql(f"ALTER ROLE {app_role} PASSWORD '{password}'")
    url = make_url(database_url).set(username=app_role, password=password)
    engine = sa.create_engine(url)
    try:
        yield engine, owner, app_role
    finally:
        engine.dispose()
        with db.engine.begin() as conn:
            for role in (app_role, owner):
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")


@pytest.mark.only_backend("postgresql")
def test_the_app_role_may_only_add_to_and_read_the_audit_log(roles):
    engine, _, app_role = roles
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar() == app_role
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, staff_email, action, object_type, detail, ip) "
            "VALUES (now(), '', 'test', '', '{}', 'test')"
        )
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar() == 1
        # Ordinary tables: rows in and out, as the app needs.
        conn.exec_driver_sql(
            "INSERT INTO organizations (name, kind, created_at) VALUES ('x', 'npo', now())"
        )
        conn.exec_driver_sql("UPDATE organizations SET name = 'y'")
        conn.exec_driver_sql("DELETE FROM organizations")
    for statement in (
        "UPDATE audit_log SET action = 'changed'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate",
        "DROP TABLE audit_log",
        "CREATE TABLE sneaky (id int)",
    ):
        refused = pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner")
        with refused, engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT action FROM audit_log").scalar() == "test"


@pytest.mark.only_backend("postgresql")
def test_tables_of_later_migrations_are_granted_too(roles):
    engine, owner, _ = roles
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA public TO {owner}")
        conn.exec_driver_sql(f"SET ROLE {owner}")
        conn.exec_driver_sql("CREATE TABLE later_table (id serial PRIMARY KEY, note text)")
        conn.exec_driver_sql("RESET ROLE")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO later_table (note) VALUES ('ok')")
            assert conn.exec_driver_sql("SELECT note FROM later_table").scalar() == "ok"
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE later_table")


@pytest.mark.only_backend("postgresql")
def test_the_audit_log_refuses_truncate_even_to_its_owner(migrated):  # noqa: F811
    """The BEFORE TRUNCATE trigger (migration 0004): the last line of defence when someone
    connects as the owner (or the tests' superuser)."""
    migrated("head")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_log")
