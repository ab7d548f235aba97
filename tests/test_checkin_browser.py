"""The tablet check-in page in Debian's Chromium (Playwright), on a 1024×768 touch screen:
pairing, checking in by tap, ひらがな search, typed code and walk-in; offline with the service
worker; two tablets that both checked one person in offline; a revoked device; the QR decoder
reading the app's own ticket PNG."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from fixtures.site import DEMO_ADMIN, Site
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Attendance, Device, Event, Session

TABLET = {"width": 1024, "height": 768}
WCAG21AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PEOPLE = [
    ("杉並", "花子", "スギナミ", "ハナコ"),
    ("高円寺", "次郎", "コウエンジ", "ジロウ"),
    ("阿佐谷", "三郎", "アサガヤ", "サブロウ"),
    ("荻窪", "四子", "オギクボ", "ヨツコ"),
    ("西荻", "五郎", "ニシオギ", "ゴロウ"),
    ("方南", "六子", "ホウナン", "ムツコ"),
]


def today_event(site: Site, title: str) -> tuple[int, int, dict[str, str]]:
    """A course held now with six confirmed people: (event id, session id, {name: ticket})."""
    from hikisupport.registration import services
    from hikisupport.staff.services import get_or_create_organization

    with site.app.app_context(), site.app.test_request_context():
        now = utcnow()
        event = Event(
            organization=get_or_create_organization("杉並区", kind="ward"),
            kind="course",
            title=title,
            capacity=20,
            waitlist=True,
            certifies=True,
            registration_opens_at=now - timedelta(days=10),
            registration_closes_at=now + timedelta(hours=1),
            sessions=[
                Session(
                    number=1,
                    starts_at=now - timedelta(minutes=20),
                    ends_at=now + timedelta(hours=2),
                    venue="杉並区役所 第4会議室",
                )
            ],
        )
        db.session.add(event)
        db.session.flush()
        tickets = {}
        for i, (family, given, family_kana, given_kana) in enumerate(PEOPLE):
            applicant = services.Applicant(
                family_name=family,
                given_name=given,
                family_name_kana=family_kana,
                given_name_kana=given_kana,
                email=f"{title.encode().hex()[:12]}-{i}@example.jp",
                phone="0333122111",
                residency="live",
                age_group="50s",
            )
            registration = services.register(event, applicant).registration
            tickets[f"{family} {given}"] = registration.ticket
        db.session.commit()
        return event.id, event.sessions[0].id, tickets


def pairing_code(site: Site, event_id: int, name: str) -> tuple[int, str]:
    from hikisupport.checkin import services

    with site.app.app_context(), site.app.test_request_context():
        device = services.create_device(name, [db.session.get(Event, event_id)])
        code = services.new_pairing(device).code
        db.session.commit()
        return device.id, code


def rows(site: Site, session_id: int) -> list[Attendance]:
    with site.app.app_context():
        found = db.session.scalars(
            sa.select(Attendance).where(
                Attendance.session_id == session_id, Attendance.undone_at.is_(None)
            )
        ).all()
        for row in found:
            db.session.expunge(row)
        return list(found)


def wait_for_rows(site: Site, session_id: int, n: int, timeout: float = 20) -> list[Attendance]:
    """The server's rows once there are `n` (the page sends in the background)."""
    import time

    deadline = time.monotonic() + timeout
    while len(found := rows(site, session_id)) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def tablet(browser: Browser, site: Site, viewport=TABLET) -> BrowserContext:
    return browser.new_context(
        base_url=site.url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport=viewport,
        has_touch=True,
    )


def pair(page: Page, code: str, device_name: str):
    page.goto("/checkin/pair")
    page.get_by_label(re.compile("^ペアリングコード")).fill(code)
    page.get_by_role("button", name="登録する").click()
    expect(page).to_have_url(re.compile(r"/checkin/$"))
    expect(page.locator("[data-device-name]")).to_have_text(device_name)
    expect(page.locator("[data-network]")).to_have_text("オンライン")


