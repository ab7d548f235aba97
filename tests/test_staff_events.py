"""Organizers run events from the staff pages: create with sessions, edit, publish, cancel."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST
from hikisupport.models import AuditLog, Event, OutboxMessage, Registration


def local(dt):
    return dt.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def event_form(token, **changes):
    start = (utcnow() + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    data = {
        "csrf_token": token,
        "kind": "course",
        "title": "ひきこもりサポーター養成講座（秋期）",
        "description": "全2回の講座です。",
        "capacity": "20",
        "waitlist": "y",
        "admission": "first_come",
        "certifies": "y",
        "residency": ["live", "work"],
        "status": "published",
        "sessions-0-starts_at": local(start),
        "sessions-0-ends_at": local(start + timedelta(hours=2)),
        "sessions-0-venue": "杉並区役所 中棟6階",
        "sessions-1-starts_at": local(start + timedelta(days=7)),
        "sessions-1-ends_at": local(start + timedelta(days=7, hours=2)),
        "sessions-1-venue": "杉並区役所 中棟6階",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_organizer_creates_an_event_with_sessions(staff_world, login_as, client):
    organizer = login_as(staff_world.organizer)
    response = organizer.post("/staff/events/new", data=event_form(csrf_of(organizer)))
    assert response.status_code == 303
    event = db.session.scalar(sa.select(Event).order_by(Event.id.desc()))
    assert event.title == "ひきこもりサポーター養成講座（秋期）"
    assert event.organization_id == staff_world.ward.id  # the organizer's own
    assert [s.number for s in event.sessions] == [1, 2]
    assert event.sessions[0].starts_at.astimezone(JST).minute == 0
    assert event.eligible_residencies == ["live", "work"]
    assert event.registration_closes_at == event.sessions[0].starts_at  # the default
    assert client.get(f"/events/{event.id}").status_code == 200
    assert "event.create" in db.session.scalars(sa.select(AuditLog.action)).all()


def test_a_draft_is_not_public_until_published(staff_world, login_as, client):
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    organizer.post("/staff/events/new", data=event_form(token, status="draft"))
    event = db.session.scalar(sa.select(Event).order_by(Event.id.desc()))
    assert client.get(f"/events/{event.id}").status_code == 404
    assert event.title not in client.get("/events").get_data(as_text=True)
    organizer.post(f"/staff/events/{event.id}/publish", data={"csrf_token": token})
    assert client.get(f"/events/{event.id}").status_code == 200


def test_event_form_errors_are_shown_beside_the_fields(staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    start = utcnow() + timedelta(days=20)
    response = organizer.post(
        "/staff/events/new",
        data=event_form(
            csrf_of(organizer),
            title="",
            capacity="abc",
            **{
                "sessions-0-ends_at": local(start - timedelta(hours=1)),
                "sessions-0-starts_at": local(start),
            },
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "名称を入力してください。" in html
    assert 'id="capacity-error"' in html
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    response = organizer.post(
        "/staff/events/new",
        data=event_form(
            csrf_of(organizer),
            **{
                "sessions-0-ends_at": local(start - timedelta(hours=1)),
                "sessions-0-starts_at": local(start),
            },
        ),
    )
    assert response.status_code == 422
    # The message names the 回, beside the field and in the summary.
    assert "第1回：終了日時は開始日時より後にしてください。" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == before


def test_adding_a_session_row_keeps_what_was_typed(staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    form = event_form(csrf_of(organizer), **{"sessions-1-access": "阿佐ケ谷駅から徒歩5分"})
    response = organizer.post("/staff/events/new", data={**form, "add_session": "1"})
    html = response.get_data(as_text=True)
    assert "第3回" in html and "秋期" in html
    # The new 回 copies the previous one's venue and access; its dates are left to fill in.
    assert 'name="sessions-2-venue"\n      value="杉並区役所 中棟6階"' in html
    assert 'name="sessions-2-access"\n      value="阿佐ケ谷駅から徒歩5分"' in html
    assert 'name="sessions-2-starts_at"\n      value=""' in html
    # Without JavaScript the answer brings the browser back to the new row, not to the top.
    assert 'id="session-3"' in html and 'formaction="/staff/events/new#session-4"' in html
    # A row with a venue but no dates is not a 回: saving creates the two that were given.
    saved = organizer.post(
        "/staff/events/new",
        data={**form, "sessions-2-venue": "杉並区役所 中棟6階", "sessions-2-access": ""},
    )
    assert saved.status_code == 303
    event = db.session.scalar(sa.select(Event).order_by(Event.id.desc()))
    assert len(event.sessions) == 2


def test_a_session_error_names_its_session(staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    start = utcnow() + timedelta(days=40)
    form = event_form(
        csrf_of(organizer),
        **{
            "sessions-2-starts_at": local(start),
            "sessions-2-ends_at": local(start - timedelta(hours=1)),
            "sessions-2-venue": "区民センター",
            "sessions-1-starts_at": "12月の第2土曜",
        },
    )
    html = organizer.post("/staff/events/new", data=form).get_data(as_text=True)
    assert "第2回の開始日時：日時の形式が正しくありません" in html
    fixed = {**form, "sessions-1-starts_at": local(start - timedelta(days=7))}
    html = organizer.post("/staff/events/new", data=fixed).get_data(as_text=True)
    assert "第3回：終了日時は開始日時より後にしてください。" in html


def test_two_rows_with_the_same_session_are_refused_not_merged(staff_world, login_as):
    """Two edit-form rows naming one session id would write both into it and remove the other
    session: refused, and nothing changes."""
    event = staff_world.event
    first, second = event.sessions
    organizer = login_as(staff_world.organizer)
    data = {
        "csrf_token": csrf_of(organizer),
        "kind": "course",
        "title": event.title,
        "capacity": "1",
        "waitlist": "y",
        "admission": "first_come",
        "residency": ["live"],
        "status": "published",
    }
    for i, s in enumerate([first, second]):
        data |= {
            f"sessions-{i}-id": str(first.id),  # both rows say they are 第1回
            f"sessions-{i}-starts_at": local(s.starts_at),
            f"sessions-{i}-ends_at": local(s.ends_at),
            f"sessions-{i}-venue": f"会場{i}",
        }
    response = organizer.post(f"/staff/events/{event.id}/edit", data=data)
    assert response.status_code == 422
    assert "同じ回が2度送られました" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [s.id for s in db.session.get(Event, event.id).sessions] == [first.id, second.id]
    assert db.session.get(Event, event.id).sessions[0].venue == first.venue


@pytest.mark.parametrize(
    "extra",
    [
        {"sessions-²-venue": "会場", "sessions-²-starts_at": "2027-01-16T14:00"},
        {"sessions-0-id": "²"},
        {"sessions-0-id": str(2**31)},
        {"sessions-0-id": str(2**63 + 1)},
        {"organization_id": str(2**63 + 1)},
        {"organization_id": "²"},
    ],
    ids=[
        "superscript-row",
        "superscript-id",
        "int32-overflow",
        "int64-overflow",
        "org-int64",
        "org-superscript",
    ],
)
def test_odd_ids_in_the_event_form_are_refused_not_500(staff_world, login_as, extra):
    admin = login_as(staff_world.admin)
    response = admin.post("/staff/events/new", data={**event_form(csrf_of(admin)), **extra})
    assert response.status_code < 500


def test_more_seats_promote_the_waitlist_and_fewer_than_confirmed_are_refused(
    staff_world, login_as
):
    event = staff_world.event  # capacity 1: one confirmed, two waitlisted
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    edit = organizer.get(f"/staff/events/{event.id}/edit").get_data(as_text=True)
    assert event.title in edit
    sessions = {
        f"sessions-{i}-{k}": v
        for i, s in enumerate(event.sessions)
        for k, v in {
            "id": str(s.id),
            "starts_at": local(s.starts_at),
            "ends_at": local(s.ends_at),
            "venue": s.venue,
        }.items()
    }
    base = {
        "csrf_token": token,
        "kind": "course",
        "title": event.title,
        "waitlist": "y",
        "admission": "first_come",
        "residency": ["live", "work", "study", "other"],
        "status": "published",
        **sessions,
    }
    response = organizer.post(f"/staff/events/{event.id}/edit", data={**base, "capacity": "2"})
    assert response.status_code == 303
    statuses = db.session.scalars(sa.select(Registration.status).order_by(Registration.id)).all()
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    promoted_mails = db.session.scalars(
        sa.select(OutboxMessage.recipient).filter_by(kind="promoted")
    ).all()
    assert promoted_mails == ["person1@example.jp"]

    refused = organizer.post(f"/staff/events/{event.id}/edit", data={**base, "capacity": "1"})
    assert refused.status_code == 422
    assert "参加確定の人数（2名）より少なくできません" in refused.get_data(as_text=True)
    db.session.refresh(event)
    assert event.capacity == 2


def test_cancelling_an_event_mails_every_registrant(staff_world, login_as, client):
    event = staff_world.event
    organizer = login_as(staff_world.organizer)
    confirm = organizer.get(f"/staff/events/{event.id}/cancel")
    assert "中止にしますか" in confirm.get_data(as_text=True)
    response = organizer.post(
        f"/staff/events/{event.id}/cancel",
        data={"csrf_token": csrf_of(organizer), "reason": "台風のため"},
    )
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.status == "cancelled"
    mails = db.session.scalars(sa.select(OutboxMessage).filter_by(kind="event_cancelled")).all()
    assert sorted(m.recipient for m in mails) == [f"person{i}@example.jp" for i in range(3)]
    assert all("台風のため" in m.body_text for m in mails)
    assert all(r.status == "cancelled" for r in db.session.scalars(sa.select(Registration)))
    assert "中止" in client.get(f"/events/{event.id}").get_data(as_text=True)


def test_another_organizations_organizer_cannot_touch_the_event(staff_world, login_as):
    other = login_as(staff_world.other_organizer)
    event = staff_world.event
    assert other.get(f"/staff/events/{event.id}").status_code == 404
    assert (
        other.post(
            f"/staff/events/{event.id}/cancel", data={"csrf_token": csrf_of(other)}
        ).status_code
        == 404
    )
    assert event.title not in other.get("/staff/events/").get_data(as_text=True)
    db.session.refresh(event)
    assert event.status == "published"


def test_policy_sees_counts_but_no_names(staff_world, login_as):
    policy = login_as(staff_world.policy)
    html = policy.get(f"/staff/events/{staff_world.event.id}").get_data(as_text=True)
    assert "参加確定" in html and "1名" in html
    for personal in ("花子", "person0@example.jp", "スギナミ"):
        assert personal not in html
    assert policy.get(f"/staff/events/{staff_world.event.id}/registrations").status_code == 403


def test_publishing_a_draft_promotes_before_new_sign_ups(staff_world, login_as, sign_up):
    event = staff_world.event  # capacity 1: confirmed, waitlist 1, 2
    event.status = "draft"
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    first = staff_world.registrations[0]
    organizer.post(
        f"/staff/registrations/{first.id}/cancel", data={"csrf_token": token, "reason": "phone"}
    )
    organizer.post(f"/staff/events/{event.id}/publish", data={"csrf_token": token})
    newcomer = sign_up(event.id, email="newcomer@example.jp")
    assert newcomer.status_code == 303
    statuses = dict(db.session.execute(sa.select(Registration.id, Registration.status)).all())
    assert statuses[staff_world.registrations[1].id] == "confirmed"
    new = db.session.scalar(sa.select(Registration).order_by(Registration.id.desc()))
    assert new.status == "waitlisted"


def test_staff_form_refuses_far_off_dates(staff_world, login_as):
    from test_staff_events import event_form

    organizer = login_as(staff_world.organizer)
    response = organizer.post(
        "/staff/events/new",
        data=event_form(csrf_of(organizer), **{"sessions-0-starts_at": "0001-01-01T00:00"}),
    )
    assert response.status_code == 422
    assert "2000年から2100年までの日時" in response.get_data(as_text=True)


def test_the_staff_list_is_by_date_not_by_creation(staff_world, login_as, make_event):
    """Entered last but held first: listed first. Events that are over come after, latest
    first."""
    later = make_event(title="二月の講座", organization=staff_world.ward)
    sooner = make_event(title="一月の講座", organization=staff_world.ward)
    over = make_event(title="終わった講座", organization=staff_world.ward)
    for event, days in ((later, 60), (sooner, 30), (over, -30)):
        session = event.sessions[0]
        session.starts_at = utcnow() + timedelta(days=days)
        session.ends_at = session.starts_at + timedelta(hours=2)
    db.session.commit()
    html = login_as(staff_world.organizer).get("/staff/events/").get_data(as_text=True)
    upcoming = html[html.index('id="upcoming"') : html.index('id="past"')]
    assert upcoming.index("一月の講座") < upcoming.index("二月の講座")
    assert "終わった講座" in html[html.index('id="past"') :]
