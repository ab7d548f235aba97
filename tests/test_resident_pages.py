"""Issue 9 items 10, 11, 12 and 16 on the resident side: who runs an event and how to reach
them, wording that matches the rules, the personal page, and a calendar file that is only a
calendar."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from conftest import csrf_from
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.mail.outbox import body_of
from hikisupport.models import OutboxMessage, Registration

NPO_CONTACT = {
    "contact_phone": "03-5300-0000",
    "contact_email": "info@npo.example.jp",
    "contact_hours": "火〜土 10時〜18時",
}


@pytest.fixture
def npo_event(make_event):
    from hikisupport.staff.services import get_or_create_organization

    return make_event(
        organization=get_or_create_organization("NPO法人 すぎなみ居場所ネット"),
        belongings="筆記用具",
        venue_address="東京都杉並区阿佐谷南1-15-1",
        map_url="https://maps.example.jp/?q=suginami",
        sessions=2,
        **NPO_CONTACT,
    )


def test_an_event_shows_who_runs_it_and_how_to_reach_them(npo_event, client):
    html = client.get(f"/events/{npo_event.id}").get_data(as_text=True)
    assert "主催" in html and "NPO法人 すぎなみ居場所ネット" in html
    for value in NPO_CONTACT.values():
        assert value in html
    assert "持ち物" in html and "筆記用具" in html
    assert 'href="https://maps.example.jp/?q=suginami"' in html  # a link, not an embedded map
    assert "<iframe" not in html
    assert "申し込み内容の確認・キャンセル" in html


def test_every_mail_names_the_organizer_and_its_contact(npo_event, sign_up, client):
    location = sign_up(npo_event.id).headers["Location"]
    token = csrf_from(client.get(location + "/cancel").get_data(as_text=True))
    client.post(location + "/cancel", data={"csrf_token": token})
    db.session.commit()
    mails = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {m.kind for m in mails} == {"apply", "confirmed", "cancelled"}
    for mail in mails:
        for text in body_of(mail):
            assert "NPO法人 すぎなみ居場所ネット" in text
            assert "03-5300-0000" in text and "info@npo.example.jp" in text


def test_staff_cannot_promise_everyone_and_refuse_outsiders(staff_world, login_as):
    from fixtures.events import event_input

    from conftest import csrf_of
    from hikisupport.events.services import validate

    event = staff_world.event
    errors = validate(event_input(event, audience="どなたでも", residency=["live"]))
    assert "区外の方は申し込めない" in errors["audience"]
    assert "audience" not in validate(
        event_input(event, audience="どなたでも", residency=["live", "other"])
    )
    organizer = login_as(staff_world.organizer)
    page = organizer.get(f"/staff/events/{event.id}/edit").get_data(as_text=True)
    assert 'name="contact_phone"' in page and 'name="map_url"' in page
    assert csrf_of(organizer)


def test_the_event_page_says_who_may_apply_as_the_form_does(make_event, client):
    event = make_event(eligible_residencies=["live"], audience="関心のある方")
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "お申し込みできる方" in html and "区内在住の方" in html


def test_lottery_pages_say_when_and_the_winner_sees_tousen(make_event, sign_up, client, app):
    from hikisupport.registration import lottery

    now = utcnow()
    event = make_event(admission="lottery", capacity=1, registration_closes_at=now + timedelta(1))
    applied = sign_up(event.id).headers["Location"]
    page = client.get(applied).get_data(as_text=True)
    assert "抽選待ち" in page and "より前に結果をメールでお知らせします" in page
    event.registration_closes_at = now - timedelta(minutes=1)
    db.session.commit()
    with app.test_request_context():
        lottery.draw(db.session.get(type(event), event.id))
        db.session.commit()
    assert "抽選の結果、当選しました" in client.get(applied).get_data(as_text=True)


def test_staff_see_the_draw_method_in_words(make_event, sign_up, staff_world, login_as, app):
    from hikisupport.models import LotteryDraw

    draw = LotteryDraw(algorithm="python-random-shuffle-v1")
    assert "シード値から作った乱数で並べ替える" in draw.algorithm_label


def test_after_signing_up_the_page_says_a_mail_was_sent_and_to_keep_it(make_event, sign_up, client):
    response = sign_up(make_event().id, phone="090-1234-5678")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "確認のメールをお送りします" in page and "保存してください" in page
    assert "090-1234-5678" in page  # the details given, so a mistyped phone is noticed
    assert "hanako@example.jp" in page
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "保存してください" not in again  # said once


def test_the_person_changes_phone_and_accommodations_until_the_day_before(
    make_event, sign_up, client
):
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    form = client.get(location + "/edit")
    assert form.status_code == 200
    token = csrf_from(form.get_data(as_text=True))
    bad = client.post(location + "/edit", data={"csrf_token": token, "phone": "03-1"})
    assert bad.status_code == 422 and "電話番号の形式" in bad.get_data(as_text=True)
    changed = client.post(
        location + "/edit",
        data={
            "csrf_token": token,
            "phone": "090-9999-8888",
            "accommodations": ["wheelchair"],
            "needs": "段差が苦手です",
        },
    )
    assert changed.status_code == 303
    (registration,) = db.session.scalars(sa.select(Registration)).all()
    db.session.refresh(registration)
    assert registration.phone == "09099998888"
    assert registration.accommodations == ["wheelchair"]
    assert "updated" in db.session.scalars(sa.select(OutboxMessage.kind)).all()
    # From the day of the first session, no more changes. The session starts this very
    # moment, so its day (Japan time) is today whatever the hour (utcnow() + 1 h would be
    # tomorrow in Japan from 14:00 UTC, when changes are still allowed).
    first = event.sessions[0]
    first.starts_at = utcnow()
    first.ends_at = first.starts_at + timedelta(hours=2)
    db.session.commit()
    assert client.get(location + "/edit").status_code == 303
    late = client.post(location + "/edit", data={"csrf_token": token, "phone": "0333122111"})
    assert late.status_code == 303
    db.session.refresh(registration)
    assert registration.phone == "09099998888"


def test_the_calendar_file_is_a_plain_rfc5545_calendar(npo_event, sign_up, client):
    location = sign_up(npo_event.id).headers["Location"]
    response = client.get(location + "/calendar.ics")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and "%E9%A4%8A%E6%88%90" in disposition  # 養成
    calendar = Calendar.from_ical(response.data)
    assert "METHOD" not in calendar  # not an iTIP invitation
    events = calendar.walk("VEVENT")
    assert [str(v["summary"]).rsplit("（", 1)[1] for v in events] == ["第1回）", "第2回）"]
    for vevent in events:
        assert "東京都杉並区阿佐谷南1-15-1" in str(vevent["location"])
        description = str(vevent["description"])
        assert "/r/" not in description  # a shared calendar must not hand out the cancel link
        assert "03-5300-0000" in description
    token = location.removeprefix("/r/")
    assert token.encode() not in response.data


def test_a_waitlisted_person_is_not_offered_a_calendar_entry(make_event, sign_up, client):
    event = make_event(capacity=1)
    sign_up(event.id, email="a@example.jp")
    waiting = sign_up(event.id, email="b@example.jp").headers["Location"]
    page = client.get(waiting).get_data(as_text=True)
    assert "キャンセル待ち" in page and "calendar.ics" not in page
    assert client.get(waiting + "/calendar.ics").status_code == 404
