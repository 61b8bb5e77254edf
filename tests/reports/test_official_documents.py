"""Documents an office can issue (Nghị định 30/2020/NĐ-CP): the number line, who signs, no
software name or command, dates dd/mm/yyyy and periods in words, drafts never in results,
the signing block on the page of the text before it; and the year's conference announcement
of every index, read back from the PDF (pdftotext, else pypdf) as an official would read it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from chiso.assessments import published
from chiso.assessments import service as assessments
from chiso.auth.permissions import command_line
from chiso.periods import parse_period
from chiso.reports import build
from chiso.reports import document as d
from chiso.reports.cli import report
from chiso.reports.kinds.ranking import ranking_766
from chiso.reports.render import render

DAY = date(2026, 12, 4)
ISO = re.compile(r"\b20\d\d-\d\d(-\d\d)?\b|\b20\d\d-Q\d\b")
DTI_MAIN = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security", "gov_activity",
            "economy_activity", "society_activity"]
SIGNING = build.Signing(number="125", signer="Nguyễn Văn An", title="Phó Trưởng ban Thường trực")


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page as pdftotext (poppler) reads it, pypdf where poppler is not
    installed; whitespace made single spaces (lines wrap anywhere)."""
    tool = shutil.which("pdftotext")
    if tool:
        out = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True).stdout
        pages = out.decode("utf-8").split("\f")
        pages = pages[:-1] if pages and not pages[-1].strip() else pages
    else:
        pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]
    return [" ".join(p.split()) for p in pages]


def flat(text: str) -> str:
    return " ".join(text.split())


def check_official(doc: d.Document, *, number: str, kind: str = "TB") -> list[str]:
    """The checks every issued document passes, on its PDF; returns the pages' text."""
    pages = pdf_pages(render(doc, "pdf"))
    whole = " ".join(pages)
    assert f"Số: {number}/{kind}-BCĐ" in whole
    assert "chiso" not in whole.lower()
    assert not ISO.search(whole), ISO.search(whole)
    assert re.search(r"ngày \d\d tháng \d\d năm 2026|ngày \d+ tháng \d+ năm 2026", whole)
    # The signing block (its title and the signer's name) on a page with the text before it.
    signed = [i for i, p in enumerate(pages) if SIGNING.signer in p]
    assert len(signed) == 1
    page = pages[signed[0]]
    assert "TM. BAN CHỈ ĐẠO" in page and SIGNING.title.upper() in page
    before = next(b for b in reversed(doc.blocks) if isinstance(b, (d.Paragraph, d.Bullets)))
    first = flat(before.text if isinstance(before, d.Paragraph) else before.items[-1])
    assert first[:40] in page, (first[:40], page[:300])
    return pages


@pytest.fixture
def dti2026(session, tmp_path):
    """A DTI round of 2026 with the results published for four provinces (68 among them),
    and an empty draft round of the commune template with two units."""
    data = {"68": [0.9, 0.8, 0.7, 0.6, 0.6, 0.8, 0.7, 0.4], "79": [0.95, 0.9, 0.8, 0.7, 0.6, 0.85, 0.8, 0.4],
            "01": [1.0, 0.9, 0.85, 0.8, 0.75, 0.9, 0.8, 0.5], "48": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3]}
    assessments.create_round(session, code="dti2026", method="dti-922-province", year=2026, actor=command_line("t"))
    path = tmp_path / "dti2026.csv"
    path.write_text("unit,node,value\n" + "".join(f"{u},{n},{v}\n" for u, vals in data.items()
                                                  for n, v in zip(DTI_MAIN, vals)), encoding="utf-8")
    assert published.import_published(session=session, round_code="dti2026", path=path, actor=command_line("t"),
                                      group="provinces").rejected == 0
    return assessments.results(session, round_code="dti2026")


