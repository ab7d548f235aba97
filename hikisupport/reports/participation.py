"""講演会参加者数, kept as it changes: one row per (fiscal year, person) in
``lecture_participations`` with that person's lecture attendances that year.

Counting distinct persons over every lecture attendance is linear in the attendance rows (about
90,000 in the benchmark's million, 150–400 ms); the policy page reads this table instead, a row
per person and year. The table is derived data: ``refresh`` recomputes the rows of some persons
from the attendance itself (delete, then one ``INSERT … SELECT``), so it cannot drift by
counting wrong. It is called wherever lecture attendance can change:

- every check-in, tick and undo, through the completion seam (`supporters.completion`);
- a past course imported from a roster (`supporters.past_courses`);
- an event's sessions moved or its kind changed (`event_changed`, the events area's change
  hook, registered in ``create_app``);
- `rebuild()`: the migration that creates the table, and ``flask report rebuild``.

An attendance counts while it exists and ``undone_at`` is NULL; its fiscal year is its
session's (Japan time, April–March). Attendance is taken on a session's day or after it, so the
rows hold only sessions that have begun.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.models import (
    Attendance,
    Event,
    EventKind,
    LectureParticipation,
    Person,
    Registration,
    Session,
)


def fiscal_year_sql(column):
    """The fiscal year of a stored UTC timestamp, in Japan time, computed by the database."""
    if db.engine.dialect.name == "postgresql":
        local = sa.func.timezone("Asia/Tokyo", column)
        return sa.cast(sa.extract("year", local - sa.text("interval '3 months'")), sa.Integer)
    return sa.cast(sa.func.strftime("%Y", column, "+9 hours", "-3 months"), sa.Integer)


def _computed(person_ids: list[int] | None):
    """(fiscal year, person, attendances) from the attendance rows, for some persons or all."""
    fy = fiscal_year_sql(Session.starts_at)
    query = (
        sa.select(fy.label("fiscal_year"), Registration.person_id, sa.func.count())
        .select_from(Attendance)
        .join(Session, Session.id == Attendance.session_id)
        .join(Event, Event.id == Session.event_id)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Event.kind == EventKind.LECTURE, Attendance.undone_at.is_(None))
        .group_by(fy, Registration.person_id)
    )
    if person_ids is not None:
        query = query.where(Registration.person_id.in_(person_ids))
    return query


def refresh(person_ids: Iterable[int]) -> None:
    """Recompute every lecture participation row of these persons (all fiscal years). Their
    person rows are locked first, in id order, so two refreshes of one person (two check-ins
    at once on PostgreSQL) run one after the other instead of inserting the same row twice."""
    ids = sorted({int(i) for i in person_ids if i is not None})
    if not ids:
        return
    db.session.execute(
        sa.select(Person.id).where(Person.id.in_(ids)).order_by(Person.id).with_for_update()
    )
    table = LectureParticipation.__table__
    db.session.execute(table.delete().where(table.c.person_id.in_(ids)))
    db.session.execute(
        table.insert().from_select(["fiscal_year", "person_id", "attendances"], _computed(ids))
    )


def refresh_event(event_id: int) -> None:
    """After an event's sessions moved or its kind changed: everyone who attended it."""
    refresh(
        db.session.scalars(
            sa.select(Registration.person_id)
            .join(Attendance, Attendance.registration_id == Registration.id)
            .where(Registration.event_id == event_id)
            .distinct()
        )
    )


def event_changed(event: Event) -> None:
    """An event's kind or session times changed (`events.services.register_change_hook`)."""
    refresh_event(event.id)


def attendance_changed(registration: Registration, session: Session) -> None:
    """One person's attendance at one session changed (a check-in, a tick, an undo)."""
    attendances_changed([(registration, session)])


def attendances_changed(changes: Iterable[tuple[Registration, Session]]) -> None:
    """Several attendances changed (a batch of check-ins): one refresh for all their persons."""
    refresh(r.person_id for r, s in changes if s.event.kind == EventKind.LECTURE)


def rebuild(connection=None) -> int:
    """Every row again from the attendance (the table's first fill; a repair; a benchmark's
    bulk-filled database). On `connection` if given, else the session. Rows written."""
    target = connection if connection is not None else db.session
    table = LectureParticipation.__table__
    target.execute(table.delete())
    target.execute(
        table.insert().from_select(["fiscal_year", "person_id", "attendances"], _computed(None))
    )
    return target.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
