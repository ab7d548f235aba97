"""Completion and certification: the rule check-in calls, numbering, 振替, undo, manual
certify / revoke / correct, and idempotency (threads on both databases)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from fixtures.supporters import certifications, jst, record_attendance

from hikisupport.core.extensions import db
from hikisupport.core.transaction import writing
from hikisupport.models import AuditLog, Certification, OutboxMessage, Registration
from hikisupport.supporters import services


def first_number(event) -> str:
    """The first number of the fiscal year of the event's first session (R8-0001 in FY2026)."""
    from hikisupport.core.japanese import fiscal_year
    from hikisupport.models import certificate_number

    return certificate_number(fiscal_year(event.sessions[0].starts_at), 1)


def mails(kind="certified") -> list[OutboxMessage]:
    db.session.commit()
    return list(db.session.scalars(sa.select(OutboxMessage).filter_by(kind=kind)))


def test_a_one_session_course_certifies_on_its_one_attendance(course, enrol, attend):
    event = course(sessions=1, at=[jst(2026, 6, 13, 14)])
    registration = enrol(event)
    attend(registration)
    (certification,) = certifications()
    assert certification.number == "R8-0001" and certification.fiscal_year == 2026
    assert certification.person_id == registration.person_id
    assert certification.residency == "live" and certification.source == "attendance"
    assert certification.completed_at == event.sessions[0].starts_at
    assert len(certification.verification_code) >= 22  # ≥ 128 bits, URL-safe
    assert [a.attendance.session_id for a in certification.attendances] == [event.sessions[0].id]
    (mail,) = mails()
    assert mail.recipient == registration.email and mail.about_id == certification.id
    assert mail.attachment_builder == "supporters.certificate"


def test_replaying_the_rule_or_a_second_check_in_issues_nothing(course, enrol, attend):
    event = course(sessions=1)
    registration = enrol(event)
    attend(registration)
    attend(registration)  # the same check-in again (a second tablet)
    services.decide(registration)  # the rule run again (an upgrade, a replay)
    db.session.commit()
    assert len(certifications()) == 1 and len(mails()) == 1


def test_a_three_session_course_needs_all_three(course, enrol, attend):
    event = course(sessions=3)
    registration = enrol(event)
    attend(registration, 1)
    attend(registration, 2)
    assert certifications() == []
    attend(registration, 3)
    (certification,) = certifications()
    assert sorted(a.attendance.session_id for a in certification.attendances) == [
        s.id for s in event.sessions
    ]
    # The fiscal year and date are the completing session's.
    assert certification.completed_at == event.sessions[2].starts_at


def test_required_sessions_fewer_than_all(course, enrol, attend):
    event = course(sessions=3, required=2)
    registration = enrol(event)
    attend(registration, 1)
    assert certifications() == []
    attend(registration, 3)
    assert len(certifications()) == 1


def test_a_lecture_does_not_certify_unless_set_to(course, enrol, attend):
    lecture = course(kind="lecture", certifies=False)
    attend(enrol(lecture))
    assert certifications() == []
    certifying = course(kind="lecture", certifies=True)
    attend(enrol(certifying))
    assert len(certifications()) == 1


def test_only_confirmed_registrants_are_certified(course, enrol, attend):
    event = course(sessions=1, capacity=1)
    enrol(event)
    waiting = enrol(event)
    assert waiting.status == "waitlisted"
    attend(waiting)
    assert len(certifications()) == 0


def test_a_missed_session_made_up_at_another_cohort(course, enrol, attend):
    """振替: sessions 1 and 3 in the spring cohort, session 2 at the autumn cohort's 第2回."""
    spring = course(sessions=3, title="養成講座 春期")
    autumn = course(sessions=3, title="養成講座 秋期")
    person = enrol(spring, email="makeup@example.jp")
    attend(person, 1)
    attend(person, 3)
    assert certifications() == []
    services.link_cohorts(spring, autumn)
    db.session.commit()
    at_autumn = enrol(autumn, email="makeup@example.jp", given_name="花子")
    assert at_autumn.person_id == person.person_id
    attend(at_autumn, 2)
    (certification,) = certifications()
    assert sorted(services.a_session(a.attendance).number for a in certification.attendances) == [
        1,
        2,
        3,
    ]
    # One certification per person and course: completing the autumn cohort too adds none.
    attend(at_autumn, 1)
    attend(at_autumn, 3)
    assert len(certifications()) == 1


def test_without_linked_cohorts_another_cohort_does_not_count(course, enrol, attend):
    spring = course(sessions=2)
    autumn = course(sessions=2)
    person = enrol(spring, email="nolink@example.jp")
    attend(person, 1)
    attend(enrol(autumn, email="nolink@example.jp"), 2)
    assert certifications() == []


