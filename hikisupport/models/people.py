"""A person: the identity behind sign-ups, found by normalised e-mail address.

What someone types on a form (name, phone, residency ...) is kept on each Registration, as they
typed it for that sign-up. Nobody who merely knows an address can change what another
registration says by signing up for something else with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.database import utcnow
from hikisupport.extensions import db

# 年代: the values of the contract's `age_group` field, with their labels.
AGE_GROUPS = {
    "under20": "20歳未満",
    "20s": "20代",
    "30s": "30代",
    "40s": "40代",
    "50s": "50代",
    "60s": "60代",
    "70s": "70代",
    "80plus": "80歳以上",
}


class Person(db.Model):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised (NFKC, trimmed, lower case). None for someone staff entered without one
    # (a phone or postcard sign-up): such a person gets no mail and is never matched.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registrations: Mapped[list[Registration]] = relationship(back_populates="person")  # noqa: F821
