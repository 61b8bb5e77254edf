"""The map in Chromium: the dot map inside the outline of the points before any boundary is
imported; after ``chiso units geometry import`` a choropleth of the communes with names, the
province outline and a legend suited to the measure, in Vietnamese and English, at desktop
width and on a 390 px phone without sideways scrolling of the page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chiso import db

from tests.web.dashboard_world import CHROMIUM, CHROMIUM_ARGS, Server, browser_login, build, environment
from tests.web.map_boundaries import commune_points, squares, write

pytestmark = pytest.mark.browser
SQUARES = 12


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    folder = tmp_path_factory.mktemp("map")
    world = build(f"sqlite:///{folder / 'chiso.sqlite3'}", folder / "data", dossiers=1500)
    from chiso.web.app import create_app

    with environment(world.url, world.data_dir):
        app = create_app(engine=world.engine, store=world.store, events_interval=0.25)
        with Server(app) as server:
            world.base = server.url
            world.folder = folder
            yield world
    world.engine.dispose()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_map(browser, site, lang: str, width: int, query: str = ""):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "chiso_lang", "value": lang, "domain": "127.0.0.1", "path": "/"}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, site.base, "admin")
    page.goto(f"{site.base}/map{query}")
    page.errors = errors
    return page


def no_sideways_scroll(page, width: int) -> None:
    wide = page.evaluate("""w => [...document.querySelectorAll('body *')].filter(e => {
            if (e.getBoundingClientRect().right <= w + 1) return false;
            for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                if (getComputedStyle(a).overflowX !== 'visible') return false;
            return true; })
        .map(e => e.tagName + '.' + (e.getAttribute('class') || '') + '#' + (e.id || '') + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, wide


def test_the_dot_map_then_the_choropleth(site, browser, tmp_path):
    page = open_map(browser, site, "vi", 1280)
    svg = page.locator("svg.map")
    n = len(commune_points(site.engine))
    assert svg.locator("circle.dot").count() == n
    assert svg.locator("path.outline").count() == 1  # the outline of the points
    assert svg.locator("circle.dot").first.evaluate("e => getComputedStyle(e).fill").startswith("rgb")
    assert svg.locator("path.area").count() == 0
    page.context.close()

    from chiso.units.geometry import import_geometry

    # Communes spread over the province, squares large enough to write a name in.
    chosen = sorted(commune_points(site.engine), key=lambda p: p[1])[::10][:SQUARES]
    with db.transaction(site.engine) as session:
        summary = import_geometry(session, write(tmp_path / "xa.geojson", squares(chosen, side=0.25)))
    assert (summary.inserted, summary.rejected) == (SQUARES, 0)

    for lang, width in (("vi", 1280), ("en", 1280), ("vi", 390), ("en", 390)):
        page = open_map(browser, site, lang, width, "?show=766.2.1")
        svg = page.locator("svg.map")
        assert svg.locator("path.area").count() == SQUARES
        assert svg.locator("circle.dot").count() == n - SQUARES  # communes still without a boundary
        assert svg.locator("path.outline").count() == 1 and svg.locator("path.outline-line").count() == 1
        assert svg.locator(".labels text").count() >= 1
        assert svg.locator("path.area title").first.text_content().split(":")[0] in page.content()
        # Rates by rate class, not by the score bands.
        legend = page.locator(".map-legend").inner_text()
        assert "≥ 95 %" in legend and "< 50 %" in legend
        assert page.locator(".map-legend .swatch.rate-5").count() == 1
        fills = svg.locator("path.area").evaluate_all("els => els.map(e => getComputedStyle(e).fill)")
        assert all(f.startswith("rgb") for f in fills)
        no_sideways_scroll(page, width)
        assert svg.bounding_box()["width"] <= width
        page.screenshot(path=str(site.folder / f"map-{lang}-{width}.png"), full_page=True)
        assert not page.errors, page.errors
        page.context.close()

    # The total by band names in the reader's language; a commune's area opens its page.
    page = open_map(browser, site, "vi", 1280)
    legend = page.locator(".map-legend").inner_text()
    assert "good" not in legend and "excellent" not in legend and "≥ 90" in legend
    code = chosen[0][0]
    page.locator(f'svg.map path.area[data-unit="{code}"]').click()
    page.wait_for_url(f"**/766/{code}?*")
    page.context.close()
