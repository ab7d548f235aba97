"""Events (講演会, サポーター養成講座, フォローアップ研修) and their dated sessions (回)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import (
    Admission,
    EventKind,
    EventStatus,
    Residency,
    vocabulary_column,
)


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(vocabulary_column(EventKind, 10, "kind_known"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    audience: Mapped[str] = mapped_column(sa.String(300), default="")
    fee: Mapped[str] = mapped_column(sa.String(100), default="無料")
    capacity: Mapped[int]
    waitlist: Mapped[bool] = mapped_column(default=True)
    admission: Mapped[Admission] = mapped_column(
        vocabulary_column(Admission, 12, "admission_known"), default=Admission.FIRST_COME
    )
    certifies: Mapped[bool] = mapped_column(default=False)
    # None: all of the event's sessions are required to complete it.
    required_sessions: Mapped[int | None]
    eligible_residencies: Mapped[list[str]] = mapped_column(sa.JSON, default=Residency.values)
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    status: Mapped[EventStatus] = mapped_column(
        vocabulary_column(EventStatus, 10, "status_known"), default=EventStatus.PUBLISHED
    )
    cancelled_at: Mapped[datetime | None]
    # Text added to the reminder mail the day before each session (持ち物, 会場の注意 …).
    reminder_text: Mapped[str] = mapped_column(sa.Text, default="")
    # Who to ask about this event (its organizer's window, not the ward's switchboard), shown on
    # its pages and in every mail about it.
    contact_phone: Mapped[str] = mapped_column(sa.String(30), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_hours: Mapped[str] = mapped_column(sa.String(100), default="")
    # 持ち物, and a link to a map of the venue (a link only: no embedded map, no other host).
    belongings: Mapped[str] = mapped_column(sa.String(500), default="")
    # The venue's street address (for the calendar's LOCATION and the page), when the
    # sessions share one venue.
    venue_address: Mapped[str] = mapped_column(sa.String(200), default="")
    map_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()  # noqa: F821
    sessions: Mapped[list[Session]] = relationship(
        back_populates="event", order_by="Session.number", cascade="all, delete-orphan"
    )

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_phone or self.contact_email or self.contact_hours)

    @property
    def kind_label(self) -> str:
        return EventKind(self.kind).label

    @property
    def status_label(self) -> str:
        return EventStatus(self.status).label

    @property
    def is_lottery(self) -> bool:
        return self.admission == Admission.LOTTERY

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def is_public(self) -> bool:
        """Shown to residents: published or cancelled (a cancelled event says so); not a draft."""
        return self.status != EventStatus.DRAFT

    @property
    def admission_label(self) -> str:
        return Admission(self.admission).label

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
        return [r.label for r in Residency if r in self.eligible_residencies]


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
