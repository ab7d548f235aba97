"""The audit log: who did or saw what, when, from where; and how an admin reads it.

Rows are only ever added (see `_refuse_changes`, and the database triggers in models/audit.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event as sa_event

from hikisupport.core.extensions import db
from hikisupport.models import AuditLog
from hikisupport.staff.access import current_caller


def record(action: str, obj=None, /, **detail) -> AuditLog:
    """Add an audit row to the current transaction (flushes, never commits)."""
    caller = current_caller() if has_request_context() else None
    if caller is not None and caller.is_device:
        detail.setdefault("device_id", caller.id)
    entry = AuditLog(
        staff_id=caller.id if caller is not None and caller.is_staff else None,
        staff_email=caller.label if caller is not None else detail.pop("staff_email", ""),
        action=action,
        object_type=type(obj).__tablename__ if obj is not None else detail.pop("object_type", ""),
        object_id=getattr(obj, "id", None) if obj is not None else detail.pop("object_id", None),
        detail=detail,
        ip=(request.remote_addr or "") if has_request_context() else "cli",
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass
class AuditFilter:
    action: str = ""
    staff: str = ""
    object_type: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def search(filters: AuditFilter, page: int, page_size: int) -> tuple[list[AuditLog], bool]:
    """One page of the log, newest first, and whether there is a next page."""
    query = sa.select(AuditLog)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action[:50], autoescape=True))
    if filters.staff:
        query = query.where(
            AuditLog.staff_email.contains(filters.staff.lower()[:254], autoescape=True)
        )
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type[:30])
    if filters.start is not None:
        query = query.where(AuditLog.at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditLog.at < filters.end)
    rows = db.session.scalars(
        query.order_by(AuditLog.id.desc()).limit(page_size + 1).offset((page - 1) * page_size)
    ).all()
    return list(rows[:page_size]), len(rows) > page_size


def actions() -> list[str]:
    """Every action name that occurs in the log (for the filter's choices)."""
    return list(db.session.scalars(sa.select(AuditLog.action).distinct().order_by(AuditLog.action)))


@sa_event.listens_for(AuditLog, "before_update")
@sa_event.listens_for(AuditLog, "before_delete")
def _refuse_changes(mapper, connection, target):
    raise PermissionError("the audit log is append-only")