def wait_for_roster(page: Page, confirmed: int):
    expect(page.locator('[data-count="confirmed"]')).to_have_text(str(confirmed))


def feedback(page: Page):
    return page.locator("[data-feedback-title]")


def tap_name(page: Page, query: str, name: str):
    page.get_by_label(re.compile("^氏名・フリガナ")).fill(query)
    page.get_by_role("button", name=f"{name} さんを受付する").tap()


def type_code(page: Page, ticket: str):
    page.get_by_label(re.compile("^受付番号")).fill(ticket.lower())
    page.get_by_role("button", name="受付する", exact=True).tap()


def wait_until_controlled(page: Page):
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null || true")


def test_staff_pair_a_tablet_check_in_four_ways_then_offline(browser: Browser, site: Site):
    event_id, session_id, tickets = today_event(site, "タブレット受付の講座")

    # The organizer adds a device on the staff page and reads its pairing code.
    office = browser.new_context(base_url=site.url, locale="ja-JP", viewport=TABLET)
    staff = office.new_page()
    staff.goto("/staff/login")
    staff.get_by_label(re.compile("^メールアドレス")).fill(DEMO_ADMIN[0])
    staff.get_by_label(re.compile("^パスワード")).fill(DEMO_ADMIN[1])
    staff.get_by_role("button", name="ログイン").click()
    staff.goto("/staff/devices/new")
    staff.get_by_label(re.compile("^端末の名前")).fill("入口タブレット")
    staff.get_by_label("タブレット受付の講座").check()
    staff.get_by_role("button", name=re.compile("追加して")).click()
    expect(staff.get_by_role("img", name=re.compile("ペアリング用QRコード"))).to_be_visible()
    code = staff.locator("[data-pairing-code]").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)

    context = tablet(browser, site)
    page = context.new_page()
    pair(page, code.lower(), "入口タブレット")
    wait_for_roster(page, 6)

    # By tapping a name found with ひらがな.
    tap_name(page, "すぎなみ", "杉並 花子")
    expect(feedback(page)).to_have_text("受付しました")
    expect(page.locator("[data-feedback]")).to_have_class(re.compile("feedback--ok"))
    # By typing a ticket code (lower case is fine).
    type_code(page, tickets["高円寺 次郎"])
    expect(page.locator("[data-feedback-detail]")).to_have_text("高円寺 次郎 さん")
    # The same code again: already in, by this tablet.
    type_code(page, tickets["高円寺 次郎"])
    expect(feedback(page)).to_have_text(re.compile(r"^受付済（この端末 \d\d:\d\d）$"))
    # A walk-in.
    page.get_by_text("当日参加の方を登録して受付する").tap()
    walk_in = page.locator("[data-walkin-form]")
    walk_in.get_by_role("textbox", name=re.compile("^姓")).fill("当日")
    walk_in.get_by_role("textbox", name=re.compile("^名")).fill("七子")
    walk_in.get_by_role("textbox", name=re.compile(r"^フリガナ（セイ）")).fill("とうじつ")
    walk_in.get_by_role("textbox", name=re.compile(r"^フリガナ（メイ）")).fill("ななこ")
    page.get_by_label(re.compile("^年代")).select_option("30s")
    page.get_by_label("本人に利用目的を説明し、同意を得ました").check()
    page.get_by_role("button", name="当日参加として受付する").tap()
    expect(feedback(page)).to_have_text("当日参加として受付しました")
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 0")
    expect(page.locator('[data-count="checked_in"]')).to_have_text("3")
    expect(page.locator('[data-count="walk_ins"]')).to_have_text("1")
    assert len(wait_for_rows(site, session_id, 3)) == 3

    # An unknown code, online: the server answers at once.
    type_code(page, "ZZZZZZZZZZ")
    expect(feedback(page)).to_have_text("この受付番号の申込は見つかりません。")
    expect(page.locator("[data-feedback]")).to_have_class(re.compile("feedback--error"))
    results = Axe().run(page, options=WCAG21AA)
    assert results.violations_count == 0, results.generate_report()

    # Offline: the page reloads from the service worker's cache and keeps working.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    context.set_offline(True)
    page.reload()
    expect(page.locator("[data-network]")).to_have_text("オフライン")
    wait_for_roster(page, 7)
    tap_name(page, "あさがや", "阿佐谷 三郎")
    expect(feedback(page)).to_have_text("受付しました")
    tap_name(page, "おぎくぼ", "荻窪 四子")
    expect(feedback(page)).to_have_text("受付しました")
    type_code(page, tickets["西荻 五郎"])
    expect(feedback(page)).to_have_text("受付しました")
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 3")
    durations = page.evaluate(
        "performance.getEntriesByName('checkin:tap-to-answer').map(e => e.duration)"
    )
    assert len(durations) == 3 and max(durations) < 100, durations  # the door answers at once
    assert len(rows(site, session_id)) == 3  # nothing reached the server

    context.set_offline(False)
    expect(page.locator("[data-network]")).to_have_text("オンライン")
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 0", timeout=20000)
    recorded = wait_for_rows(site, session_id, 6)
    assert len(recorded) == 6  # exactly the three more
    with site.app.app_context():
        device = db.session.scalar(sa.select(Device).filter_by(name="入口タブレット"))
        assert {r.device_id for r in recorded} == {device.id}
        assert sorted(str(r.method) for r in recorded) == [
            "name",
            "name",
            "name",
            "qr",
            "qr",
            "walk_in",
        ]
    context.close()
    office.close()


