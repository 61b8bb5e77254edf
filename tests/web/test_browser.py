"""The dashboard in a real browser (Chromium driven by Playwright) against a real server
(uvicorn on a loopback port) and a demonstration province: log in, go from the overview to
a unit, an indicator and its dossiers, submit a self-assessment, see a colour change arrive
live after a dossier upload, switch language. Each step saves a screenshot (folder
CHISO_SCREENSHOTS, else a temporary one).

Skipped when /usr/bin/chromium is missing, except under CI=true, where that is a failure:
CI never passes without having run them."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import json
import urllib.request

import pytest

from chiso import db
from chiso.periods import period_for

from tests.web.dashboard_world import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Server, browser_login, build, environment

pytestmark = pytest.mark.browser


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_chromium()
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'chiso.sqlite3'}"
    world = build(url, folder / "data")
    from chiso.web.app import create_app

    with environment(world.url, world.data_dir):
        app = create_app(engine=world.engine, store=world.store, events_interval=0.25)
        with Server(app) as server:
            world.base = server.url
            yield world
    world.engine.dispose()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("CHISO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_page(browser, lang: str = "vi", width: int = 1280, storage_state: dict | None = None):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN" if lang == "vi" else "en-GB",
                                  storage_state=storage_state)
    if lang != "vi":  # pages speak the store's language whatever the browser says: choose
        context.add_cookies([{"name": "chiso_lang", "value": lang, "domain": "127.0.0.1", "path": "/"}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def signed_in(browser, site, who: str, lang: str, width: int = 1280, *, then: str = "/"):
    """A page of a new browser context, signed in as ``who`` and speaking ``lang``. The first
    time for a (who, lang) it goes through the login form and the language link (ending on
    ``then``); later it starts from the cookies saved then: a test that is not about
    signing in costs its own pages only, not a login and a language switch each time."""
    saved = site.sessions.get((who, lang))
    page = new_page(browser, lang, width, storage_state=saved)
    # A deadline for a page that never comes, not a speed claim: after an import the server
    # warms its figures in the background, and a busy two-core machine answers slowly then.
    page.set_default_timeout(90_000)
    if saved is None:
        browser_login(page, site.base, who, PASSWORD)
        page.goto(f"{site.base}/lang/{lang}?next={then}")
        site.sessions[(who, lang)] = page.context.storage_state()
    return page


def test_overview_to_unit_to_indicator_to_dossiers(site, browser, shots):
    page = new_page(browser)
    browser_login(page, site.base, "admin")
    assert page.url.rstrip("/") == site.base
    assert page.locator("h1").first.inner_text().startswith("Tổng quan")
    page.screenshot(path=str(shots / "browser-overview.png"), full_page=True)
    # The last commune on on-time settlement: straight to the dossiers behind its rate.
    last = page.locator("#h-last + ol li a").first
    name = last.inner_text()
    page.locator("nav.main-nav a[href='/766']").click()
    page.wait_for_url("**/766")
    page.locator("table#t766 tbody tr a", has_text=name).first.click()
    page.wait_for_url("**/766/*")
    assert page.locator("h1").first.inner_text().startswith(name)
    page.screenshot(path=str(shots / "browser-unit.png"), full_page=True)
    row = page.locator("tr[data-indicator='2.1']")
    numerator = int(row.locator("td").nth(1).inner_text().replace(".", ""))
    denominator = int(row.locator("td").nth(2).inner_text().replace(".", ""))
    row.locator("a").click()
    page.wait_for_url("**/2.1*")
    assert int(page.locator("[data-testid=denominator]").inner_text().replace(".", "")) == denominator
    page.locator("#only").select_option("late")  # submits itself (progressive enhancement)
    page.wait_for_url("**only=late*")
    late = page.locator("table#records tbody tr.not-counted")
    assert late.count() == min(denominator - numerator, 50) > 0
    page.screenshot(path=str(shots / "browser-dossiers.png"), full_page=True)
    # Sorting by a column header, by keyboard.
    header = page.locator("table#records th[data-sort] button").first
    header.focus()
    page.keyboard.press("Enter")
    assert page.locator("table#records th[data-sort]").first.get_attribute("aria-sort") == "ascending"
    assert not page.errors, page.errors


def test_submit_a_self_assessment(site, browser, shots):
    page = new_page(browser)
    browser_login(page, site.base, "editor")
    page.goto(f"{site.base}/assessments/{site.round_code}/{site.editor_unit}")
    page.fill("#v-steering__inspections", "2")
    page.fill("#v-digital__accounts", "81,5")
    page.locator("button[value=draft]").click()
    page.wait_for_url("**saved=draft*")
    assert page.locator("#v-digital__accounts").input_value() == "81,5"
    page.set_input_files("#ev-file", files=[{"name": "Biên bản kiểm tra.pdf", "mimeType": "application/pdf",
                                             "buffer": b"%PDF-1.4\n%%EOF\n"}])
    page.select_option("#ev-node", "steering.inspections")
    page.locator("#evidence-form button[type=submit]").click()
    page.wait_for_url("**saved=evidence*")
    assert "Biên bản kiểm tra.pdf" in page.locator("tr[data-node='steering.inspections']").inner_text()
    page.screenshot(path=str(shots / "browser-self-assessment.png"), full_page=True)
    page.locator("#submit-button").click()
    page.wait_for_url("**saved=submitted*")
    assert page.locator("[data-testid=assessment-status]").inner_text().strip() == "đã gửi"
    assert page.locator("#self-form").count() == 0
    from chiso.assessments import service as rounds

    with db.transaction(site.engine) as session:
        a = rounds.get_assessment(session, round_code=site.round_code, unit_code=site.editor_unit)
        assert a.status == "submitted"


def _bad_dossiers(unit: str, n: int) -> list[dict]:
    """Dossiers received in this quarter, all of them late and still open."""
    start = period_for("quarter", date.today()).start
    out = []
    for i in range(n):
        received = start + timedelta(days=i % 20)
        out.append({"dossier_id": f"LIVE-{unit}-{i}", "procedure_code": "1.001", "unit_code": unit,
                    "received_at": f"{received} 08:00:00", "due_at": f"{received + timedelta(days=2)} 17:00:00",
                    "finished_at": None, "status": "processing"})
    return out


def test_a_colour_change_arrives_live_after_a_dossier_upload(site, browser, shots):
    from chiso.index import service

    quarter = period_for("quarter", date.today())
    with db.transaction(site.engine) as session:
        rows = service.index_766(session, site.store, quarter)
    # The commune with the fewest dossiers among the good ones: an upload moves it the most.
    candidates = [r for r in rows if r["level"] == "commune" and r["band"] in ("good", "excellent")]
    target = min(candidates, key=lambda r: (r["indicators"]["2.1"]["denominator"] or 0, r["unit"]))
    page = new_page(browser)
    browser_login(page, site.base, "admin")
    page.goto(f"{site.base}/766/{target['unit']}")
    total = page.locator("[data-testid=unit-total]")
    assert f"band-{target['band']}" in total.get_attribute("class")
    page.wait_for_timeout(600)  # the event stream is open
    page.evaluate("window.__marker = 'still the same page'")
    request = urllib.request.Request(
        f"{site.base}/api/v1/dossiers?source=live", data=json.dumps(_bad_dossiers(target["unit"], 400)).encode(),
        headers={"Authorization": f"Bearer {site.tokens['admin']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200 and json.load(answer)["inserted"] == 400
    with db.transaction(site.engine) as session:
        after = next(x for x in service.index_766(session, site.store, quarter) if x["unit"] == target["unit"])
    assert after["band"] != target["band"]
    page.wait_for_function(
        "cls => document.querySelector('[data-testid=unit-total]').className.includes(cls)",
        arg=f"band-{after['band']}", timeout=15000)
    assert page.evaluate("window.__marker") == "still the same page"  # no reload
    page.screenshot(path=str(shots / "browser-live.png"), full_page=True)


def test_switch_language_and_phone_width(site, browser, shots):
    page = new_page(browser, width=375)
    browser_login(page, site.base, "steering")
    page.goto(f"{site.base}/tasks")
    assert "Nhiệm vụ của Ban Chỉ đạo" in page.locator("h1").inner_text()
    page.locator(".langs a[lang=en]").click()
    page.wait_for_url("**/tasks")
    assert page.locator("h1").inner_text() == "Tasks of the steering committee"
    assert page.locator("html").get_attribute("lang") == "en"
    # Nothing wider than the phone's screen but the tables' own scrolling boxes.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width
    page.screenshot(path=str(shots / "browser-phone-tasks-en.png"), full_page=True)
    page.locator(".langs a[lang=vi]").click()
    page.wait_for_url("**/tasks")
    assert page.locator("html").get_attribute("lang") == "vi"
