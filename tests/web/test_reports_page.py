"""The reports page: what a person in scope previews is the document the CLI makes, and the
files download in each format."""

from __future__ import annotations

import html
import io

from openpyxl import load_workbook

from tests.web.conftest import UNIT_A, login

PERIOD = "2026-11"


def test_a_commune_editor_previews_and_downloads_their_scorecard(client, world):
    login(client, "editor_a")
    page = client.get("/reports")
    assert page.status_code == 200
    # Only units in scope are offered; the province-wide reports are not.
    assert f'value="{UNIT_A}"' in page.text and 'value="22918"' not in page.text
    assert 'value="periodic"' not in page.text

    preview = client.get(f"/reports/preview?kind=scorecard&period={PERIOD}&unit={UNIT_A}&lang=vi")
    assert preview.status_code == 200
    assert "Phường Xuân Hương - Đà Lạt" in preview.text
    assert "PHIẾU KẾT QUẢ" in preview.text.upper()

    xlsx = client.get(f"/reports/file?kind=scorecard&period={PERIOD}&unit={UNIT_A}&format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    assert any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells)

    pdf = client.get(f"/reports/file?kind=scorecard&period={PERIOD}&unit={UNIT_A}&format=pdf&lang=en")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_the_preview_says_what_the_cli_document_says(client, world):
    from chiso import db
    from chiso.periods import parse_period
    from chiso.reports.build import build_periodic

    login(client, "admin")
    preview = client.get(f"/reports/preview?kind=periodic&period={PERIOD}&lang=en")
    assert preview.status_code == 200
    with db.transaction(world.engine) as session:
        document = build_periodic(session, world.store, period=parse_period(PERIOD), lang="en")
    text = html.unescape(preview.text)
    assert document.title in text
    for table in document.tables():
        assert (table.caption or table.columns[0].heading) in text


def test_downloads_are_in_the_audit_trail(client, world):
    login(client, "editor_a")
    client.get(f"/reports/file?kind=scorecard&period={PERIOD}&unit={UNIT_A}&format=docx")
    entries = client.get("/api/v1/audit?action=report.download").json()
    assert entries and entries[0]["actor"] == "editor_a"


def test_a_bad_format_or_kind_is_a_clear_error(client):
    login(client, "admin")
    assert client.get(f"/reports/file?kind=scorecard&unit={UNIT_A}&period={PERIOD}&format=odt").status_code == 400
    assert client.get(f"/reports/preview?kind=poster&period={PERIOD}").status_code == 404


def test_a_preview_is_built_once_per_store_version_and_still_checks_who_asks(client, app, world, monkeypatch):
    from chiso.reports import web as reports_web

    built = []
    real_build = reports_web.build

    def counting_build(*args, **kwargs):
        built.append(kwargs["kind"])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(reports_web, "build", counting_build)
    login(client, "admin")
    url = "/reports/preview?kind=periodic&period=2026-Q3&lang=en"  # previewed by no other test
    first = client.get(url)
    again = client.get(url)
    assert first.status_code == again.status_code == 200
    assert len(built) == 1 and first.text.split("<main")[1] == again.text.split("<main")[1]
    # An import makes a new store version: the next preview is built afresh.
    versions = world.store.kind_versions()
    monkeypatch.setattr(world.store, "kind_versions",
                        lambda *a, **k: {**versions, "dossiers": versions["dossiers"] + 1})
    assert client.get(url).status_code == 200 and len(built) == 2
    # A kept preview is still refused to a reader who may not see it.
    client.cookies.clear()
    login(client, "editor_a")
    assert client.get(url).status_code == 403 and len(built) == 2
