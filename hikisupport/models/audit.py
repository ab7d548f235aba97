"""The audit log: who did or saw what, when, from where. Append-only."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index(None, "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Kept as text too: the entry must still say who it was if the account is removed.
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    staff_email: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(30), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")


# The database itself refuses to change or remove an entry, whatever code asks. (In production
# the app's role also lacks UPDATE, DELETE and TRUNCATE on the table:
# hikisupport/migrations/postgresql-roles.sql.)
APPEND_ONLY_DDL = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        # TRUNCATE fires no row trigger: it needs a statement trigger of its own.
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
}


@sa.event.listens_for(AuditLog.__table__, "after_create")
def _install_append_only_triggers(table, connection, **kw):
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)
