"""Attendance (受付・出席) and reminders, per registration and session."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import AttendanceMethod, vocabulary_column


class Attendance(db.Model):
    """A registration checked in at one session: at most one row per pair.

    An undone check-in keeps its row (``undone_at``, who and which device); checked in again,
    the same row is used anew and the earlier values go to the audit log."""

    __tablename__ = "attendances"
    __table_args__ = (sa.UniqueConstraint("registration_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE")
    )
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[AttendanceMethod] = mapped_column(
        vocabulary_column(AttendanceMethod, 10), default=AttendanceMethod.STAFF
    )
    # The tablet's UUID for this check-in, so a retried request is recognised.
    client_uuid: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    # Which tablet sent it (None: entered by staff).
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    # Who entered it on a staff page (a tick from the paper roster).
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    # When the tablet scanned or tapped, by its clock (None: not known, e.g. from paper) …
    scanned_at: Mapped[datetime | None]
    # … and when the server received it. An upload long after the scan is flagged late.
    received_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)
    # An undone check-in is kept, not deleted: it counts only while undone_at is NULL.
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    undone_by_device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))

    registration: Mapped[Registration] = relationship()  # noqa: F821
    device: Mapped[Device | None] = relationship(foreign_keys=[device_id])  # noqa: F821

    @property
    def counts(self) -> bool:
        return self.undone_at is None


class Reminder(db.Model):
    """A reminder mail queued for one registration and session: never twice."""

    __tablename__ = "reminders"
    __table_args__ = (sa.UniqueConstraint("registration_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE")
    )
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
