"""People to tell by phone or post (連絡が必要な方): applicants without an e-mail address whom a
draw, a promotion or a cancellation concerns. A row stays open until staff mark it 連絡済."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import ContactReason, vocabulary_column


class ContactTask(db.Model):
    __tablename__ = "contact_tasks"
    __table_args__ = (sa.Index(None, "event_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[ContactReason] = mapped_column(
        vocabulary_column(ContactReason, 20, "reason_known")
    )
    # What to tell them, in words, as of when it happened (a waitlist position changes later).
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    registration: Mapped[Registration] = relationship()  # noqa: F821
    event: Mapped[Event] = relationship()  # noqa: F821

    @property
    def reason_label(self) -> str:
        return ContactReason(self.reason).label
