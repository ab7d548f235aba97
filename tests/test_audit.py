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


def test_the_log_reads_in_japanese_with_titles_names_and_reasons(staff_world, login_as):
    """An auditor from the ward reads it without the codebook: actions as words, the event's
    title, the person's name and the reason given."""
    organizer = login_as(staff_world.organizer)
    event = staff_world.event
    organizer.get(f"/staff/events/{event.id}/registrations")
    organizer.get(f"/staff/events/{event.id}/registrations.csv")
    second = staff_world.registrations[1]
    organizer.post(
        f"/staff/registrations/{second.id}/cancel",
        data={"csrf_token": csrf_of(organizer), "reason": "phone"},
    )
    admin = login_as(staff_world.admin)
    html = admin.get("/staff/audit").get_data(as_text=True)
    table = html[html.index("<tbody>") :]
    for words in ("名簿を閲覧", "名簿を出力", "申込を取消", "申込を登録", "形式：CSV"):
        assert words in table, words
    assert f"催し「{event.title}」" in table
    assert f"{second.full_name} さん（催し「{event.title}」" in table
    assert "<td>本人から電話</td>" in table  # the reason, in its own column
    for code in ("roster.view", "registration.cancel", "format", "by="):
        assert code not in table, code
    # The filter offers the words, and sends the codes.
    assert '<option value="roster.export">名簿を出力</option>' in html


def test_the_log_is_filtered_by_event_title_and_by_name(staff_world, login_as, make_event):
    other = make_event(title="家族のための講演会", kind="lecture", organization=staff_world.ward)
    organizer = login_as(staff_world.organizer)
    organizer.get(f"/staff/events/{staff_world.event.id}/registrations")
    organizer.get(f"/staff/events/{other.id}/registrations")
    admin = login_as(staff_world.admin)

    def table(**query):
        html = admin.get("/staff/audit", query_string=query).get_data(as_text=True)
        return html[html.index("<tbody>") :]

    by_title = table(target="家族のための", action="roster.view")
    assert "家族のための講演会" in by_title and staff_world.event.title not in by_title
    person = staff_world.registrations[2]
    by_name = table(target=person.family_name + person.given_name)
    assert f"{person.full_name} さん" in by_name
    assert staff_world.registrations[0].full_name not in by_name
    by_kana = table(target="すぎなみ　はなこ")  # ひらがな finds カタカナ, spaces ignored
    assert f"{person.full_name} さん" in by_kana


def test_every_action_the_code_records_has_words():
    import ast
    from pathlib import Path

    from hikisupport import PROJECT_ROOT
    from hikisupport.rosters.services import Purpose
    from hikisupport.staff.audit import ACTIONS

    recorded = {p.value for p in Purpose}
    for path in Path(PROJECT_ROOT, "hikisupport").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
                and node.args
            ):
                first = node.args[0]
                options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                recorded |= {o.value for o in options if isinstance(o, ast.Constant)}
    assert len(recorded) > 25
    assert sorted(recorded - set(ACTIONS)) == []
