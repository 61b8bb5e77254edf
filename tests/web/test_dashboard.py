"""The dashboard's pages against a demonstration province: the numbers they show are the
index's, the dossiers behind a number add up to it, scope hides other units (404), the
self-assessment form writes through the assessment service, nothing stale is served after
an import, and every page keeps the content security policy (no inline script or style)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from chiso import db
from chiso.i18n import use_language
from chiso.output import number
from chiso.periods import period_for

from tests.conftest import BACKENDS, PROVINCE
from tests.web.conftest import csrf_of
from tests.web.dashboard_world import PASSWORD, build, environment


@pytest.fixture(scope="session", params=BACKENDS)
def demo(request, tmp_path_factory, store_templates):
    # Province 68 already loaded (a copy of the template store): the demo's own load of it
    # finds every row in place, as on a store that was initialised before.
    url, pg = store_templates.copy(request.param, PROVINCE)
    world = build(url, tmp_path_factory.mktemp("demo-data"))
    yield world
    world.engine.dispose()
    if pg:
        pg.drop()


@pytest.fixture(scope="session")
def dash_app(demo):
    from chiso.web.app import create_app

    return create_app(engine=demo.engine, store=demo.store, events_interval=0.2)


@pytest.fixture
def dc(dash_app, demo):
    """A browser with no cookies, speaking Vietnamese, with the demo's stores configured."""
    from fastapi.testclient import TestClient

    with environment(demo.url, demo.data_dir), TestClient(dash_app, raise_server_exceptions=False) as c:
        c.cookies.set("chiso_lang", "vi")
        yield c


def sign_in(client, name: str) -> str:
    page = client.get("/login")
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return csrf_of(client.get("/account").text)


def index(demo, period=None, group=None):
    from chiso.index import service

    period = period or period_for("quarter", date.today())
    with db.transaction(demo.engine) as session, use_language("vi"):
        return {r["unit"]: r for r in service.index_766(session, demo.store, period, group=group)}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --------------------------------------------------------------------------- numbers


def test_overview_shows_the_province_score_and_the_last_three_on_time(dc, demo):
    sign_in(dc, "admin")
    r = dc.get("/")
    assert r.status_code == 200
    rows = index(demo)
    province = rows[demo.province]
    with use_language("vi"):
        assert f'data-testid="province-total">{number(province["total"])}<' in r.text
    communes = [x for x in rows.values() if x["level"] == "commune" and x["indicators"]["2.1"]["rate"] is not None]
    last = sorted(communes, key=lambda x: (x["indicators"]["2.1"]["rate"], x["rank"] is None, x["rank"] or 0,
                                           x["unit"]))[:3]
    section = r.text.split('id="h-last"')[1].split("</section>")[0]
    assert [f"/766/{x['unit']}/2.1" in section for x in last] == [True, True, True]
    assert len(r.content) < 1_000_000
    assert "Tổng quan" in r.text  # Vietnamese by default


def test_the_766_table_lists_every_commune_with_its_score_and_filters_by_group(dc, demo):
    sign_in(dc, "steering")
    rows = index(demo)
    html = dc.get("/766").text
    communes = [x for x in rows.values() if x["level"] == "commune"]
    assert html.count('<tr data-unit="') == len(communes)
    some = communes[5]
    with use_language("vi"):
        assert re.search(rf'data-unit="{some["unit"]}".*?<span class="score band-{some["band"]}">{re.escape(number(some["total"]))}</span>',
                         html, re.S)
    wards = index(demo, group="wards")
    html = dc.get("/766?group=wards").text
    assert html.count('<tr data-unit="') == len([x for x in wards.values() if x["level"] != "province"])
    assert dc.get("/766?period=2026-X9").status_code == 404


