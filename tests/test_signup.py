"""The sign-up rule through the resident pages: confirmed, waitlisted, full, closed, duplicates."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import csrf_from
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import OutboxMessage, Person, Registration


def registrations(event_id):
    return db.session.scalars(
        sa.select(Registration).where(Registration.event_id == event_id).order_by(Registration.id)
    ).all()


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sign_up_within_capacity_is_confirmed_and_goes_to_the_personal_page(
    make_event, sign_up, client
):
    event = make_event(capacity=2)
    response = sign_up(event.id)
    assert response.status_code == 303
    (registration,) = registrations(event.id)
    assert response.headers["Location"] == f"/r/{registration.token}"
    assert registration.status == "confirmed"
    assert registration.waitlist_position is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "参加確定" in page
    assert registration.ticket in page
    assert "杉並 花子" in page


def test_input_is_stored_normalised(make_event, sign_up):
    event = make_event()
    sign_up(
        event.id,
        family_name="　杉並　",
        family_name_kana="すぎなみ",
        given_name_kana="ﾊﾅｺ",
        email="Hanako@Example.JP",
        phone="０９０ー１２３４ー５６７８",
    )
    (registration,) = registrations(event.id)
    assert registration.family_name == "杉並"
    assert registration.family_name_kana == "スギナミ"
    assert registration.given_name_kana == "ハナコ"
    assert registration.email == "hanako@example.jp"
    assert registration.phone == "09012345678"


def test_over_capacity_is_waitlisted_in_order(make_event, sign_up, client):
    event = make_event(capacity=1)
    sign_up(event.id, email="a@example.jp")
    second = sign_up(event.id, email="b@example.jp")
    third = sign_up(event.id, email="c@example.jp")
    assert second.status_code == third.status_code == 303
    regs = registrations(event.id)
    assert [(r.status, r.waitlist_position) for r in regs] == [
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    page = client.get(third.headers["Location"]).get_data(as_text=True)
    assert "キャンセル待ち" in page and "2</span> 番目" in page
    assert "受付用QRコード" not in page


def test_full_without_waitlist_is_refused_clearly(make_event, sign_up):
    event = make_event(capacity=1, waitlist=False)
    sign_up(event.id, email="a@example.jp")
    response = sign_up(event.id, email="b@example.jp")
    assert response.status_code == 409
    assert "満席です" in response.get_data(as_text=True)
    assert len(registrations(event.id)) == 1


def test_the_same_name_on_the_same_address_again_creates_nothing(make_event, sign_up):
    """Only the address's owner has the link: the same person again reaches their own page,
    and what the second submission says changes nothing."""
    event = make_event()
    first = sign_up(event.id)
    persons_before = count(Person)

    again = sign_up(event.id, email=" HANAKO@example.jp ", given_name_kana="は な こ", phone="0")
    assert again.status_code == 422  # the form is still checked
    again = sign_up(event.id, email=" HANAKO@example.jp ", given_name_kana="は な こ", needs="別")
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    (registration,) = registrations(event.id)
    assert registration.needs == ""  # the second submission changed nothing
    assert count(Person) == persons_before


def test_same_person_can_sign_up_for_another_event(make_event, sign_up):
    first, second = make_event(), make_event(title="講演会")
    assert sign_up(first.id).status_code == 303
    assert sign_up(second.id).status_code == 303
    assert count(Person) == 1
    assert count(Registration) == 2


@pytest.mark.parametrize(
    ("opens", "closes"),
    [(timedelta(days=1), timedelta(days=5)), (timedelta(days=-5), timedelta(days=-1))],
    ids=["not-yet-open", "closed"],
)
def test_outside_the_registration_period_is_refused_with_the_dates(
    make_event, sign_up, client, opens, closes
):
    now = utcnow()
    event = make_event(registration_opens_at=now + opens, registration_closes_at=now + closes)
    form_page = client.get(f"/events/{event.id}/register").get_data(as_text=True)
    assert "申込受付期間" in form_page and 'name="family_name"' not in form_page
    response = sign_up(event.id)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "申込受付期間外です" in text
    assert "令和" in text  # the dates, in 和暦
    assert registrations(event.id) == []


def test_ineligible_residency_is_refused_beside_the_field(make_event, sign_up):
    event = make_event(eligible_residencies=["live"])
    response = sign_up(event.id, residency="work")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "この催しの対象は区内在住の方です。" in text
    assert 'id="residency-error"' in text
    assert registrations(event.id) == []


def test_cancelling_a_confirmed_place_promotes_the_first_in_line(make_event, sign_up, client):
    event = make_event(capacity=1)
    first = sign_up(event.id, email="a@example.jp").headers["Location"]
    sign_up(event.id, email="b@example.jp")
    sign_up(event.id, email="c@example.jp")

    confirm = client.get(first + "/cancel")
    assert confirm.status_code == 200 and "キャンセルしますか" in confirm.get_data(as_text=True)
    response = client.post(
        first + "/cancel", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))}
    )
    assert response.status_code == 303
    a, b, c = registrations(event.id)
    assert (a.status, b.status, c.status) == ("cancelled", "confirmed", "waitlisted")
    assert c.waitlist_position == 1
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds[-2:] == ["cancelled", "promoted"]
    recipients = db.session.scalars(
        sa.select(OutboxMessage.recipient).where(OutboxMessage.kind == "promoted")
    ).all()
    assert recipients == ["b@example.jp"]


def test_cancelling_from_the_waitlist_closes_the_gap(make_event, sign_up, client):
    event = make_event(capacity=1)
    sign_up(event.id, email="a@example.jp")
    second = sign_up(event.id, email="b@example.jp").headers["Location"]
    sign_up(event.id, email="c@example.jp")
    sign_up(event.id, email="d@example.jp")
    token = csrf_from(client.get(second + "/cancel").get_data(as_text=True))
    client.post(second + "/cancel", data={"csrf_token": token})
    assert [(r.status, r.waitlist_position) for r in registrations(event.id)] == [
        ("confirmed", None),
        ("cancelled", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]


def test_cancel_needs_the_csrf_token(make_event, sign_up, client):
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    response = client.post(location + "/cancel", data={})
    assert response.status_code == 400
    assert "送信を受け付けられませんでした" in response.get_data(as_text=True)
    (registration,) = registrations(event.id)
    assert registration.status == "confirmed"


def test_signing_up_again_after_cancelling_gives_a_new_link(make_event, sign_up, client):
    event = make_event()
    old = sign_up(event.id).headers["Location"]
    token = csrf_from(client.get(old + "/cancel").get_data(as_text=True))
    client.post(old + "/cancel", data={"csrf_token": token})
    new = sign_up(event.id)
    assert new.status_code == 303 and new.headers["Location"] != old
    # The old link still works, and says it was cancelled (issue 9, item 12).
    old_page = client.get(old)
    assert old_page.status_code == 200
    assert "このお申し込みはキャンセルされています" in old_page.get_data(as_text=True)
    cancelled, live = registrations(event.id)
    assert (cancelled.status, live.status) == ("cancelled", "confirmed")
    assert cancelled.person_id == live.person_id


def test_unknown_personal_link_is_404(client, app):
    assert client.get("/r/not-a-real-token-at-all-xxxxxxxx").status_code == 404


def test_personal_token_has_at_least_128_bits(make_event, sign_up):
    event = make_event()
    sign_up(event.id)
    (registration,) = registrations(event.id)
    # token_urlsafe(32): 43 characters of base64url = 256 bits
    assert len(registration.token) >= 43
    assert set(registration.token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_personal_pages_are_not_cached(make_event, sign_up, client):
    event = make_event()
    location = sign_up(event.id).headers["Location"]
    response = client.get(location)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
