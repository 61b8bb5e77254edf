"""Issue 14 in a real browser (Chromium driven by Playwright, a real server): the scorecard
that shows the weak spot, the overview's last five and days overdue, ranks said within a
named group for a commune's readers, evidence files that open, and every page usable at
390 px wide, in Vietnamese and English.

Skipped when /usr/bin/chromium is missing, except under CI=true (see test_browser.py)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from chiso import db
from chiso.auth.permissions import command_line

from tests.web.dashboard_world import environment
from tests.web.test_browser import browser, signed_in, site  # noqa: F401  (module fixtures, used by name)

pytestmark = pytest.mark.browser

PHONE = 390
WIDTHS = (1280, PHONE)
LANGS = ("vi", "en")
#: The subscribe button of a page one can follow (see test_browser_wall.py).
SUBSCRIBE = {"vi": "Đăng ký nhận qua thư điện tử", "en": "Subscribe by e-mail"}
FOLLOWABLE = ("/", "/scorecard", "/map")


def open_as(browser, site, who: str, lang: str, width: int = 1280):  # noqa: F811
    return signed_in(browser, site, who, lang, width)


def resize(page, width: int) -> None:
    """The same page at another width (CSS only: no script of the pages reads the width),
    scrolled back to its top: both widths are checked on one load."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")


def method_groups():
    from chiso.index import service

    return service.method_for(None).groups


def pages_of(world) -> list[str]:
    u, r = world.editor_unit, world.round_code
    return ["/", "/766", f"/766/{u}", f"/766/{u}/2.1?only=late", "/scorecard", "/scorecard?unfold=all",
            "/rankings", "/rankings?group=communes", "/due", f"/due/{u}", "/targets", "/tasks", "/map", "/assessments",
            f"/assessments/{r}", f"/assessments/{r}/{u}", "/reports", "/audit", "/account", "/public"]


# --------------------------------------------------------------------------- 390 px


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("who", ["admin", "editor"])
def test_every_page_fits_a_phone_without_sideways_scrolling(site, browser, who, lang):  # noqa: F811
    page = open_as(browser, site, who, lang, PHONE)
    wide = {}
    for path in pages_of(site) + (["/admin/users", "/tasks/KH-03"] if who == "admin" else []):
        response = page.goto(site.base + path)
        assert response.status == 200, path
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE:
            wide[path] = width
        if who == "admin" and path in FOLLOWABLE:  # every page one can follow has the button, on a phone too
            assert page.locator("[data-testid=subscribe]").get_by_role(
                "button", name=SUBSCRIBE[lang]).is_visible(), path
    assert not wide, f"pages wider than {PHONE} px: {wide}"
    assert {p for p in FOLLOWABLE if p in pages_of(site)} == set(FOLLOWABLE)
    assert not page.errors


# --------------------------------------------------------------------------- scorecard


@pytest.mark.parametrize("lang", LANGS)
def test_the_scorecard_colours_every_cell_by_its_share_with_a_trend(site, browser, lang):  # noqa: F811
    groups = method_groups()
    page = open_as(browser, site, "admin", lang)
    page.goto(site.base + "/scorecard")
    assert page.locator("html").get_attribute("lang") == lang
    for width in WIDTHS:
        resize(page, width)
        check_scorecard(page, groups, lang, width)


def check_scorecard(page, groups, lang: str, width: int) -> None:
    # The table's box as loaded (the check at the other width scrolled it).
    page.locator(".sticky-box").evaluate("b => { b.scrollTop = 0; b.scrollLeft = 0; }")
    rows = page.locator("#scorecard tbody tr")
    n = rows.count()
    assert n > 50
    cells = page.locator("#scorecard tbody td.sc")
    assert cells.count() == n * len(groups)
    classes = set(cells.evaluate_all("cs => cs.map(c => [...c.classList].find(k => k.startsWith('band-')))"))
    assert None not in classes and len(classes - {"band-none"}) >= 2  # the weak spots stand out
    assert page.locator("#scorecard tbody td.sc .chg").count() > 0
    # The abbreviations are explained above the table, not at the bottom of the page.
    legend = page.locator("[data-testid=abbreviations]")
    for g in groups:
        assert g.id in legend.inner_text()
        assert (g.name if lang == "vi" else g.name_en) in legend.inner_text()
    assert legend.bounding_box()["y"] < page.locator("#scorecard").bounding_box()["y"]
    # A cell's title states its points of its maximum, in the reader's separators.
    title = cells.first.get_attribute("title")
    assert re.search(r"\d[.,]\d\d/\d+", title)
    # The header and the first column stay in view when the table scrolls in its box.
    box = page.locator(".sticky-box")
    top = box.bounding_box()["y"]
    box.evaluate("b => { b.scrollTop = 600; b.scrollLeft = 400; }")
    page.wait_for_timeout(50)
    assert abs(page.locator("#scorecard thead th").nth(2).bounding_box()["y"] - top) < 3
    assert abs(rows.nth(n - 1).locator("th").bounding_box()["x"] - box.bounding_box()["x"]) < 3 or \
        box.evaluate("b => b.scrollLeft") == 0
    if width == PHONE:
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE


