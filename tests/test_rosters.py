"""Rosters, phone sign-ups, acting on someone's behalf, exports and the audit log."""

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from conftest import csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import Attendance, AuditLog, OutboxMessage, Registration


@pytest.fixture
def roster_event(staff_world, make_event, sign_up):
    event = make_event(capacity=3, organization=staff_world.ward, sessions=2)
    people = [
        ("佐藤", "すずき", "sato@example.jp", ["childcare"], "2歳"),
        ("鈴木", "さとう", "suzuki@example.jp", ["childcare", "sign_language"], "4歳"),
        ('=HYPERLINK("x")', "いとう", "ito@example.jp", ["childcare"], "1歳"),
        ("田中", "たなか", "tanaka@example.jp", ["wheelchair"], ""),
    ]
    for family, kana, email, accommodations, ages in people:
        response = sign_up(
            event.id,
            family_name=family,
            family_name_kana=kana,
            email=email,
            data={"accommodations": accommodations, "childcare_ages": ages},
            phone="090-1234-5678",
        )
        assert response.status_code == 303
    return event


def test_roster_shows_totals_first_and_is_audited(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    html = organizer.get(f"/staff/events/{roster_event.id}/registrations").get_data(as_text=True)
    assert "参加確定 3名" in html and "キャンセル待ち 1名" in html
    assert "託児 3名" in html and "手話通訳 1名" in html and "車いす席 1名" in html
    assert "sato@example.jp" in html
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="roster.view"))
    assert (entry.staff_email, entry.object_type, entry.object_id) == (
        "ward@example.jp",
        "events",
        roster_event.id,
    )
    assert entry.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("すずき", ["佐藤"]),
        ("スズキ", ["佐藤"]),
        ("ｽｽﾞｷ", ["佐藤"]),
        ("鈴木", ["鈴木"]),
        ("鈴木 花子", ["鈴木"]),
        ("たなか はなこ", ["田中"]),
        ("zzz", []),
    ],
)
def test_search_by_name_or_kana_with_hiragana(roster_event, staff_world, login_as, query, found):
    organizer = login_as(staff_world.organizer)
    html = organizer.get(
        f"/staff/events/{roster_event.id}/registrations", query_string={"q": query}
    ).get_data(as_text=True)
    for name in ["佐藤", "鈴木", "田中"]:
        assert (f"{name} 花子" in html) == (name in found), (query, name)


def test_phone_sign_up_without_email(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    form = organizer.get(f"/staff/events/{roster_event.id}/registrations/new")
    assert form.status_code == 200
    response = organizer.post(
        f"/staff/events/{roster_event.id}/registrations/new",
        data={
            "csrf_token": csrf_of(organizer),
            "source": "postcard",
            "family_name": "高井",
            "given_name": "戸子",
            "family_name_kana": "たかいど",
            "given_name_kana": "とこ",
            "email": "",
            "phone": "03-3312-2111",
            "residency": "live",
            "age_group": "70s",
            "consent": "y",
        },
    )
    assert response.status_code == 303
    added = db.session.scalar(sa.select(Registration).filter_by(family_name="高井"))
    assert (added.source, added.status, added.email) == ("postcard", "waitlisted", "")
    assert added.waitlist_position == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .filter_by(about_type="registrations", about_id=added.id)
        )
        == 0
    )  # no address: no mail
    entry = db.session.scalar(
        sa.select(AuditLog).filter_by(action="registration.create", object_id=added.id)
    )
    assert entry.detail["by"] == "staff" and entry.staff_email == "ward@example.jp"


def test_phone_sign_up_needs_the_consent_box_and_refuses_a_duplicate(
    roster_event, staff_world, login_as
):
    organizer = login_as(staff_world.organizer)
    data = {
        "csrf_token": csrf_of(organizer),
        "source": "phone",
        "family_name": "佐藤",
        "given_name": "花子",
        "family_name_kana": "すずき",  # as 佐藤 signed up: the same name on the same address
        "given_name_kana": "はなこ",
        "email": "sato@example.jp",
        "phone": "0333122111",
        "residency": "live",
        "age_group": "50s",
    }
    no_consent = organizer.post(f"/staff/events/{roster_event.id}/registrations/new", data=data)
    assert no_consent.status_code == 422
    assert "同意を得たことを確認してください" in no_consent.get_data(as_text=True)
    duplicate = organizer.post(
        f"/staff/events/{roster_event.id}/registrations/new", data={**data, "consent": "y"}
    )
    assert duplicate.status_code == 422
    assert "申込がすでにあります" in duplicate.get_data(as_text=True)
    # Another name on the same address is a family member: a person of their own.
    family = organizer.post(
        f"/staff/events/{roster_event.id}/registrations/new",
        data={**data, "consent": "y", "given_name": "太郎", "given_name_kana": "たろう"},
    )
    assert family.status_code == 303


