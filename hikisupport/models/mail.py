"""The mail outbox: a mail is a row written in the same transaction as the change that causes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hikisupport.database import utcnow
from hikisupport.extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (sa.Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the mail is about: confirmation, waitlisted, promoted, cancelled, link ...
    kind: Mapped[str] = mapped_column(sa.String(20))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # pending → sending → sent; or back to pending with a later next_attempt_at; or failed.
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Attachments derived from other data at send time (e.g. "ticket": QR + .ics of the
    # registration), so a sign-up does not spend its time — and its seat lock — drawing them.
    attachment_builder: Mapped[str] = mapped_column(sa.String(20), default="")
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
