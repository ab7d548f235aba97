"""抽選: applications until the deadline, then one reproducible, audited draw."""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import AuditLog, LotteryDraw, OutboxMessage, Registration
from hikisupport.registration.lottery import draw_order, verify


@pytest.fixture
def lottery_event(staff_world, make_event, sign_up):
    event = make_event(capacity=3, admission="lottery", organization=staff_world.ward)
    for i in range(8):
        response = sign_up(event.id, email=f"applicant{i}@example.jp")
        assert response.status_code == 303
    return event


def close(event):
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def statuses(event):
    return db.session.scalars(
        sa.select(Registration.status).where(Registration.event_id == event.id)
    ).all()


def test_applications_wait_for_the_draw_beyond_capacity(lottery_event, client, sign_up):
    assert Counter(statuses(lottery_event)) == {"applied": 8}
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).filter_by(kind="applied")).all()
    assert len(kinds) == 8
    registration = db.session.scalar(sa.select(Registration).filter_by(event_id=lottery_event.id))
    assert "抽選待ち" in client.get(f"/r/{registration.token}").get_data(as_text=True)


def test_draw_order_is_reproducible_from_the_seed():
    ids = [5, 3, 9, 1, 7, 2]
    assert draw_order("ab" * 16, ids) == draw_order("ab" * 16, list(reversed(ids)))
    assert sorted(draw_order("ab" * 16, ids)) == sorted(ids)
    assert draw_order("ab" * 16, ids) != draw_order("cd" * 16, ids)


def test_the_draw_gives_everyone_exactly_one_outcome_and_holds_capacity(
    lottery_event, staff_world, login_as
):
    close(lottery_event)
    organizer = login_as(staff_world.organizer)
    response = organizer.post(
        f"/staff/events/{lottery_event.id}/draw",
        data={"csrf_token": csrf_of(organizer), "applicants": "8"},
    )
    assert response.status_code == 303
    rows = db.session.scalars(
        sa.select(Registration).where(Registration.event_id == lottery_event.id)
    ).all()
    assert Counter(r.status for r in rows) == {"confirmed": 3, "waitlisted": 5}
    assert sorted(r.waitlist_position for r in rows if r.waitlist_position) == [1, 2, 3, 4, 5]

    result = db.session.scalar(sa.select(LotteryDraw))
    assert verify(result)
    assert result.order == draw_order(result.seed, [r.id for r in rows])
    winners = {r.id for r in rows if r.status == "confirmed"}
    assert set(result.order[:3]) == winners
    waitlist = sorted(
        (r for r in rows if r.status == "waitlisted"), key=lambda r: r.waitlist_position
    )
    assert [r.id for r in waitlist] == result.order[3:]  # waitlisted in draw order

    mails = Counter(
        db.session.scalars(
            sa.select(OutboxMessage.kind).where(
                OutboxMessage.kind.in_(["lottery_won", "lottery_waitlisted"])
            )
        ).all()
    )
    assert mails == {"lottery_won": 3, "lottery_waitlisted": 5}
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="lottery.draw"))
    assert entry.detail["seed"] == result.seed and entry.staff_email == "ward@example.jp"
    page = organizer.get(f"/staff/events/{lottery_event.id}").get_data(as_text=True)
    assert result.seed in page and "同じ結果になることを確認しました" in page


def test_no_draw_before_the_deadline_and_never_twice(lottery_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw", data={"csrf_token": token, "applicants": "8"}
    )
    assert Counter(statuses(lottery_event)) == {"applied": 8}
    assert db.session.scalar(sa.select(LotteryDraw)) is None
    close(lottery_event)
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw", data={"csrf_token": token, "applicants": "8"}
    )
    first = db.session.scalar(sa.select(LotteryDraw)).order
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw", data={"csrf_token": token, "applicants": "8"}
    )
    assert db.session.scalars(sa.select(LotteryDraw)).all()[0].order == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryDraw)) == 1


def test_after_the_draw_a_cancellation_promotes_in_draw_order(
    lottery_event, staff_world, login_as, client
):
    close(lottery_event)
    organizer = login_as(staff_world.organizer)
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw",
        data={"csrf_token": csrf_of(organizer), "applicants": "8"},
    )
    result = db.session.scalar(sa.select(LotteryDraw))
    winner = db.session.get(Registration, result.order[0])
    organizer.post(
        f"/staff/registrations/{winner.id}/cancel",
        data={"csrf_token": csrf_of(organizer), "reason": "phone"},
    )
    promoted = db.session.get(Registration, result.order[3])
    db.session.refresh(promoted)
    assert promoted.status == "confirmed"


