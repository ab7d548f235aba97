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


def fill_form(page: Page, phone: str = "０９０ー１２３４ー５６７８", given="花子", kana="はなこ"):
    field(page, "姓").fill("杉並")
    field(page, "名").fill(given)
    field(page, "フリガナ（セイ）").fill("すぎなみ")
    field(page, "フリガナ（メイ）").fill(kana)
    field(page, "電話番号").fill(phone)
    page.get_by_label("区内在住").check()
    page.get_by_label("50代").check()
    page.get_by_label(re.compile("^上記の利用目的に同意します")).check()


def mailed_link(site: Site, inbox, address: str) -> str:
    """Run the mail worker once, read the mail to `address` from the SMTP server, and return
    the path of the application link in its text part."""
    from hikisupport.mail.outbox import deliver_due

    with site.app.app_context():
        deliver_due()
    (mail,) = [m for m in inbox.messages() if m["To"] == address]
    text = mail.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/events/\d+/apply/[A-Za-z0-9_.-]+)", text)
    assert match, text
    return match.group(1)


def ask_for_link(page: Page, address: str):
    field(page, "メールアドレス").fill(address)
    page.get_by_role("button", name="メールを送る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("メールをお送りしました")


def test_resident_journey_through_the_mailed_link_on_a_phone(page: Page, site: Site, inbox):
    """The address, the mail (from the test SMTP server), the link, one wrong field, the
    personal page with its QR, cancelling — with axe on every page on the way."""
    from test_a11y import check

    event_id = make_site_event(site, "スマホで申し込む養成講座", capacity=5)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto("/events")
    check(page)
    page.get_by_role("link", name="スマホで申し込む養成講座").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("スマホで申し込む養成講座")
    check(page)
    page.get_by_role("link", name="申し込む", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("メールアドレスの入力")
    check(page)
    ask_for_link(page, "phone-user@example.jp")
    check(page)

    page.goto(mailed_link(site, inbox, "phone-user@example.jp"))
    expect(page.get_by_text("phone-user@example.jp")).to_be_visible()
    check(page)
    # One wrong field first: the phone number is too short.
    fill_form(page, phone="03-1234")
    page.get_by_role("button", name="申し込む").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # focus moved to the error summary
    expect(field(page, "電話番号")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#phone-error")).to_contain_text("電話番号の形式が正しくありません")
    check(page)
    summary.get_by_role("link").click()
    expect(field(page, "電話番号")).to_be_focused()
    expect(field(page, "姓")).to_have_value("杉並")  # kept

    field(page, "電話番号").fill("090-1234-5678")
    page.get_by_label(re.compile("^上記の利用目的に同意します")).check()
    page.get_by_role("button", name="申し込む").click()

    expect(page).to_have_url(re.compile(r"/r/[A-Za-z0-9_-]{43}$"))
    expect(page.get_by_text("参加確定").first).to_be_visible()
    expect(page.get_by_text("確認のメールをお送りします")).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("受付用QRコード"))
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150  # big enough to scan from a phone screen
    check(page)

    page.get_by_role("link", name="キャンセルする").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("キャンセルしますか")
    check(page)
    page.get_by_role("button", name="キャンセルする").click()
    expect(page.get_by_text("このお申し込みはキャンセルされています。")).to_be_visible()
    check(page)

    assert hosts == {urlsplit(site.url).netloc}  # nothing from another host
    with site.app.app_context():
        registration = db.session.scalar(sa.select(Registration).filter_by(event_id=event_id))
        assert registration.status == "cancelled"
        assert registration.phone == "09012345678"
        assert registration.family_name_kana == "スギナミ"
        assert registration.email == "phone-user@example.jp"


def test_a_family_member_and_the_waitlist_on_one_address(page: Page, browser, site: Site, inbox):
    event_id = make_site_event(site, "満席の養成講座", capacity=1)
    page.goto(f"/events/{event_id}/register")
    ask_for_link(page, "family@example.jp")
    link = mailed_link(site, inbox, "family@example.jp")
    page.goto(link)
    fill_form(page)
    page.get_by_role("button", name="申し込む").click()
    expect(page.get_by_text("参加確定").first).to_be_visible()
    first_url = page.url

    # Her son, on another phone, through the same link: the course is full now.
    other = browser.new_context(
        base_url=site.url,
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    second = other.new_page()
    second.goto(link)
    expect(second.get_by_text("杉並 花子 様")).to_be_visible()  # who on this address applied
    second.get_by_role("link", name="ほかの方（ご家族など）も申し込む").click()
    fill_form(second, given="太郎", kana="たろう")
    second.get_by_role("button", name="キャンセル待ちに申し込む").click()
    expect(second.get_by_text("現在 1 番目")).to_be_visible()

    # The first cancels; the second is promoted automatically.
    page.goto(first_url + "/cancel")
    page.get_by_role("button", name="キャンセルする").click()
    second.reload()
    expect(second.get_by_text("参加確定").first).to_be_visible()
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