def test_people_who_can_no_longer_complete_are_flagged(course, enrol, attend):
    from fixtures.supporters import past

    event = course(sessions=3, at=[past(20), past(13), past(6)])
    full = enrol(event)
    missed = enrol(event)
    for n in (1, 2, 3):
        attend(full, n)
    attend(missed, 1)
    attend(missed, 3)
    rows = {r.registration.id: r for r in services.completion_overview(event)}
    assert rows[full.id].status == services.COMPLETED
    assert rows[missed.id].status == services.AT_RISK and rows[missed.id].missing == [2]
    later = course(sessions=3)  # a cohort whose 第2回 is still ahead
    services.link_cohorts(event, later)
    db.session.commit()
    rows = {r.registration.id: r for r in services.completion_overview(event)}
    assert rows[missed.id].status == services.ON_TRACK and rows[missed.id].can_make_up == [2]


def test_undoing_the_completing_check_in_withdraws_and_a_new_check_in_restores(
    course, enrol, attend, undo
):
    event = course(sessions=2)
    registration = enrol(event)
    attend(registration, 1)
    attend(registration, 2)
    (issued,) = certifications()
    undo(registration, 2)
    (withdrawn,) = certifications()
    assert withdrawn.revocation == "withdrawn" and withdrawn.revoked_at is not None
    assert "取り消" in withdrawn.revoke_reason
    assert db.session.scalar(sa.select(AuditLog).filter_by(action="certification.withdrawn"))
    attend(registration, 2)  # checked in again
    (restored,) = certifications()
    assert restored.is_valid and restored.number == issued.number
    assert len(mails()) == 1  # one number, one mail


def test_undoing_an_attendance_the_completion_does_not_need_keeps_it(course, enrol, attend, undo):
    event = course(sessions=3, required=2)
    registration = enrol(event)
    for n in (1, 2, 3):
        attend(registration, n)
    undo(registration, 1)
    (certification,) = certifications()
    assert certification.is_valid


def test_manual_certification_and_revocation_keep_the_row_and_are_audited(course, enrol, app):
    event = course(sessions=2)
    registration = enrol(event)
    with pytest.raises(services.Invalid):
        services.certify_by_hand(registration, " ")
    certification = services.certify_by_hand(registration, "出席は紙の名簿で確認")
    db.session.commit()
    assert certification.source == "manual" and certification.reason == "出席は紙の名簿で確認"
    with pytest.raises(services.CertificationRefused, match="すでに"):
        services.certify_by_hand(registration, "二重")
    db.session.rollback()
    services.revoke(certification, "受講記録の誤り")
    db.session.commit()
    (row,) = certifications()
    assert (row.revocation, row.revoke_reason) == ("revoked", "受講記録の誤り")
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "certification.issue" in actions and "certification.revoked" in actions
    # A revoked person is not certified again by a replayed check-in, only by staff.
    services.decide(registration)
    db.session.commit()
    assert len(certifications()) == 1


def test_revoked_by_staff_then_attendance_does_not_recertify(course, enrol, attend):
    event = course(sessions=1)
    registration = enrol(event)
    attend(registration)
    services.revoke(certifications()[0], "本人の申し出")
    db.session.commit()
    attend(registration)
    assert [c.is_valid for c in certifications()] == [False]


def test_a_corrected_certificate_is_a_new_row_that_replaces_the_old(course, enrol, attend):
    event = course(sessions=1)
    registration = enrol(event, family_name="杉波")
    attend(registration)
    (old,) = certifications()
    corrected = services.correct(old, "杉並", "花子", "氏名の誤字")
    db.session.commit()
    old, new = certifications()
    assert old.revocation == "replaced" and not old.is_valid
    assert new.replaces_id == old.id and new.is_valid and new.full_name == "杉並 花子"
    assert (new.fiscal_year, new.serial, new.edition) == (old.fiscal_year, old.serial, 2)
    assert new.number == f"{old.number}-2" and corrected.verification_code != old.verification_code
    assert len(mails()) == 2
    with pytest.raises(services.CertificationRefused):
        services.correct(old, "杉並", "花子", "もう一度")


def test_numbers_are_per_fiscal_year_and_gapless(course, enrol, attend):
    march = course(sessions=1, at=[jst(2027, 3, 31, 23, 30)])
    april = course(sessions=1, at=[jst(2027, 4, 1, 0, 30)])
    for _ in range(2):
        attend(enrol(march))
    attend(enrol(april))
    numbers = [(c.fiscal_year, c.number) for c in certifications()]
    assert numbers == [(2026, "R8-0001"), (2026, "R8-0002"), (2027, "R9-0001")]


def test_a_rolled_back_certification_gives_its_number_back(course, enrol, attend, app):
    event = course(sessions=1)
    first, second = enrol(event), enrol(event)
    with pytest.raises(RuntimeError), writing():
        record_attendance(first, event.sessions[0])
        raise RuntimeError("the check-in request failed after the rule ran")
    attend(second)
    assert [c.number for c in certifications()] == [first_number(event)]


