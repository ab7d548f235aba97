"""The per-process caches of the sign-up's pages (issue 8's speed goal): the blank form pages
kept per event and admission state (core/pagecache.py) and the municipality's settings held
for a few seconds (municipality/services.py). Neither may ever show a resident something stale
or someone else's: each page is compared with a fresh rendering, and each change is seen."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import CSRF_INPUT, csrf_from
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Event, LotteryDraw, Municipality
from hikisupport.municipality import services as municipality_services
from hikisupport.registration.links import make_token


def link(app, event_id, email):
    with app.test_request_context():
        return f"/events/{event_id}/apply/{make_token(event_id, email)}"


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def without_csrf(html):
    return CSRF_INPUT.sub('name="csrf_token" value=""', html)


def fresh(app, client, path):
    """The page rendered without the cache."""
    app.config["PAGE_CACHE"] = False
    try:
        return page(client, path)
    finally:
        app.config["PAGE_CACHE"] = True


def both_pages(app, event_id, email="hanako@example.jp"):
    return [f"/events/{event_id}/register", link(app, event_id, email)]


def assert_cached_as_fresh(app, client, path):
    """The page from the cache is the page rendered afresh, and sets a session cookie (for
    its CSRF token) exactly when the fresh one does. Each from a new browser."""
    answers = []
    for cache in (True, True, False):
        app.config["PAGE_CACHE"] = cache
        try:
            response = app.test_client().get(path)
        finally:
            app.config["PAGE_CACHE"] = True
        assert response.status_code == 200
        answers.append(
            (without_csrf(response.get_data(as_text=True)), "Set-Cookie" in response.headers)
        )
    assert answers[0] == answers[1] == answers[2]
    return page(client, path)


# ---------------------------------------------------------------------------------------------
# The blank form pages


@pytest.mark.parametrize(
    "state",
    ["open", "one_taken", "waitlist", "full", "lottery", "drawn", "not_yet", "closed", "cancelled"],
)
def test_cached_form_pages_are_the_fresh_pages(app, make_event, sign_up, state):
    client = app.test_client()  # not the one that signed up (its flashed message is waiting)
    now = utcnow()
    fields = {
        "open": {},
        "one_taken": {"capacity": 3},
        "waitlist": {"capacity": 1},
        "full": {"capacity": 1, "waitlist": False},
        "lottery": {"admission": "lottery"},
        "drawn": {"admission": "lottery"},
        "not_yet": {"registration_opens_at": now + timedelta(days=1)},
        "closed": {"registration_closes_at": now - timedelta(hours=1)},
        "cancelled": {"status": "cancelled"},
    }[state]
    event = make_event(**fields)
    if state in ("one_taken", "waitlist", "full"):
        assert sign_up(event.id, email="first@example.jp").status_code == 303
    if state == "drawn":
        db.session.add(
            LotteryDraw(
                event_id=event.id,
                seed="0" * 32,
                algorithm="test",
                applicants=0,
                winners=0,
                order=[],
            )
        )
        db.session.commit()
    for path in both_pages(app, event.id):
        assert_cached_as_fresh(app, client, path)


def test_each_address_sees_its_own_address_and_link_on_the_cached_form(app, client, make_event):
    event = make_event()
    first = page(client, link(app, event.id, "first@example.jp"))
    odd = "o'brien&co@example.jp"
    path = link(app, event.id, odd)
    second = page(client, path)
    assert "first@example.jp" in first and "first@example.jp" not in second
    assert "o&#39;brien&amp;co@example.jp" in second
    assert f'action="{path}"' in second
    assert without_csrf(second) == without_csrf(fresh(app, client, path))


def test_the_cached_forms_csrf_token_is_this_sessions_and_works(app, make_event):
    event = make_event()
    path = link(app, event.id, "hanako@example.jp")
    page(app.test_client(), path)  # someone else fills the cache
    client = app.test_client()
    token = csrf_from(page(client, path))
    from fixtures.registration import APPLICATION_FORM

    answer = client.post(path, data={**APPLICATION_FORM, "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/r/")


def test_the_form_changes_when_the_event_is_edited(app, client, make_event):
    event = make_event(title="最初の題名")
    paths = both_pages(app, event.id)
    for path in paths:
        assert "最初の題名" in page(client, path)
    event = db.session.get(Event, event.id)
    event.title = "変更後の題名"
    event.sessions[0].starts_at += timedelta(hours=1)
    event.sessions[0].ends_at += timedelta(hours=1)
    db.session.commit()
    for path in paths:
        html = assert_cached_as_fresh(app, client, path)
        assert "変更後の題名" in html and "最初の題名" not in html
    event = db.session.get(Event, event.id)
    event.eligible_residencies = ["live"]
    db.session.commit()
    for path in paths:
        assert "お申し込みできる方：区内在住の方" in assert_cached_as_fresh(app, client, path)


def test_the_form_changes_when_the_event_fills_up(app, make_event, sign_up):
    client = app.test_client()
    event = make_event(capacity=1, waitlist=True)
    path = link(app, event.id, "later@example.jp")
    assert ">申し込む</button>" in page(client, path)
    assert sign_up(event.id, email="first@example.jp").status_code == 303
    html = page(client, path)
    assert "キャンセル待ちに申し込む" in html and "現在満席です" in html
    event = db.session.get(Event, event.id)
    event.waitlist = False
    db.session.commit()
    html = page(client, path)
    assert "満席です" in html and "<form" not in html.split("</h1>")[1].split("<footer")[0]
    assert "満席です" in page(client, f"/events/{event.id}/register")


def test_the_form_changes_when_registration_closes_or_the_event_is_cancelled(
    app, client, make_event
):
    event = make_event()
    paths = both_pages(app, event.id)
    for path in paths:
        page(client, path)
    event = db.session.get(Event, event.id)
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "受付終了のため" in page(client, paths[1])
    assert "受付終了のため" in page(client, paths[0])
    event = db.session.get(Event, event.id)
    event.status = "cancelled"
    db.session.commit()
    assert "中止のため" in page(client, paths[1])


def test_a_flashed_message_is_shown_on_a_cached_page(app, client, make_event):
    event = make_event()
    path = f"/events/{event.id}/register"
    page(client, path)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "お知らせのテスト")]
    assert "お知らせのテスト" in page(client, path)
    assert "お知らせのテスト" not in page(client, path)


def test_the_form_with_errors_is_never_cached(app, client, make_event):
    event = make_event()
    path = f"/events/{event.id}/register"
    token = csrf_from(page(client, path))
    bad = client.post(path, data={"email": "nope", "csrf_token": token})
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)
    assert 'id="email-error"' not in page(client, path)


# ---------------------------------------------------------------------------------------------
# The municipality's settings


@pytest.fixture
def ward(app):
    db.session.add(Municipality(name="杉並区", code="131156", office_name="最初の窓口"))
    db.session.commit()


def set_office(name):
    municipality = db.session.scalar(sa.select(Municipality))
    municipality.office_name = name
    db.session.commit()


def test_testing_reads_the_settings_on_every_request(app, client, make_event, ward):
    assert app.config["MUNICIPALITY_CACHE_SECONDS"] == 0
    event = make_event()
    path = f"/events/{event.id}/register"
    assert "最初の窓口" in page(client, path)
    set_office("新しい窓口")
    html = page(client, path)
    assert "新しい窓口" in html and "最初の窓口" not in html


def test_settings_are_held_a_few_seconds_then_read_again(
    app, client, make_event, ward, monkeypatch
):
    app.config["MUNICIPALITY_CACHE_SECONDS"] = 5
    clock = [1000.0]
    monkeypatch.setattr(municipality_services.time, "monotonic", lambda: clock[0])
    event = make_event()
    path = f"/events/{event.id}/register"
    assert "最初の窓口" in page(client, path)
    set_office("新しい窓口")
    assert "最初の窓口" in page(client, path)  # held by this process …
    clock[0] += 5
    html = page(client, path)  # … for at most MUNICIPALITY_CACHE_SECONDS
    assert "新しい窓口" in html and "最初の窓口" not in html


def test_saving_the_settings_is_seen_at_once_by_this_process(
    app, make_event, ward, staff_world, login_as
):
    app.config["MUNICIPALITY_CACHE_SECONDS"] = 3600

    def held_unit():
        with app.app_context():  # a context of its own, as a later request has
            return municipality_services.current_municipality().indicator_unit

    assert held_unit() == "人"
    municipality = db.session.scalar(sa.select(Municipality))
    municipality.indicator_unit = "件"  # behind the cache's back: not seen for an hour …
    db.session.commit()
    assert held_unit() == "人"
    client = login_as(staff_world.admin)
    form = {
        "csrf_token": csrf_from(page(client, "/staff/settings/indicator")),
        "name": "ひきこもりサポーターの人数",
        "unit": "名",
        "definition": "区民の人数",
        "residencies": ["live"],
        "targets": "",
        "threshold": "5",
        "retention_years": "3",
    }
    response = client.post("/staff/settings/indicator", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[-800:]
    assert held_unit() == "名"  # … but saving the settings is seen at once
