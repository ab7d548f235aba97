"""Issue 8: the address first, nothing held or shown on a stranger's word, families on one
address, limits. Step 1 answers every address alike; the mailed link is the only way in."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fixtures.registration import APPLICATION_FORM, apply_link_in_outbox

from conftest import csrf_from
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.mail.outbox import body_of
from hikisupport.models import OutboxMessage, Person, Registration
from hikisupport.registration.links import make_token


def count(model, *where):
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def mails_to(address, kind=None):
    db.session.commit()
    query = sa.select(OutboxMessage).where(OutboxMessage.recipient == address)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def link(app, event_id, email):
    with app.test_request_context():
        return f"/events/{event_id}/apply/{make_token(event_id, email)}"


# ---------------------------------------------------------------------------------------------
# Step 1 answers alike


@pytest.fixture
def people_in_every_state(make_event, sign_up, client):
    """One event (one seat) with a confirmed, a waitlisted and a cancelled address."""
    event = make_event(capacity=1)
    sign_up(event.id, email="registered@example.jp")
    sign_up(event.id, email="waitlisted@example.jp")
    cancelled = sign_up(event.id, email="cancelled@example.jp").headers["Location"]
    token = csrf_from(client.get(cancelled + "/cancel").get_data(as_text=True))
    client.post(cancelled + "/cancel", data={"csrf_token": token})
    return event


@pytest.mark.parametrize(
    "address",
    ["fresh@example.jp", "registered@example.jp", "waitlisted@example.jp", "cancelled@example.jp"],
)
def test_step_1_answers_every_address_alike_and_creates_nothing(
    people_in_every_state, ask_for_link, client, address
):
    event = people_in_every_state
    persons, registrations = count(Person), count(Registration)
    baseline = ask_for_link(event.id, "someone-else@example.jp")
    response = ask_for_link(event.id, address)
    assert response.status_code == baseline.status_code == 303
    assert response.headers["Location"] == baseline.headers["Location"]
    assert response.headers["Location"] == f"/events/{event.id}/register/sent"
    sent_page = client.get(response.headers["Location"])
    assert sent_page.get_data() == client.get(baseline.headers["Location"]).get_data()
    assert "メールをお送りしました" in sent_page.get_data(as_text=True)
    assert (count(Person), count(Registration)) == (persons, registrations)
    (mail,) = mails_to(address, "apply")[-1:]
    assert mail.status == "pending"  # queued, not sent inside the request


def test_step_1_refuses_an_invalid_address_beside_the_field(make_event, ask_for_link):
    event = make_event()
    response = ask_for_link(event.id, "hanako@example")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert count(OutboxMessage) == 0


def test_the_link_mail_lists_the_address_registrations_with_their_links(
    people_in_every_state, ask_for_link
):
    event = people_in_every_state
    ask_for_link(event.id, "waitlisted@example.jp")
    text = body_of(mails_to("waitlisted@example.jp", "apply")[-1])[0]
    personal = db.session.scalar(
        sa.select(Registration.token).where(Registration.status == "waitlisted")
    )
    assert f"/r/{personal}" in text and "キャンセル待ち" in text
    assert f"/events/{event.id}/apply/" in text
    fresh = ask_for_link(event.id, "fresh@example.jp")
    assert fresh.status_code == 303
    assert "/r/" not in body_of(mails_to("fresh@example.jp", "apply")[-1])[0]


def test_a_full_event_without_waitlist_says_so_to_everyone_alike(make_event, sign_up, client):
    event = make_event(capacity=1, waitlist=False)
    sign_up(event.id, email="registered@example.jp")
    page = client.get(f"/events/{event.id}/register").get_data(as_text=True)
    assert "満席です" in page
    assert 'name="email"' in page  # a registered resident can still get their link back


# ---------------------------------------------------------------------------------------------
# The mailed link


def test_the_link_opens_the_form_for_that_address_only(app, make_event, sign_up, client):
    event = make_event()
    response = sign_up(event.id, email="hanako@example.jp")
    assert response.status_code == 303
    path = apply_link_in_outbox(event.id, "hanako@example.jp")
    page = client.get(path).get_data(as_text=True)
    assert "hanako@example.jp" in page
    assert 'name="email"' not in page  # the address is shown, not editable
    (registration,) = db.session.scalars(sa.select(Registration)).all()
    assert registration.email == "hanako@example.jp"


@pytest.mark.parametrize("how", ["tampered", "another event", "expired", "not ours"])
def test_a_bad_link_is_refused_clearly(app, make_event, client, how):
    event, other = make_event(), make_event(title="別の講座")
    good = link(app, event.id, "hanako@example.jp")
    path = {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "another event": link(app, other.id, "hanako@example.jp").replace(
            f"/events/{other.id}/", f"/events/{event.id}/"
        ),
        "expired": good,
        "not ours": f"/events/{event.id}/apply/" + "x" * 40,
    }[how]
    if how == "expired":
        app.config["APPLY_LINK_MAX_AGE"] = -1
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == (410 if how == "expired" else 404)
    assert ("有効期限が切れています" if how == "expired" else "このリンクは使えません") in html
    assert f'href="/events/{event.id}/register"' in html  # a way to ask for a new link
    page = client.get(f"/events/{event.id}/register").get_data(as_text=True)
    posted = client.post(path, data={**APPLICATION_FORM, "csrf_token": csrf_from(page)})
    assert posted.status_code == response.status_code
    assert count(Registration) == 0


def test_a_link_asked_for_before_opening_works_from_the_opening(app, make_event, client):
    now = utcnow()
    event = make_event(registration_opens_at=now + timedelta(hours=30))
    app.config["APPLY_LINK_MAX_AGE"] = 3600
    response = client.get(link(app, event.id, "early@example.jp"))
    assert response.status_code == 200  # valid for an hour from the opening, not from now
    assert "受付開始前" in response.get_data(as_text=True)


def test_a_family_signs_up_two_people_through_one_link(make_event, sign_up, client):
    event = make_event()
    mother = sign_up(event.id, email="family@example.jp")
    son = sign_up(
        event.id,
        email="family@example.jp",
        given_name="太郎",
        given_name_kana="タロウ",
        age_group="20s",
    )
    assert mother.status_code == son.status_code == 303
    assert mother.headers["Location"] != son.headers["Location"]
    rows = db.session.scalars(sa.select(Registration).order_by(Registration.id)).all()
    assert [r.given_name for r in rows] == ["花子", "太郎"]
    assert len({r.person_id for r in rows}) == 2  # two persons on one address
    assert len({r.ticket for r in rows}) == 2
    assert count(Person, Person.email == "family@example.jp") == 2
    # The link's page lists both, and offers to add another.
    path = apply_link_in_outbox(event.id, "family@example.jp")
    page = client.get(path).get_data(as_text=True)
    assert "杉並 花子 様" in page and "杉並 太郎 様" in page
    assert "ほかの方（ご家族など）も申し込む" in page
    assert 'name="family_name"' not in page
    assert 'name="family_name"' in client.get(path + "?another=1").get_data(as_text=True)


def test_the_same_person_again_reaches_their_own_page(make_event, sign_up, client):
    event = make_event(capacity=1, waitlist=False)
    first = sign_up(event.id)
    again = sign_up(event.id, family_name_kana="すぎなみ", given_name_kana="ハナ コ")
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert count(Registration) == 1
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "お申し込みがすでにあります" in page


# ---------------------------------------------------------------------------------------------
# Limits


def test_ten_step_1_requests_for_one_address_give_at_most_three_mails(make_event, ask_for_link):
    event = make_event()
    answers = [ask_for_link(event.id, "victim@example.jp") for _ in range(10)]
    assert {a.status_code for a in answers} == {303}
    assert {a.headers["Location"] for a in answers} == {f"/events/{event.id}/register/sent"}
    assert len(mails_to("victim@example.jp")) == 3


def test_a_sign_up_cancel_loop_sends_at_most_ten_mails_an_hour(
    app, make_event, ask_for_link, client
):
    event = make_event()
    path = link(app, event.id, "victim@example.jp")
    for i in range(8):
        page = client.get(path).get_data(as_text=True)
        signed = client.post(
            path,
            data={**APPLICATION_FORM, "given_name": f"偽名{i}", "csrf_token": csrf_from(page)},
        )
        assert signed.status_code == 303
        cancel = signed.headers["Location"] + "/cancel"
        token = csrf_from(client.get(cancel).get_data(as_text=True))
        assert client.post(cancel, data={"csrf_token": token}).status_code == 303
    for _ in range(5):
        ask_for_link(event.id, "victim@example.jp")
    assert len(mails_to("victim@example.jp")) == 10
    # Staff's own mails are never held back (and still count).
    assert app.config["RESIDENT_MAILS_PER_HOUR"] == 10


@pytest.fixture
def app_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize(
    "app_overrides",
    [{"RATELIMIT_ENABLED": True, "RATELIMIT_PUBLIC_FORMS": "5/minute"}],
    indirect=True,
)
def test_one_client_is_rate_limited_with_a_japanese_page(make_event, client, app_overrides):
    event = make_event()
    token = csrf_from(client.get(f"/events/{event.id}/register").get_data(as_text=True))
    statuses = []
    for i in range(7):
        response = client.post(
            f"/events/{event.id}/register", data={"email": f"a{i}@example.jp", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses == [303] * 5 + [429] * 2
    assert "アクセスが集中しています" in response.get_data(as_text=True)
    assert response.headers.get("Retry-After")
    assert client.get(f"/events/{event.id}/register").status_code == 200  # pages still open


def test_a_2mb_body_is_refused_with_413_at_once(make_event, client):
    event = make_event()
    body = b"email=" + b"a" * (2 * 1024 * 1024)
    response = client.post(
        f"/events/{event.id}/register",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "送信された内容が大きすぎます" in response.get_data(as_text=True)
    # The resident pages take 64 kB: 100 kB is refused there, not on the staff side.
    big = b"email=" + b"a" * (100 * 1024)
    assert (
        client.post(
            f"/events/{event.id}/register",
            data=big,
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 413
    )
    assert client.post("/staff/login", data=big, content_type="x").status_code != 413


def test_no_multipart_on_resident_routes(make_event, client):
    event = make_event()
    response = client.post(
        f"/events/{event.id}/register",
        data={"email": "a@example.jp", "file": (__import__("io").BytesIO(b"x"), "a.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 415
    assert count(OutboxMessage) == 0


def test_the_422_page_echoes_no_more_than_a_field_takes(app, make_event, client):
    event = make_event()
    path = link(app, event.id, "hanako@example.jp")
    token = csrf_from(client.get(path).get_data(as_text=True))
    response = client.post(
        path, data={**APPLICATION_FORM, "family_name": "杉" * 5_000, "csrf_token": token}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "杉" * 31 not in html and "30文字以内" in html


def test_an_expired_csrf_token_gets_a_friendly_page(app, make_event, client):
    event = make_event()
    token = csrf_from(client.get(f"/events/{event.id}/register").get_data(as_text=True))
    app.config["WTF_CSRF_TIME_LIMIT"] = -1  # every token is already too old
    response = client.post(
        f"/events/{event.id}/register", data={"email": "a@example.jp", "csrf_token": token}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "もう一度お試しください" in html and "時間がたったため" in html
    assert f'href="/events/{event.id}/register"' in html
    assert count(OutboxMessage) == 0


def test_csrf_tokens_expire_by_default():
    import config

    assert config.Config.WTF_CSRF_TIME_LIMIT == 3600
    assert config.Config.APPLY_LINK_MAX_AGE == 86_400


# ---------------------------------------------------------------------------------------------
# Staff and the development mailbox


def test_staff_entries_skip_the_mail_step(staff_world, login_as, make_event):
    from conftest import csrf_of

    organizer = login_as(staff_world.organizer)
    response = organizer.post(
        f"/staff/events/{staff_world.event.id}/registrations/new",
        data={
            **APPLICATION_FORM,
            "source": "phone",
            "email": "",
            "consent": "y",
            "csrf_token": csrf_of(organizer),
        },
    )
    assert response.status_code == 303
    assert count(OutboxMessage, OutboxMessage.kind == "apply") == 0


@pytest.mark.parametrize("app_overrides", [{"DEV_MAILBOX": True}], indirect=True)
def test_the_development_mailbox_shows_the_link_on_this_machine_only(
    app_overrides, make_event, ask_for_link, client
):
    event = make_event()
    ask_for_link(event.id, "newcomer@example.jp")
    listing = client.get("/dev/mailbox/").get_data(as_text=True)
    assert "newcomer@example.jp" in listing
    (mail,) = mails_to("newcomer@example.jp")
    page = client.get(f"/dev/mailbox/{mail.id}").get_data(as_text=True)
    assert f'href="/events/{event.id}/apply/' in page
    # From another machine, or through a proxy: not there.
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get("/dev/mailbox/", environ_base=remote).status_code == 404
    proxied = {"X-Forwarded-For": "192.0.2.10"}
    assert client.get("/dev/mailbox/", headers=proxied).status_code == 404


def test_production_refuses_the_development_mailbox(monkeypatch):
    import config
    from hikisupport import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DEV_MAILBOX", "1")
    with pytest.raises(RuntimeError, match="DEV_MAILBOX"):
        create_app(config.ProductionConfig)
    monkeypatch.delenv("DEV_MAILBOX")
    prod = create_app(config.ProductionConfig)
    assert "dev_mailbox" not in prod.blueprints
    with pytest.raises(RuntimeError, match="DEV_MAILBOX"):
        create_app(
            {"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEV_MAILBOX": True, "TRUSTED_PROXIES": 1}
        )


def test_a_ticket_code_that_clashes_is_a_clear_409_and_nothing_is_saved(
    make_event, sign_up, monkeypatch, caplog
):
    """A sign-up's ticket code is not looked up first: the unique constraint decides. A clash
    (about 1 in 2⁵⁰) answers 409 with a message to send again — not a 500 — saves nothing, and
    logs the constraint, not the value."""
    from hikisupport.registration import services

    event = make_event(capacity=10)
    first = sign_up(event.id, email="first@example.jp")
    assert first.status_code == 303
    taken = db.session.scalar(sa.select(Registration.ticket))
    monkeypatch.setattr(services, "new_ticket_code", lambda: taken)
    clash = sign_up(event.id, email="second@example.jp", given_name="次郎")
    assert clash.status_code == 409
    assert "もう一度送信してください" in clash.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1
    assert not [r for r in caplog.records if "second@example.jp" in r.getMessage()]
    monkeypatch.undo()
    again = sign_up(event.id, email="second@example.jp", given_name="次郎")
    assert again.status_code == 303  # sending again works
