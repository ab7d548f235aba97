"""Resident journeys in Debian's Chromium on a phone-sized screen (Playwright)."""

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from fixtures.site import Site
from playwright.sync_api import Page, expect

from hikisupport.core.extensions import db
from hikisupport.models import Event, Registration, Session


def make_site_event(site: Site, title: str, capacity: int) -> int:
    """A fresh course on the live site, so journeys do not disturb each other."""
    from hikisupport.core.database import utcnow
    from hikisupport.core.japanese import jst_datetime
    from hikisupport.staff.services import get_or_create_organization

    with site.app.app_context():
        now = utcnow()
        event = Event(
            organization=get_or_create_organization("杉並区", kind="ward"),
            kind="course",
            title=title,
            description="ブラウザテスト用の講座です。",
            capacity=capacity,
            waitlist=True,
            certifies=True,
            registration_opens_at=now.replace(year=now.year - 1),
            registration_closes_at=jst_datetime(now.year + 1, 1, 10, 9, 0),
            sessions=[
                Session(
                    number=1,
                    starts_at=jst_datetime(now.year + 1, 1, 16, 14, 0),
                    ends_at=jst_datetime(now.year + 1, 1, 16, 16, 0),
                    venue="杉並区役所 中棟6階 第4会議室",
                )
            ],
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def field(page: Page, label: str):
    """An input by its label as a screen reader announces it (with 必須/任意)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\s*(必須|任意)?$"))


def fill_form(page: Page, email: str, phone: str = "０９０ー１２３４ー５６７８"):
    field(page, "姓").fill("杉並")
    field(page, "名").fill("花子")
    field(page, "フリガナ（セイ）").fill("すぎなみ")
    field(page, "フリガナ（メイ）").fill("はなこ")
    field(page, "メールアドレス").fill(email)
    field(page, "電話番号").fill(phone)
    page.get_by_label("区内在住").check()
    page.get_by_label("50代").check()
    page.get_by_label(re.compile("^上記の利用目的に同意します")).check()


def test_resident_finds_signs_up_sees_qr_and_cancels(page: Page, site: Site):
    event_id = make_site_event(site, "スマホで申し込む養成講座", capacity=5)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto("/events")
    page.get_by_role("link", name="スマホで申し込む養成講座").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("スマホで申し込む養成講座")
    page.get_by_role("link", name="申し込む").click()

    # One wrong field first: the phone number is too short.
    fill_form(page, "phone-user@example.jp", phone="03-1234")
    page.get_by_role("button", name="申し込む").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # focus moved to the error summary
    expect(field(page, "電話番号")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#phone-error")).to_contain_text("電話番号の形式が正しくありません")
    summary.get_by_role("link").click()
    expect(field(page, "電話番号")).to_be_focused()
    expect(field(page, "姓")).to_have_value("杉並")  # kept

    field(page, "電話番号").fill("090-1234-5678")
    page.get_by_label(re.compile("^上記の利用目的に同意します")).check()
    page.get_by_role("button", name="申し込む").click()

    expect(page).to_have_url(re.compile(r"/r/[A-Za-z0-9_-]{43}$"))
    expect(page.get_by_text("参加確定")).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("受付用QRコード"))
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150  # big enough to scan from a phone screen

    page.get_by_role("link", name="キャンセルする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("キャンセルしますか")
    page.get_by_role("button", name="キャンセルする").click()
    expect(page.get_by_text("このお申し込みはキャンセルされています。")).to_be_visible()

    assert hosts == {urlsplit(site.url).netloc}  # nothing from another host
    with site.app.app_context():
        registration = db.session.scalar(sa.select(Registration).filter_by(event_id=event_id))
        assert registration.status == "cancelled"
        assert registration.phone == "09012345678"
        assert registration.family_name_kana == "スギナミ"


def test_second_resident_is_promoted_from_the_waitlist(page: Page, browser, site: Site):
    event_id = make_site_event(site, "満席の養成講座", capacity=1)

    page.goto(f"/events/{event_id}/register")
    fill_form(page, "first@example.jp")
    page.get_by_role("button", name="申し込む").click()
    expect(page.get_by_text("参加確定")).to_be_visible()
    first_url = page.url

    # A second resident on their own phone: the course is full, so they join the waitlist.
    other = browser.new_context(
        base_url=site.url,
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    second = other.new_page()
    second.goto(f"/events/{event_id}")
    expect(second.get_by_text("満席・キャンセル待ち受付中").first).to_be_visible()
    second.get_by_role("link", name="キャンセル待ちに申し込む").click()
    fill_form(second, "second@example.jp")
    second.get_by_role("button", name="キャンセル待ちに申し込む").click()
    expect(second.get_by_text("現在 1 番目")).to_be_visible()

    # The first cancels; the second is promoted automatically.
    page.goto(first_url + "/cancel")
    page.get_by_role("button", name="キャンセルする").click()
    second.reload()
    expect(second.get_by_text("参加確定")).to_be_visible()
    expect(second.get_by_role("img", name=re.compile("受付用QRコード"))).to_be_visible()
    other.close()


def test_family_member_finds_an_ibasho_open_this_saturday_and_can_call_it(page: Page, site: Site):
    """On a 390 px phone: filter by 居場所 and 今度の土曜日, then one tap on the tel: link."""
    from axe_playwright_python.sync_playwright import Axe

    from hikisupport.directory import services
    from hikisupport.directory.schedules import parse_hhmm
    from hikisupport.directory.services import ScheduleInput, ServiceInput

    with site.app.app_context():
        # Open every Saturday, holidays and the year end included: "this Saturday" whatever
        # day the test runs.
        services.create_service(
            ServiceInput(
                kind="ibasho",
                name="土曜の居場所（ブラウザテスト）",
                name_kana="ドヨウノイバショ",
                phone="0355550188",
                last_checked_on=services.today_in_japan(),
                closed_on_holidays=False,
                closed_year_end=False,
                schedules=[ScheduleInput("WEEKLY", "SA", parse_hhmm("10:00"), parse_hhmm("16:00"))],
            )
        )
        db.session.commit()
    assert page.viewport_size["width"] == 390

    page.goto("/events")
    page.get_by_role("link", name="まずはご相談ください").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("相談窓口・居場所の一覧")
    page.get_by_label("種類").select_option(label="居場所")
    page.get_by_label("開いている日").select_option(label="今度の土曜日")
    page.get_by_role("button", name="この条件でさがす").click()

    card = page.locator(".service-card").filter(has_text="土曜の居場所（ブラウザテスト）")
    expect(card).to_be_visible()
    expect(card.get_by_text("は 10:00〜16:00")).to_be_visible()
    call = card.get_by_role("link", name=re.compile("電話する 03-5555-0188"))
    expect(call).to_be_visible()
    assert call.get_attribute("href") == "tel:0355550188"
    box = call.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # one tap with a thumb
    for kind in page.locator(".service-card .tag--kind").all_inner_texts():
        assert kind == "居場所"
    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            "resultTypes": ["violations"],
        },
    )
    assert results.violations_count == 0, results.generate_report()

    card.get_by_role("link", name="土曜の居場所（ブラウザテスト）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("土曜の居場所（ブラウザテスト）")
    expect(page.locator('a[href="tel:0355550188"]').first).to_be_visible()