def test_unit_page_and_explain_view_add_up_to_the_index(dc, demo):
    sign_in(dc, "admin")
    rows = index(demo)
    code = demo.editor_unit
    ind = rows[code]["indicators"]["2.1"]
    page = dc.get(f"/766/{code}")
    assert page.status_code == 200
    row = page.text.split('data-indicator="2.1"')[1].split("</tr>")[0]
    with use_language("vi"):
        assert number(ind["numerator"], 0) in row and number(ind["denominator"], 0) in row
    html = dc.get(f"/766/{code}/2.1").text
    with use_language("vi"):
        assert f'data-testid="numerator">{number(ind["numerator"], 0)}<' in html
        assert f'data-testid="denominator">{number(ind["denominator"], 0)}<' in html
    summary = text_of(html.split('data-testid="explain-summary">')[1].split("</p>")[0])
    assert summary.startswith(f"{int(ind['denominator'])} ")
    late = int(ind["denominator"] - ind["numerator"])
    late_page = dc.get(f"/766/{code}/2.1?only=late").text
    assert late_page.count('class="not-counted"') == min(late, 50)
    exported = dc.get(f"/766/{code}/2.1?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(lines) == 1 + int(ind["denominator"])
    assert sum(1 for line in lines[1:] if line[-2] == "có") == int(ind["numerator"])
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(dc.get(f"/766/{code}/2.1?only=late&format=xlsx").content))
    assert book.active.max_row == 1 + late
    # The ids are those of the index's own explanation.
    from chiso.index import service

    with db.transaction(demo.engine) as session:
        ids = service.explain(session, demo.store, period_for("quarter", date.today()), unit=code, indicator="2.1")
    shown = {line[0] for line in lines[1:]}
    assert shown == set(ids["denominator_ids"])


def test_a_commune_editor_sees_only_their_unit(dc, demo):
    sign_in(dc, "editor")
    html = dc.get("/766").text
    assert f'data-unit="{demo.editor_unit}"' in html and f'data-unit="{demo.other_unit}"' not in html
    assert dc.get(f"/766/{demo.editor_unit}").status_code == 200
    for url in (f"/766/{demo.other_unit}", f"/766/{demo.other_unit}/2.1", f"/766/{demo.other_unit}/2.1?format=csv",
                f"/assessments/{demo.round_code}/{demo.other_unit}"):
        assert dc.get(url).status_code == 404, url
    board = dc.get("/tasks").text
    from chiso.tasks import service as tasks

    with db.transaction(demo.engine) as session:
        others = [t for t in tasks.list_tasks(session) if t["unit"] != demo.editor_unit]
    assert others and f'/tasks/{others[0]["id"]}"' not in board
    assert dc.get(f'/tasks/{others[0]["id"]}').status_code == 404


def test_the_public_sees_only_published_results(dc, demo):
    r = dc.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert dc.get("/766", follow_redirects=False).status_code == 303
    html = dc.get("/public").text
    year = date.today().year
    assert f"năm {year - 1}" in html and f"năm {year}<" not in html


# --------------------------------------------------------------------------- steering pages


def test_rankings_announce_first_and_last_of_each_group(dc, demo):
    sign_in(dc, "steering")
    html = dc.get("/rankings?group=wards").text
    wards = [x for x in index(demo, group="wards").values() if x["rank"] is not None]
    first = [x for x in wards if x["rank"] == 1]
    last = [x for x in wards if x["rank"] == max(w["rank"] for w in wards)]
    podium = html.split('class="podium"')[1].split("</div>\n  <details")[0]
    assert first[0]["name"] in podium.split('class="place p1"')[1].split("</div>")[0]
    assert last[0]["name"] in podium.split('class="place plast"')[1].split("</div>")[0]
    round_page = dc.get(f"/rankings?index={demo.round_code}")
    assert round_page.status_code == 200 and 'class="place p1"' in round_page.text


