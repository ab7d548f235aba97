"""Rosters (名簿): who is registered for an event or a session, with the totals staff plan by.

Every read of a roster — a page, an export, the print sheet, the API — goes through
`event_roster` or `session_roster`, which write the audit row themselves (who, what, why), so no
new way of reading one can forget it. The pages, the exports and the API share them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.core.extensions import db
from hikisupport.core.japanese import normalize_kana, normalize_text
from hikisupport.models import (
    ACTIVE_STATUSES,
    Accommodation,
    Attendance,
    Certification,
    Event,
    Person,
    Registration,
    RegistrationStatus,
    Service,
    ServiceSupporter,
    Session,
)
from hikisupport.staff import audit

STATUS_ORDER = {
    RegistrationStatus.CONFIRMED: 0,
    RegistrationStatus.APPLIED: 1,
    RegistrationStatus.WAITLISTED: 2,
    RegistrationStatus.CANCELLED: 3,
}


class Purpose(enum.StrEnum):
    """Why a roster is read: the audit row's action."""

    VIEW = "roster.view"
    EXPORT = "roster.export"
    PRINT = "roster.print"
    # The supporters linked to a service, read to mail them (the mail's audit row).
    MAIL = "roster.mail"


@dataclass
class RosterRow:
    registration: Registration
    attended: int  # sessions attended (event roster) / 0 or 1 (session roster)
    checked_in_at: object = None


def search_filter(query: str):
    """A name, フリガナ (ひらがな matches カタカナ) or ticket code; spaces ignored."""
    text = normalize_text(query).replace(" ", "")
    kana = normalize_kana(query).replace(" ", "")
    if not text:
        return None
    full_name = Registration.family_name + Registration.given_name
    full_kana = Registration.family_name_kana + Registration.given_name_kana
    return sa.or_(
        full_name.contains(text, autoescape=True),
        full_kana.contains(kana, autoescape=True),
        Registration.ticket == text.upper(),
    )


def event_roster(event: Event, purpose: Purpose, query: str = "", **detail) -> list[RosterRow]:
    """Everyone registered for the event, in the order staff read it; the read is audited."""
    rows = _event_rows(event, query)
    audit.record(purpose, event, **_searched(query), rows=len(rows), **detail)
    return rows


def session_roster(
    session: Session, purpose: Purpose, query: str = "", **detail
) -> list[RosterRow]:
    """Confirmed registrations of the session's event, with their check-in at this session;
    the read is audited."""
    rows = _session_rows(session, query)
    audit.record(purpose, session, **_searched(query), rows=len(rows), **detail)
    return rows


def _searched(query: str) -> dict:
    return {"query": query} if query else {}


def _event_rows(event: Event, query: str) -> list[RosterRow]:
    attended = (
        sa.select(Attendance.registration_id, sa.func.count().label("n"))
        .join(Session, Session.id == Attendance.session_id)
        .where(Session.event_id == event.id, Attendance.undone_at.is_(None))
        .group_by(Attendance.registration_id)
        .subquery()
    )
    statement = (
        sa.select(Registration, sa.func.coalesce(attended.c.n, 0))
        .outerjoin(attended, attended.c.registration_id == Registration.id)
        .where(Registration.event_id == event.id)
        .options(selectinload(Registration.person))
    )
    if query and (condition := search_filter(query)) is not None:
        statement = statement.where(condition)
    rows = [RosterRow(r, n) for r, n in db.session.execute(statement)]
    return sorted(rows, key=_order)


def _session_rows(session: Session, query: str) -> list[RosterRow]:
    statement = (
        sa.select(Registration, Attendance.checked_in_at)
        .outerjoin(
            Attendance,
            sa.and_(
                Attendance.registration_id == Registration.id,
                Attendance.session_id == session.id,
                Attendance.undone_at.is_(None),  # an undone check-in does not count
            ),
        )
        .where(
            Registration.event_id == session.event_id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .options(selectinload(Registration.person))
    )
    if query and (condition := search_filter(query)) is not None:
        statement = statement.where(condition)
    rows = [RosterRow(r, int(at is not None), at) for r, at in db.session.execute(statement)]
    return sorted(
        rows, key=lambda row: (row.registration.family_name_kana, row.registration.given_name_kana)
    )


def _order(row: RosterRow):
    r = row.registration
    return (
        STATUS_ORDER.get(r.status, 9),
        r.waitlist_position or 0,
        r.family_name_kana,
        r.given_name_kana,
        r.id,
    )


@dataclass
class Totals:
    confirmed: int
    waitlisted: int
    applied: int
    cancelled: int
    # accommodation code → people asking for it, among those confirmed or waiting
    accommodations: dict[str, int]

    @property
    def accommodation_lines(self) -> list[tuple[str, int]]:
        return [(Accommodation(code).label, n) for code, n in self.accommodations.items() if n]


def totals(event: Event) -> Totals:
    """Counts by status and accommodation requests (託児 3名 …), in one query."""
    active = Registration.status.in_(ACTIVE_STATUSES)
    columns = [
        sa.func.count().filter(Registration.status == status).label(status.value)
        for status in RegistrationStatus
    ] + [
        sa.func.count().filter(active, getattr(Registration, f"needs_{a.value}")).label(a.value)
        for a in Accommodation
    ]
    row = db.session.execute(sa.select(*columns).where(Registration.event_id == event.id)).one()
    return Totals(
        confirmed=row.confirmed,
        waitlisted=row.waitlisted,
        applied=row.applied,
        cancelled=row.cancelled,
        accommodations={a.value: getattr(row, a.value) for a in Accommodation},
    )


# ---------------------------------------------------------------------------------------------
# Supporters linked to a service


@dataclass
class SupporterRow:
    certification: Certification
    # Where mail reaches them: the address of the person of the registration the
    # certification rests on ("" for one entered on paper or imported without one).
    email: str
    linked_at: object


def service_supporters(service: Service, purpose: Purpose, **detail) -> list[SupporterRow]:
    """The certified supporters (valid certifications, one row per person) who opted in to
    help at the service, in order of name; the read is audited."""
    rows = _supporter_rows(service)
    audit.record(purpose, service, rows=len(rows), **detail)
    return rows


def _supporter_rows(service: Service) -> list[SupporterRow]:
    statement = (
        sa.select(Certification, Person.email, ServiceSupporter.created_at)
        .join(ServiceSupporter, ServiceSupporter.certification_id == Certification.id)
        .outerjoin(Registration, Registration.id == Certification.registration_id)
        .outerjoin(Person, Person.id == Registration.person_id)
        .where(ServiceSupporter.service_id == service.id, Certification.revoked_at.is_(None))
        .order_by(Certification.counted_person_id, ServiceSupporter.created_at)
    )
    seen: set[int] = set()
    rows = []
    for certification, email, linked_at in db.session.execute(statement):
        if certification.counted_person_id in seen:
            continue  # linked from two certificates (two courses): one supporter
        seen.add(certification.counted_person_id)
        rows.append(SupporterRow(certification, email or "", linked_at))
    return sorted(rows, key=lambda r: (r.certification.family_name, r.certification.given_name))
