"""The rules that moved out of views, each tested in the service function that holds it, and
through every caller (resident page, staff page, API) that must obey it.

Each test here fails when its rule is removed: they were written against a copy of the code
with the rule taken out.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fixtures.events import event_input
from flask import g

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError, NotFound
from hikisupport.core.extensions import db
from hikisupport.models import (
    Attendance,
    AuditLog,
    Event,
    EventStatus,
    LotteryDraw,
    Organization,
    Registration,
    StaffUser,
)
from hikisupport.registration import services
from hikisupport.registration.admission import AdmissionState, admission_state
from hikisupport.staff import services as staff_services
from hikisupport.staff.access import Caller, can_manage

# ---------------------------------------------------------------------------------------------
# Admission: one function decides what residents see and what register() does


@pytest.mark.parametrize(
    ("changes", "confirmed", "drawn", "expected"),
    [
        ({}, 0, False, AdmissionState.OPEN),
        ({}, 10, False, AdmissionState.WAITLIST),
        ({"waitlist": False}, 10, False, AdmissionState.FULL),
        ({"admission": "lottery"}, 99, False, AdmissionState.LOTTERY),
        ({"admission": "lottery"}, 0, True, AdmissionState.OPEN),
        ({"status": "draft"}, 0, False, AdmissionState.CLOSED),
        ({"status": "cancelled"}, 0, False, AdmissionState.CANCELLED),
        ({"opens": 1}, 0, False, AdmissionState.NOT_YET),
        ({"closes": -1}, 0, False, AdmissionState.CLOSED),
    ],
)
def test_admission_state(make_event, changes, confirmed, drawn, expected):
    changes = dict(changes)
    now = utcnow()
    if "opens" in changes:
        changes["registration_opens_at"] = now + timedelta(days=changes.pop("opens"))
    if "closes" in changes:
        changes["registration_closes_at"] = now + timedelta(days=changes.pop("closes"))
    event = make_event(capacity=10, **changes)
    assert admission_state(event, confirmed, drawn, now) == expected


def test_the_event_page_and_the_sign_up_agree(make_event, sign_up, client):
    """What the page says (満席・キャンセル待ち) is what the sign-up then does (waitlisted)."""
    event = make_event(capacity=1)
    sign_up(event.id, email="first@example.jp")
    assert "満席・キャンセル待ち受付中" in client.get(f"/events/{event.id}").get_data(as_text=True)
    sign_up(event.id, email="second@example.jp")
    second = db.session.scalar(sa.select(Registration).order_by(Registration.id.desc()))
    assert second.status == "waitlisted"


def test_staff_cannot_enter_anyone_into_a_cancelled_event(staff_world, login_as):
    event = staff_world.event
    event.status = EventStatus.CANCELLED
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Registration))
    response = organizer.post(
        f"/staff/events/{event.id}/registrations/new",
        data={
            "csrf_token": csrf_of(organizer),
            "family_name": "小林",
            "given_name": "一郎",
            "family_name_kana": "コバヤシ",
            "given_name_kana": "イチロウ",
            "phone": "0333122111",
            "residency": "live",
            "age_group": "70s",
            "source": "phone",
            "consent": "y",
        },
    )
    assert response.status_code == 409
    assert "中止" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == before


def test_no_lottery_application_after_the_draw(make_event, sign_up, staff_world):
    """Once drawn, a lottery takes no more applications: a late staff entry gets a seat or a
    place on the waitlist, never 抽選待ち."""
    from hikisupport.registration.services import Applicant

    event = make_event(capacity=1, admission="lottery", organization=staff_world.ward)
    sign_up(event.id, email="a@example.jp")
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    from hikisupport.registration import lottery

    lottery.draw(event)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryDraw)) == 1
    late = services.register(
        event,
        Applicant("小林", "一郎", "コバヤシ", "イチロウ", "", "0333122111", "live", "70s"),
        source="phone",
        by_staff=True,
    ).registration
    assert late.status == "waitlisted"


# ---------------------------------------------------------------------------------------------
# Cancelling: until the last session ends, for everyone


def _end_event(event: Event) -> None:
    for i, session in enumerate(sorted(event.sessions, key=lambda s: s.number)):
        session.starts_at = utcnow() - timedelta(days=3 - i, hours=3)
        session.ends_at = utcnow() - timedelta(days=3 - i, hours=1)
    db.session.commit()


def test_can_cancel_until_the_last_session_ends(make_event, sign_up):
    event = make_event(sessions=2)
    sign_up(event.id)
    registration = db.session.scalar(sa.select(Registration))
    last = event.sessions[-1]
    assert services.can_cancel(registration, last.ends_at - timedelta(minutes=1))
    assert not services.can_cancel(registration, last.ends_at)
    with pytest.raises(DomainError):
        services.cancel(registration, now=last.ends_at + timedelta(minutes=1))
    db.session.rollback()


def test_a_resident_cannot_cancel_after_the_event(make_event, sign_up, client):
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    _end_event(event)
    response = client.post(location + "/cancel", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Registration.status)) == "confirmed"
    assert "キャンセルできません" in client.get(location).get_data(as_text=True)


def test_staff_cannot_cancel_after_the_event(staff_world, login_as):
    registration = staff_world.registrations[0]
    _end_event(staff_world.event)
    organizer = login_as(staff_world.organizer)
    response = organizer.post(
        f"/staff/registrations/{registration.id}/cancel",
        data={"csrf_token": csrf_of(organizer), "reason": "phone"},
    )
    assert response.status_code == 303
    db.session.refresh(registration)
    assert registration.status == "confirmed"
    assert not db.session.scalar(sa.select(AuditLog.id).filter_by(action="registration.cancel"))


def test_promoting_someone_not_on_the_waitlist_is_refused(staff_world, login_as):
    confirmed = staff_world.registrations[0]
    assert confirmed.status == "confirmed"
    capacity = staff_world.event.capacity
    with pytest.raises(DomainError, match="キャンセル待ち"):
        services.promote_with_extra_seat(confirmed)
    db.session.rollback()
    organizer = login_as(staff_world.organizer)
    organizer.post(
        f"/staff/registrations/{confirmed.id}/promote", data={"csrf_token": csrf_of(organizer)}
    )
    db.session.refresh(staff_world.event)
    assert staff_world.event.capacity == capacity  # no seat added for an out-of-turn mistake


# ---------------------------------------------------------------------------------------------
# What residents see


def test_a_draft_is_404_to_residents(make_event):
    event = make_event(status="draft")
    with pytest.raises(NotFound):
        services.public_event(event.id)


def test_past_events_are_not_listed(make_event, client):
    past = make_event(title="終わった講座")
    _end_event(past)
    make_event(title="これからの講座")
    html = client.get("/events").get_data(as_text=True)
    assert "これからの講座" in html and "終わった講座" not in html


# ---------------------------------------------------------------------------------------------
# Events: what cannot change once people are involved


def test_a_session_with_attendance_cannot_be_removed(staff_world):
    from hikisupport.events.services import update_event

    event = staff_world.event
    first, second = event.sessions
    db.session.add(Attendance(registration_id=staff_world.registrations[0].id, session_id=first.id))
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        update_event(event, event_input(event, keep=[second]))
    assert "出席の記録がある回は削除できません" in refused.value.fields["sessions"]
    db.session.rollback()
    assert len(db.session.get(Event, event.id).sessions) == 2


def test_the_admission_method_cannot_change_once_people_registered(staff_world):
    from hikisupport.events.services import update_event

    event = staff_world.event
    with pytest.raises(DomainError) as refused:
        update_event(event, event_input(event, admission="lottery"))
    assert "admission" in refused.value.fields
    db.session.rollback()
    assert db.session.get(Event, event.id).admission == "first_come"


def test_cancelling_an_event_writes_its_audit_row(staff_world):
    told = services.cancel_event(staff_world.event, "台風のため")
    db.session.commit()
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="event.cancel"))
    assert entry.object_id == staff_world.event.id
    assert entry.detail == {"reason": "台風のため", "registrations": told}
    with pytest.raises(DomainError):
        services.cancel_event(staff_world.event, "二度目")
    db.session.rollback()


# ---------------------------------------------------------------------------------------------
# Staff accounts and organizations


def test_an_organization_name_is_taken_once(app):
    staff_services.create_organization("NPO法人 つながり", "npo")
    db.session.commit()
    with pytest.raises(DomainError, match="すでに登録"):
        staff_services.create_organization("NPO法人 つながり", "npo")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_activation_ends_sessions_and_lifts_a_lock(staff_world):
    member, admin = staff_world.organizer, staff_world.admin
    member.locked_until, member.failed_logins = utcnow() + timedelta(minutes=5), 3
    version = member.session_version
    staff_services.set_active(member, False, by=admin)
    assert not member.active and member.session_version == version + 1
    staff_services.set_active(member, True, by=admin)
    assert member.active and member.locked_until is None and member.failed_logins == 0
    with pytest.raises(DomainError, match="自分自身"):
        staff_services.set_active(admin, False, by=admin)
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["staff.deactivate", "staff.activate"]


def test_the_audit_search_filters_by_action_and_dates(staff_world):
    from hikisupport.staff import audit

    rows, more = audit.search(audit.AuditFilter(action="registration."), 1, 2)
    assert len(rows) == 2 and more
    assert all(r.action.startswith("registration.") for r in rows)
    rows, _ = audit.search(audit.AuditFilter(end=utcnow() - timedelta(days=1)), 1, 10)
    assert rows == []
    rows, _ = audit.search(audit.AuditFilter(action="%"), 1, 10)  # a LIKE wildcard is text
    assert rows == []


# ---------------------------------------------------------------------------------------------
# Scope: one can_manage for every kind of caller


def _as(app, caller):
    context = app.test_request_context()
    context.push()
    g.caller = caller
    return context


@pytest.mark.parametrize(
    ("role", "organization", "event_ids", "allowed"),
    [
        ("admin", None, None, True),
        ("organizer", "own", None, True),
        ("organizer", "other", None, False),
        ("policy", None, None, False),
        ("device", None, "this", True),
        ("device", None, "other", False),
    ],
)
def test_can_manage(app, staff_world, role, organization, event_ids, allowed):
    event = staff_world.event
    org_id = {"own": event.organization_id, "other": staff_world.npo.id, None: None}[organization]
    events = {"this": frozenset({event.id}), "other": frozenset({event.id + 1}), None: None}
    caller = Caller(
        kind="device" if role == "device" else "staff",
        role=role,
        id=1,
        label="x",
        organization_id=org_id,
        event_ids=events[event_ids],
    )
    context = _as(app, caller)
    try:
        assert can_manage(event.organization_id, event.id) is allowed
    finally:
        context.pop()


def test_a_staff_members_role_reaches_the_caller(staff_world, login_as):
    """The policy role is refused a manager's page: the caller carries the member's role."""
    policy = login_as(staff_world.policy)
    assert policy.get(f"/staff/events/{staff_world.event.id}/registrations").status_code == 403
    assert db.session.get(StaffUser, staff_world.policy.id).role == "policy"