def test_cancel_on_behalf_promotes_and_mails(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    first = db.session.scalar(sa.select(Registration).filter_by(family_name="佐藤"))
    response = organizer.post(
        f"/staff/registrations/{first.id}/cancel",
        data={"csrf_token": csrf_of(organizer), "reason": "mail"},
    )
    assert response.status_code == 303
    db.session.refresh(first)
    assert first.status == "cancelled" and first.cancel_reason == "本人からメール"
    tanaka = db.session.scalar(sa.select(Registration).filter_by(family_name="田中"))
    assert tanaka.status == "confirmed"
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds[-2:] == ["cancelled", "promoted"]


def test_promote_out_of_turn_adds_a_seat(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    tanaka = db.session.scalar(sa.select(Registration).filter_by(family_name="田中"))
    organizer.post(
        f"/staff/registrations/{tanaka.id}/promote", data={"csrf_token": csrf_of(organizer)}
    )
    db.session.refresh(tanaka)
    db.session.refresh(roster_event)
    assert tanaka.status == "confirmed" and roster_event.capacity == 4
    confirmed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .filter_by(event_id=roster_event.id, status="confirmed")
    )
    assert confirmed == roster_event.capacity  # never over capacity


def test_session_roster_and_printable_page(roster_event, staff_world, login_as):
    session = roster_event.sessions[0]
    sato = db.session.scalar(sa.select(Registration).filter_by(family_name="佐藤"))
    db.session.add(Attendance(registration_id=sato.id, session_id=session.id, method="name"))
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    html = organizer.get(f"/staff/sessions/{session.id}/roster").get_data(as_text=True)
    assert "受付済み 1名" in html and "参加確定 3名" in html
    printed = organizer.get(f"/staff/sessions/{session.id}/print")
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200 and "@page" not in text  # styles come from print.css
    assert "受付名簿（印刷用）" in text and sato.ticket in text and "済" in text
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"roster.view", "roster.print"} <= set(actions)


def test_csv_export_reads_back_as_excel_would(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    response = organizer.get(f"/staff/events/{roster_event.id}/registrations.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 4
    sato = next(r for r in rows if r["姓"] == "佐藤")
    assert sato["セイ"] == "スズキ" and sato["電話番号"] == "090-1234-5678"
    assert sato["配慮：託児"] == "有" and sato["お子さまの年齢"] == "2歳"
    assert sato["状態"] == "参加確定" and sato["区民区分"] == "区内在住"
    assert "在住・在勤・在学" not in rows[0]  # a header names its column, not a list of values
    assert len(sato["申込日時（日本時間）"]) == 19
    formula = next(r for r in rows if "HYPERLINK" in r["姓"])
    assert formula["姓"].startswith("'=")  # defused
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="roster.export"))
    assert entry.detail == {"format": "csv", "rows": 4}


def test_xlsx_export_reads_back_with_openpyxl(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    response = organizer.get(f"/staff/events/{roster_event.id}/registrations.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["受付番号", "状態", "キャンセル待ち順位", "姓"]
    assert "出席回数（回）" in header
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(values) == 4
    phone = header.index("電話番号")
    assert all(row[phone] == "090-1234-5678" for row in values)
    created = header.index("申込日時（日本時間）")
    assert all(row[created].year >= 2026 for row in values)
    assert not sheet.merged_cells.ranges
    family = header.index("姓")
    assert all(sheet.cell(row=i, column=family + 1).data_type == "s" for i in range(2, 6))
    # A formula-like name is kept exactly as typed (no visible apostrophe), as a text cell
    # with the quote-prefix style: it never runs, also after someone edits it in Excel.
    formula = next(
        sheet.cell(row=i, column=family + 1)
        for i in range(2, 6)
        if "HYPERLINK" in sheet.cell(row=i, column=family + 1).value
    )
    assert formula.value == '=HYPERLINK("x")'
    assert formula.data_type == "s" and formula.quotePrefix
    assert "区民区分" in header and "在住・在勤・在学" not in header


def test_audit_log_cannot_be_changed(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    organizer.get(f"/staff/events/{roster_event.id}/registrations")
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="roster.view"))
    entry.action = "nothing.happened"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):  # the database refuses it too
        db.session.execute(sa.text("UPDATE audit_log SET action = 'x'"))
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("DELETE FROM audit_log"))
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(AuditLog.action).where(AuditLog.id == entry.id))
        == "roster.view"
    )


