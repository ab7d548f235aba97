"""A person's sign-up for an event: confirmed, waitlisted (キャンセル待ち) or cancelled."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import (
    Accommodation,
    AgeGroup,
    RegistrationSource,
    RegistrationStatus,
    Residency,
    vocabulary_column,
)


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        # One live registration per person and event; a cancelled one stays (its old link
        # still says it was cancelled) and the person may sign up again beside it.
        sa.Index(
            "uq_registrations_event_id_person_id_live",
            "event_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("status != 'cancelled'"),
            postgresql_where=sa.text("status != 'cancelled'"),
        ),
        sa.Index(None, "event_id", "status"),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="position_iff_waitlisted",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(
        vocabulary_column(RegistrationStatus, 12, "status_known")
    )
    waitlist_position: Mapped[int | None]
    # The secret in the personal link /r/<token>: 256 bits, never logged.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The short code in the QR ticket; identifies the registration at the venue.
    ticket: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # As typed for this sign-up (normalised): who they are and how to reach them.
    family_name: Mapped[str] = mapped_column(sa.String(60))
    given_name: Mapped[str] = mapped_column(sa.String(60))
    family_name_kana: Mapped[str] = mapped_column(sa.String(60))
    given_name_kana: Mapped[str] = mapped_column(sa.String(60))
    phone: Mapped[str] = mapped_column(sa.String(20))
    # 在住・在勤・在学 as stated for this sign-up; eligibility is checked against it.
    residency: Mapped[Residency] = mapped_column(
        vocabulary_column(Residency, 10, "residency_known")
    )
    age_group: Mapped[AgeGroup] = mapped_column(vocabulary_column(AgeGroup, 10, "age_group_known"))
    needs_childcare: Mapped[bool] = mapped_column(default=False)
    needs_sign_language: Mapped[bool] = mapped_column(default=False)
    needs_captioning: Mapped[bool] = mapped_column(default=False)
    needs_wheelchair: Mapped[bool] = mapped_column(default=False)
    needs_other: Mapped[bool] = mapped_column(default=False)
    childcare_ages: Mapped[str] = mapped_column(sa.String(100), default="")
    needs: Mapped[str] = mapped_column(sa.Text, default="")
    # web (the resident), phone / postcard / counter / walk_in (entered by staff)
    source: Mapped[RegistrationSource] = mapped_column(
        vocabulary_column(RegistrationSource, 10, "source_known"), default=RegistrationSource.WEB
    )
    # Why it was cancelled when not by the person (event cancelled, staff on their behalf).
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    consented_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    link_resent_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()  # noqa: F821
    person: Mapped[Person] = relationship(back_populates="registrations")  # noqa: F821

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}"

    @property
    def email(self) -> str:
        return self.person.email or ""

    @property
    def status_label(self) -> str:
        return RegistrationStatus(self.status).label

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED

    @property
    def source_label(self) -> str:
        return RegistrationSource(self.source).label

    @property
    def accommodations(self) -> list[str]:
        """The accommodation codes requested, in the contract's order."""
        return [a.value for a in Accommodation if getattr(self, f"needs_{a.value}")]

    @property
    def accommodation_labels(self) -> list[str]:
        return [Accommodation(code).label for code in self.accommodations]