def test_a_draft_lottery_cannot_be_drawn(staff_world, make_event, login_as):
    event = make_event(
        admission="lottery",
        status="draft",
        organization=staff_world.ward,
        registration_closes_at=utcnow() - timedelta(minutes=1),
    )
    organizer = login_as(staff_world.organizer)
    organizer.post(
        f"/staff/events/{event.id}/draw", data={"csrf_token": csrf_of(organizer), "applicants": "0"}
    )
    assert db.session.scalar(sa.select(AuditLog).filter_by(action="lottery.draw")) is None


def test_the_draw_asks_first_with_the_applicants_and_seats(lottery_event, staff_world, login_as):
    from hikisupport.registration import services
    from hikisupport.registration.services import Applicant

    close(lottery_event)
    organizer = login_as(staff_world.organizer)
    event_page = organizer.get(f"/staff/events/{lottery_event.id}").get_data(as_text=True)
    assert f'action="/staff/events/{lottery_event.id}/draw"' not in event_page  # no one-tap draw
    assert f'href="/staff/events/{lottery_event.id}/draw"' in event_page
    confirm = organizer.get(f"/staff/events/{lottery_event.id}/draw")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "抽選しますか" in html
    assert "<dt>申込者</dt><dd>8名</dd>" in html and "<dt>定員</dt><dd>3席</dd>" in html
    assert "<dt>キャンセル待ち</dt><dd>5名" in html and "8名の中から抽選する" in html

    # Someone is entered by phone after the page was shown: that confirmation no longer holds.
    services.register(
        lottery_event,
        Applicant("小林", "一郎", "コバヤシ", "イチロウ", "", "0333122111", "live", "70s"),
        source="phone",
        by_staff=True,
    )
    db.session.commit()
    stale = organizer.post(
        f"/staff/events/{lottery_event.id}/draw",
        data={"csrf_token": csrf_of(organizer), "applicants": "8"},
        follow_redirects=True,
    )
    assert "申込者の数が変わりました（現在9名）" in stale.get_data(as_text=True)
    assert db.session.scalar(sa.select(LotteryDraw)) is None
    again = organizer.get(f"/staff/events/{lottery_event.id}/draw").get_data(as_text=True)
    assert "9名の中から抽選する" in again and "メールアドレスのない方（1名）" in again
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw",
        data={"csrf_token": csrf_of(organizer), "applicants": "9"},
    )
    assert db.session.scalar(sa.select(LotteryDraw)).applicants == 9


def test_a_lottery_deadline_defaults_to_a_week_before_the_first_session(staff_world, login_as):
    from test_staff_events import event_form

    from hikisupport.models import Event

    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    created = organizer.post(
        "/staff/events/new", data=event_form(token, admission="lottery", title="抽選の講座")
    )
    assert created.status_code == 303
    event = db.session.scalar(sa.select(Event).filter_by(title="抽選の講座"))
    assert event.registration_closes_at == event.sessions[0].starts_at - timedelta(days=7)

    form = event_form(token, admission="lottery", title="締切が遅い抽選")
    form["registration_closes_at"] = form["sessions-0-starts_at"]
    refused = organizer.post("/staff/events/new", data=form)
    assert refused.status_code == 422
    assert "抽選の申込締切は、初回の開始より前にしてください" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(Event).filter_by(title="締切が遅い抽選")) is None


def test_no_draw_once_the_first_session_has_begun(lottery_event, staff_world, login_as):
    session = lottery_event.sessions[0]
    session.starts_at = utcnow() - timedelta(minutes=5)
    session.ends_at = utcnow() + timedelta(hours=1)
    lottery_event.registration_closes_at = utcnow() - timedelta(days=1)
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    page = organizer.get(f"/staff/events/{lottery_event.id}/draw").get_data(as_text=True)
    assert "初回の開始時刻を過ぎたため、抽選できません" in page
    organizer.post(
        f"/staff/events/{lottery_event.id}/draw",
        data={"csrf_token": csrf_of(organizer), "applicants": "8"},
    )
    assert db.session.scalar(sa.select(LotteryDraw)) is None
    assert Counter(statuses(lottery_event)) == {"applied": 8}
