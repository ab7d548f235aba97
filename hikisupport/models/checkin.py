"""Check-in devices (受付端末) and the one-time codes that pair a tablet with one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db

device_events = sa.Table(
    "device_events",
    db.metadata,
    sa.Column("device_id", sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Device(db.Model):
    """A tablet that checks people in for some events of one organization, and nothing else.

    Only the SHA-256 of its token is stored; a device made on the staff page has no token until
    a tablet is paired with it. Revoked devices are kept (their check-ins refer to them)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paired_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    organization: Mapped[Organization] = relationship()  # noqa: F821
    events: Mapped[list[Event]] = relationship(  # noqa: F821
        secondary=device_events, order_by="Event.id"
    )

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def event_ids(self) -> frozenset[int]:
        return frozenset(e.id for e in self.events)


class DevicePairing(db.Model):
    """A one-time pairing code for a device: valid for minutes, used at most once."""

    __tablename__ = "device_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    device: Mapped[Device] = relationship()
