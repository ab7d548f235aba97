"""The directory: search and filters, public pages (tel: links, JSON-LD, 案内シート with QR),
staff pages, the CSV round trip and import refusals, open data, the migration."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from test_migrations import migrated  # noqa: F401  (the fixture)

from conftest import csrf_of
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST
from hikisupport.core.security import CSP
from hikisupport.directory import services
from hikisupport.directory.services import DirectoryFilter
from hikisupport.models import AuditLog, Municipality, Service

SATURDAY_2ND = datetime(2026, 12, 12, 10, 0, tzinfo=JST)  # 第2土曜


def names(listings) -> list[str]:
    return [item.service.name for item in listings]


@pytest.fixture
def directory(make_service):
    """A 相談窓口 open on weekdays, a 居場所 on 第2・第4土曜, a 家族会 on the last Friday."""
    window = make_service(
        kind="consultation",
        name="ひきこもり専門相談窓口",
        name_kana="ヒキコモリセンモンソウダンマドグチ",
        operator="NPO法人 すぎなみ居場所ネット",
        audiences=["person", "family"],
        consult_methods=["phone", "outreach"],
        anonymous_ok=True,
        family_alone_ok=True,
        rules=[("WEEKLY", "MO,TU,WE,TH,FR", "9:00", "17:00")],
        phone="0355550102",
    )
    place = make_service(
        name="居場所「ほっとスペース」",
        name_kana="ホットスペース",
        description="ボードゲームやお茶の時間があります。",
        audiences=["person", "youth"],
        consult_methods=["visit"],
    )
    family = make_service(
        kind="family_group",
        name="家族会「つばさ」",
        name_kana="カゾクカイツバサ",
        audiences=["family"],
        consult_methods=["visit", "email"],
        rules=[("MONTHLY", "-1FR", "18:00", "20:00")],
    )
    return window, place, family


# ---------------------------------------------------------------------------------------------
# Search and filters


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            DirectoryFilter(),
            ["ひきこもり専門相談窓口", "居場所「ほっとスペース」", "家族会「つばさ」"],
        ),
        (DirectoryFilter(kind="ibasho"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(audience="family"), ["ひきこもり専門相談窓口", "家族会「つばさ」"]),
        (DirectoryFilter(method="outreach"), ["ひきこもり専門相談窓口"]),
        (DirectoryFilter(method="email", audience="family"), ["家族会「つばさ」"]),
        # ひらがな finds カタカナ, カタカナ finds ひらがな
        (DirectoryFilter(q="ほっと"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(q="ヒキコモリ"), ["ひきこもり専門相談窓口"]),
        # 半角カナ and 全角英数 are folded (NFKC)
        (DirectoryFilter(q="ﾎｯﾄｽﾍﾟｰｽ"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(q="ＮＰＯ"), ["ひきこもり専門相談窓口"]),
        (DirectoryFilter(q="npo"), ["ひきこもり専門相談窓口"]),
        # every word must match; 全角 space separates words
        (DirectoryFilter(q="ぼーどげーむ　すぺーす"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(q="ボードゲーム 電話"), []),
        # open on a day: 12/12 is the 第2土曜
        (DirectoryFilter(day="today"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(day="saturday"), ["居場所「ほっとスペース」"]),
        (DirectoryFilter(day="tomorrow"), []),  # a Sunday
    ],
    ids=lambda v: repr(v) if isinstance(v, DirectoryFilter) else None,
)
def test_search_and_filters(directory, filters, expected):
    assert sorted(names(services.search(filters, SATURDAY_2ND))) == sorted(expected)


def test_open_today_in_the_list_follows_the_clock(directory):
    window, place, family = directory
    by_name = {i.service.name: i for i in services.search(DirectoryFilter(), SATURDAY_2ND)}
    assert by_name[place.name].status.open_today
    assert not by_name[window.name].status.open_today
    assert by_name[window.name].status.next_opening == datetime(2026, 12, 14, 9, 0, tzinfo=JST)
    # 2026-12-25 is the last Friday: the 家族会 meets in the evening
    friday = services.search(DirectoryFilter(), datetime(2026, 12, 25, 12, 0, tzinfo=JST))
    assert {i.service.name: i.status.open_today for i in friday}[family.name]


def test_paused_and_closed_services(directory, client):
    window, place, _ = directory
    services.set_status(place, "paused")
    services.set_status(window, "closed")
    db.session.commit()
    found = {i.service.name: i for i in services.search(DirectoryFilter(), SATURDAY_2ND)}
    assert window.name not in found  # 終了: not public
    assert not found[place.name].status.open_today  # 一時休止: listed, never open
    assert client.get(f"/directory/{window.id}").status_code == 404
    page = client.get(f"/directory/{place.id}").get_data(as_text=True)
    assert "一時休止しています" in page and "いま開いています" not in page


# ---------------------------------------------------------------------------------------------
# Public pages


def test_list_page_filters_by_query_string(directory, client):
    html = client.get("/directory?kind=ibasho&q=%E3%81%BB%E3%81%A3%E3%81%A8").get_data(as_text=True)
    assert "居場所「ほっとスペース」" in html and "ひきこもり専門相談窓口" not in html
    assert 'href="tel:0355550103"' in html
    # unknown filter values are ignored, never an error
    assert client.get("/directory?kind=%00&day=x&audience=" + "a" * 5000).status_code == 200


def test_detail_page_has_tel_link_last_checked_and_json_ld(directory, client):
    window, _, _ = directory
    response = client.get(f"/directory/{window.id}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP  # unchanged by the data block
    html = response.get_data(as_text=True)
    assert 'href="tel:0355550102"' in html and "03-5555-0102" in html
    assert "最終確認日：令和8年11月1日（日）" in html
    assert "毎週月〜金 9:00〜17:00（祝日・年末年始は休み）" in html
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(block)
    assert data["@context"] == "https://schema.org" and data["@type"] == "GovernmentService"
    place = data["availableChannel"]["serviceLocation"]
    (hours,) = place["openingHoursSpecification"]
    assert hours["@type"] == "OpeningHoursSpecification"
    assert hours["dayOfWeek"][0] == "https://schema.org/Monday"
    assert (hours["opens"], hours["closes"]) == ("09:00", "17:00")
    assert data["availableChannel"]["servicePhone"]["telephone"] == "03-5555-0102"


def test_json_ld_cannot_end_its_script_block(make_service, client):
    service = make_service(description="</script><script>alert(1)</script>")
    html = client.get(f"/directory/{service.id}").get_data(as_text=True)
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(block)["description"] == "</script><script>alert(1)</script>"


def test_sheet_has_chosen_entries_large_phone_and_a_qr_to_each_page(directory, client, app):
    import base64
    import urllib.parse

    import cairosvg
    import zxingcpp
    from PIL import Image

    window, place, family = directory
    html = client.get(f"/directory/sheet?ids={place.id}&ids={window.id}").get_data(as_text=True)
    assert html.index(place.name) < html.index(window.name)  # in the order chosen
    assert family.name not in html
    assert 'class="sheet-entry__phone"' in html and "tel:0355550102" in html
    assert "第2・第4土曜 13:00〜16:00（祝日・年末年始は休み）" in html
    uris = re.findall(r'<img class="sheet-entry__qr" src="([^"]+)"', html)
    assert len(uris) == 2
    header, _, payload = uris[0].partition(",")
    svg = (
        base64.b64decode(payload)
        if header.endswith(";base64")
        else urllib.parse.unquote(payload).encode()
    )
    png = cairosvg.svg2png(bytestring=svg, background_color="white", scale=4)
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == app.config["BASE_URL"].rstrip("/") + f"/directory/{place.id}"


def test_footer_links_to_the_directory(client):
    html = client.get("/events").get_data(as_text=True)
    assert re.search(r'<a href="/directory">まずはご相談ください</a>', html)


# ---------------------------------------------------------------------------------------------
# Staff pages


def service_form(**overrides) -> dict:
    form = {
        "kind": "ibasho",
        "name": "居場所「こもれび」",
        "name_kana": "こもれび",
        "audiences": ["person", "family"],
        "phone": "０３ー５５５５ー０１９９",
        "booking": "none",
        "status": "published",
        "closed_on_holidays": "y",
        "closed_year_end": "y",
        "last_checked_on": "2026-11-20",
        "schedules-0-freq": "MONTHLY",
        "schedules-0-ordinals": ["2", "4"],
        "schedules-0-weekdays": ["SA"],
        "schedules-0-opens_at": "13:00",
        "schedules-0-closes_at": "16:00",
        "schedules-1-freq": "MONTHLY",
        "schedules-1-ordinals": ["1", "3", "5"],
        "schedules-1-weekdays": ["SU"],
        "schedules-1-closed": "y",
        "closures-0-starts_on": "2026-12-26",
        "closures-0-reason": "設備点検",
    }
    form.update(overrides)
    return form


def test_organizer_creates_edits_pauses_and_unpublishes(staff_world, login_as, client):
    organizer = login_as(staff_world.organizer)
    token = csrf_of(organizer)
    response = organizer.post("/staff/directory/new", data={**service_form(), "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    service = db.session.scalar(sa.select(Service))
    assert (service.name_kana, service.phone) == ("コモレビ", "0355550199")
    assert [(r.freq, r.byday, r.closed) for r in service.schedules] == [
        ("MONTHLY", "2SA,4SA", False),
        ("MONTHLY", "1SU,3SU,5SU", True),
    ]
    assert [(c.starts_on, c.ends_on, c.reason) for c in service.closures] == [
        (date(2026, 12, 26), date(2026, 12, 26), "設備点検")
    ]
    edit = organizer.get(f"/staff/directory/{service.id}/edit").get_data(as_text=True)
    assert 'value="SA" checked' in edit and 'value="-1"' in edit

    bad = organizer.post(
        f"/staff/directory/{service.id}/edit",
        data={**service_form(**{"schedules-0-closes_at": "12:00"}), "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "終了の時刻は開始より後にしてください。" in bad.get_data(as_text=True)

    for status in ("paused", "closed"):
        response = organizer.post(
            f"/staff/directory/{service.id}/status", data={"status": status, "csrf_token": token}
        )
        assert response.status_code == 303
        db.session.refresh(service)
        assert service.status == status
    assert client.get(f"/directory/{service.id}").status_code == 404
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-3:] == ["directory.create", "directory.status", "directory.status"]


def test_unknown_status_is_a_japanese_refusal(staff_world, login_as, make_service):
    admin = login_as(staff_world.admin)
    service = make_service()
    response = admin.post(
        f"/staff/directory/{service.id}/status",
        data={"status": "gone", "csrf_token": csrf_of(admin)},
        follow_redirects=True,
    )
    assert "状態は公開・一時休止・終了から選んでください。" in response.get_data(as_text=True)


def test_reminder_list_shows_entries_not_checked_for_180_days(staff_world, login_as, make_service):
    today = services.today_in_japan()
    from datetime import timedelta

    stale = make_service(name="古い相談先", last_checked_on=today - timedelta(days=180))
    make_service(name="新しい相談先", last_checked_on=today - timedelta(days=179))
    admin = login_as(staff_world.admin)
    html = admin.get("/staff/directory/reminders").get_data(as_text=True)
    assert "古い相談先" in html and "新しい相談先" not in html
    response = admin.post(
        f"/staff/directory/{stale.id}/checked",
        data={"csrf_token": csrf_of(admin), "next": "reminders"},
    )
    assert response.status_code == 303
    db.session.refresh(stale)
    assert stale.last_checked_on == today
    assert "古い相談先" not in admin.get("/staff/directory/reminders").get_data(as_text=True)


def test_policy_role_cannot_open_the_directory_admin(staff_world, login_as):
    assert login_as(staff_world.policy).get("/staff/directory/").status_code == 403


# ---------------------------------------------------------------------------------------------
# CSV: round trip, dry run, all or nothing


def export(client) -> bytes:
    response = client.get("/staff/directory/export.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    return response.data


def upload(client, body: bytes, token: str):
    return client.post(
        "/staff/directory/import",
        data={"csrf_token": token, "file": (io.BytesIO(body), "directory.csv")},
        content_type="multipart/form-data",
    )


def confirm(client, page_html: str, token: str):
    (text,) = re.findall(r'name="csv_text" value="([^"]*)"', page_html, re.S)
    import html as html_module

    return client.post(
        "/staff/directory/import",
        data={"csrf_token": token, "confirm": "1", "csv_text": html_module.unescape(text)},
    )


def test_csv_round_trip_is_identical(directory, staff_world, login_as, make_service):
    make_service(
        name="期間と臨時休業のある相談先",
        rules=[("WEEKLY", "WE", "10:00", "12:00"), ("MONTHLY", "1SU,3SU", "", "")],
        closures=[(date(2026, 12, 10), date(2026, 12, 11), "設備点検")],
        description="1行目\n2行目",
        latitude=35.69947,
        longitude=139.63662,
        url="https://example.jp/ibasho",
    )
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    first = export(admin)
    dry = upload(admin, first, token)
    assert dry.status_code == 200
    page = dry.get_data(as_text=True)
    assert "まだ取り込んでいません" in page and "変更なし 4件" in page
    assert confirm(admin, page, token).status_code == 303
    assert export(admin) == first
    rows = list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "種類", "名称"] and len(rows) == 5


def test_csv_import_creates_and_updates_after_a_dry_run(directory, staff_world, login_as):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    rows = list(csv.reader(io.StringIO(export(admin).decode("utf-8-sig"))))
    header = rows[0]
    rows[1][header.index("電話番号")] = "03-5555-0177"
    new = list(rows[2])
    new[header.index("ID")] = ""
    new[header.index("名称")] = "新しい居場所"
    new[header.index("開館ルール")] = "WEEKLY SA,SU 10:00-15:00\nMONTHLY 1SA 休み"
    rows.append(new)
    body = io.StringIO()
    csv.writer(body, lineterminator="\r\n").writerows(rows)
    dry = upload(admin, body.getvalue().encode("utf-8-sig"), token)
    page = dry.get_data(as_text=True)
    assert "新規 1件" in page and "変更 1件" in page and "変更なし 2件" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Service)) == 3  # dry run
    assert confirm(admin, page, token).status_code == 303
    created = db.session.scalar(sa.select(Service).filter_by(name="新しい居場所"))
    assert [(r.byday, r.closed) for r in created.schedules] == [("SA,SU", False), ("1SA", True)]
    assert db.session.get(Service, int(rows[1][0])).phone == "0355550177"
    assert db.session.scalar(sa.select(AuditLog.detail).filter_by(action="directory.import")) == {
        "created": 1,
        "updated": 1,
        "unchanged": 2,
    }


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("種類", "図書館", "種類「図書館」は使えません"),
        ("電話番号", "03-12", "電話番号の形式が正しくありません"),
        ("開館ルール", "WEEKLY 2SA 10:00-12:00", "毎週のルールに「第何」は付けられません"),
        ("開館ルール", "毎週土曜", "開館ルール「毎週土曜」が読めません"),
        ("最終確認日", "きのう", "最終確認日「きのう」は日付として読めません"),
        ("名称", "", "名称を入力してください。"),
        ("ID", "999", "ID 999 の項目はありません"),
        ("匿名で相談できる", "たぶん", "匿名で相談できるは「はい」か「いいえ」で"),
    ],
)
def test_a_bad_row_rejects_the_whole_import_with_its_line_and_reason(
    directory, staff_world, login_as, column, value, reason
):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    first = export(admin)
    rows = list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    header = rows[0]
    rows[1][header.index("電話番号")] = "03-5555-0166"  # a good change on line 2
    rows[2][header.index("内容")] = "複数行の\n内容"  # line 3 spans two lines
    rows[3][header.index(column)] = value  # the bad row starts on line 5
    body = io.StringIO()
    csv.writer(body, lineterminator="\r\n").writerows(rows)
    response = upload(admin, body.getvalue().encode("utf-8-sig"), token)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "取り込みませんでした" in page
    assert re.search(rf"<li>5行目：[^<]*{re.escape(reason)}", page), page[
        page.find("error-summary") :
    ][:800]
    # nothing changed, not even the good row
    assert export(admin) == first


def test_import_refuses_a_file_that_is_not_utf8_or_has_wrong_headers(staff_world, login_as):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    sjis = upload(admin, "ID,種類\r\n".encode("cp932"), token)
    assert sjis.status_code == 422 and "UTF-8" in sjis.get_data(as_text=True)
    wrong = upload(admin, "\ufeffID,名前\r\n1,x\r\n".encode(), token)
    assert wrong.status_code == 422
    assert "1行目：見出しに次の列がありません" in wrong.get_data(as_text=True)
    empty = admin.post("/staff/directory/import", data={"csrf_token": token})
    assert empty.status_code == 422 and "CSVファイルを選んでください" in empty.get_data(
        as_text=True
    )


# ---------------------------------------------------------------------------------------------
# Open data

# The 自治体標準オープンデータセット definitions (the current edition, as published municipal
# files of that edition use them), written out here (not imported from the code), so a change
# to the code's columns fails these tests.
公共施設一覧 = [
    "全国地方公共団体コード",
    "ID",
    "地方公共団体名",
    "名称",
    "名称_カナ",
    "名称_英字",
    "名称_通称",
    "POIコード",
    "外部識別子",
    "外部識別子の値",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "高度の種別",
    "高度の値",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "法人番号",
    "団体名",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能時間特記事項",
    "説明",
    "車椅子可",
    "車椅子貸出",
    "ツエ貸出",
    "バリアフリートイレ",
    "スロープ、エレベータ、エスカレータ",
    "点字ブロック等の移動支援",
    "点字や読上による支援",
    "盲導犬・介助犬、聴導犬同伴",
    "字幕",
    "筆談対応",
    "優先駐車場",
    "オストメイト対応トイレ",
    "授乳室",
    "おむつ替えコーナー",
    "飲食可否",
    "ベビーカー貸出",
    "ベビーカー利用",
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
]
イベント一覧 = [
    "全国地方公共団体コード",
    "法人番号",
    "ID",
    "地方公共団体名",
    "イベント名",
    "言語コード",
    "イベント通称",
    "サブタイトル",
    "イベント名_カナ",
    "イベント名_英語",
    "コンテンツURL",
    "状態",
    "キーワード",
    "タグ",
    "対象となる産業",
    "開催パターン",
    "開始日",
    "終了日",
    "開始時間",
    "終了時間",
    "開始日時特記事項",
    "所要時間",
    "掲載開始日",
    "掲載終了日",
    "概要",
    "説明",
    "サブイベント",
    "イベント種類",
    "料金(基本)",
    "料金(詳細)",
    "連絡先名称",
    "連絡先電話番号",
    "連絡先内線番号",
    "主催者",
    "共催団体",
    "関連組織",
    "対象者",
    "対象者備考",
    "場所名称",
    "集合（受付）場所",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "アクセス方法",
    "駐車場情報",
    "駐車場料金",
    "駐輪場情報",
    "Web開催",
    "Web開催URL",
    "ツール・環境",
    "定員",
    "定員備考",
    "料金種別",
    "決済種別",
    "外国語対応",
    "外国語対応備考",
    "開催条件",
    "参加申込終了日",
    "参加申込終了時間",
    "参加申込方法",
    "申込開始日",
    "申込開始時刻",
    "申込URL",
    "URL",
    "授乳室",
    "おむつ替えコーナー",
    "飲食可否",
    "ベビーカー貸出",
    "ベビーカー利用",
    "画像",
    "画像_ライセンス",
    "備考",
]
# The yes/no accessibility columns: we hold no structured answers, so they stay blank.
有無の列 = 公共施設一覧[公共施設一覧.index("車椅子可") : 公共施設一覧.index("URL")]


def test_the_standard_column_lists_are_the_current_edition():
    # Guards the lists above against a slip back to the 推奨データセット edition.
    assert (len(公共施設一覧), len(set(公共施設一覧))) == (56, 56)
    assert (len(イベント一覧), len(set(イベント一覧))) == (79, 79)
    for old in ("都道府県コード又は市区町村コード", "NO", "住所", "方書", "利用可能日時特記事項"):
        assert old not in 公共施設一覧 and old not in イベント一覧


@pytest.fixture
def municipality(app):
    db.session.add(
        Municipality(name="杉並区", code="131156", office_name="くらしのサポートステーション")
    )
    db.session.commit()


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'rel="license"' in response.headers["Link"]
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    text = response.data.decode("utf-8-sig")
    assert not text.startswith("\ufeff")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF only
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def test_services_csv_has_the_standard_headers_and_one_value_per_cell(
    municipality, directory, client
):
    window, place, family = directory
    services.set_status(family, "closed")
    db.session.commit()
    header, rows = read_csv(client.get("/opendata/services.csv"))
    assert header == 公共施設一覧
    # ID: S and the entry's id, zero-padded to six digits; 終了 is not listed.
    assert [r["ID"] for r in rows] == [f"S{window.id:06d}", f"S{place.id:06d}"]
    assert all(re.fullmatch(r"S\d{6}", r["ID"]) for r in rows)
    first = rows[0]
    assert (first["全国地方公共団体コード"], first["地方公共団体名"]) == ("131156", "東京都杉並区")
    assert (first["名称"], first["名称_カナ"], first["団体名"]) == (
        "ひきこもり専門相談窓口",
        "ヒキコモリセンモンソウダンマドグチ",
        "NPO法人 すぎなみ居場所ネット",
    )
    assert (first["電話番号"], first["利用可能曜日"]) == ("03-5555-0102", "月火水木金")
    assert (first["開始時間"], first["終了時間"]) == ("09:00", "17:00")
    assert first["利用可能時間特記事項"].startswith(
        "毎週月〜金 9:00〜17:00（祝日・年末年始は休み）"
    )
    assert first["URL"].endswith(f"/directory/{window.id}")
    assert all("\n" not in value and "\r" not in value for r in rows for value in r.values())


def test_services_csv_gives_the_location_code_only_to_an_address_in_the_ward(
    municipality, make_service, client
):
    make_service(name="区内（都名から）", address="東京都杉並区阿佐谷南1-15-1")
    make_service(name="区内（区名から）", address="杉並区高円寺南2-1-1 3階")
    make_service(name="区外", address="東京都中野区中野4-8-1")
    make_service(name="他県", address="埼玉県さいたま市浦和区高砂3-15-1")
    make_service(name="住所なし", address="")
    _, rows = read_csv(client.get("/opendata/services.csv"))
    where = {
        r["名称"]: (
            r["所在地_全国地方公共団体コード"],
            r["所在地_都道府県"],
            r["所在地_市区町村"],
            r["所在地_連結表記"],
        )
        for r in rows
    }
    assert where == {
        "区内（都名から）": ("131156", "東京都", "杉並区", "東京都杉並区阿佐谷南1-15-1"),
        "区内（区名から）": ("131156", "東京都", "杉並区", "杉並区高円寺南2-1-1 3階"),
        # Elsewhere: only what the address itself says; no other municipality is guessed.
        "区外": ("", "東京都", "", "東京都中野区中野4-8-1"),
        "他県": ("", "埼玉県", "", "埼玉県さいたま市浦和区高砂3-15-1"),
        "住所なし": ("", "", "", ""),
    }
    # The rest of the address is never split by guesswork.
    assert {(r["所在地_町字"], r["所在地_番地以下"], r["町字ID"]) for r in rows} == {("", "", "")}


def test_services_csv_keeps_accessibility_text_in_the_remarks_and_the_yes_no_columns_blank(
    municipality, make_service, client
):
    make_service(
        name="相談室",
        email="soudan@example.jp",
        accessibility="車いすで入れます。\n筆談できます。",
    )
    _, (row,) = read_csv(client.get("/opendata/services.csv"))
    assert row["連絡先メールアドレス"] == "soudan@example.jp"
    assert "バリアフリー・配慮：車いすで入れます。 筆談できます。" in row["備考"]
    assert row["備考"].startswith("種類：居場所。")
    assert {row[column] for column in 有無の列} == {""}


def test_events_csv_has_the_standard_headers_published_events_only_and_no_person(
    municipality, make_event, sign_up, client
):
    published = make_event(title="公開の講演会", sessions=2)
    make_event(title="下書きの講座", status="draft")
    make_event(title="中止の講座", status="cancelled")
    sign_up(published.id, family_name="杉並", given_name="花子", email="hanako@example.jp")
    header, rows = read_csv(client.get("/opendata/events.csv"))
    assert header == イベント一覧
    assert [r["イベント名"] for r in rows] == ["公開の講演会"]
    (row,) = rows
    assert row["ID"] == f"E{published.id:06d}" and re.fullmatch(r"E\d{6}", row["ID"])
    assert (row["全国地方公共団体コード"], row["地方公共団体名"], row["言語コード"]) == (
        "131156",
        "東京都杉並区",
        "ja",
    )
    first, last = published.sessions[0], published.sessions[-1]
    assert row["開始日"] == f"{first.starts_at.astimezone(JST):%Y-%m-%d}"
    # The day the last session ends (in Japan): a session that runs past midnight ends the next
    # day (the fixture's sessions start at the hour the test runs).
    assert row["終了日"] == f"{last.ends_at.astimezone(JST):%Y-%m-%d}"
    assert re.fullmatch(r"\d{2}:\d{2}", row["開始時間"])
    assert (row["定員"], row["料金(基本)"], row["料金(詳細)"]) == ("10", "0", "無料")
    assert row["開始日時特記事項"].startswith("全2回：第1回")
    assert row["場所名称"] == "杉並区役所 中棟6階 第4会議室"
    page = row["URL"]
    assert page.endswith(f"/events/{published.id}")
    assert row["コンテンツURL"] == row["申込URL"] == page
    assert row["定員備考"] == "先着順（満席の場合はキャンセル待ちを受け付けます）"
    # No contact of its own: the programme's office.
    assert (row["連絡先名称"], row["連絡先電話番号"]) == ("くらしのサポートステーション", "")
    body = client.get("/opendata/events.csv").data.decode("utf-8-sig")
    for personal in ("花子", "hanako@example.jp", "スギナミ"):
        assert personal not in body


def test_events_csv_fills_the_application_window_contact_audience_and_venue(
    municipality, make_event, client
):
    event = make_event(
        kind="lecture",
        certifies=False,
        audience="ひきこもりに関心のある方",
        eligible_residencies=["live", "work"],
        admission="lottery",
        waitlist=False,
        fee="500円（資料代）",
        contact_phone="03-5555-0199",
        contact_email="kouza@example.jp",
        belongings="筆記用具",
        venue_address="東京都杉並区阿佐谷南1-15-1",
        registration_opens_at=datetime(2026, 11, 1, 0, 30, tzinfo=UTC),  # 09:30 in Japan
    )
    _, (row,) = read_csv(client.get("/opendata/events.csv"))
    closes = event.registration_closes_at.astimezone(JST)
    assert (row["申込開始日"], row["申込開始時刻"]) == ("2026-11-01", "09:30")
    assert (row["参加申込終了日"], row["参加申込終了時間"]) == (
        f"{closes:%Y-%m-%d}",
        f"{closes:%H:%M}",
    )
    assert (row["イベント種類"], row["対象者"], row["対象者備考"]) == (
        "講演会",
        "ひきこもりに関心のある方",
        "申込できる方：区内在住・区内在勤",
    )
    assert (row["定員備考"], row["料金(基本)"], row["料金(詳細)"]) == (
        "抽選",
        "",
        "500円（資料代）",
    )
    # The event's own contact, named as on its page (主催・お問い合わせ).
    assert (row["連絡先名称"], row["連絡先電話番号"], row["主催者"]) == (
        "杉並区",
        "03-5555-0199",
        "杉並区",
    )
    assert (row["所在地_全国地方公共団体コード"], row["所在地_連結表記"]) == (
        "131156",
        "東京都杉並区阿佐谷南1-15-1",
    )
    # What has a column of its own is not repeated in 備考; what has none is kept there.
    assert row["備考"] == "持ち物：筆記用具。問い合わせ先メールアドレス：kouza@example.jp。"


def test_hsds_json_states_the_licence_and_the_rules(municipality, directory, client):
    response = client.get("/opendata/services.hsds.json")
    assert 'rel="license"' in response.headers["Link"]
    data = response.json
    assert data["license"]["id"] == "CC-BY-4.0"
    assert data["publisher"]["local_government_code"] == "131156"
    by_name = {s["name"]: s for s in data["services"]}
    (rule,) = by_name["居場所「ほっとスペース」"]["schedules"]
    assert (rule["freq"], rule["byday"], rule["opens_at"], rule["closes_at"]) == (
        "MONTHLY",
        "2SA,4SA",
        "13:00",
        "16:00",
    )
    assert by_name["ひきこもり専門相談窓口"]["status"] == "active"


def test_opendata_page_states_the_licence(client):
    html = client.get("/opendata").get_data(as_text=True)
    assert "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）" in html
    assert 'href="/opendata/services.csv"' in html and 'href="/opendata/events.csv"' in html
    # The columns are listed, each in 「」 (some names contain 「、」).
    assert "公共施設一覧の項目（56列）" in html and "イベント一覧の項目（79列）" in html
    assert "「全国地方公共団体コード」「ID」「地方公共団体名」「名称」" in html
    assert "「スロープ、エレベータ、エスカレータ」" in html


# ---------------------------------------------------------------------------------------------
# Demo data and the migration


def test_demo_load_adds_the_plan_windows_as_samples(runner, client):
    runner.invoke(args=["demo", "load"])
    entries = db.session.scalars(sa.select(Service).order_by(Service.id)).all()
    names_ = [s.name for s in entries]
    for expected in (
        "くらしのサポートステーション（生活自立支援窓口）",
        "ひきこもり専門相談窓口",
        "地域包括支援センター ケア24",
        "障害者地域相談センター すまいる荻窪",
        "障害者地域相談センター すまいる高円寺",
        "障害者地域相談センター すまいる高井戸",
        "保健センター（こころの健康相談）",
        "在宅医療・生活支援センター",
    ):
        assert expected in names_
    assert any(s.kind == "ibasho" for s in entries)
    assert all(s.phone.startswith("035555") for s in entries)  # 555 numbers: not real
    assert all("サンプル" in s.address and "サンプル" in s.description for s in entries)


def test_0007_keeps_existing_rows_and_adds_the_directory(migrated):  # noqa: F811
    from test_migrations import insert, previous_of

    migrated(previous_of("0007"))
    created = datetime(2026, 12, 1, tzinfo=UTC).replace(tzinfo=None)
    with db.engine.begin() as conn:
        # Rows of tables every revision has had (the revision before ours may change).
        org = insert(conn, "organizations", name="杉並区", kind="ward", created_at=created)
    migrated("0007")
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, name FROM organizations")).one() == (org, "杉並区")
        service = insert(
            conn,
            "services",
            kind="ibasho",
            name="居場所",
            name_kana="",
            operator="",
            audiences="[]",
            age_note="",
            description="",
            address="",
            access="",
            phone="",
            email="",
            url="",
            cost="",
            booking="none",
            how_to_apply="",
            consult_methods="[]",
            anonymous_ok=True,
            family_alone_ok=False,
            accessibility="",
            confidentiality="",
            status="published",
            closed_on_holidays=True,
            closed_year_end=True,
            schedule_note="",
            last_checked_on=date(2026, 12, 1),
            created_at=created,
            updated_at=created,
        )
        insert(
            conn,
            "service_schedules",
            service_id=service,
            position=0,
            freq="MONTHLY",
            byday="2SA",
            opens_at="13:00:00",
            closes_at="16:00:00",
            closed=False,
        )
    for statement in (
        "UPDATE services SET kind = 'library'",
        "UPDATE service_schedules SET freq = 'DAILY'",
        "UPDATE service_schedules SET closes_at = opens_at",
    ):
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
