"""Staff side of check-in: devices (add with a pairing code, list with last contact and counts,
revoke), the paper fallback (check box column, ticks entered afterwards), undo from the roster."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import cairosvg
import pytest
import sqlalchemy as sa
import zxingcpp
from fixtures.checkin import bearer
from PIL import Image

from conftest import csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import Attendance, AuditLog, Device, Registration


def test_an_organizer_adds_a_device_and_gets_a_one_time_pairing_qr(
    staff_world, login_as, make_today_event, client
):
    event = make_today_event(organization=staff_world.ward, title="今日の講座")
    organizer = login_as(staff_world.organizer)
    page = organizer.get("/staff/devices/new").get_data(as_text=True)
    assert "今日の講座" in page
    response = organizer.post(
        "/staff/devices/new",
        data={"name": "受付 1", "event_ids": [str(event.id)], "csrf_token": csrf_of(organizer)},
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    code = re.search(r"data-pairing-code>([A-Z0-9-]+)<", html).group(1)
    svg = re.search(r'src="data:image/svg\+xml;charset=utf-8,([^"]+)"', html)
    assert svg, "the QR is an inline SVG"
    png = cairosvg.svg2png(
        bytestring=unquote(svg.group(1)).encode(), background_color="white", scale=2
    )
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    assert decoded.text.endswith("/checkin/pair#code=" + code.replace("-", ""))
    device = db.session.scalar(sa.select(Device))
    assert device.name == "受付 1" and device.token_hash is None
    assert [e.id for e in device.events] == [event.id]


def test_a_device_is_only_for_one_organization_s_events(staff_world, login_as, make_today_event):
    ours = make_today_event(organization=staff_world.ward, title="区の講座")
    theirs = make_today_event(organization=staff_world.npo, title="NPOの講座")
    organizer = login_as(staff_world.organizer)
    page = organizer.get("/staff/devices/new").get_data(as_text=True)
    assert "区の講座" in page and "NPOの講座" not in page
    refused = organizer.post(
        "/staff/devices/new",
        data={"name": "受付", "event_ids": [str(theirs.id)], "csrf_token": csrf_of(organizer)},
    )
    assert refused.status_code == 422
    empty = organizer.post(
        "/staff/devices/new", data={"name": "受付", "csrf_token": csrf_of(organizer)}
    )
    assert empty.status_code == 422 and "1つ以上" in empty.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 0
    assert "区の講座" in page and ours.id


def test_the_device_list_shows_last_contact_and_check_ins_and_revokes(
    staff_world, login_as, make_today_event, make_device, client, sign_up
):
    event = make_today_event(organization=staff_world.ward, title="今日の講座")
    sign_up(event.id, email="door@example.jp")
    device, token = make_device(event, name="入口")
    other_org_device, _ = make_device(
        make_today_event(organization=staff_world.npo, title="NPOの講座"), name="NPOの端末"
    )
    from fixtures.checkin import new_uuid, now_iso

    ticket = db.session.scalar(sa.select(Registration.ticket).filter_by(event_id=event.id))
    client.post(
        "/api/v1/checkins",
        json={
            "id": new_uuid(),
            "ticket": ticket,
            "session_id": event.sessions[0].id,
            "scanned_at": now_iso(),
        },
        headers=bearer(token),
    )
    organizer = login_as(staff_world.organizer)
    page = organizer.get("/staff/devices").get_data(as_text=True)
    assert "入口" in page and "NPOの端末" not in page
    assert "1件" in page and "使用中" in page
    assert "―" not in page.split("入口")[1].split("</tr>")[0]  # last contact is shown
    # Another organization's device is not ours to revoke.
    assert (
        organizer.post(
            f"/staff/devices/{other_org_device.id}/revoke",
            data={"csrf_token": csrf_of(organizer)},
        ).status_code
        == 404
    )
    revoked = organizer.post(
        f"/staff/devices/{device.id}/revoke", data={"csrf_token": csrf_of(organizer)}
    )
    assert revoked.status_code == 303
    assert client.get("/api/v1/devices/me", headers=bearer(token)).status_code == 401
    assert "無効" in organizer.get("/staff/devices").get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "device.revoke" in actions


def test_the_print_sheet_has_a_check_box_column(staff_world, login_as):
    admin = login_as(staff_world.admin)
    session = staff_world.event.sessions[0]
    html = admin.get(f"/staff/sessions/{session.id}/print").get_data(as_text=True)
    assert '<th scope="col">受付</th>' in html
    assert html.count('<td class="check">□</td>') >= 1 + 5  # the confirmed one, and blank lines


def test_ticks_from_paper_are_entered_on_the_session_roster_and_can_be_undone(
    staff_world, login_as
):
    organizer = login_as(staff_world.organizer)
    session = staff_world.event.sessions[0]
    confirmed = next(r for r in staff_world.registrations if r.status == "confirmed")
    roster_url = f"/staff/sessions/{session.id}/roster"
    page = organizer.get(roster_url).get_data(as_text=True)
    assert f'name="registration_id" value="{confirmed.id}" form="paper-ticks"' in page
    response = organizer.post(
        f"/staff/sessions/{session.id}/paper",
        data={"registration_id": [str(confirmed.id)], "csrf_token": csrf_of(organizer)},
    )
    assert response.status_code == 303
    (row,) = db.session.scalars(sa.select(Attendance)).all()
    assert (row.method, row.recorded_by_id, row.device_id) == (
        "paper",
        staff_world.organizer.id,
        None,
    )
    assert row.checked_in_at == session.starts_at  # the tick's time is not known
    assert "受付済み 1名" in organizer.get(roster_url).get_data(as_text=True)
    # A waitlisted person is not on the roster: refused, nothing recorded.
    waitlisted = next(r for r in staff_world.registrations if r.status == "waitlisted")
    refused = organizer.post(
        f"/staff/sessions/{session.id}/paper",
        data={"registration_id": [str(waitlisted.id)], "csrf_token": csrf_of(organizer)},
    )
    assert refused.status_code == 303
    assert "参加が確定していない" in organizer.get(roster_url).get_data(as_text=True)
    # Undone from the roster: kept with who and when.
    undone = organizer.post(
        f"/staff/sessions/{session.id}/undo",
        data={"registration_id": str(confirmed.id), "csrf_token": csrf_of(organizer)},
    )
    assert undone.status_code == 303
    db.session.rollback()
    row = db.session.scalar(sa.select(Attendance))
    assert row.undone_at is not None and row.undone_by_id == staff_world.organizer.id
    assert "受付済み 0名" in organizer.get(roster_url).get_data(as_text=True)
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.action.startswith("attendance."))
    ).all()
    assert actions == ["attendance.paper", "attendance.undo"]


def test_paper_ticks_of_another_organization_s_session_are_404(staff_world, login_as):
    other = login_as(staff_world.other_organizer)
    session = staff_world.event.sessions[0]
    response = other.post(
        f"/staff/sessions/{session.id}/paper",
        data={"registration_id": ["1"], "csrf_token": csrf_of(other)},
    )
    assert response.status_code == 404


def test_pages_only_reached_by_a_post_are_valid_html(
    staff_world, login_as, make_today_event, client, tmp_path
):
    """The pairing code page (staff), the tablet's paired page and the pairing form with an
    error are answers to POSTs, which the site walk does not reach: checked here."""
    import shutil

    from test_html_valid import VNU_JAR, vnu_errors

    from conftest import _fail_or_skip

    if not shutil.which("java") or not VNU_JAR.exists():
        _fail_or_skip("needs java and vnu.jar (make test installs it)", "REQUIRE_BROWSER")
    event = make_today_event(organization=staff_world.ward, title="今日の講座")
    organizer = login_as(staff_world.organizer)
    pairing = organizer.post(
        "/staff/devices/new",
        data={"name": "受付", "event_ids": [str(event.id)], "csrf_token": csrf_of(organizer)},
    )
    code = re.search(r"data-pairing-code>([A-Z0-9-]+)<", pairing.get_data(as_text=True)).group(1)
    tablet = client
    token = csrf_of(tablet)
    wrong = tablet.post("/checkin/pair", data={"code": "XXXX-XXXX", "csrf_token": token})
    paired = tablet.post("/checkin/pair", data={"code": code, "csrf_token": token})
    assert (pairing.status_code, wrong.status_code, paired.status_code) == (201, 422, 200)
    files = []
    for name, response in (("pairing", pairing), ("wrong", wrong), ("paired", paired)):
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.data)
    assert [f"{m.get('url')}: {m['message']}" for m in vnu_errors(files)] == []


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "PAIR_RATE_LIMIT": "3 per minute"}], indirect=True
)
def test_pairing_codes_cannot_be_guessed_by_trying(app, app_overrides):
    """Wrong codes from one client: refused, then 429 before a fourth try reaches the codes."""
    tablet = app.test_client()
    token = csrf_of(tablet)
    codes = [
        tablet.post("/checkin/pair", data={"code": f"AAAA-AAA{i}", "csrf_token": token}).status_code
        for i in range(4)
    ]
    assert codes == [422, 422, 422, 429]
    assert tablet.get("/checkin/pair").status_code == 200  # the form itself stays readable
