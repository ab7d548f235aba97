"""Malformed staff input answers 4xx in Japanese, never 500: NUL in query parameters (which
PostgreSQL cannot even compare), ids no table can hold, "²" (which str.isdigit() accepts and
int() refuses), control characters in next=. And the searches for a person stay out of logs."""

import logging

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from conftest import csrf_from, csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import StaffUser

PASSWORD = "correct horse battery"


@pytest.mark.parametrize("value", ["\x00", "佐藤\x00", "a\x1bb"])
def test_nul_in_a_roster_search_is_refused_in_japanese(staff_world, login_as, value):
    organizer = login_as(staff_world.organizer)
    event, session = staff_world.event, staff_world.event.sessions[0]
    for path in (f"/staff/events/{event.id}/registrations", f"/staff/sessions/{session.id}/roster"):
        by_get = organizer.get(path, query_string={"q": value})
        by_post = organizer.post(path, data={"q": value, "csrf_token": csrf_of(organizer)})
        for response in (by_get, by_post):
            assert response.status_code == 400, path
            assert "使用できない文字" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["action", "staff", "target", "object_type", "from"])
def test_nul_in_an_audit_filter_is_refused_in_japanese(staff_world, login_as, name):
    response = login_as(staff_world.admin).get("/staff/audit", query_string={name: "x\x00y"})
    assert response.status_code == 400
    assert "使用できない文字" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", str(2**31), str(2**63 + 1), "-1", "1e3"])
def test_odd_ids_in_staff_forms_are_refused_not_500(staff_world, login_as, value):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    created = admin.post(
        "/staff/accounts",
        data={
            "email": "new@example.jp",
            "role": "organizer",
            "organization_id": value,
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert created.status_code == 422
    role = admin.post(
        f"/staff/accounts/{staff_world.policy.id}/role",
        data={"role": "organizer", "organization_id": value, "csrf_token": token},
    )
    assert role.status_code == 422
    issued = admin.post("/staff/tokens", data={"staff_id": value, "csrf_token": token})
    assert issued.status_code == 422


def test_a_session_cookie_with_an_odd_id_is_nobody(staff_world, app):
    for odd in ("².0", f"{2**63}.0", "1.²"):
        client = app.test_client()
        client.get("/staff/login")
        with client.session_transaction() as session:
            session["_user_id"] = odd
        assert client.get("/staff/events/").status_code == 302  # to the login page


def _staff(runner):
    result = runner.invoke(
        args=["staff", "create", "ward@example.jp", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    return db.session.scalar(sa.select(StaffUser))


@pytest.mark.parametrize(
    "target",
    [
        "/staff/events/\r\nSet-Cookie: stolen=1",
        "/staff/events/\x00",
        "/\\evil.example/",
        "/\\/evil.example/",
        "/staff/events/ x",
        "//evil.example/",
        "https://evil.example/",
    ],
)
def test_next_with_control_characters_or_another_host_goes_home(runner, app, target):
    _staff(runner)
    client = app.test_client()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    response = client.post(
        "/staff/login",
        query_string={"next": target},
        data={"email": "ward@example.jp", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    assert "Set-Cookie: stolen" not in str(response.headers)


def test_a_roster_search_is_posted_and_never_reaches_the_access_log(
    staff_world, live_server, caplog
):
    """The search is sent by POST; a GET with ?q= (a bookmark) is redacted in the log line."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{live_server}/staff/login", timeout=30).text
    staff_world.organizer.password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    session.post(
        f"{live_server}/staff/login",
        data={"email": "ward@example.jp", "password": PASSWORD, "csrf_token": csrf_from(page)},
        timeout=30,
    )
    path = f"/staff/events/{staff_world.event.id}/registrations"
    roster = session.get(live_server + path, timeout=30).text
    assert 'method="post" role="search"' in roster
    token = re.search(r'name="csrf_token" value="([^"]+)"', roster)[1]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        found = session.post(
            live_server + path, data={"q": "花子1", "csrf_token": token}, timeout=30
        )
        bookmarked = session.get(live_server + path, params={"q": "花子2"}, timeout=30)
    assert found.status_code == bookmarked.status_code == 200
    assert "杉並 花子1" in found.text and "杉並 花子2" not in found.text
    lines = [logging.Formatter().format(r) for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) >= 2
    assert not [line for line in lines if "花子" in line or "%E8%8A%B1" in line], lines
    assert any("q=[redacted]" in line for line in lines), lines