def test_an_unknown_ticket_offline_is_unconfirmed_then_answered(browser: Browser, site: Site):
    event_id, session_id, tickets = today_event(site, "未確認の講座")
    _, code = pairing_code(site, event_id, "受付A")
    context = tablet(browser, site)
    page = context.new_page()
    pair(page, code, "受付A")
    wait_for_roster(page, 6)
    # Someone who signs up after the tablet's last refresh.
    late_event, _, late_tickets = today_event(site, "別の回の講座")
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(page.locator("[data-network]")).to_have_text("オフライン")
    type_code(page, late_tickets["杉並 花子"])
    expect(feedback(page)).to_have_text("未確認")
    expect(page.locator("[data-feedback]")).to_have_class(re.compile("feedback--warn"))
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 1")
    context.set_offline(False)
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 0", timeout=20000)
    expect(feedback(page)).to_have_text("この回の申込ではありません。")
    expect(page.locator("[data-log]")).to_contain_text("この回の申込ではありません。")
    assert rows(site, session_id) == []
    context.close()


def test_a_check_in_queued_while_a_send_is_under_way_goes_out_right_after_it(
    browser: Browser, site: Site
):
    """A slow network: the first check-in's send is still on its way when the next person is
    checked in. The second must follow as soon as the first send ends — not wait for the
    15-second interval (the noisy hall's organizer watches 「送信待ち」)."""
    event_id, session_id, tickets = today_event(site, "遅い回線の講座")
    _, code = pairing_code(site, event_id, "受付S")
    context = tablet(browser, site)
    page = context.new_page()
    pair(page, code, "受付S")
    wait_for_roster(page, 6)

    def slow(route):
        page.wait_for_timeout(1500)  # the batch is on a slow network
        route.continue_()

    page.route("**/api/v1/checkins/batch", slow)
    type_code(page, tickets["杉並 花子"])
    page.wait_for_function("document.querySelector('[data-pending]').textContent !== ''")
    type_code(page, tickets["高円寺 次郎"])
    # Well under the 15 s interval: sent right after the first send ended.
    expect(page.locator("[data-pending]")).to_have_text("送信待ち 0", timeout=6000)
    assert len(wait_for_rows(site, session_id, 2, timeout=5)) == 2
    context.close()


