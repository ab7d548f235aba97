"""The audit log: what is recorded, and reading it never fails."""

import pytest
import sqlalchemy as sa

from conftest import csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import AuditLog


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
