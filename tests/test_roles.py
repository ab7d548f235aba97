"""The role matrix: every staff and API route, called as every kind of user.

Routes are walked from `app.url_map`; each must carry an access decision (`requires` or
`public` on its view). A new route without one fails `test_every_protected_route_decides`.
"""

import pytest

from hikisupport import create_app
from hikisupport.staff.access import Access

PROTECTED_PREFIXES = ("/staff", "/api", "/reports", "/checkin")


def protected_routes():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PROTECTED_PREFIXES):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield pytest.param(rule.rule, method, rule.endpoint, id=f"{method} {rule.rule}")


ROUTES = list(protected_routes())


def test_every_protected_route_decides(app):
    undecided = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PROTECTED_PREFIXES)
        and not isinstance(getattr(app.view_functions[rule.endpoint], "access", None), Access)
    ]
    assert undecided == []


def test_no_personal_data_route_admits_the_policy_role(app):
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if access and access.personal_data:
            assert "policy" not in access.roles, rule.rule


def concrete(path: str, world) -> str:
    registration = world.registrations[1]
    session = world.event.sessions[0]
    values = {
        "event_id": world.event.id,
        "session_id": session.id,
        "registration_id": registration.id,
        "staff_id": world.policy.id,
        "token_id": world.token_id,
        "message_id": world.message_id,
        "device_id": world.device_id,
        "service_id": world.service_id,
        "contact_id": world.contact_id,
        "certification_id": world.certification_id,
        "person_id": world.registrations[0].person_id,
        "import_id": world.import_id,
    }
    path = path.replace("<uuid:checkin_id>", world.checkin_uuid)
    for name, value in values.items():
        path = path.replace(f"<id:{name}>", str(value))
    assert "<" not in path, f"no sample for {path}: add it to `concrete`"
    return path


def call(client, method: str, path: str, token: str | None):
    headers = {"X-CSRFToken": token} if token else {}
    if method == "GET":
        return client.get(path)
    if path.startswith("/api/"):
        return client.open(path, method=method, json={}, headers=headers)
    return client.post(path, data={"csrf_token": token or ""})


def supporter_samples(world) -> tuple[int, int]:
    """A certification (of the event's confirmed registrant) and a past-course upload."""
    from hikisupport.core.extensions import db
    from hikisupport.models import PastCourseImport
    from hikisupport.supporters.services import certify_by_hand

    certification = certify_by_hand(world.registrations[0], "見本")
    batch = PastCourseImport(filename="x.csv", content=b"", organization_id=world.ward.id)
    db.session.add(batch)
    db.session.commit()
    return certification.id, batch.id


@pytest.mark.only_backend("sqlite")  # access decisions do not depend on the database
@pytest.mark.parametrize(("rule", "method", "endpoint"), ROUTES)
def test_role_matrix(app, staff_world, login_as, make_service, rule, method, endpoint):
    import sqlalchemy as sa

    from conftest import csrf_of
    from hikisupport.core.extensions import db
    from hikisupport.models import ApiToken, ContactReason, ContactTask, OutboxMessage
    from hikisupport.staff.services import issue_token

    issue_token(staff_world.organizer)
    contact = ContactTask(
        event_id=staff_world.event.id,
        registration_id=staff_world.registrations[0].id,
        reason=ContactReason.PROMOTED,
        message="繰り上がりました。",
    )
    db.session.add(contact)
    db.session.commit()
    staff_world.contact_id = contact.id
    staff_world.token_id = db.session.scalar(sa.select(ApiToken.id))
    staff_world.message_id = db.session.scalar(sa.select(OutboxMessage.id))
    # A check-in device of the event, and a check-in (an undo's target).
    from hikisupport.checkin import services as checkin

    event = db.session.merge(staff_world.event)
    staff_world.device_id = checkin.create_device("受付1", [event]).id
    confirmed = next(r for r in staff_world.registrations if r.status == "confirmed")
    staff_world.checkin_uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    checkin.check_in(
        event.sessions[0], checkin.CheckinInput(confirmed.ticket, uuid=staff_world.checkin_uuid)
    )
    db.session.commit()
    staff_world.service_id = make_service().id
    staff_world.certification_id, staff_world.import_id = supporter_samples(staff_world)
    access = app.view_functions[endpoint].access
    path = concrete(rule, staff_world)
    api = path.startswith("/api/")

    anonymous = app.test_client()
    response = call(anonymous, method, path, csrf_of(anonymous))
    if access.public:
        if method == "GET":
            assert response.status_code == 200
        else:  # the login form, empty: refused as input, not as access
            assert response.status_code == 422
        return
    if api:
        assert response.status_code == 401 and response.json["error"] == "unauthorized"
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login")

    expectations = {
        "policy": (staff_world.policy, "policy" in access.roles),
        "other organizer": (
            staff_world.other_organizer,
            "organizer" in access.roles and access.scope != "organization",
        ),
        "organizer": (staff_world.organizer, "organizer" in access.roles),
        "admin": (staff_world.admin, "admin" in access.roles),
    }
    for who, (member, allowed) in expectations.items():
        client = login_as(member)
        response = call(client, method, path, csrf_of(client))
        status = response.status_code
        if allowed:
            assert status not in (401, 403, 404) and status < 500, (who, status)
            if method == "GET":
                assert status in (200, 302), (who, status)
        elif who == "other organizer" and "organizer" in access.roles:
            assert status in (403, 404), (who, status)  # not their organization's
        else:
            assert status == 403, (who, status)
        if status == 403 or (who == "policy" and allowed):
            body = response.get_data().decode("utf-8", "replace")  # exports may be binary
            for personal in ("杉並 花子", "person1@example.jp", "スギナミ"):
                assert personal not in body, (who, personal)