@pytest.mark.parametrize("lang", LANGS)
def test_a_group_of_the_scorecard_unfolds_into_its_indicators(site, browser, lang):  # noqa: F811
    group = method_groups()[1]
    page = open_as(browser, site, "admin", lang)
    page.goto(site.base + "/scorecard")
    assert page.locator("th.ind-col").count() == 0
    page.locator(f"th.group-col:has(abbr:text-is('{group.id}')) a.unfold").click()
    page.wait_for_url(re.compile(f"unfold={group.id}"))
    heads = page.locator("th.ind-col").all_inner_texts()
    assert len(heads) == len(group.indicators)
    for ind, text in zip(group.indicators, heads):
        assert text.startswith(ind.id)
        assert (ind.name if lang == "vi" else ind.name_en) in text
    n = page.locator("#scorecard tbody tr").count()
    assert page.locator("#scorecard tbody td.sc").count() == n * (len(method_groups()) + len(group.indicators))
    # Sorting by a group puts the weakest first.
    page.locator(f"th.group-col:has(abbr:text-is('{group.id}')) button").click()
    values = page.locator("#scorecard tbody tr").evaluate_all(
        f"rs => rs.map(r => parseFloat(r.cells[{2 + 1}].getAttribute('data-value')))")
    assert values == sorted(values) or values == sorted(values, reverse=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_766_table_colours_groups_and_explains_them_at_the_top(site, browser, lang):  # noqa: F811
    page = open_as(browser, site, "admin", lang)
    page.goto(site.base + "/766")
    legend = page.locator("[data-testid=abbreviations]")
    assert legend.bounding_box()["y"] < page.locator("#t766").bounding_box()["y"]
    spans = page.locator("#t766 tbody td.hide-sm .score")
    assert spans.count() >= page.locator("#t766 tbody tr").count() * (len(method_groups()) - 1)
    header = page.locator("#t766 thead th").first.inner_text()
    assert ("xã" in header) if lang == "vi" else ("communes" in header)


@pytest.mark.parametrize("lang", LANGS)
def test_the_overview_names_the_last_five_and_what_pulled_them_down(site, browser, lang):  # noqa: F811
    names = [g.name if lang == "vi" else g.name_en for g in method_groups()]
    page = open_as(browser, site, "admin", lang)
    page.goto(site.base + "/")
    items = page.locator("[data-testid=last-total] li")
    assert items.count() == 5
    for text in items.all_inner_texts():
        assert any(name in text for name in names), text
    # Progress bars carry their figure.
    figures = page.locator(".meter-figure").all_inner_texts()
    assert figures and all(re.fullmatch(r"\d+ %", f.strip()) for f in figures)
    overdue = page.locator("#h-overdue .count").inner_text()
    days = page.locator("[data-testid=days-overdue]")
    assert days.count() == min(int(overdue), 8)
    word = "ngày" if lang == "vi" else "day"
    for text in days.all_inner_texts():
        assert re.search(rf"\d+ {word}", text), text
    # A unit is never both up and down (the same load of the overview).
    up, down = (set(page.locator(f"#h-moves ~ .grid-2 > div:nth-child({i}) a").all_inner_texts()) for i in (1, 2))
    assert not up & down
    page.goto(site.base + "/tasks")
    assert page.locator(".task-card .meter-figure").count() == page.locator(".task-card").count()


# --------------------------------------------------------------------------- scoped readers


@pytest.mark.parametrize("lang", LANGS)
def test_a_commune_reader_sees_its_rank_in_its_named_group(site, browser, lang):  # noqa: F811
    """Each page is read at both widths, on one load."""
    phrase = "trong nhóm" if lang == "vi" else "in the group"
    page = open_as(browser, site, "editor", lang)
    page.goto(site.base + "/")
    ranks = set()
    for width in WIDTHS:
        resize(page, width)
        standing = page.locator("[data-testid=standing]").first.inner_text()
        match = re.search(rf"(\d+)/(\d+) {phrase} (\S+)", standing)
        assert match, standing
        rank, of = int(match.group(1)), int(match.group(2))
        assert 1 <= rank <= of
        ranks.add((rank, of))
        # No list that ranks the province is shown to a commune's reader, so its own name never
        # stands under both "moved up" and "moved down", nor as "last" of a one-unit podium.
        assert page.locator("#h-moves").count() == 0 and page.locator("#h-last").count() == 0
    assert len(ranks) == 1
    page.goto(f"{site.base}/766/{site.editor_unit}")
    for width in WIDTHS:
        resize(page, width)
        assert f"{rank}/{of} {phrase}" in page.locator("[data-testid=standing]").inner_text()
    page.goto(site.base + "/rankings")
    for width in WIDTHS:
        resize(page, width)
        assert page.locator(".podium").count() == 0
        assert f"{rank}/{of} {phrase}" in page.locator("[data-testid=standing]").first.inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE


# --------------------------------------------------------------------------- evidence


@pytest.fixture(scope="module")
def evidence(site, tmp_path_factory):  # noqa: F811
    """A PDF on a progress report of a task of the editor's commune, and one on its
    assessment: names with Vietnamese letters and a quote, as a commune would give them."""
    from chiso.assessments import service as rounds
    from chiso.tasks import service as tasks
    from chiso.units import service as units

    folder = tmp_path_factory.mktemp("evidence")
    pdf = folder / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% bien ban kiem tra\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    with environment(site.url, site.data_dir), db.transaction(site.engine) as session:
        unit = units.get(session, site.editor_unit)
        task = next(t for t in tasks.list_tasks(session, as_of=date.today()) if t["unit"] == site.editor_unit
                    and t["status"] != "cancelled")
        tasks.update_progress(session, actor=command_line("editor"), code=task["id"], percent=55, note="kiểm tra",
                              evidence=pdf,
                              evidence_name='Biên bản "kiểm tra" đợt 1.pdf')
        view = rounds.assessment_view(session, round_code=site.round_code, unit_code=site.editor_unit)
        leaf = sorted(view["leaves"])[0]
        rounds.attach_evidence(session, round_code=site.round_code, unit_code=site.editor_unit, node_id=leaf,
                               path=pdf, name="Quyết định số 12.pdf", actor=command_line("editor"))
    import hashlib

    return {"task": task["id"], "unit_id": unit.id, "sha": hashlib.sha256(pdf.read_bytes()).hexdigest(),
            "content": pdf.read_bytes()}


@pytest.mark.parametrize("lang", LANGS)
def test_evidence_files_open_for_their_readers_only_and_are_logged(site, browser, evidence, lang):  # noqa: F811
    from chiso.audit.models import AuditEntry
    from sqlalchemy import func, select

    with db.transaction(site.engine) as session:
        before = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "evidence.download"))
    page = open_as(browser, site, "editor", lang)
    page.goto(f"{site.base}/tasks/{evidence['task']}")
    link = page.locator("[data-testid=evidence-link]", has_text="kiểm tra")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes() == evidence["content"]
    href = link.get_attribute("href")
    r = page.request.get(site.base + href)
    assert r.status == 200 and r.headers["content-type"] == "application/pdf"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Bien ban _kiem tra_ dot 1.pdf"' in disposition
    assert "filename*=UTF-8''Bi%C3%AAn%20b%E1%BA%A3n" in disposition
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]

    page.goto(f"{site.base}/assessments/{site.round_code}/{site.editor_unit}")
    alink = page.locator("[data-testid=evidence-link]", has_text="Quyết định số 12")
    r2 = page.request.get(site.base + alink.get_attribute("href"))
    assert r2.status == 200 and r2.body() == evidence["content"]
    assert "Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh" in r2.headers["content-disposition"]

    # Outside the reader's scope the file does not exist; an unknown checksum neither.
    other = open_as(browser, site, "editor_other", lang)
    assert other.request.get(site.base + href).status == 404
    assert other.request.get(site.base + alink.get_attribute("href")).status == 404
    assert page.request.get(f"{site.base}/tasks/{evidence['task']}/evidence/{'0' * 64}").status == 404
    assert page.request.get(f"{site.base}/tasks/{evidence['task']}/evidence/not-a-checksum").status in (404, 422)

    with db.transaction(site.engine) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.download")
                               .order_by(AuditEntry.id)).all()
    assert len(rows) - before == 3  # the click, then the two direct reads; the refusals are not downloads
    assert {r.object_type for r in rows[before:]} == {"task", "assessment"}
    assert all(r.actor == "editor" and r.unit_id == evidence["unit_id"] for r in rows[before:])
