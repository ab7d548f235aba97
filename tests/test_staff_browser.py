"""Staff pages in Debian's Chromium where layout and behaviour are the point: roster tables that
do not break names mid-word, the event form's 「回を追加する」 with and without JavaScript, the
print sheet's buttons."""

import re

import pytest
import sqlalchemy as sa
from fixtures.site import DEMO_ADMIN, Site
from playwright.sync_api import Page, expect

from hikisupport.core.extensions import db
from hikisupport.models import Event

LONG_NEEDS = (
    "車いすで参加します。会場の入口からエレベーターまでの経路と、"
    "車いすのまま座れる席の位置を事前に教えていただけると助かります。"
    "また、介助者が1名同行します。"
)
PEOPLE = [
    ("長谷川", "久美子", "ハセガワ", "クミコ", "kumiko.hasegawa.family@example.jp"),
    ("勅使河原", "美智子", "テシガワラ", "ミチコ", "teshigawara.michiko@example.jp"),
    ("小鳥遊", "ひかり", "タカナシ", "ヒカリ", "takanashi-hikari-0123@example.jp"),
]


@pytest.fixture(scope="module")
def roster_event_id(site: Site) -> int:
    """An event on the demo site whose roster has long names, addresses and requests."""
    from hikisupport.registration import services
    from hikisupport.registration.services import Applicant

    with site.app.app_context():
        event = db.session.scalars(sa.select(Event).order_by(Event.id)).first()
        for family, given, fk, gk, email in PEOPLE:
            services.register(
                event,
                Applicant(
                    family_name=family,
                    given_name=given,
                    family_name_kana=fk,
                    given_name_kana=gk,
                    email=email,
                    phone="09012345678",
                    residency="live",
                    age_group="40s",
                    accommodations=["wheelchair", "other", "childcare"],
                    childcare_ages="3歳と5歳",
                    needs=LONG_NEEDS,
                ),
            )
        db.session.commit()
        return event.id


def staff_page(browser, site: Site, width: int, javascript: bool = True) -> Page:
    context = browser.new_context(
        base_url=site.url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": width, "height": 900},
        java_script_enabled=javascript,
    )
    page = context.new_page()
    page.goto("/staff/login")
    page.get_by_label(re.compile("^メールアドレス")).fill(DEMO_ADMIN[0])
    page.get_by_label(re.compile("^パスワード")).fill(DEMO_ADMIN[1])
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("催しの一覧")
    return page


# For each cell in the named columns: how many lines its first piece of text takes.
BROKEN_CELLS = """
(columns) => {
  const table = document.querySelector("table.table");
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const broken = [];
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, i) => {
      if (!columns.includes(heads[i])) return;
      const node = [...cell.childNodes].find((n) => n.textContent.trim());
      if (!node) return;
      const range = document.createRange();
      range.selectNodeContents(node);
      const tops = new Set(
        [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size !== 1) broken.push([heads[i], node.textContent.trim(), tops.size]);
    });
  }
  return broken;
}
"""


@pytest.mark.parametrize("width", [1280, 768])
def test_roster_cells_do_not_break_mid_word(browser, site: Site, roster_event_id, width):
    page = staff_page(browser, site, width)
    page.goto(f"/staff/events/{roster_event_id}/registrations")
    expect(page.get_by_role("heading", level=1)).to_have_text("申込者一覧")
    broken = page.evaluate(BROKEN_CELLS, ["受付番号", "状態", "氏名", "フリガナ"])
    assert broken == [], f"cells broken across lines at {width}px: {broken}"
    # The rule is in place (not luck of the data): the cells measure as one line by CSS.
    assert (
        page.evaluate("getComputedStyle(document.querySelector('tbody td.keep')).whiteSpace")
        == "nowrap"
    )
    # Long content scrolls inside the table's region, never the page.
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    session_id = site.samples["session_id"][0]
    page.goto(f"/staff/sessions/{session_id}/roster")
    assert page.evaluate(BROKEN_CELLS, ["受付番号", "氏名", "フリガナ"]) == []
    page.context.close()


def test_adding_a_session_keeps_the_place_and_copies_the_venue(browser, site: Site):
    page = staff_page(browser, site, 1280)
    page.goto("/staff/events/new")
    page.evaluate("window.sameDocument = true")  # survives only if nothing reloads
    page.locator("#sessions-0-starts_at").fill("2027-03-06T14:00")
    page.locator("#sessions-0-ends_at").fill("2027-03-06T16:00")
    page.locator("#sessions-0-venue").fill("杉並区役所 中棟6階 第4会議室")
    page.locator("#sessions-0-access").fill("南阿佐ケ谷駅すぐ")
    add = page.get_by_role("button", name="回を追加する")
    add.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 0
    add.click()
    expect(page.locator("#session-2")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True  # added in place, no reload
    assert abs(page.evaluate("window.scrollY") - before) < 400  # not back at the top
    expect(page.locator("#sessions-1-venue")).to_have_value("杉並区役所 中棟6階 第4会議室")
    expect(page.locator("#sessions-1-access")).to_have_value("南阿佐ケ谷駅すぐ")
    expect(page.locator("#sessions-1-starts_at")).to_have_value("")
    expect(page.locator("#sessions-1-starts_at")).to_be_focused()
    expect(page.locator("#session-2 legend")).to_contain_text("第2回")

    # The added row is a real row of the form: saving creates both 回.
    page.get_by_label(re.compile("^名称")).fill("ブラウザで回を追加した講座")
    page.get_by_label("講演会").check()
    page.locator("#capacity").fill("30")
    page.locator("#sessions-1-starts_at").fill("2027-03-13T14:00")
    page.locator("#sessions-1-ends_at").fill("2027-03-13T16:00")
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ブラウザで回を追加した講座")
    with site.app.app_context():
        event = db.session.scalar(sa.select(Event).filter_by(title="ブラウザで回を追加した講座"))
        assert [s.venue for s in event.sessions] == ["杉並区役所 中棟6階 第4会議室"] * 2
    page.context.close()


def test_without_javascript_the_new_row_is_where_the_page_opens(browser, site: Site):
    page = staff_page(browser, site, 1280, javascript=False)
    page.goto("/staff/events/new")
    page.locator("#sessions-0-venue").fill("区民センター")
    page.get_by_role("button", name="回を追加する").click()
    expect(page.locator("#session-2")).to_be_visible()
    assert page.evaluate("location.hash") == "#session-2"
    assert page.evaluate("window.scrollY") > 0
    box = page.locator("#session-2").bounding_box()
    assert -2 <= box["y"] < 900  # the new row is on screen (scrolled to it)
    expect(page.locator("#sessions-1-venue")).to_have_value("区民センター")
    page.context.close()


def test_the_print_sheet_prints_and_leads_back(browser, site: Site, roster_event_id):
    page = staff_page(browser, site, 1280)
    with site.app.app_context():
        session_id = db.session.get(Event, roster_event_id).sessions[0].id
    page.goto(f"/staff/sessions/{session_id}/print")
    expect(page.get_by_role("columnheader", name="電話番号")).to_be_visible()
    expect(page.get_by_text("090-1234-5678").first).to_be_visible()
    expect(page.get_by_text("介助者が1名同行します").first).to_be_visible()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="印刷する").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="印刷する")).to_be_hidden()
    expect(page.get_by_role("link", name=re.compile("受付名簿（画面）に戻る"))).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name=re.compile("受付名簿（画面）に戻る")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("受付名簿")
    page.context.close()
