-- hikisupport on PostgreSQL: two roles, so that the application cannot rewrite its own audit log.
--
--   hikisupport_owner  owns the schema and the tables; runs `flask db upgrade` (migrations)
--                      and nothing else. Nobody runs the web app or the mail worker as it.
--   hikisupport_app    what gunicorn and `flask mail send --loop` connect as: reads and writes
--                      rows, but does not own any table — so it cannot ALTER, DROP or TRUNCATE
--                      them, nor disable their triggers — and on audit_log it may only INSERT
--                      and SELECT.
--
-- Together with the triggers of the audit log (UPDATE, DELETE and TRUNCATE raise an error)
-- the log is append-only even for someone who takes over the application's connection.
--
-- How to use it, as a superuser (postgres), once per installation:
--
--   1. createuser --pwprompt hikisupport_owner
--      createuser --pwprompt hikisupport_app
--      createdb --owner hikisupport_owner hikisupport
--   2. DATABASE_URL=postgresql+psycopg://hikisupport_owner:…@db/hikisupport \
--        flask --app hikisupport db upgrade
--   3. psql -d hikisupport -f hikisupport/migrations/postgresql-roles.sql
--   4. run the app and the mail worker with
--        DATABASE_URL=postgresql+psycopg://hikisupport_app:…@db/hikisupport
--
-- After a later `flask db upgrade` (as the owner), run this file again: it is idempotent, and
-- the default privileges below already cover tables that a migration creates.
-- The role names are examples: replace both everywhere in this file if yours differ.

-- The roles, if step 1 did not create them (no password: set one with \password).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hikisupport_owner') THEN
    CREATE ROLE hikisupport_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hikisupport_app') THEN
    CREATE ROLE hikisupport_app LOGIN;
  END IF;
END
$$;

-- The application may use the schema, not create anything in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hikisupport_app;

-- Rows of every table, ids from every sequence.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hikisupport_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hikisupport_app;

-- The audit log: added to and read, never changed or emptied.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM hikisupport_app;
GRANT SELECT, INSERT ON audit_log TO hikisupport_app;

-- Migrations are the owner's business; the app needs only to know none is pending.
REVOKE ALL ON alembic_version FROM hikisupport_app;
GRANT SELECT ON alembic_version TO hikisupport_app;

-- Tables and sequences that later migrations create (as the owner) get the same grants.
ALTER DEFAULT PRIVILEGES FOR ROLE hikisupport_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hikisupport_app;
ALTER DEFAULT PRIVILEGES FOR ROLE hikisupport_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO hikisupport_app;
