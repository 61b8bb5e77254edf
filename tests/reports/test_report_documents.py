"""Reports built from the demo province and checked against the services' own numbers, in
DOCX (python-docx), XLSX (openpyxl) and PDF (pdftoppm pages, pypdf text), in both languages."""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.index import service as index
from chiso.output import number
from chiso.periods import parse_period
from chiso.reports import build
from chiso.reports.cli import report
from chiso.reports.document import language
from chiso.reports.render import render

Q3 = parse_period("2026-Q3")
DAY = date(2026, 11, 27)


def docx_text(data: bytes) -> tuple[str, list[list[list[str]]]]:
    d = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in d.paragraphs]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in d.tables]
    cells = [c for t in tables for row in t for c in row]
    return "\n".join(paragraphs + cells), tables


@pytest.fixture
def rows(session, env):
    return index.index_766(session, env["store"], Q3)


def test_ranking_docx_names_first_to_last_and_holds_the_computed_table(session, env, rows):
    doc = build.build_ranking(session, env["store"], index="766", period=Q3, lang="vi", day=DAY)
    text, tables = docx_text(render(doc, "docx"))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "Lâm Đồng, ngày 27 tháng 11 năm 2026" in text
    assert "UBND TỈNH LÂM ĐỒNG" in text
    assert "THÔNG BÁO KẾT QUẢ ĐÁNH GIÁ, XẾP HẠNG" in text and "quý III năm 2026" in text
    communes = [r for r in rows if r["level"] == "commune"]
    first = next(r for r in communes if r["rank"] == 1)
    last_rank = max(r["rank"] for r in communes)
    last = next(r for r in communes if r["rank"] == last_rank)
    with language("vi"):
        assert f"Thứ nhất: {first['name']} ({number(first['total'])})" in text
        assert f"cuối bảng: {last['name']} ({number(last['total'])})" in text
        # The communes' table: every computed row, in rank order, numbers in Vietnamese form.
        table = next(t for t in tables if t[0][:3] == ["Hạng", "Mã", "Đơn vị"] and any(
            row[1] == first["unit"] for row in t))
        body = table[1:]
        assert len(body) == len(communes)
        expected = sorted(communes, key=lambda r: (r["rank"], r["unit"]))
        for row, r in zip(body, expected):
            assert row[0] == str(r["rank"]) and row[1] == r["unit"] and row[2] == r["name"]
            assert row[3] == number(r["total"]) and row[4] == r["band_name"]
    assert any("Đ" in r["name"] or "ă" in r["name"] for r in communes)  # diacritics survived


def test_ranking_xlsx_one_sheet_per_group_with_numbers_as_numbers(session, env, rows):
    doc = build.build_ranking(session, env["store"], index="766", period=Q3, lang="vi", day=DAY)
    wb = openpyxl.load_workbook(io.BytesIO(render(doc, "xlsx")))
    # Each group's table, then its units' points by indicator group.
    assert wb.sheetnames == ["Các sở, ban, ngành", "Các sở, ban, ngành, theo nhóm", "Xã, phường, đặc khu",
                             "Xã, phường, đặc khu, theo nhóm", "Báo cáo"]
    ws = wb["Xã, phường, đặc khu"]
    head = [c.value for c in ws[1]]
    assert head[:4] == ["Hạng", "Mã", "Đơn vị", "Điểm"]
    got = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    communes = {r["unit"]: r for r in rows if r["level"] == "commune"}
    assert set(got) == set(communes)
    for code, r in communes.items():
        rank, _code, name, total, band, rank_change, change = got[code]
        # A number, not text (a whole total, 82.0, reads back as the int 82).
        assert isinstance(total, (int, float)) and total == pytest.approx(r["total"])
        assert isinstance(rank, int) and rank == r["rank"] and name == r["name"]
        assert rank_change == r["rank_change"]
        assert change == pytest.approx(r["total_change"])
    assert ws.cell(row=2, column=4).number_format == "#,##0.00"
    assert ws.column_dimensions["C"].width > ws.column_dimensions["A"].width


def test_ranking_pdf_pages_render_and_carry_vietnamese_text(session, env, rows, pdf_pages):
    doc = build.build_ranking(session, env["store"], index="766", period=Q3, groups=["wards"], lang="vi", day=DAY)
    data = render(doc, "pdf")
    pages = pdf_pages(data)
    reader = PdfReader(io.BytesIO(data))
    assert len(pages) == len(reader.pages) >= 2
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    wards = index.index_766(session, env["store"], Q3, group="wards")
    top = next(r for r in wards if r["rank"] == 1)
    assert top["name"] in text.replace("\n", " ")
    assert "Phường (" in text  # the group's heading names the group and its size


