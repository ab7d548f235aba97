"""A person: the identity behind sign-ups, found by address *and* name.

A family may share one e-mail address: each member who signs up is a person of their own,
told apart by their normalised フリガナ (`name_key`). What someone types on a form (name,
phone, residency ...) is kept on each Registration, as they typed it for that sign-up.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db

_NOT_IN_KEY = re.compile(r"[\s・･]+")


def name_key(family_name_kana: str, given_name_kana: str) -> str:
    """The name part of a person's identity: フリガナ as stored (全角カタカナ, normalised by the
    form), spaces and middle dots dropped, so 「スギナミ ハナコ」 and 「スギナミハナコ」 are one."""
    return _NOT_IN_KEY.sub("", f"{family_name_kana}{given_name_kana}")


class Person(db.Model):
    __tablename__ = "persons"
    # One person per (address, name). Someone entered by staff without an address has a NULL
    # email, and NULLs never collide: such a person is never matched.
    __table_args__ = (sa.UniqueConstraint("email", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised (NFKC, trimmed, lower case). None for someone staff entered without one
    # (a phone or postcard sign-up): such a person gets no mail.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # `name_key(フリガナ)`; "" only for a person left from before names were part of a person.
    name_key: Mapped[str] = mapped_column(sa.String(130), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registrations: Mapped[list[Registration]] = relationship(back_populates="person")  # noqa: F821