def test_the_conference_announcement_puts_every_index_of_the_year_together(session, env, dti2026):
    doc = build.build_conference(session, env["store"], year=2026, lang="vi", day=DAY, signing=SIGNING)
    pages = check_official(doc, number="125")
    whole = " ".join(pages)
    # 766 of the year and DTI, each first to last per group, with commendations and requests.
    assert "Chỉ số phục vụ người dân" in whole or "766" in whole
    names = {r["unit"]: r["name"] for r in dti2026}
    order = [r["unit"] for r in dti2026]
    assert order == ["01", "79", "68", "48"]
    at = whole.index(names["01"])  # the DTI table, first to last
    for u in order[1:]:
        at = whole.index(names[u], at + 1)
    assert "ngày 04 tháng 12 năm 2026" in whole
    text = doc.text()
    assert f"Thứ nhất: {names['01']}" in text and f"cuối bảng: {names['48']}" in text
    assert "hạng 3/4" in text  # the province's place among the provinces of the round
    # The commendations name the firsts of every index, the requests the lasts.
    praise = next(b for b in doc.blocks if isinstance(b, d.Bullets) and any(names["01"] in i for i in b.items))
    assert any(names["01"] in i for i in praise.items)


def test_the_conference_names_no_draft_and_no_index_without_results(session, env, dti2026):
    agencies = [r.unit for r in ranking_766(
        session, env["store"], period=parse_period("2026"), groups=(), method_id=None, trend=False).cohorts[0].rows][:2]
    assessments.create_round(session, code="dep2026", method="template-department", year=2026,
                             actor=command_line("t"), name="Xếp hạng sở, ngành 2026")
    assessments.add_units(session, round_code="dep2026", units_groups={u: "departments" for u in agencies},
                          actor=command_line("t"))
    rows = assessments.results(session, round_code="dep2026")
    assert [r["rank"] for r in rows] == [None, None]  # a draft is not a result
    doc = build.build_conference(session, env["store"], year=2026, lang="vi", day=DAY)
    assert "Xếp hạng sở, ngành 2026" not in doc.text()
    card = build.build_scorecard(session, env["store"], unit=agencies[0], period=parse_period("2026-Q3"), lang="vi",
                                 day=DAY)
    assert "Xếp hạng sở, ngành 2026" not in card.text() and "hạng 1/2" not in card.text()


def test_the_ranking_report_is_issued_with_group_scores_per_unit(session, env):
    doc = build.build_ranking(session, env["store"], index="766", period=parse_period("2026-Q3"), lang="vi", day=DAY,
                              signing=SIGNING)
    check_official(doc, number="125")
    text = doc.text()
    assert "quý III năm 2026" in text and "2026-Q3" not in text
    groups = [t for t in doc.tables() if "CKMB" in " ".join(c.heading for c in t.columns)]
    assert groups, "no table of group points per unit"
    heads = [c.heading.split()[0] for c in groups[0].columns]
    assert heads[2:7] == ["CKMB", "TĐXL", "DVTT", "SHHS", "MDHL"] or len(heads) >= 7
    # Each row's group points add up to its total.
    for row in groups[0].rows:
        if row[-1] is not None:
            assert sum(v or 0 for v in row[2:-1]) == pytest.approx(row[-1], abs=0.02)


def test_settings_give_the_signer_and_the_number_stays_blank_for_the_clerk(session, env, monkeypatch):
    monkeypatch.setenv("CHISO_REPORT_SIGNER_NAME", "Trần Thị Bình")
    monkeypatch.setenv("CHISO_REPORT_SIGNER_TITLE", "Trưởng ban")
    monkeypatch.setenv("CHISO_REPORT_NUMBER_SYMBOL", "BCĐCCHC")
    doc = build.build_periodic(session, env["store"], period=parse_period("2026-10"), lang="vi", day=DAY)
    text = doc.text()
    assert re.search(r"Số: +/BC-BCĐCCHC", text) and "Trần Thị Bình" in text
    assert "TRƯỞNG BAN" in " ".join(pdf_pages(render(doc, "pdf")))


