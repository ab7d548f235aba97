"""A person: the identity behind sign-ups, found by normalised e-mail address.

What someone types on a form (name, phone, residency ...) is kept on each Registration, as they
typed it for that sign-up. Nobody who merely knows an address can change what another
registration says by signing up for something else with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db


class Person(db.Model):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised (NFKC, trimmed, lower case). None for someone staff entered without one
    # (a phone or postcard sign-up): such a person gets no mail and is never matched.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registrations: Mapped[list[Registration]] = relationship(back_populates="person")  # noqa: F821