def test_ranking_in_english(session, env, rows):
    doc = build.build_ranking(session, env["store"], index="766", period=Q3, lang="en", day=DAY)
    text, _tables = docx_text(render(doc, "docx"))
    assert "SOCIALIST REPUBLIC OF VIETNAM" in text and "Lâm Đồng, 27 November 2026" in text
    assert "quarter III of 2026" in text and "First: " in text
    top = next(r for r in rows if r["level"] == "agency" and r["rank"] == 1)
    with language("en"):
        assert f"{top['name']} ({number(top['total'])})" in text
    assert "." in number(top["total"]) or top["total"] < 1000


def test_scorecard_shows_rank_weakest_indicators_targets_and_overdue_tasks(session, env, rows, pdf_pages):
    from chiso.tasks.models import Task
    from chiso.units import service as units

    commune = next(r for r in rows if r["level"] == "commune" and r["rank"] == 5)
    unit = units.get(session, commune["unit"])
    session.add(Task(code="KH-9", title="Số hóa hồ sơ tồn đọng", owner="Chủ tịch xã", unit_id=unit.id,
                     deadline=date(2026, 10, 1)))
    session.flush()
    doc = build.build_scorecard(session, env["store"], unit=commune["unit"], period=Q3, lang="vi", day=DAY,
                                as_of=DAY)
    text, tables = docx_text(render(doc, "docx"))
    size = sum(1 for r in rows if r["level"] == "commune")
    with language("vi"):
        scores = next(t for t in tables if t[0][0] == "Chỉ số")
        assert scores[1][:5] == ["Chỉ số phục vụ 766", "quý III năm 2026", number(commune["total"]), commune["band_name"],
                                 f"5/{size}"]
        weak = build.weakest_indicators(commune, index.method_for(None))
        lost = next(t for t in tables if t[0][0] == "Chỉ tiêu")
        assert [row[0] for row in lost[1:]] == [w["id"] for w in weak]
        assert lost[1][-1] == number(weak[0]["worth"])
    for w in weak:
        ind = commune["indicators"][w["id"]]
        assert 0 < w["worth"] <= ind["max"] - ind["points"] + 1e-9
    assert "KH-9" in text and "Số hóa hồ sơ tồn đọng" in text and "Hoàn thành 1 nhiệm vụ đã quá hạn." in text
    # What would raise it most: the advice of `chiso index advise`, best points per dossier first.
    from chiso.index import steer

    with language("vi"):
        advised = steer.advise(session, env["store"], Q3, unit=commune["unit"])
    assert advised["actions"]
    actions = next(t for t in tables if t[0][0] == "Thao tác")
    assert [row[0] for row in actions[1:]] == [a["action"] for a in advised["actions"][:5]]
    assert len(pdf_pages(render(doc, "pdf"))) <= 2  # one page, two at most