def test_heat_map_colours_are_the_targets_lights(dc, demo):
    from chiso.targets import service as targets

    sign_in(dc, "admin")
    html = dc.get("/targets").text
    with db.transaction(demo.engine) as session:
        status = targets.status(session, as_of=date.today(), store=demo.store)
    red = [s for s in status if s["colour"] == "red"]
    green = [s for s in status if s["colour"] == "green"]
    assert red and green
    for s in (red[0], green[0]):
        row = html.split(f'<a href="/766/{s["unit"]}">')[1].split("</tr>")[0]
        cells = re.findall(r'<td class="cell (\w+)"', row)
        codes = re.findall(r'<th scope="col" class="num" data-sort><button type="button" title="[^"]*">([^<]+)</button>', html)
        assert cells[codes.index(s["target"])] == s["colour"]


def test_task_board_and_task_page(dc, demo):
    from chiso.tasks import service as tasks

    sign_in(dc, "steering")
    with db.transaction(demo.engine) as session:
        overdue = tasks.list_tasks(session, status="overdue")
    html = dc.get("/tasks").text
    column = html.split('id="c-overdue"')[1].split("</section>")[0]
    assert column.count('class="task-card"') == len(overdue) > 0
    only = dc.get("/tasks?status=overdue").text
    assert only.count('class="task-card"') == len(overdue)
    page = dc.get(f"/tasks/{overdue[0]['id']}").text
    for label in ("Rõ người", "Rõ việc", "Rõ thời gian", "Rõ trách nhiệm", "Rõ sản phẩm", "Rõ thẩm quyền"):
        assert label in page
    assert "Lịch sử tiến độ" in page


def test_map_places_every_commune_and_links_to_its_page(dc, demo):
    from chiso.units import service as units

    sign_in(dc, "admin")
    with db.transaction(demo.engine) as session:
        communes = [u for u in units.list_units(session, level="commune", within="68", as_of=date.today())]
    html = dc.get("/map").text
    svg = html.split('<svg class="map"')[1].split("</svg>")[0]
    assert svg.count("<circle") == len(communes)
    assert f'href="/766/{communes[0].code}?' in svg
    assert "tile" not in svg and "http" not in svg
    by_target = dc.get("/map?show=target:CT-DUNGHAN").text
    assert "light-red" in by_target or "light-green" in by_target
    assert dc.get("/map?show=nothing").status_code == 404


# --------------------------------------------------------------------------- assessments


