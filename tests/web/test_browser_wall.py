"""Issue 14, point 8 in a real browser (Chromium driven by Playwright, a real server): the
wall screen cycles overview, scorecard and map with no menu, refreshes its figures and keeps
going without the server; subscribing to a unit from its page, in Vietnamese and English,
on a desktop and 390 px wide (both widths on one load of a page: the pages' layout is CSS
only). That every page one can follow has the button, on a phone too, is checked by the
sweep of every page at 390 px (test_browser_scorecard.py).

Skipped when /usr/bin/chromium is missing, except under CI=true (see test_browser.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.test_browser import browser, shots, signed_in, site  # noqa: F401  (module fixtures, used by name)

pytestmark = pytest.mark.browser

PHONE = 390
WIDTHS = (1280, PHONE)
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
    return signed_in(browser, site, who, lang, width, then="/account")


def resize(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


@pytest.mark.parametrize("lang", LANGS)
def test_the_wall_cycles_its_three_screens_without_menu_nor_outside_hosts(site, browser, shots, lang):  # noqa: F811
    """One load of the wall: a whole cycle on a desktop, then one 390 px wide."""
    page = open_as(browser, site, "admin", lang, 1280)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.goto(f"{site.base}/wall?interval=2")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("nav, header.top").count() == 0
    words = WORDS[lang]
    order = ("overview", "scorecard", "map")
    for width in WIDTHS:
        # The phone's cycle begins when the desktop's comes back to the first screen.
        resize(page, width)
        seen = cycle(page, shots, words, lang, width, order)
        assert seen == list(order)
    assert hosts == {urlsplit(site.base).netloc}
    assert not page.errors, page.errors


def cycle(page, shots, words: dict, lang: str, width: int, order) -> list[str]:  # noqa: F811
    """Wait for each screen in turn and check it at the page's width; the screens seen."""
    seen = []
    for screen in order:
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
    return seen


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
def test_subscribe_to_a_unit_from_its_page_and_unsubscribe(site, browser, lang):  # noqa: F811
    """Subscribe and unsubscribe on a desktop and 390 px wide, on one load of the unit's
    page: subscribed on the desktop, unsubscribed on the phone, subscribed again on the
    phone, unsubscribed on the desktop."""
    page = open_as(browser, site, "editor", lang, 1280)
    words = WORDS[lang]
    page.goto(f"{site.base}/766/{site.editor_unit}")

    def subscribe(width: int) -> None:
        resize(page, width)
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

    def unsubscribe(width: int) -> None:
        resize(page, width)
        box = page.locator("[data-testid=subscribe]")
        assert words["subscribed"] in box.inner_text()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        box.get_by_role("button", name=words["unsubscribe"]).click()
        page.wait_for_load_state()
        assert page.locator("[data-testid=subscribe]").get_by_role("button", name=words["subscribe"]).is_visible()
        assert page.request.get(f"{site.base}/api/v1/subscriptions").json() == []

    subscribe(1280)
    unsubscribe(PHONE)
    subscribe(PHONE)
    unsubscribe(1280)
    assert not page.errors, page.errors