def test_scorecards_of_a_group_one_file_or_one_each(session, env, tmp_path, monkeypatch):
    runner = CliRunner()
    out = tmp_path / "wards.pdf"
    result = runner.invoke(report, ["scorecard", "--group", "wards", "--period", "2026-Q3", "--format", "pdf",
                                    "--out", str(out), "--date", "2026-11-27"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    wards = index.index_766(session, env["store"], Q3, group="wards")
    assert len(PdfReader(out).pages) >= len(wards)
    folder = tmp_path / "each"
    result = runner.invoke(report, ["scorecard", "--group", "wards", "--period", "2026-Q3", "--format", "docx",
                                    "--out", str(folder), "--split", "--lang", "en"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{r['unit']}-2026-Q3.docx" for r in wards)
    text, _t = docx_text((folder / files[0]).read_bytes())
    assert "SCORECARD" in text and "Scores and ranks".upper() in text


def test_periodic_report_counts_overdue_dossiers_like_the_store(session, env, rows):
    at = datetime(2026, 11, 20, 9, 0)
    period = parse_period("2026-10")
    doc = build.build_periodic(session, env["store"], period=period, lang="vi", day=DAY, at=at, threshold=85)
    con = env["store"].connect()
    try:
        expected = con.execute("SELECT count(*) FROM dossiers WHERE received_at <= ? AND due_at < ? AND "
                               "(finished_at IS NULL OR finished_at > ?)", [at, at, at]).fetchone()[0]
    finally:
        con.close()
    assert expected > 0
    late = build.overdue_dossiers(session, env["store"], period=period, at=at)
    assert sum(n for n, _o in late.values()) == expected
    wb = openpyxl.load_workbook(io.BytesIO(render(doc, "xlsx")))
    assert {"Tỉnh theo nhóm", "Các nhóm", "Dưới ngưỡng", "Hồ sơ quá hạn"} <= set(wb.sheetnames)
    # Units without records in the period ("no data") are neither below nor averaged.
    below = [r for r in index.index_766(session, env["store"], period) if r["level"] != "province" and
             r["total"] is not None and r["total"] < 85]
    sheet = list(wb["Dưới ngưỡng"].iter_rows(min_row=2, values_only=True))
    assert sorted(r[2] for r in sheet) == sorted(r["unit"] for r in below)
    groups = {r[0]: r for r in wb["Các nhóm"].iter_rows(min_row=2, values_only=True)}
    communes = [r["total"] for r in index.index_766(session, env["store"], period) if r["level"] == "commune"
                and r["total"] is not None]
    assert groups["Xã, phường, đặc khu"][1] == len(communes)
    assert groups["Xã, phường, đặc khu"][2] == pytest.approx(sum(communes) / len(communes))
    with language("vi"):
        text, _t = docx_text(render(doc, "docx"))
    assert f"có {number(expected, 0)} hồ sơ đã quá hạn" in text
    assert build.lowest_band_boundary(index.method_for(None)) == 50


def test_ranking_of_a_round_with_the_province_national_result(session, env, tmp_path):
    from chiso.assessments import published
    from chiso.assessments import service as assessments

    main = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security", "gov_activity",
            "economy_activity", "society_activity"]
    data = {"68": [0.9, 0.8, 0.7, 0.6, 0.6, 0.8, 0.7, 0.4], "79": [0.95, 0.9, 0.8, 0.7, 0.6, 0.85, 0.8, 0.4],
            "01": [1.0, 0.9, 0.85, 0.8, 0.75, 0.9, 0.8, 0.5], "48": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3]}
    for year, shift in ((2024, -0.3), (2025, 0.0)):
        assessments.create_round(session, code=f"dti{year}", method="dti-922-province", year=year, actor=command_line("t"))
        path = tmp_path / f"dti{year}.csv"
        lines = ["unit,node,value"] + [f"{u},{n},{max(0.0, v + (shift if u == '68' else 0)):.4f}"
                                       for u, vals in data.items() for n, v in zip(main, vals)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        summary = published.import_published(session=session, round_code=f"dti{year}", path=path, actor=command_line("t"),
                                               group="provinces")
        assert summary.rejected == 0
    results = assessments.results(session, round_code="dti2025")
    mine = next(r for r in results if r["unit"] == "68")
    assert mine["rank"] == 3 and mine["rank_change"] == 1
    doc = build.build_ranking(session, env["store"], round_code="dti2025", lang="vi", day=DAY)
    text, tables = docx_text(render(doc, "docx"))
    with language("vi"):
        assert f"{number(mine['value'], 4)} ({number(mine['percent'])}/100), hạng 3/4, tăng 1 bậc" in text
    table = next(t for t in tables if t[0][0] == "Hạng")
    assert [row[1] for row in table[1:]] == [r["unit"] for r in results]
    wb = openpyxl.load_workbook(io.BytesIO(render(doc, "xlsx")))
    values = [r[3] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert values == pytest.approx([r["value"] for r in results])


@pytest.mark.parametrize("args, message", [
    (["ranking", "--index", "766", "--period", "2026-Q9"], "2026-Q9"),
    (["ranking", "--index", "766", "--period", "2026-Q3", "--group", "nope"], "nope"),
    (["ranking", "--round", "no-such-round"], "no-such-round"),
    (["scorecard", "--unit", "99999", "--period", "2026-Q3"], "99999"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(env, tmp_path, args, message):
    out = tmp_path / "out.docx"
    result = CliRunner().invoke(report, args + ["--format", "docx", "--out", str(out)])
    assert isinstance(result.exception, ChisoError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "data"] or not out.exists()


def test_the_cli_ranking_writes_each_format(env, tmp_path):
    for fmt in ("docx", "pdf", "xlsx"):
        out = tmp_path / f"r.{fmt}"
        result = CliRunner().invoke(report, ["ranking", "--index", "766", "--period", "2026-Q3", "--group", "wards",
                                             "--format", fmt, "--out", str(out)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")


def test_the_ranking_and_periodic_reports_give_the_national_standing(session, env, tmp_path):
    from chiso.standing import service as standing

    path = tmp_path / "portal.csv"
    path.write_text(f"Đơn vị,Kỳ,Tổng điểm,Xếp hạng,Tổng số đơn vị\n68,{Q3.code},\"85,59\",8,34\n"
                    f"68,{Q3.previous().code},80.1,13,34\n", encoding="utf-8")
    standing.import_standings(session, index="766", path=path, actor=command_line())
    doc = build.build_ranking(session, env["store"], index="766", period=Q3, lang="vi", day=DAY)
    text, _tables = docx_text(render(doc, "docx"))
    assert "85,59 điểm, xếp thứ 8/34, tăng 5 bậc" in text
    assert "chưa nhập" not in text.lower()
    doc = build.build_periodic(session, env["store"], period=Q3, lang="vi", day=DAY)
    text = doc.text()
    assert "Theo kết quả công bố trên Cổng Dịch vụ công quốc gia: 85,59 điểm, xếp thứ 8/34, tăng 5 bậc." in text
