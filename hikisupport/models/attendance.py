"""Attendance (受付・出席) and reminders, per registration and session."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import AttendanceMethod, vocabulary_column


class Attendance(db.Model):
    """A registration checked in at one session: at most one row per pair."""

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
    # An undone check-in is kept, not deleted: it counts only while undone_at is NULL.
    undone_at: Mapped[datetime | None]

    registration: Mapped[Registration] = relationship()  # noqa: F821


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
