"""JIS X 8341-3:2016 AA (≈ WCAG 2.1 AA) on every page a resident can reach, in Chromium.

The pages come from walking the app's GET routes (`conftest.html_pages`): a new page is checked
from the day it is added, and a new route without sample data fails `Site.paths_for`.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from fixtures.site import DEMO_ADMIN, Site, html_pages
from playwright.sync_api import Page, expect

WCAG21AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
axe = Axe()


@pytest.fixture(scope="module")
def pages(site: Site) -> list[str]:
    found = html_pages(site)
    assert len(found) >= 8, found
    return found


@pytest.fixture(scope="module")
def staff_pages(site: Site) -> list[str]:
    found = html_pages(site, staff=True)
    assert len(found) >= 12, found
    return found


@pytest.fixture
def admin_page(browser, site: Site):
    """An office PC (1280 px) signed in as the demo admin through the login form."""
    context = browser.new_context(
        base_url=site.url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    page.goto("/staff/login")
    page.get_by_label(re.compile("^メールアドレス")).fill(DEMO_ADMIN[0])
    page.get_by_label(re.compile("^パスワード")).fill(DEMO_ADMIN[1])
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("催しの一覧")
    yield page
    context.close()


def check(page: Page):
    results = axe.run(page, options=WCAG21AA)
    assert results.violations_count == 0, results.generate_report()


def test_every_page_has_no_axe_violations(page: Page, pages):
    for path in pages:
        page.goto(path)
        check(page)


def test_every_staff_page_has_no_axe_violations(admin_page: Page, staff_pages):
    for path in staff_pages:
        response = admin_page.goto(path)
        assert response.status == 200, path
        check(admin_page)


def assert_no_sideways_scroll(page: Page, paths, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    for path in paths:
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"


def assert_meaningful_titles(page: Page, paths):
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert page.locator("html").get_attribute("lang") == "ja"
        title = page.title()
        assert re.fullmatch(r".+ \| .*ひきこもりサポーター", title), (path, title)
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_count(1)
        # The title says what the page is: its heading, then the site.
        assert heading.inner_text().strip() in title.split(" | ")[0], (path, title)


def test_staff_pages_reflow_at_200_percent(admin_page: Page, staff_pages):
    assert_no_sideways_scroll(admin_page, staff_pages, 640)


def test_staff_pages_have_meaningful_titles(admin_page: Page, staff_pages):
    assert_meaningful_titles(admin_page, staff_pages)


def test_forms_with_errors_have_no_axe_violations(page: Page, site: Site):
    page.goto(f"/events/{site.samples['event_id'][0]}/register")
    page.get_by_role("button", name="メールを送る").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    check(page)
    page.goto(site.paths_by_endpoint["registration.apply_form"][0])
    page.get_by_role("button", name="申し込む").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    check(page)


def test_every_page_is_in_japanese_with_a_meaningful_title(page: Page, pages):
    assert_meaningful_titles(page, pages)


@pytest.mark.parametrize("width", [320, 640, 768], ids=["320px", "200%-of-1280px", "tablet"])
def test_no_horizontal_scrolling(page: Page, pages, width):
    """WCAG 1.4.10 reflow: 320 CSS px, 1280 px at 200 % zoom (= 640 CSS px), a 768 px tablet."""
    assert_no_sideways_scroll(page, pages, width)


TARGETS = """
() => [...document.querySelectorAll(
    'button, .button, input:not([type=hidden]), .site-nav a, .choice')]
  .filter(el => el.offsetParent !== null)
  .map(el => {
    const r = el.getBoundingClientRect();
    // a radio or checkbox is hit through its whole labelled row (.choice)
    const box = el.matches('input[type=radio], input[type=checkbox]')
      ? el.closest('.choice').getBoundingClientRect() : r;
    return {what: el.outerHTML.slice(0, 80), height: box.height, width: box.width};
  })
"""


def test_touch_targets_are_at_least_44px(page: Page, pages):
    for path in pages:
        page.goto(path)
        for target in page.evaluate(TARGETS):
            assert target["height"] >= 44 and target["width"] >= 44, (path, target)


def test_focus_is_visible(page: Page, site: Site):
    page.goto(f"/events/{site.samples['event_id'][0]}/register")
    for _ in range(4):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        )
        assert outline[0] != "none" and outline[1] >= 2, outline


def test_skip_link_goes_to_the_main_content(page: Page):
    page.goto("/events")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へスキップ")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    skip.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_form_inputs_have_labels_and_described_errors(page: Page, site: Site):
    page.goto(site.paths_by_endpoint["registration.apply_form"][0])
    page.get_by_role("button", name="申し込む").click()
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), textarea')]"
        ".filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"
    )
    assert unlabelled == []
    family = page.locator("#family_name")
    described = family.get_attribute("aria-describedby")
    assert "family_name-error" in described.split()
    expect(page.locator("#family_name-error")).to_have_text("姓を入力してください。")


def test_the_checker_itself_finds_a_violation(page: Page):
    """Guards the guard: a page with an unlabelled input must fail axe."""
    page.goto("/events")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')"
    )
    results = axe.run(page, options=WCAG21AA)
    assert "label" in {v["id"] for v in results.response["violations"]}
