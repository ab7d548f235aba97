"""Organizations (the ward, contracted NPOs), staff accounts and their API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import OrganizationKind, StaffRole, vocabulary_column


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(
        vocabulary_column(OrganizationKind, 10), default=OrganizationKind.NPO
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return OrganizationKind(self.kind).label


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"
    __table_args__ = (
        sa.CheckConstraint(
            "role != 'organizer' OR organization_id IS NOT NULL", name="organizer_has_org"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[StaffRole] = mapped_column(vocabulary_column(StaffRole, 10, "role_known"))
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Failures from every address since the last sign-in: only far beyond the per-address
    # throttle (LoginThrottle) does the account itself lock (`locked_until`).
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Set when an admin resets the password: the temporary one must be changed at sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    # Part of the id kept in the session cookie: raising it (logout, deactivation) makes every
    # copy of an earlier cookie worthless.
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization | None] = relationship()
    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="staff")

    def get_id(self) -> str:  # Flask-Login: what the session cookie carries
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        self.session_version += 1

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.active

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def role_label(self) -> str:
        return StaffRole(self.role).label

    @property
    def display_name(self) -> str:
        return self.name or self.email


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, so a person can tell tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    staff: Mapped[StaffUser] = relationship(back_populates="api_tokens")


class LoginThrottle(db.Model):
    """Failed sign-ins for one typed address from one client address, and how long that pair
    must wait. Throttling the pair, not the account, keeps a stranger elsewhere from locking a
    member of staff out. The address is kept as a keyed hash: never the text that was typed."""

    __tablename__ = "login_throttles"
    __table_args__ = (sa.UniqueConstraint("account_key", "client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 of the normalised address typed in the e-mail box.
    account_key: Mapped[str] = mapped_column(sa.String(64))
    client: Mapped[str] = mapped_column(sa.String(45))
    # The account, when the address belongs to one (for the admin's list of lock-outs).
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    blocked_until: Mapped[datetime | None]

    staff: Mapped[StaffUser | None] = relationship()