def test_two_tablets_offline_make_one_row_and_the_second_shows_the_first(
    browser: Browser, site: Site
):
    event_id, session_id, tickets = today_event(site, "2台で受付する講座")
    tablets = []
    for name in ("受付1号", "受付2号"):
        _, code = pairing_code(site, event_id, name)
        context = tablet(browser, site)
        page = context.new_page()
        pair(page, code, name)
        wait_for_roster(page, 6)
        tablets.append((context, page))
    (first_context, first), (second_context, second) = tablets

    for context, _ in tablets:
        context.set_offline(True)
    for _, page in tablets:
        page.evaluate("window.dispatchEvent(new Event('offline'))")
        tap_name(page, "ほうなん", "方南 六子")
        expect(feedback(page)).to_have_text("受付しました")
    first_time = first.locator(".checkin-result__state").inner_text()

    first_context.set_offline(False)
    expect(first.locator("[data-pending]")).to_have_text("送信待ち 0", timeout=20000)
    second_context.set_offline(False)
    expect(second.locator("[data-pending]")).to_have_text("送信待ち 0", timeout=20000)
    hhmm = re.search(r"\d\d:\d\d", first_time).group(0)
    expect(second.locator("[data-log]")).to_contain_text(f"受付済（他の端末 {hhmm}）")
    expect(feedback(second)).to_have_text(f"受付済（他の端末 {hhmm}）")
    (row,) = rows(site, session_id)
    with site.app.app_context():
        assert db.session.get(Device, row.device_id).name == "受付1号"
    for context, _ in tablets:
        context.close()


def test_a_revoked_device_wipes_its_local_data(browser: Browser, site: Site):
    from hikisupport.checkin import services

    event_id, _, _ = today_event(site, "取り消す端末の講座")
    device_id, code = pairing_code(site, event_id, "取り消す端末")
    context = tablet(browser, site)
    page = context.new_page()
    pair(page, code, "取り消す端末")
    wait_for_roster(page, 6)
    with site.app.app_context(), site.app.test_request_context():
        services.revoke(db.session.get(Device, device_id))
        db.session.commit()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.get_by_text("この端末の登録は取り消されました。")).to_be_visible()
    names = page.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    assert "hikisupport-checkin" not in names
    context.close()


@pytest.mark.parametrize("viewport", [{"width": 768, "height": 1024}, TABLET])
def test_the_paired_page_fits_portrait_and_landscape_with_44px_targets(
    browser: Browser, site: Site, viewport
):
    event_id, _, _ = today_event(site, f"画面の向きの講座{viewport['width']}")
    _, code = pairing_code(site, event_id, "向き")
    context = tablet(browser, site, viewport)
    page = context.new_page()
    pair(page, code, "向き")
    wait_for_roster(page, 6)
    page.get_by_label(re.compile("^氏名・フリガナ")).fill("す")
    page.get_by_text("当日参加の方を登録して受付する").tap()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    small = page.evaluate(
        """[...document.querySelectorAll(
             'main button, main input:not([type=hidden]), main select, main summary, main .choice')]
           .filter(el => el.offsetParent !== null)
           .map(el => {
             const box = el.matches('input[type=radio], input[type=checkbox]')
               ? el.closest('.choice').getBoundingClientRect() : el.getBoundingClientRect();
             return {what: el.outerHTML.slice(0, 60), h: box.height, w: box.width};
           })
           .filter(t => t.h < 44 || t.w < 44)"""
    )
    assert small == []
    results = Axe().run(page, options=WCAG21AA)
    assert results.violations_count == 0, results.generate_report()
    context.close()


