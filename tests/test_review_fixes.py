"""Edge cases found in review: what must not leak, must not 500, must not be lost."""

import logging
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from conftest import CSRF_INPUT, csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import AuditLog, Person, Registration


def test_a_full_event_answers_everyone_alike(make_event, sign_up):
    """Whether an address is registered cannot be read off a full event's answer."""
    event = make_event(capacity=1, waitlist=False)
    sign_up(event.id, email="registered@example.jp")
    registered = sign_up(event.id, email="registered@example.jp")
    stranger = sign_up(event.id, email="stranger@example.jp")
    assert registered.status_code == stranger.status_code == 409
    assert "満席です" in registered.get_data(as_text=True)


def test_resident_actions_are_audited(make_event, sign_up, client):
    event = make_event(capacity=1)
    location = sign_up(event.id, email="a@example.jp").headers["Location"]
    sign_up(event.id, email="b@example.jp")
    token = csrf_of(client)
    client.post(location + "/cancel", data={"csrf_token": token})
    entries = db.session.execute(
        sa.select(AuditLog.action, AuditLog.detail).order_by(AuditLog.id)
    ).all()
    assert [a for a, _ in entries] == [
        "registration.create",
        "registration.create",
        "registration.cancel",
        "registration.promote",
    ]
    assert entries[0][1]["by"] == "resident" and entries[2][1]["by"] == "resident"
    assert entries[3][1]["by"] == "waitlist"


def test_same_new_address_for_two_events_at_once(live_server, make_event):
    """Each sign-up locks only its own event; the person row must still be created once."""
    events = [make_event(title=f"講座{i}") for i in range(6)]
    ids = [e.id for e in events]
    db.session.commit()
    barrier = threading.Barrier(len(ids))
    answers = []

    def sign(event_id):
        with requests.Session() as http:
            url = f"{live_server}/events/{event_id}/register"
            token = CSRF_INPUT.search(http.get(url, timeout=30).text).group(1)
            barrier.wait()
            answers.append(
                http.post(
                    url,
                    allow_redirects=False,
                    timeout=60,
                    data={
                        "csrf_token": token,
                        "family_name": "杉並",
                        "given_name": "花子",
                        "family_name_kana": "スギナミ",
                        "given_name_kana": "ハナコ",
                        "email": "same@example.jp",
                        "phone": "0333122111",
                        "residency": "live",
                        "age_group": "50s",
                        "consent": "y",
                    },
                ).status_code
            )

    threads = [threading.Thread(target=sign, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [303] * len(ids)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == len(ids)


def test_publishing_a_draft_promotes_before_new_sign_ups(staff_world, login_as, sign_up):
    event = staff_world.event  # capacity 1: confirmed, waitlist 1, 2
    event.status = "draft"
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    first = staff_world.registrations[0]
    organizer.post(
        f"/staff/registrations/{first.id}/cancel", data={"csrf_token": token, "reason": "電話"}
    )
    organizer.post(f"/staff/events/{event.id}/publish", data={"csrf_token": token})
    newcomer = sign_up(event.id, email="newcomer@example.jp")
    assert newcomer.status_code == 303
    statuses = dict(db.session.execute(sa.select(Registration.id, Registration.status)).all())
    assert statuses[staff_world.registrations[1].id] == "confirmed"
    new = db.session.scalar(sa.select(Registration).order_by(Registration.id.desc()))
    assert new.status == "waitlisted"


def test_a_draft_lottery_cannot_be_drawn(staff_world, make_event, login_as):
    event = make_event(
        admission="lottery",
        status="draft",
        organization=staff_world.ward,
        registration_closes_at=utcnow() - timedelta(minutes=1),
    )
    organizer = login_as(staff_world.organizer)
    organizer.post(f"/staff/events/{event.id}/draw", data={"csrf_token": csrf_of(organizer)})
    assert db.session.scalar(sa.select(AuditLog).filter_by(action="lottery.draw")) is None


@pytest.mark.parametrize("title", ["講演会\r\nBcc: x@example.jp", "講演会\nその2", "a\x00b"])
def test_api_refuses_line_breaks_in_single_line_fields(staff_world, client, title):
    from test_api import bearer, payload

    response = client.post(
        "/api/v1/events", json=payload(title=title), headers=bearer(staff_world.organizer)
    )
    assert response.status_code == 422 and "title" in response.json["fields"]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+09:00", "9999-12-31T20:00:00-09:00"])
def test_api_refuses_far_off_dates(staff_world, client, when):
    from test_api import bearer, payload

    response = client.post(
        "/api/v1/events",
        json=payload(registration_opens_at=when),
        headers=bearer(staff_world.organizer),
    )
    assert response.status_code == 422
    assert "registration_opens_at" in response.json["fields"]


def test_staff_form_refuses_far_off_dates(staff_world, login_as):
    from test_staff_events import event_form

    organizer = login_as(staff_world.organizer)
    response = organizer.post(
        "/staff/events/new",
        data=event_form(csrf_of(organizer), **{"sessions-0-starts_at": "0001-01-01T00:00"}),
    )
    assert response.status_code == 422
    assert "2000年から2100年までの日時" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01"},
        {"to": "9999-12-31"},
        {"page": "2", "endpoint": "x"},
        {"page": "2", "_external": "1"},
        {"page": "-5"},
        {"action": "x" * 500},
    ],
)
def test_audit_filters_never_fail(staff_world, login_as, query):
    assert login_as(staff_world.admin).get("/staff/audit", query_string=query).status_code == 200


def test_staff_pages_and_api_answers_are_not_cached(staff_world, login_as, client):
    from test_api import bearer

    admin = login_as(staff_world.admin)
    for path in ("/staff/events/", f"/staff/events/{staff_world.event.id}/registrations"):
        assert admin.get(path).headers["Cache-Control"] == "no-store"
    api = client.get(
        f"/api/v1/events/{staff_world.event.id}/registrations",
        headers=bearer(staff_world.organizer),
    )
    assert api.headers["Cache-Control"] == "no-store"


def test_the_outbox_page_hides_personal_links_and_is_audited(staff_world, login_as):
    from hikisupport.models import OutboxMessage

    message = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id))
    token = db.session.get(Registration, message.about_id).token
    assert token in message.body_text
    admin = login_as(staff_world.admin)
    admin.get("/staff/mail/")
    page = admin.get(f"/staff/mail/{message.id}").get_data(as_text=True)
    assert token not in page and "ご本人用のリンク" in page
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"mail.list", "mail.view"} <= set(actions)


def test_error_logs_carry_no_tokens_or_query_parameters(make_event, sign_up, app, caplog):
    assert db.engine.hide_parameters
    event = make_event()
    token = sign_up(event.id).headers["Location"].removeprefix("/r/")
    try:
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE token = :t"), {"t": token})
    except sa.exc.DatabaseError:
        with caplog.at_level(logging.ERROR):
            app.logger.exception("Exception on /r/%s [GET]", token)
    db.session.rollback()
    assert caplog.records
    for record in caplog.records:
        text = logging.Formatter().format(record)
        assert token not in text


def test_no_constant_secret_key_outside_tests(monkeypatch, tmp_path):
    import config
    from hikisupport import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app(config.DevelopmentConfig)
    assert app.secret_key not in ("unset", "dev-only-not-secret") and len(app.secret_key) >= 64
    assert create_app(config.DevelopmentConfig).secret_key == app.secret_key  # kept
