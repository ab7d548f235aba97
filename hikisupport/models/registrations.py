"""A person's sign-up for an event: confirmed, waitlisted (キャンセル待ち) or cancelled."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.database import utcnow
from hikisupport.extensions import db

# The contract's `accommodations` values (配慮の申し出), with their labels.
ACCOMMODATIONS = {
    "childcare": "託児",
    "sign_language": "手話通訳",
    "captioning": "要約筆記",
    "wheelchair": "車いす席",
    "other": "その他の配慮",
}


# How a registration reached us (申込経路).
SOURCES = {
    "web": "ウェブ",
    "phone": "電話",
    "postcard": "往復はがき",
    "counter": "窓口",
    "walk_in": "当日参加",
}


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    # A lottery application before the draw (抽選待ち).
    APPLIED = "applied"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "confirmed": "参加確定",
            "waitlisted": "キャンセル待ち",
            "applied": "抽選待ち",
            "cancelled": "キャンセル済み",
        }[self.value]


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "person_id"),
        sa.Index(None, "event_id", "status"),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="position_iff_waitlisted",
        ),
        sa.CheckConstraint(
            "status IN ('confirmed', 'waitlisted', 'applied', 'cancelled')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12))
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
    residency: Mapped[str] = mapped_column(sa.String(10))
    age_group: Mapped[str] = mapped_column(sa.String(10))
    needs_childcare: Mapped[bool] = mapped_column(default=False)
    needs_sign_language: Mapped[bool] = mapped_column(default=False)
    needs_captioning: Mapped[bool] = mapped_column(default=False)
    needs_wheelchair: Mapped[bool] = mapped_column(default=False)
    needs_other: Mapped[bool] = mapped_column(default=False)
    childcare_ages: Mapped[str] = mapped_column(sa.String(100), default="")
    needs: Mapped[str] = mapped_column(sa.Text, default="")
    # web (the resident), phone / postcard / counter / walk_in (entered by staff)
    source: Mapped[str] = mapped_column(sa.String(10), default="web")
    # Why it was cancelled when not by the person (event cancelled, staff on their behalf).
    cancel_reason: Mapped[str] = mapped_column(sa.String(200), default="")
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
    def status_enum(self) -> RegistrationStatus:
        return RegistrationStatus(self.status)

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source, self.source)

    @property
    def accommodations(self) -> list[str]:
        """The accommodation codes requested, in the contract's order."""
        return [code for code in ACCOMMODATIONS if getattr(self, f"needs_{code}")]

    @property
    def accommodation_labels(self) -> list[str]:
        return [ACCOMMODATIONS[code] for code in self.accommodations]