# Debian's Chromium has no BarcodeDetector (Chrome on Android has). To run the page's branch
# for it, a test may give the page one: the W3C Shape Detection interface (getSupportedFormats,
# detect → [{rawValue, format, …}]) with the decoding done by the vendored jsQR on the real
# frame. It proves how the page uses the interface — not Chrome's own detector — and counts
# its calls so the test knows that branch ran.
STAND_IN_BARCODE_DETECTOR = """
(() => {
  self.__barcodeDetectorCalls = 0;
  class BarcodeDetector {
    static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
    constructor(options) {
      if (!options || !Array.isArray(options.formats) || !options.formats.length) {
        throw new TypeError("BarcodeDetector: formats expected");
      }
      this.formats = options.formats;
    }
    async detect(source) {
      self.__barcodeDetectorCalls += 1;
      const w = source.videoWidth || source.naturalWidth || source.width;
      const h = source.videoHeight || source.naturalHeight || source.height;
      if (!w || !h || !this.formats.includes("qr_code")) { return []; }
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(source, 0, 0, w, h);
      const found = self.jsQR(ctx.getImageData(0, 0, w, h).data, w, h);
      return found
        ? [{ rawValue: found.data, format: "qr_code", boundingBox: new DOMRectReadOnly(),
             cornerPoints: [] }]
        : [];
    }
  }
  self.BarcodeDetector = BarcodeDetector;
})();
"""
DECODERS = ["jsQR", "BarcodeDetector"]


@pytest.mark.parametrize("decoder", DECODERS)
def test_the_page_s_decoder_reads_the_app_s_own_ticket_png(page: Page, site: Site, decoder):
    """The scanner and the ticket agree: the QR the app mails is read by the page's decoder —
    the vendored jsQR (Chromium on Linux, Safari on an iPad) and, where the browser has one, a
    BarcodeDetector (here the stand-in above)."""
    from hikisupport.registration.tickets import new_ticket_code, ticket_png

    if decoder == "BarcodeDetector":
        page.add_init_script(STAND_IN_BARCODE_DETECTOR)
    code = new_ticket_code()
    png = "data:image/png;base64," + base64.b64encode(ticket_png(code)).decode()
    page.goto("/checkin/")
    decoded = page.evaluate(
        """async (png) => {
             const scanner = await import('/static/js/checkin/scanner.js');
             return [await scanner.decoderName(), await scanner.decodeImage(png),
                     self.__barcodeDetectorCalls ?? null];
           }""",
        png,
    )
    if decoder == "jsQR":
        assert decoded == ["jsQR", code, None]
    else:
        assert decoded == ["BarcodeDetector", code, 1]


def y4m_of(png: bytes, path, width: int = 640, height: int = 480, frames: int = 5):
    """A short grey-scale Y4M video showing the image: what Chromium's fake camera plays."""
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 40
    frame = Image.new("L", (width, height), 255)
    frame.paste(picture.resize((side, side)), ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.mark.parametrize("decoder", DECODERS)
def test_a_ticket_shown_to_the_camera_checks_its_holder_in(
    browser_type, browser_type_launch_args, site: Site, tmp_path, decoder
):
    """The QR path end to end: Chromium's fake camera shows the app's own ticket PNG, read by
    jsQR or by a BarcodeDetector (the stand-in above)."""
    from hikisupport.registration.tickets import ticket_png

    event_id, session_id, tickets = today_event(site, "カメラで受付する講座")
    _, code = pairing_code(site, event_id, "カメラ")
    video = tmp_path / "ticket.y4m"
    y4m_of(ticket_png(tickets["荻窪 四子"]), video)
    args = [
        *browser_type_launch_args["args"],
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    camera_browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    try:
        context = camera_browser.new_context(
            base_url=site.url,
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
            viewport=TABLET,
            has_touch=True,
            permissions=["camera"],
        )
        if decoder == "BarcodeDetector":
            context.add_init_script(STAND_IN_BARCODE_DETECTOR)
        page = context.new_page()
        pair(page, code, "カメラ")
        wait_for_roster(page, 6)
        page.get_by_role("button", name="カメラで読み取る").tap()
        expect(page.locator("[data-feedback-detail]")).to_have_text("荻窪 四子 さん", timeout=15000)
        expect(feedback(page)).to_have_text("受付しました")
        calls = page.evaluate("self.__barcodeDetectorCalls ?? null")
        if decoder == "jsQR":
            assert calls is None
        else:
            assert calls >= 1  # the frames went to the BarcodeDetector, not to jsQR
        (row,) = wait_for_rows(site, session_id, 1)
        assert str(row.method) == "qr"
        page.get_by_role("button", name="カメラを止める").tap()
        context.close()
    finally:
        camera_browser.close()
