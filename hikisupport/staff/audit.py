"""Write the audit log: every roster view, export, registration change, certification change
and staff-account change. Rows are only ever added (see `_refuse_changes`)."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event as sa_event

from hikisupport.extensions import db
from hikisupport.models import AuditLog


def record(action: str, obj=None, /, **detail) -> AuditLog:
    """Add an audit row to the current transaction (flushes, never commits)."""
    staff = current_user if has_request_context() and current_user.is_authenticated else None
    entry = AuditLog(
        staff_id=staff.id if staff else None,
        staff_email=staff.email if staff else detail.pop("staff_email", ""),
        action=action,
        object_type=type(obj).__tablename__ if obj is not None else detail.pop("object_type", ""),
        object_id=getattr(obj, "id", None) if obj is not None else detail.pop("object_id", None),
        detail=detail,
        ip=(request.remote_addr or "") if has_request_context() else "cli",
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@sa_event.listens_for(AuditLog, "before_update")
@sa_event.listens_for(AuditLog, "before_delete")
def _refuse_changes(mapper, connection, target):
    raise PermissionError("the audit log is append-only")
