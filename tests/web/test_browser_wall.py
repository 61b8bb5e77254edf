"""Issue 14, point 8 in a real browser (Chromium driven by Playwright, a real server): the
wall screen cycles overview, scorecard and map with no menu, refreshes its figures and keeps
going without the server; the subscribe button on a page, in Vietnamese and English, on a
desktop and 390 px wide.

Skipped when /usr/bin/chromium is missing, except under CI=true (see test_browser.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.dashboard_world import PASSWORD, browser_login
from tests.web.test_browser import browser, new_page, shots, site  # noqa: F401  (module fixtures, used by name)

pytestmark = pytest.mark.browser

PHONE = 390
LANGS = ("vi", "en")
WORDS = {
    "vi": {"overview": "Tổng quan", "scorecard": "Bảng điểm theo nhóm", "map": "Bản đồ", "offline": "Mất kết nối",
           "subscribe": "Đăng ký nhận qua thư điện tử", "subscribed": "Đã đăng ký: hằng tuần (thứ Hai)",
           "unsubscribe": "Hủy đăng ký"},
    "en": {"overview": "Overview", "scorecard": "Group scorecard", "map": "Map", "offline": "No connection",
           "subscribe": "Subscribe by e-mail", "subscribed": "Subscribed: weekly (Mondays)",
           "unsubscribe": "Unsubscribe"},
}


def open_as(browser, site, who: str, lang: str, width: int):  # noqa: F811
    page = new_page(browser, lang, width)
    page.set_default_timeout(90_000)  # a deadline on a busy machine, not a speed claim
    browser_login(page, site.base, who, PASSWORD)
    page.goto(f"{site.base}/lang/{lang}?next=/account")
    return page


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", [1280, PHONE])
def test_the_wall_cycles_its_three_screens_without_menu_nor_outside_hosts(site, browser, shots, lang, width):  # noqa: F811
    page = open_as(browser, site, "admin", lang, width)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.goto(f"{site.base}/wall?interval=2")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("nav, header.top").count() == 0
    words = WORDS[lang]
    seen = []
    for screen in ("overview", "scorecard", "map"):
        page.wait_for_function("s => document.body.getAttribute('data-screen') === s", arg=screen, timeout=15_000)
        panel = page.locator(f"[data-wall-panel={screen}]")
        assert panel.is_visible() and page.locator("[data-wall-panel]:visible").count() == 1
        assert panel.locator("h1").inner_text().startswith(words[screen])
        # Large type: the headings are read across a room on a desktop.
        if width > PHONE:
            size = float(panel.locator("h1").evaluate("e => getComputedStyle(e).fontSize").rstrip("px"))
            assert size >= 40, size
        # No sideways scrolling of the page itself, even 390 px wide.
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        if screen == "scorecard":
            assert panel.locator("tbody tr").count() > 0
        if screen == "map":
            assert panel.locator("svg path.area, svg circle.dot").count() > 0
        seen.append(screen)
        page.screenshot(path=str(shots / f"wall-{screen}-{lang}-{width}.png"))
    assert seen == ["overview", "scorecard", "map"]
    # And back to the first.
    page.wait_for_function("s => document.body.getAttribute('data-screen') === s", arg="overview", timeout=15_000)
    assert hosts == {urlsplit(site.base).netloc}
    assert not page.errors, page.errors


@pytest.mark.parametrize("lang", LANGS)
def test_the_wall_refreshes_and_keeps_going_without_the_server(site, browser, lang):  # noqa: F811
    page = open_as(browser, site, "steering", lang, 1280)
    page.goto(f"{site.base}/wall?interval=2&refresh=2")
    page.wait_for_function("a => document.body.hasAttribute(a)", arg="data-refreshed", timeout=20_000)
    assert page.locator("[data-wall-offline]").is_hidden()
    page.context.set_offline(True)
    notice = page.locator("[data-wall-offline]")
    notice.wait_for(state="visible", timeout=20_000)
    assert notice.inner_text().startswith(WORDS[lang]["offline"])
    # Still cycling what it has.
    before = page.evaluate("document.body.getAttribute('data-screen')")
    page.wait_for_function("s => document.body.getAttribute('data-screen') !== s", arg=before, timeout=15_000)
    assert page.locator("[data-wall-panel=scorecard] tbody tr").count() > 0
    page.context.set_offline(False)
    notice.wait_for(state="hidden", timeout=20_000)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", [1280, PHONE])
def test_subscribe_to_a_unit_from_its_page_and_unsubscribe(site, browser, lang, width):  # noqa: F811
    page = open_as(browser, site, "editor", lang, width)
    words = WORDS[lang]
    page.goto(f"{site.base}/766/{site.editor_unit}")
    box = page.locator("[data-testid=subscribe]")
    box.locator("select[name=frequency]").select_option("weekly")
    box.get_by_role("button", name=words["subscribe"]).click()
    page.wait_for_load_state()
    box = page.locator("[data-testid=subscribe]")
    assert words["subscribed"] in box.inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    # The same subscription through the API the page's owner holds.
    mine = page.request.get(f"{site.base}/api/v1/subscriptions").json()
    assert [(s["kind"], s["target"], s["frequency"]) for s in mine] == [("unit", site.editor_unit, "weekly")]
    box.get_by_role("button", name=words["unsubscribe"]).click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=subscribe]").get_by_role("button", name=words["subscribe"]).is_visible()
    assert page.request.get(f"{site.base}/api/v1/subscriptions").json() == []
    assert not page.errors, page.errors


@pytest.mark.parametrize("lang", LANGS)
def test_every_followable_page_has_the_button(site, browser, lang):  # noqa: F811
    page = open_as(browser, site, "admin", lang, PHONE)
    for path in ("/", "/scorecard", "/map"):
        page.goto(site.base + path)
        assert page.locator("[data-testid=subscribe]").get_by_role(
            "button", name=WORDS[lang]["subscribe"]).is_visible(), path
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE, path
