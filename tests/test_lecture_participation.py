"""講演会参加者数 (実人数 and 延べ) is read from ``lecture_participations``, kept by every change
to lecture attendance; after each change it must equal the figures counted from every
attendance row, and an independent count in Python — on both databases."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import sqlalchemy as sa
from fixtures.supporters import jst, record_attendance
from test_migrations import migrated, previous_of, seed_0001  # noqa: F401

from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, fiscal_year
from hikisupport.core.transaction import writing
from hikisupport.models import (
    Attendance,
    Event,
    LectureParticipation,
    PersonMerge,
    Registration,
    Session,
)
from hikisupport.reports.participation import rebuild
from hikisupport.reports.services import lecture_attendance, lecture_attendance_counted

LATER = date(2031, 3, 31)  # a report day after every session below


def counted_in_python() -> dict[int, tuple[int, int]]:
    rows = db.session.execute(sa.select(PersonMerge.duplicate_id, PersonMerge.into_id))
    merged = {duplicate: into for duplicate, into in rows}
    persons: dict[int, set[int]] = {}
    attendances: dict[int, int] = {}
    for attendance in db.session.scalars(sa.select(Attendance)):
        session = db.session.get(Session, attendance.session_id)
        if attendance.undone_at is not None or session.event.kind != "lecture":
            continue
        fy = fiscal_year(session.starts_at.astimezone(JST).date())
        person = db.session.get(Registration, attendance.registration_id).person_id
        persons.setdefault(fy, set()).add(merged.get(person, person))
        attendances[fy] = attendances.get(fy, 0) + 1
    return {fy: (len(persons[fy]), attendances[fy]) for fy in persons}


def figures(rows) -> dict[int, tuple[int, int]]:
    return {row.fiscal_year: (row.persons, row.attendances) for row in rows}


def assert_the_figures_agree() -> dict[int, tuple[int, int]]:
    db.session.expire_all()
    expected = counted_in_python()
    assert figures(lecture_attendance(LATER)) == expected  # the kept table
    assert figures(lecture_attendance_counted(LATER)) == expected  # every attendance row
    return expected


def edit(event: Event, **changes):
    """The event changed through the events service, as the staff form does."""
    from hikisupport.events.services import EventInput, SessionInput, update_event

    moved = changes.pop("sessions", {})
    sessions = [
        SessionInput(
            moved.get(s.number, s.starts_at),
            moved.get(s.number, s.starts_at).replace(hour=s.ends_at.hour),
            s.venue,
            s.access,
            id=s.id,
        )
        for s in event.sessions
    ]
    data = EventInput(
        kind=changes.get("kind", event.kind),
        title=event.title,
        capacity=event.capacity,
        sessions=sessions,
        certifies=False,
        registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at,
    )
    update_event(event, data)
    db.session.commit()


def test_every_change_to_lecture_attendance_keeps_the_figures(course, enrol, attend, undo):
    from hikisupport.supporters import persons

    # Two sessions either side of a fiscal year's end (31 March / 1 April, Japan time).
    lecture = course(
        sessions=2,
        kind="lecture",
        certifies=False,
        capacity=10,
        at=[jst(2027, 3, 31, 22), jst(2027, 4, 1, 1)],
    )
    a, b, c = enrol(lecture), enrol(lecture), enrol(lecture)
    assert assert_the_figures_agree() == {}
    attend(a, 1)
    assert assert_the_figures_agree() == {2026: (1, 1)}
    attend(a, 2)
    attend(b, 1)
    assert assert_the_figures_agree() == {2026: (2, 2), 2027: (1, 1)}
    undo(b, 1)
    assert assert_the_figures_agree() == {2026: (1, 1), 2027: (1, 1)}
    attend(b, 1)  # checked in again after the undo
    attend(c, 2)
    assert assert_the_figures_agree() == {2026: (2, 2), 2027: (2, 2)}

    training = course(sessions=1, at=[jst(2027, 5, 1)])  # a course: not a lecture figure
    attend(enrol(training))
    assert assert_the_figures_agree() == {2026: (2, 2), 2027: (2, 2)}

    persons.merge(b.person, a.person, "同じ方の重複した記録です。")  # b is a now
    db.session.commit()
    assert assert_the_figures_agree() == {2026: (1, 2), 2027: (2, 2)}

    edit(lecture, sessions={1: jst(2027, 4, 8, 10)})  # session 1 moves into FY2027
    assert assert_the_figures_agree() == {2027: (2, 4)}

    edit(lecture, kind="course")  # no longer a lecture: no lecture figure at all
    assert assert_the_figures_agree() == {}
    edit(lecture, kind="lecture")
    assert assert_the_figures_agree() == {2027: (2, 4)}


def test_rebuild_writes_the_same_rows_as_the_changes_kept(course, enrol, attend, undo):
    lecture = course(sessions=2, kind="lecture", certifies=False, at=[jst(2026, 6, 1)] * 2)
    people = [enrol(lecture) for _ in range(4)]
    for n, registration in enumerate(people):
        attend(registration, 1)
        if n % 2:
            attend(registration, 2)
    undo(people[1], 2)
    kept = sorted(db.session.execute(sa.select(LectureParticipation.__table__)).all())
    assert rebuild() == len(kept) == 4
    db.session.commit()
    assert sorted(db.session.execute(sa.select(LectureParticipation.__table__)).all()) == kept


def test_one_person_checked_in_at_two_sessions_at_once(app, course, enrol):
    """Two tablets, one person, the lecture's two sessions at the same moment. The second
    tablet's check-in starts while the first has written its row but not committed: it must
    wait for it (the person's lock), not write the same (fiscal year, person) row again."""
    lecture = course(sessions=2, kind="lecture", certifies=False, at=[jst(2026, 7, 1)] * 2)
    registration_id = enrol(lecture).id
    first, second = [s.id for s in lecture.sessions]
    db.session.commit()
    written = threading.Event()
    errors = []

    def tablet(session_id, before=None, after=None):
        try:
            with app.app_context():
                if before:
                    assert before.wait(timeout=30)
                with writing():  # a check-in request's transaction
                    registration = db.session.get(Registration, registration_id)
                    record_attendance(registration, db.session.get(Session, session_id))
                    if after:
                        after.set()
                        time.sleep(0.5)  # tablet 2 is now waiting (or, unlocked, writing)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=tablet, args=(first,), kwargs={"after": written}),
        threading.Thread(target=tablet, args=(second,), kwargs={"before": written}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert assert_the_figures_agree() == {2026: (1, 2)}


def test_0009_fills_the_table_from_the_attendance_already_recorded(migrated):  # noqa: F811
    from flask_migrate import downgrade

    migrated("0001")
    with db.engine.begin() as conn:
        seed_0001(conn)  # one course, one session, one attendance
    migrated(previous_of("0009"))
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE events SET kind = 'lecture'"))
        starts_at = conn.execute(sa.text("SELECT starts_at FROM sessions")).scalar()
        person = conn.execute(sa.text("SELECT person_id FROM registrations")).scalar()
    migrated("0009")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM lecture_participations")).all()
    starts = starts_at if isinstance(starts_at, datetime) else datetime.fromisoformat(starts_at)
    expected_fy = fiscal_year(starts.replace(tzinfo=starts.tzinfo or UTC).astimezone(JST).date())
    assert [tuple(r) for r in rows] == [(expected_fy, person, 1)]
    db.session.remove()
    downgrade(revision=previous_of("0009"))
    with db.engine.connect() as conn:
        assert "lecture_participations" not in sa.inspect(conn).get_table_names()


def test_flask_report_rebuild_repairs_the_table(app, course, enrol, attend):
    lecture = course(sessions=1, kind="lecture", certifies=False, at=[jst(2026, 6, 1)])
    attend(enrol(lecture))
    attend(enrol(lecture))
    db.session.execute(sa.delete(LectureParticipation))  # lost, as by a bad manual edit
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["report", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 row(s)" in result.output
    assert assert_the_figures_agree() == {2026: (2, 2)}
