"""The JSON API: staff session or bearer token, the contract's shapes, JSON errors, OpenAPI."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST
from hikisupport.models import AuditLog, Event
from hikisupport.staff.services import issue_token


def bearer(staff) -> dict:
    token = issue_token(staff)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def payload(**changes) -> dict:
    start = (
        (utcnow() + timedelta(days=30))
        .astimezone(JST)
        .replace(hour=14, minute=0, second=0, microsecond=0)
    )
    data = {
        "kind": "course",
        "title": "サポーター養成講座（API）",
        "capacity": 30,
        "waitlist": True,
        "sessions": [
            {
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "venue": "杉並区役所",
            },
            {
                "starts_at": (start + timedelta(days=7)).isoformat(),
                "ends_at": (start + timedelta(days=7, hours=2)).isoformat(),
                "venue": "杉並区役所",
            },
        ],
    }
    data.update(changes)
    return data


def test_create_event_with_a_bearer_token(staff_world, client):
    headers = bearer(staff_world.organizer)
    response = client.post("/api/v1/events", json=payload(), headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert isinstance(body["id"], int)
    assert [s["number"] for s in body["sessions"]] == [1, 2]
    assert all(isinstance(s["id"], int) for s in body["sessions"])
    assert body["sessions"][0]["starts_at"].endswith("+09:00")
    assert body["status"] == "published" and body["admission"] == "first_come"
    assert body["certifies"] is True  # a course certifies by default
    assert body["registration_closes_at"] == body["sessions"][0]["starts_at"]
    assert body["organization"]["id"] == staff_world.ward.id
    assert response.headers["Location"] == f"/api/v1/events/{body['id']}"
    again = client.get(f"/api/v1/events/{body['id']}", headers=headers)
    assert again.status_code == 200 and again.json == body
    assert client.get(f"/events/{body['id']}").status_code == 200  # published: residents see it


def test_invalid_event_is_422_with_japanese_field_messages(staff_world, client):
    headers = bearer(staff_world.organizer)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    cases = [
        (payload(kind="party"), "kind"),
        (payload(capacity="thirty"), "capacity"),
        (payload(capacity=-1), "capacity"),
        (payload(sessions=[]), "sessions"),
        (payload(title=""), "title"),
        (
            payload(sessions=[{"starts_at": "2026-12-12T14:00:00", "ends_at": "x", "venue": ""}]),
            "sessions.0.starts_at",
        ),
    ]
    for body, field in cases:
        response = client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json["error"] == "invalid"
        assert field in response.json["fields"], response.json
        assert re.search(r"[ぁ-んァ-ン一-龥]", response.json["fields"][field])
    bad_json = client.post(
        "/api/v1/events", data="{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json["error"] == "invalid_json"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == before


def test_registrations_for_the_organizer_not_for_policy(staff_world, client):
    event = staff_world.event
    response = client.get(
        f"/api/v1/events/{event.id}/registrations", headers=bearer(staff_world.organizer)
    )
    assert response.status_code == 200
    rows = response.json["registrations"]
    assert [r["status"] for r in rows] == ["confirmed", "waitlisted", "waitlisted"]
    assert set(rows[0]) >= {
        "id",
        "ticket",
        "status",
        "waitlist_position",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "email",
        "residency",
        "created_at",
    }
    assert rows[1]["waitlist_position"] == 1
    assert "+09:00" in rows[0]["created_at"]
    denied = client.get(
        f"/api/v1/events/{event.id}/registrations", headers=bearer(staff_world.policy)
    )
    assert denied.status_code == 403 and denied.is_json
    assert "花子" not in denied.get_data(as_text=True)
    other = client.get(
        f"/api/v1/events/{event.id}/registrations", headers=bearer(staff_world.other_organizer)
    )
    assert other.status_code == 404
    views = db.session.scalars(sa.select(AuditLog).filter_by(action="roster.view")).all()
    assert len(views) == 1 and views[0].detail["via"] == "api"


def test_session_roster(staff_world, client):
    session = staff_world.event.sessions[0]
    response = client.get(
        f"/api/v1/sessions/{session.id}/roster", headers=bearer(staff_world.organizer)
    )
    assert response.status_code == 200
    assert response.json["session"]["id"] == session.id
    (row,) = response.json["registrations"]  # confirmed only
    assert row["status"] == "confirmed" and row["checked_in_at"] is None


def test_a_browser_session_needs_the_csrf_header_to_change_anything(staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    refused = organizer.post("/api/v1/events", json=payload())
    assert refused.status_code == 400 and refused.is_json
    accepted = organizer.post(
        "/api/v1/events", json=payload(), headers={"X-CSRFToken": csrf_of(organizer)}
    )
    assert accepted.status_code == 201


def test_errors_are_json_with_a_japanese_message(client, app):
    for path in ("/api/v1/events/1", "/api/v1/nothing-here"):
        response = client.get(path)
        assert response.is_json and response.status_code in (401, 404)
        assert set(response.json) >= {"error", "message"}


def test_openapi_document_matches_the_routes(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1") :])
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["\x00", "2026-12-12T14:00:00+09:00", "course"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values
        for key in (
            "kind",
            "title",
            "capacity",
            "waitlist",
            "admission",
            "certifies",
            "required_sessions",
            "residency",
            "status",
            "registration_opens_at",
            "sessions",
            "organization_id",
        )
    },
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.one_of(event_like, json_values))
def test_fuzzed_json_never_fails_and_saves_nothing_when_refused(staff_world, client, body):
    headers = getattr(staff_world, "_headers", None) or bearer(staff_world.organizer)
    staff_world._headers = headers
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code in (201, 400, 422), response.status_code
    assert response.is_json and "error" in response.json or response.status_code == 201
    after = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    assert after == before + (response.status_code == 201)


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


def test_deeply_nested_json_is_refused_not_a_500(staff_world, client):
    headers = {**bearer(staff_world.organizer), "Content-Type": "application/json"}
    for body in (
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser goes: not JSON we can read
        '{"title": ' + "[" * 900 + "]" * 900 + "}",  # read, and refused by its model
        '{"sessions": [' + '{"venue": ' * 5000 + "1" + "}" * 5000 + "]}",
    ):
        response = client.post("/api/v1/events", data=body, headers=headers)
        assert 400 <= response.status_code < 500 and response.is_json, response.status_code
        assert response.json["error"] in ("invalid_json", "invalid")


def test_a_field_has_one_name_whichever_layer_refuses_it(staff_world, client):
    """The request's model refuses a blank venue or an unknown word; the service an end before
    the start or too many required sessions. A client reads the same paths either way."""
    headers = bearer(staff_world.organizer)
    good = payload()["sessions"]
    cases = [
        (payload(sessions=[{**good[0], "venue": "　 "}]), "sessions.0.venue"),  # model
        (payload(sessions=[{**good[0], "ends_at": good[0]["starts_at"]}]), "sessions.0.ends_at"),
        (payload(residency=["live", "mars"]), "residency"),  # model: a word of the list
        (payload(residency=[]), "residency"),
        (payload(required_sessions=0), "required_sessions"),  # model
        (payload(required_sessions=3), "required_sessions"),  # service: only 2 sessions
    ]
    for body, field in cases:
        response = client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == 422, body
        assert list(response.json["fields"]) == [field], response.json


def test_null_is_a_field_left_out(staff_world, client):
    headers = bearer(staff_world.organizer)
    nulls = dict.fromkeys(
        ("description", "fee", "waitlist", "admission", "certifies", "residency", "status"), None
    )
    response = client.post("/api/v1/events", json=payload(**nulls), headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["fee"], body["waitlist"], body["status"]) == ("無料", True, "published")
    assert body["residency"] == ["live", "work", "study", "other"]
    whole = client.post("/api/v1/events", json=payload(capacity=30.0), headers=headers)
    assert whole.status_code == 201 and whole.json["capacity"] == 30  # JSON's 30.0 is 30
    refused = client.post("/api/v1/events", json=payload(title=None), headers=headers)
    assert refused.status_code == 422 and refused.json["fields"] == {"title": "必須です。"}


def test_refusals_in_japanese_name_the_bound(staff_world, client):
    headers = bearer(staff_world.organizer)
    offset = "時差（+09:00 など）を付けて指定してください。"
    cases = [
        ("title", "あ" * 201, "200文字以内で指定してください。"),
        ("description", "あ" * 4001, "4000文字以内で指定してください。"),
        ("capacity", 10_001, "10000以下で指定してください。"),
        ("capacity", 2**31, "10000以下で指定してください。"),
        ("capacity", 30.5, "整数で指定してください。"),
        ("capacity", "30", "整数で指定してください。"),
        ("capacity", True, "整数で指定してください。"),
        ("waitlist", 1, "true または false で指定してください。"),
        ("registration_opens_at", "2026-12-12T14:00:00", offset),
    ]
    for field, value, message in cases:
        response = client.post("/api/v1/events", json=payload(**{field: value}), headers=headers)
        assert response.json["fields"] == {field: message}, (field, response.json)