def test_self_assessment_draft_evidence_submit_and_appraisal(dc, demo):
    from chiso.assessments import service as rounds
    from chiso.audit.models import AuditEntry
    from sqlalchemy import func, select

    code, unit = demo.round_code, "68"
    with db.transaction(demo.engine) as session:
        assert rounds.get_assessment(session, round_code=code, unit_code=demo.other_unit).status == "self_assessed"
        before = session.scalar(select(func.count(AuditEntry.id)))
    unit = demo.other_unit
    token = sign_in(dc, "editor_other")
    page = dc.get(f"/assessments/{code}/{unit}")
    assert page.status_code == 200 and 'id="self-form"' in page.text
    # Without the form token: refused, nothing written.
    assert dc.post(f"/assessments/{code}/{unit}/self", data={"v.steering__inspections": "2"}).status_code == 403
    r = dc.post(f"/assessments/{code}/{unit}/self", data={
        "csrf": token, "v.steering__inspections": "3", "v.digital__accounts": "72,5", "v.steering__plan": "yes",
        "vn.steering__plan": "KH 99/KH-UBND", "action": "draft"}, follow_redirects=False)
    assert r.status_code == 303 and "saved=draft" in r.headers["location"]
    r = dc.post(f"/assessments/{code}/{unit}/evidence", data={"csrf": token, "node": "digital.accounts"},
                files={"file": ("Báo cáo tài khoản.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
                follow_redirects=False)
    assert r.status_code == 303 and "saved=evidence" in r.headers["location"]
    bad = dc.post(f"/assessments/{code}/{unit}/evidence", data={"csrf": token, "node": "digital.accounts"},
                  files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")}, follow_redirects=False)
    assert "error=" in bad.headers["location"]
    with db.transaction(demo.engine) as session:
        view = rounds.assessment_view(session, round_code=code, unit_code=unit)
    assert view["leaves"]["steering.inspections"]["self_value"] == 3
    assert view["leaves"]["digital.accounts"]["self_value"] == pytest.approx(0.725)
    assert view["leaves"]["steering.plan"]["note"] == "KH 99/KH-UBND"
    assert any(e["name"] == "Báo cáo tài khoản.pdf" for e in view["leaves"]["digital.accounts"]["evidence"])
    r = dc.post(f"/assessments/{code}/{unit}/submit", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and "saved=submitted" in r.headers["location"]
    page = dc.get(f"/assessments/{code}/{unit}").text
    assert 'id="self-form"' not in page  # locked for the unit once submitted
    # The appraiser: side by side, writes the council's value and comment.
    dc.cookies.clear()
    dc.cookies.set("chiso_lang", "vi")
    token = sign_in(dc, "appraiser")
    page = dc.get(f"/assessments/{code}/{unit}").text
    assert 'id="appraise-form"' in page and "72,5 %" in page
    r = dc.post(f"/assessments/{code}/{unit}/appraise", data={
        "csrf": token, "a.digital__appraised": "9", "an.digital__appraised": "Thiếu minh chứng quý 3"},
        follow_redirects=False)
    assert r.status_code == 303 and "saved=appraised" in r.headers["location"]
    with db.transaction(demo.engine) as session:
        a = rounds.get_assessment(session, round_code=code, unit_code=unit)
        view = rounds.assessment_view(session, round_code=code, unit_code=unit)
        after = session.scalar(select(func.count(AuditEntry.id)))
    assert a.status == "appraised"
    assert view["leaves"]["digital.appraised"]["appraiser_comment"] == "Thiếu minh chứng quý 3"
    assert after >= before + 4  # draft, evidence, submit, appraisal: each in the audit trail


def test_another_editor_cannot_write_a_units_assessment(dc, demo):
    token = sign_in(dc, "editor")
    r = dc.post(f"/assessments/{demo.round_code}/{demo.other_unit}/self", data={"csrf": token, "v.steering__inspections": "1"})
    assert r.status_code == 404


# --------------------------------------------------------------------------- live data, language, policy


def test_an_import_changes_what_the_next_request_shows(dc, demo):

    sign_in(dc, "admin")
    code = demo.editor_unit
    before = index(demo)[code]["indicators"]["2.1"]["denominator"]
    html = dc.get(f"/766/{code}/2.1").text
    assert f'data-testid="denominator">{int(before)}<' in html.replace(".", "")
    day = date.today() - timedelta(days=1)
    rows = [{"dossier_id": f"LIVE-{i}", "procedure_code": "1.001", "unit_code": code,
             "received_at": f"{day} 08:00:00", "due_at": f"{day} 17:00:00", "finished_at": None,
             "status": "processing"} for i in range(3)]
    r = dc.post("/api/v1/dossiers?source=live", json=rows, headers={"Authorization": f"Bearer {demo.tokens['admin']}"})
    assert r.status_code == 200, r.text
    after = index(demo)[code]["indicators"]["2.1"]["denominator"]
    assert after == before + 3
    html = dc.get(f"/766/{code}/2.1").text
    assert f'data-testid="denominator">{int(after)}<' in html.replace(".", "")


PAGES = ("/", "/766", "/766/{unit}", "/766/{unit}/2.1", "/rankings", "/targets", "/tasks", "/map", "/assessments",
         "/assessments/{round}", "/assessments/{round}/{unit}", "/public")


def test_every_page_in_both_languages_keeps_the_content_security_policy(dc, demo):
    sign_in(dc, "admin")
    for lang, word in (("vi", "Tổng quan"), ("en", "Overview")):
        dc.cookies.set("chiso_lang", lang)
        for path in PAGES:
            url = path.format(unit=demo.editor_unit, round=demo.round_code)
            r = dc.get(url)
            assert r.status_code == 200, (url, r.text[:300])
            assert word in r.text, (lang, url)
            assert ' style="' not in r.text and "<style" not in r.text, url
            assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), url
            assert re.search(r'<html lang="%s"' % lang, r.text)


def test_the_menu_links_every_dashboard_page(dc, demo):
    sign_in(dc, "admin")
    html = dc.get("/").text
    nav = html.split('class="main-nav"')[1].split("</nav>")[0]
    for href in ("/766", "/rankings", "/assessments", "/targets", "/tasks", "/map"):
        assert f'href="{href}"' in nav


def test_a_warmed_server_answers_the_overview_without_computing(demo, monkeypatch):
    """``chiso serve`` warms the overview's figures at start-up; after that the first
    person's overview computes no index (a computation here would raise)."""
    from fastapi.testclient import TestClient

    from chiso.index import service
    from chiso.web.app import create_app
    from chiso.web.dashboard.overview import warm

    app = create_app(engine=demo.engine, store=demo.store)
    warm(app)

    def no_computation(*_args, **_kwargs):
        raise AssertionError("the overview computed the index after the warm-up")

    monkeypatch.setattr(service, "index_766", no_computation)
    with TestClient(app, raise_server_exceptions=True) as client:
        sign_in(client, "admin")
        r = client.get("/")
        assert r.status_code == 200 and "766" in r.text


def test_after_the_warm_up_the_first_pages_compute_nothing_and_an_import_warms_again(demo, monkeypatch):
    """The server brings forward the figures of the current and the previous period (the
    766 table, rankings, a unit's page, the targets) at start-up and after every change of
    the store: a first reader computes no index on any of them, in either language."""
    from fastapi.testclient import TestClient

    from chiso.http.periods import pick_period
    from chiso.index import service
    from chiso.web.app import create_app
    from chiso.web.dashboard import warmup

    app = create_app(engine=demo.engine, store=demo.store)
    stamp = warmup.warm_if_changed(app, None)
    assert warmup.warm_if_changed(app, stamp) == stamp  # nothing changed: nothing to do

    def no_computation(*_args, **_kwargs):
        raise AssertionError("a page computed the index after the warm-up")

    with monkeypatch.context() as m:
        m.setattr(service, "index_766", no_computation)
        m.setattr(service, "compute_scores", no_computation)
        with TestClient(app, raise_server_exceptions=True) as client:
            sign_in(client, "admin")
            previous = pick_period(None).previous().code
            for lang in ("vi", "en"):
                client.cookies.set("chiso_lang", lang)
                for url in ("/", "/766", f"/766?period={previous}", "/rankings", f"/rankings?period={previous}",
                            f"/766/{demo.editor_unit}", "/targets"):
                    assert client.get(url).status_code == 200, (lang, url)
            # The dossiers behind a unit's on-time rate were selected by the warm-up too (every
            # unit's, one file): the list reads that selection, it makes no other.
            kept = sorted((Path(demo.store.root) / "cache").glob("explain-*.parquet"))
            assert kept
            r = client.get(f"/766/{demo.editor_unit}/2.1?only=late")
            assert r.status_code == 200 and "2.1" in r.text
            assert sorted((Path(demo.store.root) / "cache").glob("explain-*.parquet")) == kept

    warms = []
    monkeypatch.setattr(warmup, "warm", lambda app: warms.append(1))
    versions = demo.store.kind_versions()
    monkeypatch.setattr(demo.store, "kind_versions", lambda *a, **k: {**versions, "dossiers": versions["dossiers"] + 1})
    assert warmup.warm_if_changed(app, stamp) != stamp and warms == [1]


def test_a_unit_page_brings_its_first_dossier_lists_forward(demo, monkeypatch):
    """While a reader reads a unit's page, the server selects, in the background, the first
    page of the dossiers behind its on-time rate (late ones and all): opening either list
    then reads no record."""
    from fastapi.testclient import TestClient

    from chiso.index import explain
    from chiso.web.app import create_app

    app = create_app(engine=demo.engine, store=demo.store)
    with TestClient(app, raise_server_exceptions=True) as client:
        sign_in(client, "admin")
        assert client.get(f"/766/{demo.editor_unit}").status_code == 200
        app.state.soon.submit(lambda: None).result(timeout=120)  # one worker: the lists are done

        def no_reading(*_args, **_kwargs):
            raise AssertionError("a list read the records after the unit page brought it forward")

        monkeypatch.setattr(explain, "records_page", no_reading)
        for only in ("late", "all"):
            r = client.get(f"/766/{demo.editor_unit}/2.1?only={only}")
            assert r.status_code == 200 and "2.1" in r.text
        with pytest.raises(AssertionError, match="read the records"):  # another list is not ready
            client.get(f"/766/{demo.editor_unit}/2.1?only=counted")


def test_the_big_tables_look_the_method_up_per_page_not_per_cell(dc, demo, monkeypatch):
    """The scorecard unfolded colours thousands of cells by their share of the maximum, the
    766 table hundreds: the method's bands are looked up once per page, not per cell (a
    look-up lists the definitions folder: per cell, /scorecard?unfold=all took 16 s at the
    demo's 200,000 dossiers instead of 0.9 s)."""
    from chiso.methods import loader

    sign_in(dc, "admin")
    urls = ("/scorecard?unfold=all", "/766")
    for url in urls:  # the figures computed and cached first: only the page is counted
        assert dc.get(url).status_code == 200, url
    real, calls = loader.default_method, []

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "default_method", counted)
    for url in urls:
        dc.app.state.results.clear()  # the 766 table's rows rendered again (and the figures computed)
        calls.clear()
        html = dc.get(url).text
        cells = html.count('class="num sc ') + html.count('<span class="score band-')
        assert cells > 300, (url, cells)
        assert len(calls) < 40, (url, len(calls), cells)


def test_a_running_period_is_judged_now_on_every_page(dc, demo):
    """The quarter still running: its name says until when, the dossiers listed late were
    due before today and their days late are counted to now, 5.4's records add up, and the
    province's page shows its change and no empty rank."""
    from chiso.index import service

    sign_in(dc, "admin")
    rows = index(demo)
    today = service.local_now().date()
    assert rows[demo.province]["running"] and rows[demo.province]["until"] == today.isoformat()
    html = dc.get(f"/766/{demo.province}").text
    assert f"đến {today:%d/%m/%Y}" in html
    hero = html.split('data-testid="unit-total"')[1].split("</section>")[0]
    assert 'aria-hidden="true">·<' not in hero  # no "Tốt ·", no "Hạng – ·"
    assert "không xếp hạng" in hero
    con = demo.store.connect()
    try:  # the units with most open dossiers past their due time
        overdue = [u for (u,) in con.execute(
            "SELECT unit_code FROM dossiers WHERE finished_at IS NULL AND due_at < ? GROUP BY 1 "
            "ORDER BY count(*) DESC, 1", [datetime.combine(today, datetime.min.time())]).fetchall()]
    finally:
        con.close()
    checked = 0
    for code in [u for u in overdue if u in rows and u != demo.province][:3]:
        exported = dc.get(f"/766/{code}/2.1?only=late&format=csv")
        now = service.local_now()
        lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        due_at, finished_at = lines[0].index("Đến hạn"), lines[0].index("Ngày kết thúc")
        for line in lines[1:]:
            if line[finished_at] or not line[due_at]:
                continue
            due = datetime.strptime(line[due_at], "%Y-%m-%d %H:%M")
            assert due < datetime.combine(today, datetime.min.time()), line
            assert int(line[-1]) == max(1, (now - due).days), line
            checked += 1
    assert checked > 0
    ind = rows[code]["indicators"]["5.4"]
    summary = text_of(dc.get(f"/766/{code}/5.4").text.split('data-testid="explain-summary">')[1].split("</p>")[0])
    assert summary.startswith(f"{int(ind['denominator'])} ") and f" {int(ind['numerator'])} " in summary


# --------------------------------------------------------------------------- steering (issue 15)


def test_the_pages_say_what_falls_due_where_the_quarter_ends_and_what_would_raise_it(dc, demo):
    from chiso.index import steer

    sign_in(dc, "admin")
    with db.transaction(demo.engine) as session:
        due = steer.due(session, demo.store)
        foreseen = {r["unit"]: r for r in steer.forecast(session, demo.store, period_for("quarter", date.today()))}
        advised = steer.advise(session, demo.store, period_for("quarter", date.today()), unit=demo.editor_unit)
    html = dc.get("/due").text
    summary = text_of(html.split('data-testid="due-summary">')[1].split("</p>")[0])
    late = sum(1 for r in due if r["overdue"])
    assert summary.startswith(f"{len(due)} hồ sơ") and f"{late} hồ sơ quá hạn" in summary
    assert html.count('<tr data-dossier="') == min(len(due), 500)
    mine = [r for r in due if r["unit"] == demo.editor_unit]
    unit_html = dc.get(f"/due/{demo.editor_unit}").text
    assert unit_html.count('<tr data-dossier="') == len(mine)
    # The overview and the unit page show the range of the quarter's end ("dự kiến cuối quý: 78–84").
    p = foreseen[demo.province]
    with use_language("vi"):
        assert f"dự kiến cuối quý: {number(p['low'])}–{number(p['high'])}" in dc.get("/").text
        u = foreseen[demo.editor_unit]
        page = dc.get(f"/766/{demo.editor_unit}").text
        assert f"dự kiến cuối quý: {number(u['low'])}–{number(u['high'])}" in page
    advice = page.split('data-testid="advice"')[1].split("</section>")[0]
    assert [m for m in re.findall(r'data-lever="([^"]+)"', advice)] == [a["lever"] for a in advised["actions"]]
    # The plan column stands only where there is a next band to plan for; at the top band
    # the page says why there is no plan instead of a column of dashes.
    plan = text_of(re.search(r'data-testid="plan"[^>]*>(.*?)</p>', advice, re.S).group(1))
    if advised["goal"]:
        assert "Trong kế hoạch" in advice and plan.startswith("Mục tiêu")
    else:
        assert "Trong kế hoạch" not in advice and "không còn mức nào cao hơn" in plan
    # An editor of one commune does not see another's list.
    dc.cookies.clear()
    sign_in(dc, "editor")
    assert dc.get(f"/due/{demo.other_unit}").status_code == 404


def test_national_standing_on_the_overview_and_the_reconciliation_page(dc, demo, tmp_path):
    from sqlalchemy import text

    from chiso.auth.permissions import command_line
    from chiso.standing import service as standing

    p = period_for("quarter", date.today())
    rows = index(demo)
    commune = next(x for x in rows.values() if x["level"] == "commune" and x["indicators"]["2.1"]["points"])
    path = tmp_path / "portal.csv"
    path.write_text("unit,period,total,rank,of,2.1\n"
                    f"{demo.province},{p.code},85.59,8,34,\n{demo.province},{p.previous().code},80.1,13,34,\n"
                    f"{commune['unit']},{p.code},{commune['total']:.2f},,,{commune['indicators']['2.1']['points'] - 3:.4f}\n",
                    encoding="utf-8")
    try:
        with db.transaction(demo.engine) as session:
            got = standing.import_standings(session, index="766", path=path, actor=command_line())
        assert got.inserted == 3
        sign_in(dc, "admin")
        page = text_of(dc.get("/").text)
        assert "Xếp hạng toàn quốc 8/34" in page and "85,59" in page
        html = dc.get(f"/reconcile?period={p.code}").text
        assert 'data-testid="reconcile"' in html
        flagged = [row for row in html.split("<tr")[1:] if 'data-flagged="1"' in row]
        assert len(flagged) >= 1 and any(">2.1<" in row for row in flagged)
        assert "Đối chiếu với Cổng Dịch vụ công quốc gia" in html
    finally:
        with demo.engine.begin() as conn:
            conn.execute(text("DELETE FROM published_standings"))