def test_the_signature_never_stands_alone_on_the_last_page():
    """Whatever the length of the text, the last paragraph goes with the signing block."""
    para = "Nội dung thông báo kết quả, xếp hạng của các đơn vị trong kỳ đánh giá. " * 3
    for n in range(14, 34):
        doc = d.Document(title="t", lang="vi")
        doc.add(d.Header(issuer=("ỦY BAN NHÂN DÂN TỈNH",), place="Lâm Đồng", day=DAY, number="Số: 1/TB-BCĐ"))
        doc.add(*[d.Paragraph(f"{i}. {para}") for i in range(n)])
        doc.add(d.Paragraph("Đoạn cuối trước chữ ký."), d.Signature(recipients=["Lưu: VT"], lines=["TM. Ban Chỉ đạo", "Trưởng ban"],
                                                                    name="Nguyễn Văn An"))
        pages = pdf_pages(render(doc, "pdf"))
        signed = [p for p in pages if "Nguyễn Văn An" in p]
        assert len(signed) == 1 and "Đoạn cuối trước chữ ký." in signed[0], n
        assert "TRƯỞNG BAN" in signed[0]


def test_scorecard_dates_periods_and_rate_goals_as_the_portal_prints_them(session, env):
    from chiso.targets import service as targets

    row = next(r for r in ranking_766(
        session, env["store"], period=parse_period("2026-Q3"), groups=(), method_id=None, trend=False).cohorts[1].rows)
    targets.save_target(session, code="rate21", name="Hồ sơ đúng hạn", indicator="766.2.1", direction="higher",
                        goal=0.8, deadline=date(2026, 12, 31), unit=row.unit, period="2026-Q3",
                        actor=command_line("t"))
    card = build.build_scorecard(session, env["store"], unit=row.unit, period=parse_period("2026-Q3"), lang="vi",
                                 day=DAY, as_of=DAY)
    text = card.text()
    goals = next(t for t in card.tables() if t.rows and t.rows[0][0] == "rate21")
    assert goals.rows[0][3] == "80 %" and str(goals.rows[0][2]).endswith(" %")
    assert "31/12/2026" in text and not ISO.search(text)
    pages = pdf_pages(render(card, "pdf"))
    assert "31/12/2026" in " ".join(pages) and not ISO.search(" ".join(pages))
    wb = openpyxl.load_workbook(io.BytesIO(render(card, "xlsx")))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, date)]
    assert cells and all(c.number_format == "dd/mm/yyyy" for c in cells)


def test_the_cli_writes_the_conference_in_each_format(env, tmp_path):
    for fmt in ("docx", "pdf", "xlsx"):
        out = tmp_path / f"conference.{fmt}"
        result = CliRunner().invoke(report, ["conference", "--year", "2026", "--format", fmt, "--out", str(out),
                                             "--number", "7", "--signer", "Nguyễn Văn An", "--date", "2026-12-04"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    whole = " ".join(pdf_pages((tmp_path / "conference.pdf").read_bytes()))
    assert "Số: 7/TB-BCĐ" in whole and "Nguyễn Văn An" in whole and "chiso" not in whole.lower()


def test_a_score_published_in_percent_is_written_as_the_portal_writes_it():
    """PAR Index and SIPAS are published in percent: 84,53 %, in every format."""
    from chiso.reports.document import language
    from chiso.reports.kinds.ranking import ranking_columns

    columns = ranking_columns(2, percent=True)
    doc = d.Document(title="t", lang="vi")
    doc.add(d.Table(sheet="SIPAS", columns=columns, rows=[[1, "68", "Tỉnh Lâm Đồng", 84.53, "Tốt", None, 1.2]]))
    with language("vi"):
        assert d.cell_text(84.53, columns[3]) == "84,53 %"
    ws = openpyxl.load_workbook(io.BytesIO(render(doc, "xlsx")))["SIPAS"]
    assert ws.cell(row=2, column=4).value == 84.53 and ws.cell(row=2, column=4).number_format.endswith('" %"')
    assert "84,53 %" in " ".join(pdf_pages(render(doc, "pdf")))


def test_the_cli_prints_band_names_not_ids(env):
    from chiso.cli import cli

    out = CliRunner().invoke(cli, ["index", "766", "--period", "2026-Q3", "--group", "wards"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    words = set(out.output.split())
    assert not words & {"excellent", "good", "average", "weak"}
    assert "Tốt" in out.output or "Xuất" in out.output
