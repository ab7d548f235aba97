"""People without e-mail (電話・はがき) are not forgotten: after a draw, a promotion, a capacity
change or an event cancellation they are listed on the event page (連絡が必要な方) with their
phone number and what to tell them, until staff mark them 連絡済."""

from datetime import timedelta

import sqlalchemy as sa
from fixtures.events import event_input

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import AuditLog, ContactTask, Registration
from hikisupport.registration import lottery, services
from hikisupport.registration.services import Applicant


def applicant(family, given, email="", phone="0333122111"):
    return Applicant(family, given, "コバヤシ", "イチロウ", email, phone, "live", "70s")


def enter(event, person, source="phone"):
    registration = services.register(event, person, source=source, by_staff=True).registration
    db.session.commit()
    return registration


def page_of(client, event) -> str:
    return client.get(f"/staff/events/{event.id}").get_data(as_text=True)


def test_kobayashi_who_lost_the_lottery_and_was_promoted_is_told_both_times(
    staff_world, make_event, login_as
):
    event = make_event(admission="lottery", capacity=1, organization=staff_world.ward)
    winner = enter(event, applicant("杉並", "花子", "hanako@example.jp"), source="web")
    kobayashi = enter(event, applicant("小林", "一郎", phone="09011112222"))
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    seed = next(
        s
        for s in (f"{n:032x}" for n in range(100))
        if lottery.draw_order(s, [winner.id, kobayashi.id])[0] == winner.id
    )
    lottery.draw(event, seed=seed)
    db.session.commit()

    organizer = login_as(staff_world.organizer)
    html = page_of(organizer, event)
    assert "連絡が必要な方（1件）" in html
    assert "小林 一郎" in html and "090-1111-2222" in html
    assert "抽選の結果、キャンセル待ちの1番目になりました" in html
    assert "杉並 花子" not in html  # she is mailed

    services.cancel(db.session.get(Registration, winner.id))  # she cancels: 小林 moves up
    db.session.commit()
    html = page_of(organizer, event)
    assert "連絡が必要な方（2件）" in html
    assert "キャンセル待ちから繰り上がり、参加が決まりました" in html
    assert kobayashi.ticket in html

    for task in db.session.scalars(sa.select(ContactTask)).all():
        done = organizer.post(
            f"/staff/contacts/{task.id}/done", data={"csrf_token": csrf_of(organizer)}
        )
        assert done.status_code == 303
    assert "連絡が必要な方" not in page_of(organizer, event)
    rows = db.session.scalars(sa.select(AuditLog).filter_by(action="contact.done")).all()
    assert [r.object_id for r in rows] == [kobayashi.id, kobayashi.id]
    assert all(r.staff_email == "ward@example.jp" for r in rows)
    assert db.session.scalar(sa.select(AuditLog.id).filter_by(action="contacts.view"))


def test_a_capacity_change_and_an_event_cancellation_are_listed_too(
    staff_world, make_event, login_as
):
    from hikisupport.events.services import update_event

    event = make_event(capacity=1, organization=staff_world.ward)
    enter(event, applicant("杉並", "花子", "hanako@example.jp"), source="web")
    waiting = enter(event, applicant("高井", "戸子"), source="postcard")
    assert waiting.status == "waitlisted"
    update_event(event, event_input(event, capacity=2))
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    assert "高井 戸子" in page_of(organizer, event)

    services.cancel_event(event, "講師の急病のため")
    db.session.commit()
    html = page_of(organizer, event)
    assert "この催しは中止になりました。理由：講師の急病のため" in html
    assert (
        html.count('<span class="keep">高井 戸子</span>') == 2
    )  # told of the promotion, then of the cancellation


def test_only_those_who_manage_the_event_see_or_mark_the_list(staff_world, make_event, login_as):
    event = make_event(capacity=0, organization=staff_world.ward)
    waiting = enter(event, applicant("小林", "一郎"))
    event.capacity = 1
    db.session.commit()
    services.promote_next(services.lock_event(event.id))
    db.session.commit()
    task = db.session.scalar(sa.select(ContactTask).filter_by(registration_id=waiting.id))
    assert task is not None
    policy = login_as(staff_world.policy)
    assert "小林" not in page_of(policy, event)
    other = login_as(staff_world.other_organizer)
    assert (
        other.post(
            f"/staff/contacts/{task.id}/done", data={"csrf_token": csrf_of(other)}
        ).status_code
        == 404
    )
    db.session.refresh(task)
    assert task.done_at is None
