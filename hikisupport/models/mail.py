"""The mail outbox: a mail is a row written in the same transaction as the change that causes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import OutboxStatus, vocabulary_column


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index(None, "status", "next_attempt_at"),
        sa.Index(None, "about_type", "about_id"),
        # The per-address caps count what was mailed to an address in the last hour.
        sa.Index(None, "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the mail is about: confirmation, waitlisted, promoted, cancelled, link ...
    kind: Mapped[str] = mapped_column(sa.String(20))
    # True for a mail a resident's own action caused (an application link, a sign-up or cancel
    # confirmation): those count against, and are held back by, the per-address cap.
    by_resident: Mapped[bool] = mapped_column(default=False)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    # Text: a prefix such as 【参加決定】 plus a 200-character title must fit.
    subject: Mapped[str] = mapped_column(sa.Text)
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OutboxStatus] = mapped_column(
        vocabulary_column(OutboxStatus, 10), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Attachments drawn at send time by a builder registered under this name (e.g. "ticket":
    # the QR and .ics of a registration), so a sign-up does not spend its time — and its seat
    # lock — drawing them.
    attachment_builder: Mapped[str] = mapped_column(sa.String(40), default="")
    # The text and HTML written when the mail is sent by a builder registered under this name,
    # not inside the sign-up's transaction (and its seat lock); kept in the row once sent.
    body_builder: Mapped[str] = mapped_column(sa.String(40), default="")
    # What the mail is about, in any area: ("registration", 12), ("certification", 3) …
    about_type: Mapped[str] = mapped_column(sa.String(30), default="")
    about_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
