"""Retention: personal data of people who are not certified supporters is anonymised a set
number of fiscal years after their last event (setting `retention_fiscal_years`, default 3).

Last event in FY2025 with 3 years: kept through FY2028, anonymised from 1 April 2029 on. What
is erased is `persons.erase`: names, contact details, free text, mail bodies; what stays are
the rows every count reads (registrations' events and categories, attendance, certifications),
so no count changes. Run yearly (README): ``flask --app hikisupport retention purge --dry-run``
then without ``--dry-run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, fiscal_year
from hikisupport.models import (
    Certification,
    ErasureKind,
    Event,
    Municipality,
    Person,
    PersonErasure,
    PersonMerge,
    Registration,
    Session,
)
from hikisupport.staff import audit
from hikisupport.supporters import persons


@dataclass
class Candidate:
    person_id: int
    name: str
    last_event_at: datetime
    registrations: int


def retention_years() -> int:
    municipality = db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))
    return municipality.retention_fiscal_years if municipality else 3


def cutoff(today: date, years: int) -> datetime:
    """People whose last event ended before this instant are due: 1 April of the fiscal year
    `years` before the current one (Japan time)."""
    first_kept = fiscal_year(today) - years
    return datetime(first_kept, 4, 1, tzinfo=JST).astimezone(UTC)


def due(today: date | None = None) -> list[Candidate]:
    """Persons due for anonymising (not certified supporters, not erased already)."""
    today = today or datetime.now(UTC).astimezone(JST).date()
    years = retention_years()
    canonical = sa.func.coalesce(PersonMerge.into_id, Person.id)
    supporter = (
        sa.select(Certification.id)
        .where(Certification.counted_person_id == canonical, Certification.revoked_at.is_(None))
        .exists()
    )
    erased = sa.select(PersonErasure.id).where(PersonErasure.person_id == Person.id).exists()
    last = sa.func.max(Session.ends_at)
    rows = db.session.execute(
        sa.select(Person.id, last, sa.func.count(sa.distinct(Registration.id)))
        .join(Registration, Registration.person_id == Person.id)
        .join(Event, Event.id == Registration.event_id)
        .join(Session, Session.event_id == Event.id)
        .outerjoin(PersonMerge, PersonMerge.duplicate_id == Person.id)
        .where(~supporter, ~erased)
        .group_by(Person.id, PersonMerge.into_id)
        .having(last < cutoff(today, years))
        .order_by(Person.id)
    ).all()
    names = dict(
        db.session.execute(
            sa.select(
                Registration.person_id, Registration.family_name + " " + Registration.given_name
            )
            .where(Registration.person_id.in_([r[0] for r in rows] or [0]))
            .order_by(Registration.id)
        ).all()
    )
    return [Candidate(pid, names.get(pid, ""), at, n) for pid, at, n in rows]


def purge(today: date | None = None, dry_run: bool = False) -> list[Candidate]:
    """Anonymise everyone due (or, dry run, only list them); audited."""
    candidates = due(today)
    if not dry_run:
        for candidate in candidates:
            persons.erase(db.session.get(Person, candidate.person_id), ErasureKind.RETENTION)
    audit.record(
        "retention.dry_run" if dry_run else "retention.purge",
        object_type="persons",
        persons=len(candidates),
        years=retention_years(),
    )
    return candidates