def test_no_route_changes_the_audit_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_admin_reads_and_filters_the_audit_log(roster_event, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    organizer.get(f"/staff/events/{roster_event.id}/registrations")
    organizer.get(f"/staff/events/{roster_event.id}/registrations.csv")
    admin = login_as(staff_world.admin)
    html = admin.get("/staff/audit", query_string={"action": "roster.export"}).get_data(
        as_text=True
    )
    assert '<td class="keep">名簿を出力</td>' in html and "形式：CSV" in html
    assert '<td class="keep">名簿を閲覧</td>' not in html
    assert login_as(staff_world.organizer).get("/staff/audit").status_code == 403


def test_cancelling_on_someones_behalf_asks_first_with_a_chosen_reason(
    roster_event, staff_world, login_as
):
    from hikisupport.models import CancelReason

    organizer = login_as(staff_world.organizer)
    sato = db.session.scalar(sa.select(Registration).filter_by(family_name="佐藤"))
    roster = organizer.get(f"/staff/events/{roster_event.id}/registrations").get_data(as_text=True)
    assert "主催者による取消（本人からの連絡）" not in roster  # no reason fixed in advance
    assert f'action="/staff/registrations/{sato.id}/cancel"' not in roster  # no one-tap cancel
    assert f'href="/staff/registrations/{sato.id}/cancel"' in roster

    page = organizer.get(f"/staff/registrations/{sato.id}/cancel")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "申込を取り消しますか" in html
    assert all(label in html for label in CancelReason.labels().values())
    assert "田中 花子 さんが繰り上がり" in html  # what the cancellation will do

    token = csrf_of(organizer)
    url = f"/staff/registrations/{sato.id}/cancel"
    nothing = organizer.post(url, data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "取消の理由を選んでください" in nothing.get_data(as_text=True)
    other = organizer.post(url, data={"csrf_token": token, "reason": "other"})
    assert other.status_code == 422 and "「その他」を選んだときは" in other.get_data(as_text=True)
    db.session.refresh(sato)
    assert sato.status == "confirmed"

    done = organizer.post(
        url, data={"csrf_token": token, "reason": "other", "reason_text": "会場を間違えたため"}
    )
    assert done.status_code == 303
    db.session.refresh(sato)
    assert sato.cancel_reason == "その他：会場を間違えたため"
    entry = db.session.scalar(
        sa.select(AuditLog).filter_by(action="registration.cancel", object_id=sato.id)
    )
    assert entry.detail["reason"] == "その他：会場を間違えたため"


def test_exports_are_named_by_the_title_and_the_date_in_japan(roster_event, staff_world, login_as):
    from datetime import UTC, datetime
    from urllib.parse import unquote

    from hikisupport.rosters.exports import file_names

    # 04:03 in Japan on 2 December is still 1 December in UTC.
    at = datetime(2026, 12, 1, 19, 3, tzinfo=UTC)
    assert file_names(roster_event, "csv", at) == (
        "ひきこもりサポーター養成講座_申込者一覧_20261202.csv",
        f"registrations_{roster_event.id}_20261202.csv",
    )
    roster_event.title = '秋期講座 1/2 "特別"'
    db.session.commit()
    organizer = login_as(staff_world.organizer)
    response = organizer.get(f"/staff/events/{roster_event.id}/registrations.xlsx")
    disposition = response.headers["Content-Disposition"]
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert name.startswith("秋期講座 1_2 _特別_申込者一覧_") and name.endswith(".xlsx")