# ---------------------------------------------------------------------------------------------
# Concurrency: threads, each in its own app context and transaction, on both databases


def _in_threads(app, jobs, timeout=60):
    barrier = threading.Barrier(len(jobs), timeout=timeout)
    errors = []

    def run(job):
        try:
            with app.app_context():
                barrier.wait()
                with writing():
                    job()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_two_check_ins_at_once_completing_the_same_course_certify_once(app, course, enrol, attend):
    """Two tablets check the same person in at once, at the two sessions of which either
    completes the course (required 1 of 2): one certification, one number, one mail."""
    event = course(sessions=2, required=1)
    registration = enrol(event)
    registration_id = registration.id
    session_ids = [s.id for s in event.sessions]
    db.session.commit()

    def check_in(session_id):
        def job():
            from hikisupport.models import Session

            reg = db.session.get(Registration, registration_id)
            record_attendance(reg, db.session.get(Session, session_id))

        return job

    errors = _in_threads(app, [check_in(sid) for sid in session_ids])
    assert errors == []
    (certification,) = certifications()
    assert certification.number == first_number(event)
    assert len(mails()) == 1


def test_many_completions_at_once_are_numbered_without_gaps(app, course, enrol):
    event = course(sessions=1, capacity=40)
    people = [enrol(event).id for _ in range(12)]
    session_id = event.sessions[0].id

    def check_in(registration_id):
        def job():
            from hikisupport.models import Session

            record_attendance(
                db.session.get(Registration, registration_id), db.session.get(Session, session_id)
            )

        return job

    errors = _in_threads(app, [check_in(r) for r in people])
    assert errors == []
    serials = sorted(c.serial for c in certifications())
    assert serials == list(range(1, 13))
    assert len({c.person_id for c in certifications()}) == 12
    assert len(mails()) == 12


def test_cohorts_must_have_as_many_sessions(course):
    with pytest.raises(services.Invalid, match="回数"):
        services.link_cohorts(course(sessions=2), course(sessions=3))


def test_the_count_of_certifications_is_in_the_database_unique(course, enrol, attend):
    """The database itself refuses a second valid certification for a person and event."""
    event = course(sessions=1)
    registration = enrol(event)
    attend(registration)
    (c,) = certifications()
    duplicate = Certification(
        person_id=c.person_id,
        counted_person_id=c.counted_person_id,
        event_id=c.event_id,
        fiscal_year=c.fiscal_year,
        serial=99,
        completed_at=c.completed_at,
        residency="live",
        family_name="x",
        given_name="y",
        source="manual",
        verification_code="z" * 32,
    )
    db.session.add(duplicate)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_organizers_certifying_at_once_through_a_live_server(live_server, course, enrol):
    """Two staff members press 「手動で認定」 for the same person at the same moment, over real
    sockets with real CSRF: one certification, one number, one mail; the other is told."""
    import re

    import requests

    from hikisupport.staff.services import create_staff, get_or_create_organization

    ward = get_or_create_organization("杉並区", kind="ward")
    for i in range(2):
        create_staff(f"staff{i}@example.jp", "organizer", "correct-horse-battery", ward)
    event = course(sessions=1, organization=ward)
    registration = enrol(event)
    db.session.commit()
    event_id, registration_id = event.id, registration.id  # read here: threads have no app
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    start = threading.Barrier(2, timeout=60)
    answers = []

    def organizer(i: int):
        try:
            sign_in_and_certify(i)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            answers.append(f"error: {exc!r}")

    def sign_in_and_certify(i: int):
        with requests.Session() as http:
            page = http.get(f"{live_server}/staff/login", timeout=60)
            http.post(
                f"{live_server}/staff/login",
                data={
                    "email": f"staff{i}@example.jp",
                    "password": "correct-horse-battery",
                    "csrf_token": csrf.search(page.text).group(1),
                },
                timeout=60,
            )
            page = http.get(f"{live_server}/staff/events/{event_id}/completion", timeout=60)
            token = csrf.search(page.text).group(1)
            start.wait()
            response = http.post(
                f"{live_server}/staff/registrations/{registration_id}/certify",
                data={"csrf_token": token, "reason": "紙の名簿で出席を確認"},
                timeout=60,
            )
            answers.append(response.text)

    threads = [threading.Thread(target=organizer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 2
    assert not [a for a in answers if a.startswith("error")], answers
    assert sum("を認定しました" in a for a in answers) == 1, [a[-3000:] for a in answers]
    assert sum("すでに受けています" in a for a in answers) == 1
    db.session.rollback()
    (certification,) = certifications()
    assert certification.number == first_number(event) and len(mails()) == 1
