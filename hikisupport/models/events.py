"""Events (講演会, サポーター養成講座, フォローアップ研修) and their dated sessions (回)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.database import utcnow
from hikisupport.extensions import db

EVENT_KINDS = {
    "lecture": "講演会",
    "course": "サポーター養成講座",
    "followup": "フォローアップ研修",
}

# 在住・在勤・在学: the values of Person.residency and of an event's eligibility list.
RESIDENCIES = {
    "live": "区内在住",
    "work": "区内在勤",
    "study": "区内在学",
    "other": "その他（区外）",
}

ADMISSIONS = {"first_come": "先着順", "lottery": "抽選"}
EVENT_STATUSES = {"draft": "下書き（非公開）", "published": "公開中", "cancelled": "中止"}


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("kind IN ('lecture', 'course', 'followup')", name="kind_known"),
        sa.CheckConstraint("admission IN ('first_come', 'lottery')", name="admission_known"),
        sa.CheckConstraint("status IN ('draft', 'published', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    audience: Mapped[str] = mapped_column(sa.String(300), default="")
    fee: Mapped[str] = mapped_column(sa.String(100), default="無料")
    capacity: Mapped[int]
    waitlist: Mapped[bool] = mapped_column(default=True)
    admission: Mapped[str] = mapped_column(sa.String(12), default="first_come")
    certifies: Mapped[bool] = mapped_column(default=False)
    # None: all of the event's sessions are required to complete it.
    required_sessions: Mapped[int | None]
    eligible_residencies: Mapped[list[str]] = mapped_column(
        sa.JSON, default=lambda: list(RESIDENCIES)
    )
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(10), default="published")
    cancelled_at: Mapped[datetime | None]
    # Text added to the reminder mail the day before each session (持ち物, 会場の注意 …).
    reminder_text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()  # noqa: F821
    sessions: Mapped[list[Session]] = relationship(
        back_populates="event", order_by="Session.number", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return EVENT_KINDS[self.kind]

    @property
    def status_label(self) -> str:
        return EVENT_STATUSES.get(self.status, self.status)

    @property
    def is_lottery(self) -> bool:
        return self.admission == "lottery"

    @property
    def admission_label(self) -> str:
        return ADMISSIONS.get(self.admission, self.admission)

    @property
    def first_starts_at(self) -> datetime | None:
        return self.sessions[0].starts_at if self.sessions else None

    @property
    def last_ends_at(self) -> datetime | None:
        return max((s.ends_at for s in self.sessions), default=None)

    @property
    def sessions_required(self) -> int:
        return self.required_sessions or len(self.sessions)

    @property
    def residency_labels(self) -> list[str]:
        return [RESIDENCIES[r] for r in RESIDENCIES if r in self.eligible_residencies]


class Session(db.Model):
    """One dated meeting of an event (第N回), with its venue."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "number"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    number: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    venue: Mapped[str] = mapped_column(sa.String(200))
    # How to get there: station, walking time, step-free access.
    access: Mapped[str] = mapped_column(sa.Text, default="")

    event: Mapped[Event] = relationship(back_populates="sessions")
