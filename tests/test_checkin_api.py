"""The check-in API as a tablet calls it: idempotency, one row per person and session, refusals,
devices (revoked, of another event), pairing codes, undo, walk-ins, the completion seam."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from fixtures.checkin import bearer, new_uuid, now_iso

from hikisupport.checkin import services
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Attendance, AuditLog, Device, DevicePairing, Registration
from hikisupport.supporters import completion


def attendances(session_id: int | None = None) -> list[Attendance]:
    db.session.rollback()  # see what the server committed
    query = sa.select(Attendance).order_by(Attendance.id)
    if session_id is not None:
        query = query.where(Attendance.session_id == session_id)
    return list(db.session.scalars(query))


# ---------------------------------------------------------------------------------------------
# One check-in


def test_first_check_in_is_201_and_records_device_method_and_times(door, client):
    registration = door.registrations[0]
    scanned = now_iso(-timedelta(seconds=3))
    response = door.check_in(client, registration.ticket, scanned_at=scanned, method="name")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "checked_in" and body["ticket"] == registration.ticket
    assert body["device"] == {"id": door.device.id, "name": "受付1"}
    assert body["checked_in_at"].endswith("+09:00")
    (row,) = attendances()
    assert (row.method, row.device_id, row.late) == ("name", door.device.id, False)
    assert row.scanned_at is not None and row.received_at >= row.scanned_at
    assert row.checked_in_at == row.scanned_at  # the time of the scan, not of the upload
    assert "phone" not in body and "email" not in body


def test_the_same_uuid_again_gets_the_same_answer_and_no_second_row(door, client):
    ticket, uid = door.registrations[0].ticket, new_uuid()
    first = door.check_in(client, ticket, uid)
    again = door.check_in(client, ticket, uid)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert len(attendances()) == 1


def test_another_uuid_for_a_ticket_already_in_says_when_and_which_device(door, client, make_device):
    ticket = door.registrations[0].ticket
    first = door.check_in(client, ticket)
    _, other_token = make_device(door.event, name="受付2")
    second = client.post(
        "/api/v1/checkins",
        json={
            "id": new_uuid(),
            "ticket": ticket,
            "session_id": door.session.id,
            "scanned_at": now_iso(),
        },
        headers=bearer(other_token),
    )
    assert second.status_code == 200
    assert second.json["status"] == "already_checked_in"
    assert second.json["checked_in_at"] == first.json["checked_in_at"]
    assert second.json["device"]["name"] == "受付1"  # the first device, not the asking one
    assert len(attendances()) == 1


def test_a_ticket_typed_in_lower_case_with_a_hyphen_is_found(door, client):
    # (全角 is folded by the page before it sends; the API takes letters, digits, hyphens.)
    ticket = door.registrations[0].ticket
    assert door.check_in(client, ticket.lower()[:5] + "-" + ticket[5:]).status_code == 201
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in ticket)
    refused = door.check_in(client, full_width)
    assert refused.status_code == 422 and "ticket" in refused.json["fields"]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown", 404, "unknown_ticket"),
        ("other event", 409, "other_event"),
        ("cancelled", 409, "cancelled"),
        ("waitlisted", 409, "not_confirmed"),
    ],
)
def test_refusals(door, client, make_event, sign_up, case, status, code):
    from hikisupport.registration.services import cancel

    if case == "unknown":
        ticket = "ZZZZZZZZZZ"
    elif case == "other event":
        other = make_event(title="別の講座")
        sign_up(other.id, email="other@example.jp")
        ticket = db.session.scalar(
            sa.select(Registration.ticket).where(Registration.event_id == other.id)
        )
    elif case == "cancelled":
        cancel(door.registrations[1])
        db.session.commit()
        ticket = door.registrations[1].ticket
    else:
        door.event.capacity = 3
        db.session.commit()
        sign_up(door.event.id, email="late@example.jp")
        sign_up(door.event.id, email="later@example.jp")
        ticket = db.session.scalar(
            sa.select(Registration.ticket).where(
                Registration.event_id == door.event.id, Registration.status == "waitlisted"
            )
        )
    response = door.check_in(client, ticket)
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.json["message"] and not response.json["message"].isascii()
    assert attendances() == []


MESSAGES = {
    "other_event": "この回の申込ではありません。",
    "cancelled": "キャンセル済みの申込です。",
}


def test_refusal_messages_are_the_ones_the_door_shows(door, client):
    from hikisupport.registration.services import cancel

    cancel(door.registrations[2])
    db.session.commit()
    response = door.check_in(client, door.registrations[2].ticket)
    assert response.json["message"] == MESSAGES["cancelled"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket": "X", "session_id": 1, "scanned_at": "2026-12-12T10:00:00+09:00"}, "id"),
        ({"id": "not-a-uuid"}, "id"),
        ({"scanned_at": "2026-12-12T10:00:00"}, "scanned_at"),
        ({"scanned_at": "昨日"}, "scanned_at"),
        ({"session_id": "1"}, "session_id"),
        ({"session_id": True}, "session_id"),
        ({"ticket": 12345}, "ticket"),
        ({"ticket": "\x00"}, "ticket"),
        ({"method": "telepathy"}, "method"),
    ],
)
def test_invalid_bodies_are_422_with_a_japanese_message_per_field(door, client, body, field):
    valid = {
        "id": new_uuid(),
        "ticket": door.registrations[0].ticket,
        "session_id": door.session.id,
        "scanned_at": now_iso(),
    }
    sent = {**valid, **body} if "id" in body or field != "id" else body
    response = client.post("/api/v1/checkins", json=sent, headers=door.headers)
    assert response.status_code == 422, response.json
    assert field in response.json["fields"]
    assert not response.json["fields"][field].isascii()
    assert attendances() == []


def test_not_json_is_400(door, client):
    response = client.post("/api/v1/checkins", data="ticket=1", headers=door.headers)
    assert response.status_code == 400 and response.json["error"] == "invalid_json"


# ---------------------------------------------------------------------------------------------
# Who may call


def test_no_token_or_a_wrong_one_is_401(door, client):
    body = {
        "id": new_uuid(),
        "ticket": door.registrations[0].ticket,
        "session_id": door.session.id,
        "scanned_at": now_iso(),
    }
    for headers in ({}, bearer("hkd_wrong"), bearer("nonsense")):
        response = client.post("/api/v1/checkins", json=body, headers=headers)
        assert response.status_code == 401 and response.json["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_device_is_refused_at_once(door, client):
    assert client.get("/api/v1/devices/me", headers=door.headers).status_code == 200
    services.revoke(db.session.get(Device, door.device.id))
    db.session.commit()
    assert client.get("/api/v1/devices/me", headers=door.headers).status_code == 401
    response = door.check_in(client, door.registrations[0].ticket)
    assert response.status_code == 401
    roster = client.get(f"/api/v1/sessions/{door.session.id}/roster", headers=door.headers)
    assert roster.status_code == 401
    assert attendances() == []


def test_a_device_of_another_event_cannot_check_in_or_read_the_roster(
    door, client, make_today_event, make_device
):
    other_event = make_today_event(title="別の講演会", kind="lecture")
    _, token = make_device(other_event, name="別の受付")
    body = {
        "id": new_uuid(),
        "ticket": door.registrations[0].ticket,
        "session_id": door.session.id,
        "scanned_at": now_iso(),
    }
    response = client.post("/api/v1/checkins", json=body, headers=bearer(token))
    assert response.status_code == 404 and response.json["error"] == "unknown_session"
    roster = client.get(f"/api/v1/sessions/{door.session.id}/roster", headers=bearer(token))
    assert roster.status_code == 404
    assert attendances() == []


def test_a_device_can_do_nothing_but_check_in(door, client):
    headers = door.headers
    assert client.get(f"/api/v1/events/{door.event.id}", headers=headers).status_code == 403
    registrations = client.get(f"/api/v1/events/{door.event.id}/registrations", headers=headers)
    assert registrations.status_code == 403
    assert client.post("/api/v1/events", json={}, headers=headers).status_code == 403
    # A page: the token is not a login.
    assert client.get("/staff/events/", headers=headers).status_code == 302


def test_the_device_roster_holds_names_kana_tickets_status_and_times_only(door, client):
    door.check_in(client, door.registrations[0].ticket)
    response = client.get(f"/api/v1/sessions/{door.session.id}/roster", headers=door.headers)
    assert response.status_code == 200
    rows = response.json["registrations"]
    assert len(rows) == 3
    assert {tuple(sorted(r)) for r in rows} == {
        (
            "checked_in_at",
            "family_name",
            "family_name_kana",
            "given_name",
            "given_name_kana",
            "status",
            "ticket",
        )
    }
    text = response.get_data(as_text=True)
    assert "@example.jp" not in text and "0333122111" not in text
    views = db.session.scalars(sa.select(AuditLog).filter_by(action="roster.view")).all()
    assert [v.detail["via"] for v in views] == ["device"]
    assert views[0].detail["device_id"] == door.device.id


def test_today_s_sessions_of_the_device(door, client):
    body = client.get("/api/v1/devices/me", headers=door.headers).json
    assert body["device"]["name"] == "受付1"
    assert [s["id"] for s in body["sessions"]] == [door.session.id]  # the second is next week
    assert body["sessions"][0]["counts"]["confirmed"] == 3
    db.session.rollback()
    assert db.session.get(Device, door.device.id).last_seen_at is not None


# ---------------------------------------------------------------------------------------------
# Batches


def test_a_batch_answers_each_item_on_its_own_duplicates_included(door, client, make_event):
    a, b = door.registrations[0].ticket, door.registrations[1].ticket
    same = new_uuid()
    items = [
        {"id": same, "ticket": a},
        {"id": same, "ticket": a},  # the same item twice (a retried queue)
        {"id": new_uuid(), "ticket": a},  # the same person from another scan
        {"id": new_uuid(), "ticket": "NOSUCHCODE"},
        {"id": new_uuid(), "ticket": b},
        {"id": same, "ticket": b},  # a UUID reused for someone else
    ]
    body = {
        "checkins": [
            {**item, "session_id": door.session.id, "scanned_at": now_iso()} for item in items
        ]
    }
    response = client.post("/api/v1/checkins/batch", json=body, headers=door.headers)
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["http_status"] for r in results] == [201, 201, 200, 404, 201, 409]
    assert [r.get("status") or r["error"] for r in results] == [
        "checked_in",
        "checked_in",
        "already_checked_in",
        "unknown_ticket",
        "checked_in",
        "uuid_conflict",
    ]
    assert results[3]["id"] == items[3]["id"]
    rows = attendances()
    assert sorted(r.registration_id for r in rows) == sorted(
        [door.registrations[0].id, door.registrations[1].id]
    )


def test_a_batch_with_an_invalid_item_is_refused_whole_with_its_path(door, client):
    body = {
        "checkins": [
            {
                "id": new_uuid(),
                "ticket": "A",
                "session_id": door.session.id,
                "scanned_at": now_iso(),
            },
            {"id": "x", "ticket": "A", "session_id": door.session.id, "scanned_at": now_iso()},
        ]
    }
    response = client.post("/api/v1/checkins/batch", json=body, headers=door.headers)
    assert response.status_code == 422 and "checkins.1.id" in response.json["fields"]
    empty = client.post("/api/v1/checkins/batch", json={"checkins": []}, headers=door.headers)
    assert empty.status_code == 422


def test_an_upload_long_after_the_scan_is_flagged_late(door, client):
    scanned = now_iso(-timedelta(minutes=40))
    response = door.check_in(client, door.registrations[0].ticket, scanned_at=scanned)
    assert response.status_code == 201 and response.json["late"] is True
    (row,) = attendances()
    assert row.late and row.received_at - row.scanned_at > timedelta(minutes=39)


# ---------------------------------------------------------------------------------------------
# Undo


def test_undo_within_the_window_is_recorded_and_a_new_check_in_reuses_the_row(door, client):
    ticket, uid = door.registrations[0].ticket, new_uuid()
    door.check_in(client, ticket, uid)
    undone = client.delete(f"/api/v1/checkins/{uid}", headers=door.headers)
    assert undone.status_code == 200 and undone.json["status"] == "undone"
    (row,) = attendances()
    assert row.undone_at is not None and row.undone_by_device_id == door.device.id
    roster = client.get(f"/api/v1/sessions/{door.session.id}/roster", headers=door.headers).json
    assert [r["checked_in_at"] for r in roster["registrations"]] == [None] * 3  # undone
    me = client.get("/api/v1/devices/me", headers=door.headers).json
    assert me["sessions"][0]["counts"]["checked_in"] == 0  # an undone check-in does not count
    # The same UUID again: it was undone, nothing new.
    assert door.check_in(client, ticket, uid).json["status"] == "undone"
    # Checked in again with a new scan: the same row, its history in the audit log.
    again = door.check_in(client, ticket)
    assert again.status_code == 201
    (row,) = attendances()
    assert row.undone_at is None and row.client_uuid != uid
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.object_type == "attendances")
    ).all()
    assert actions == ["attendance.undo", "attendance.redo"]
    redo = db.session.scalar(sa.select(AuditLog).filter_by(action="attendance.redo"))
    assert redo.detail["previous"]["client_uuid"] == uid


def test_undo_after_the_window_is_refused(door, client, app):
    uid = new_uuid()
    door.check_in(client, door.registrations[0].ticket, uid)
    (row,) = attendances()
    row.received_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    response = client.delete(f"/api/v1/checkins/{uid}", headers=door.headers)
    assert response.status_code == 409 and response.json["error"] == "undo_expired"
    assert attendances()[0].undone_at is None


def test_undo_of_an_unknown_or_foreign_check_in_is_404(door, client, make_today_event, make_device):
    assert client.delete(f"/api/v1/checkins/{new_uuid()}", headers=door.headers).status_code == 404
    uid = new_uuid()
    door.check_in(client, door.registrations[0].ticket, uid)
    _, token = make_device(make_today_event(title="別の講演会"), name="別")
    assert client.delete(f"/api/v1/checkins/{uid}", headers=bearer(token)).status_code == 404


# ---------------------------------------------------------------------------------------------
# The completion seam


def test_every_recorded_or_undone_attendance_calls_the_completion_rule(door, client):
    calls = []

    def stand_in(registration, session):
        # After the flush, in the same transaction: the row is visible to the rule.
        counted = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Attendance)
            .where(Attendance.registration_id == registration.id, Attendance.undone_at.is_(None))
        )
        calls.append((registration.id, session.id, counted))

    ticket, uid = door.registrations[0].ticket, new_uuid()
    with completion.use_rule(stand_in):
        door.check_in(client, ticket, uid)
        door.check_in(client, ticket, uid)  # a replay changes nothing
        door.check_in(client, ticket)  # already in: nothing changed
        client.delete(f"/api/v1/checkins/{uid}", headers=door.headers)
        door.check_in(client, ticket)  # in again
    rid, sid = door.registrations[0].id, door.session.id
    assert calls == [(rid, sid, 1), (rid, sid, 0), (rid, sid, 1)]


def test_a_refusal_of_the_completion_rule_rolls_the_check_in_back(door, client):
    from hikisupport.core.errors import DomainError

    def refuse(registration, session):
        raise DomainError("認定の処理に失敗しました。", code="completion_failed")

    with completion.use_rule(refuse):
        response = door.check_in(client, door.registrations[0].ticket)
    assert response.status_code == 409
    assert attendances() == []


# ---------------------------------------------------------------------------------------------
# Walk-ins


def walk_in_body(door, **changes) -> dict:
    return {
        "id": new_uuid(),
        "session_id": door.session.id,
        "scanned_at": now_iso(),
        "family_name": "高円寺",
        "given_name": "一郎",
        "family_name_kana": "こうえんじ",
        "given_name_kana": "いちろう",
        "residency": "live",
        "age_group": "60s",
        "phone": "",
        "consent": True,
        **changes,
    }


def test_a_walk_in_is_registered_and_checked_in_in_one_step(door, client):
    body = walk_in_body(door)
    response = client.post("/api/v1/walk-ins", json=body, headers=door.headers)
    assert response.status_code == 201, response.json
    assert response.json["family_name_kana"] == "コウエンジ"
    registration = db.session.scalar(sa.select(Registration).filter_by(source="walk_in"))
    assert registration.status == "confirmed" and registration.person.email is None
    (row,) = attendances()
    assert row.method == "walk_in" and row.registration_id == registration.id
    again = client.post("/api/v1/walk-ins", json=body, headers=door.headers)
    assert again.status_code == 201 and again.json["ticket"] == response.json["ticket"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 4
    me = client.get("/api/v1/devices/me", headers=door.headers).json
    assert me["sessions"][0]["counts"] == {"confirmed": 4, "checked_in": 1, "walk_ins": 1}


def test_a_walk_in_needs_a_free_seat_and_valid_fields(door, client):
    bad = client.post(
        "/api/v1/walk-ins",
        json=walk_in_body(door, family_name_kana="kouenji", age_group="99s", phone="12"),
        headers=door.headers,
    )
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"family_name_kana", "age_group", "phone"}
    door.event.capacity = 3
    db.session.commit()
    full = client.post("/api/v1/walk-ins", json=walk_in_body(door), headers=door.headers)
    assert full.status_code == 409 and full.json["error"] == "walk_in_refused"
    assert "満席" in full.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 3


# ---------------------------------------------------------------------------------------------
# Pairing


def staff_pairing(app, device) -> str:
    from flask import g

    with app.test_request_context():
        g.caller = None
        code = services.new_pairing(db.session.get(Device, device.id)).code
        db.session.commit()
    return code


def pair(client, code: str):
    from conftest import csrf_from

    page = client.get("/checkin/pair")
    return client.post(
        "/checkin/pair",
        data={"code": code, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )


def test_a_pairing_code_works_once(door, client, app):
    code = staff_pairing(app, door.device)
    paired = pair(client, code.lower().replace("-", " "))
    assert paired.status_code == 200
    assert paired.headers["Cache-Control"] == "no-store"
    html = paired.get_data(as_text=True)
    token = html.split('data-device-token="')[1].split('"')[0]
    assert token.startswith("hkd_")
    assert client.get("/api/v1/devices/me", headers=bearer(token)).status_code == 200
    # Pairing replaced the earlier token.
    assert client.get("/api/v1/devices/me", headers=door.headers).status_code == 401
    second = pair(client, code)
    assert second.status_code == 422
    assert "すでに使われています" in second.get_data(as_text=True)
    stored = db.session.scalar(sa.select(Device.token_hash).filter_by(id=door.device.id))
    assert token not in stored and len(stored) == 64


def test_a_pairing_code_expires(door, client, app):
    code = staff_pairing(app, door.device)
    db.session.rollback()  # a fresh snapshot before writing (SQLite WAL)
    db.session.execute(sa.update(DevicePairing).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert pair(client, code).status_code == 422
    assert pair(client, "").status_code == 422


def test_a_new_pairing_code_ends_the_earlier_one(door, client, app):
    first = staff_pairing(app, door.device)
    second = staff_pairing(app, door.device)
    assert pair(client, first).status_code == 422
    assert pair(client, second).status_code == 200


def test_cli_device_create_prints_the_token_last(runner, door, client):
    result = runner.invoke(
        args=["device", "create", "--event", str(door.event.id), "--name", "2階"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.split()[-1]
    me = client.get("/api/v1/devices/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["device"]["name"] == "2階"
    missing = runner.invoke(args=["device", "create", "--event", "999999", "--name", "x"])
    assert missing.exit_code != 0 and "no event" in missing.output


# ---------------------------------------------------------------------------------------------
# Concurrency: the unique constraint decides


TABLETS = 20


def test_20_simultaneous_check_ins_of_one_ticket_make_one_row(door, live_server):
    ticket = door.registrations[0].ticket
    start = threading.Barrier(TABLETS, timeout=60)

    def tablet(_):
        with requests.Session() as http:
            http.get(f"{live_server}/healthz", timeout=30)  # connect before the barrier
            start.wait()
            response = http.post(
                f"{live_server}/api/v1/checkins",
                json={
                    "id": new_uuid(),
                    "ticket": ticket,
                    "session_id": door.session.id,
                    "scanned_at": now_iso(),
                },
                headers=door.headers,
                timeout=120,
            )
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=TABLETS) as pool:
        answers = list(pool.map(tablet, range(TABLETS), timeout=300))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (TABLETS - 1) + [201], answers
    first = next(body for status, body in answers if status == 201)
    assert {body["checked_in_at"] for _, body in answers} == {first["checked_in_at"]}
    assert len(attendances(door.session.id)) == 1


def test_a_device_token_opens_only_routes_that_admit_devices(door, client, app):
    """Walk the URL map: with a device's token, every route that does not list "device" is
    refused (the API with 403, a page sends it to the staff login: the token is no login)."""
    import re

    from hikisupport.staff.access import DEVICE

    checked = 0
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if access is None or access.public or DEVICE in access.roles:
            continue
        path = re.sub(r"<uuid:[a-z_]+>", new_uuid(), rule.rule)
        path = re.sub(r"<[^>]+>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={}, headers=door.headers)
            if path.startswith("/api/"):
                expected = (403,)
            else:  # to the login page; a form without its CSRF token is refused before that
                expected = (302,) if method == "GET" else (302, 400)
            assert response.status_code in expected, (method, path, response.status_code)
            checked += 1
    assert checked >= 20
