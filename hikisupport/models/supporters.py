"""Supporters: certifications (修了・サポーター認定), their numbering, cohorts of a course (振替),
merged person records, erasures and past-course imports.

A certification row is never deleted: revoking, withdrawing (the completing check-in was undone)
and replacing (a corrected certificate) keep it with who, when and why. The indicator counts
certification rows — never registrations or persons — so erasing personal data or merging two
person records cannot change a past count.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import era_year
from hikisupport.models.attendance import Attendance
from hikisupport.models.vocabulary import (
    AgeGroup,
    CertificationSource,
    ErasureKind,
    Residency,
    Revocation,
    vocabulary_column,
)


def certificate_number(fiscal_year: int, serial: int, edition: int = 1) -> str:
    """「R8-0001」: the era's initial and year of the fiscal year, then the serial; a later
    edition (a corrected certificate) adds 「-2」, 「-3」 …"""
    era = era_year(fiscal_year)  # 「令和8年」
    initial = {"令和": "R", "平成": "H", "昭和": "S"}.get(era[:2], "")
    year = era[2:-1].replace("元", "1")
    number = f"{initial}{year}-{serial:04d}" if initial else f"{fiscal_year}-{serial:04d}"
    return number if edition == 1 else f"{number}-{edition}"


class CertificateCounter(db.Model):
    """The last number issued in a fiscal year; locked while the next one is allocated, so
    numbers are unique and without gaps (a rolled-back certification takes its number back)."""

    __tablename__ = "certificate_counters"

    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(default=0)


class Certification(db.Model):
    __tablename__ = "certifications"
    __table_args__ = (
        # A corrected certificate keeps its number as a new edition.
        sa.UniqueConstraint("fiscal_year", "serial", "edition"),
        # At most one valid certification per person record and event, whatever code runs.
        sa.Index(
            "uq_certifications_live_person_event",
            "person_id",
            "event_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
        # The count: valid rows by residency, per counted person, in order of completion.
        sa.Index(
            "ix_certifications_count",
            "residency",
            "counted_person_id",
            "completed_at",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
        sa.CheckConstraint("serial > 0 AND edition > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    # The person this certification is counted for: the person itself, or the record it was
    # merged into (kept up to date by the merge, so the count needs no join).
    counted_person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id"), index=True
    )
    fiscal_year: Mapped[int]
    serial: Mapped[int]
    edition: Mapped[int] = mapped_column(default=1)
    # When the course was completed (the completing session's start), in UTC.
    completed_at: Mapped[datetime]
    # 在住・在勤・在学 and 年代 as stated on the registration the certification rests on.
    residency: Mapped[Residency] = mapped_column(
        vocabulary_column(Residency, 10, "residency_known")
    )
    age_group: Mapped[AgeGroup | None] = mapped_column(
        vocabulary_column(AgeGroup, 10, "age_group_known")
    )
    # The name as printed on the certificate (a correction is a new row with the right one).
    family_name: Mapped[str] = mapped_column(sa.String(60))
    given_name: Mapped[str] = mapped_column(sa.String(60))
    source: Mapped[CertificationSource] = mapped_column(
        vocabulary_column(CertificationSource, 12, "source_known")
    )
    # The secret in the certificate's QR (/v/<code>): 192 bits.
    verification_code: Mapped[str] = mapped_column(sa.String(43), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")  # manual or corrected: why
    certified_by: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revocation: Mapped[Revocation | None] = mapped_column(
        vocabulary_column(Revocation, 12, "revocation_known")
    )
    revoked_by: Mapped[str] = mapped_column(sa.String(254), default="")
    revoke_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # A corrected certificate points at the one it replaces.
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certifications.id"))

    event: Mapped[Event] = relationship()  # noqa: F821
    registration: Mapped[Registration | None] = relationship()  # noqa: F821
    person: Mapped[Person] = relationship(foreign_keys=[person_id])  # noqa: F821
    attendances: Mapped[list[CertificationAttendance]] = relationship(
        back_populates="certification", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        """「R8-0001」 (令和8年度の1番); a corrected edition 「R8-0001-2」."""
        return certificate_number(self.fiscal_year, self.serial, self.edition)

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def status_label(self) -> str:
        if self.revoked_at is None:
            return "有効"
        return Revocation(self.revocation).label if self.revocation else "取消"

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def source_label(self) -> str:
        return CertificationSource(self.source).label


# Attendance that counts (not undone), by session, with its registration: the lecture
# figures on the policy page read only this index (an index-only scan on PostgreSQL).
sa.Index(
    "ix_attendances_counted",
    Attendance.session_id,
    Attendance.registration_id,
    sqlite_where=sa.text("undone_at IS NULL"),
    postgresql_where=sa.text("undone_at IS NULL"),
)


class LectureParticipation(db.Model):
    """Who took part in 講演会 in a fiscal year, and how often: kept up to date by every change
    to lecture attendance (``reports.participation.refresh``), so the policy page's 講演会参加者数
    (実人数 and 延べ) reads one small row per person and year instead of every attendance.
    `person_id` is the registration's own; merges are followed when counting."""

    __tablename__ = "lecture_participations"

    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), primary_key=True)
    attendances: Mapped[int]

    __table_args__ = (sa.CheckConstraint("attendances > 0", name="attendances_positive"),)


class CertificationAttendance(db.Model):
    """The attendance rows a certification rests on (one per required session)."""

    __tablename__ = "certification_attendances"

    certification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True
    )
    attendance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attendances.id"), primary_key=True, index=True
    )

    certification: Mapped[Certification] = relationship(back_populates="attendances")
    attendance: Mapped[Attendance] = relationship()


class CourseSeries(db.Model):
    """Cohorts (期) of the same course, linked by an organizer: a missed session can be made
    up at the same-numbered session of another cohort (振替)."""

    __tablename__ = "course_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseCohort(db.Model):
    __tablename__ = "course_cohorts"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("course_series.id"), index=True)


class PersonMerge(db.Model):
    """A duplicate person record merged into another: it stays, and counts as the other."""

    __tablename__ = "person_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    duplicate_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), unique=True)
    into_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    merged_by: Mapped[str] = mapped_column(sa.String(254), default="")
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonErasure(db.Model):
    """A person whose personal data was anonymised (retention, or at their request)."""

    __tablename__ = "person_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), unique=True)
    kind: Mapped[ErasureKind] = mapped_column(vocabulary_column(ErasureKind, 10, "kind_known"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    erased_by: Mapped[str] = mapped_column(sa.String(254), default="")
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return ErasureKind(self.kind).label


class PastCourseImport(db.Model):
    """An uploaded roster of past courses: checked first (dry run), applied once."""

    __tablename__ = "past_course_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    uploaded_by: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    # What applying it created: {"events": n, "registrations": n, "certifications": n}
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ServiceSupporter(db.Model):
    """A certified supporter who offered to help at a 居場所 or 相談窓口 (opted in from their
    personal page; removed when they opt out). Only a valid certification counts: a revoked
    one keeps its row but is never listed, mailed or counted; a corrected certificate takes
    its predecessor's links."""

    __tablename__ = "service_supporters"

    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    certification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certifications.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    certification: Mapped[Certification] = relationship()

    @staticmethod
    def live():
        """(service_id, counted_person_id) of the links resting on a valid certification: the
        one rule for who is listed, mailed and counted."""
        return (
            sa.select(ServiceSupporter.service_id, Certification.counted_person_id)
            .join(Certification, Certification.id == ServiceSupporter.certification_id)
            .where(Certification.revoked_at.is_(None))
        )
