"""The directory of 相談窓口 and 居場所: services, their opening rules and dated closures.

Opening rules follow the Open Referral HSDS `schedule` table (`freq`, `byday` such as ``TU``,
``2SA`` or ``-1FR``, `opens_at`, `closes_at`, `valid_from`, `valid_to`), so other systems can
read them as they are; `closed` marks a rule that closes instead of opens (第1・3・5日曜は休み).

A later table ``service_supporters`` (service_id → services.id, and the supporter's
certification) links certified supporters to the services they help at; nothing here needs to
change for it.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models.vocabulary import (
    Booking,
    ScheduleFrequency,
    ServiceKind,
    ServiceStatus,
    vocabulary_column,
)


class Service(db.Model):
    """One 相談窓口, 居場所, 家族会 or other support, as the public directory shows it."""

    __tablename__ = "services"
    __table_args__ = (
        sa.CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude"),
        sa.CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ServiceKind] = mapped_column(vocabulary_column(ServiceKind, 20, "kind_known"))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_kana: Mapped[str] = mapped_column(sa.String(200), default="")
    # 運営・委託先
    operator: Mapped[str] = mapped_column(sa.String(200), default="")
    # ServiceAudience values
    audiences: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # 対象年齢, as text (「15歳以上」「おおむね18〜39歳」)
    age_note: Mapped[str] = mapped_column(sa.String(100), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    access: Mapped[str] = mapped_column(sa.Text, default="")
    # Digits only, as `core.japanese.normalize_phone` gives them.
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    cost: Mapped[str] = mapped_column(sa.String(200), default="無料")
    booking: Mapped[Booking] = mapped_column(
        vocabulary_column(Booking, 12, "booking_known"), default=Booking.NONE
    )
    # 申込方法
    how_to_apply: Mapped[str] = mapped_column(sa.Text, default="")
    # ConsultMethod values
    consult_methods: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    anonymous_ok: Mapped[bool] = mapped_column(default=False)
    # A family member may come (or call) alone, without the person concerned.
    family_alone_ok: Mapped[bool] = mapped_column(default=False)
    accessibility: Mapped[str] = mapped_column(sa.Text, default="")
    confidentiality: Mapped[str] = mapped_column(sa.Text, default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    status: Mapped[ServiceStatus] = mapped_column(
        vocabulary_column(ServiceStatus, 12, "status_known"), default=ServiceStatus.PUBLISHED
    )
    closed_on_holidays: Mapped[bool] = mapped_column(default=True)
    # 年末年始 (12/29–1/3)
    closed_year_end: Mapped[bool] = mapped_column(default=True)
    # Added to the generated opening text (「最終受付は16:30です」).
    schedule_note: Mapped[str] = mapped_column(sa.String(300), default="")
    # 最終確認日: when staff last confirmed the entry with the service.
    last_checked_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    schedules: Mapped[list[ServiceSchedule]] = relationship(
        back_populates="service",
        order_by="ServiceSchedule.position",
        cascade="all, delete-orphan",
    )
    closures: Mapped[list[ServiceClosure]] = relationship(
        back_populates="service",
        order_by="ServiceClosure.starts_on",
        cascade="all, delete-orphan",
    )

    @property
    def kind_label(self) -> str:
        return ServiceKind.label_of(self.kind)

    @property
    def status_label(self) -> str:
        return ServiceStatus.label_of(self.status)

    @property
    def is_public(self) -> bool:
        return self.status != ServiceStatus.CLOSED

    @property
    def is_paused(self) -> bool:
        return self.status == ServiceStatus.PAUSED


class ServiceSchedule(db.Model):
    """One opening rule (HSDS `schedule`): e.g. WEEKLY TU,FR 10:00–17:00, MONTHLY 2SA,4SA."""

    __tablename__ = "service_schedules"
    __table_args__ = (
        sa.CheckConstraint(
            "closed OR (opens_at IS NOT NULL AND closes_at IS NOT NULL AND closes_at > opens_at)",
            name="hours",
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    freq: Mapped[ScheduleFrequency] = mapped_column(
        vocabulary_column(ScheduleFrequency, 10, "freq_known")
    )
    # RFC 5545 BYDAY list: "TU,FR" (weekly), "2SA,4SA" or "-1FR" (monthly).
    byday: Mapped[str] = mapped_column(sa.String(60))
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    # True: the days this rule names are closed (overrides the opening rules).
    closed: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    service: Mapped[Service] = relationship(back_populates="schedules")


class ServiceClosure(db.Model):
    """A dated exception: closed from `starts_on` to `ends_on` (inclusive), with the reason."""

    __tablename__ = "service_closures"
    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    service: Mapped[Service] = relationship(back_populates="closures")
