"""One rule for who is first, second, third and last (``chiso.scoring.ranking.podium``):
the CLI, the rankings page and the ranking report name the same units, for a group ranked
1, 2, 3 too (the CLI named a last unit there, the page and the report none), and each unit
once (a group of two has a first and a last, not the same unit second and last)."""

from __future__ import annotations

import io
from datetime import date

import docx
from click.testing import CliRunner

from chiso import db
from chiso.assessments import published
from chiso.assessments import service as assessments
from chiso.auth.permissions import command_line
from chiso.cli import cli
from chiso.reports import build
from chiso.reports.render import render
from chiso.web.dashboard.rankings import announcement
from tests.conftest import PROVINCE

MAIN = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security", "gov_activity",
        "economy_activity", "society_activity"]


def test_cli_page_and_report_name_the_same_last_of_a_group_ranked_1_2_3(tmp_path, monkeypatch, store_templates):
    # A store of the test's own holding province 68 (a copy of the loaded template).
    url, _pg = store_templates.copy("sqlite", PROVINCE, tmp_path / "chiso.sqlite3")
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_LANG", "en")
    engine = db.make_engine(url)
    path = tmp_path / "dti.csv"
    values = {"01": 0.9, "68": 0.7, "79": 0.5}  # ranks 1, 2, 3
    path.write_text("unit,node,value\n" + "".join(f"{u},{n},{v}\n" for u, v in values.items() for n in MAIN),
                    encoding="utf-8")
    with db.transaction(engine) as s:
        assessments.create_round(s, code="dti2025", method="dti-922-province", year=2025, actor=command_line("t"))
        published.import_published(session=s, round_code="dti2025", path=path, actor=command_line("t"), group="provinces")
    with db.transaction(engine) as s:
        rows = assessments.results(s, round_code="dti2025")
        names = {r["unit"]: r["name"] for r in rows}
        assert [r["rank"] for r in rows] == [1, 2, 3]
        # The page's data: its table rows, as /rankings builds them for a round.
        page = announcement([{"unit": r["unit"], "name": r["name"], "rank": r["rank"]} for r in rows])
        doc = build.build_ranking(s, None, round_code="dti2025", lang="en", day=date(2026, 11, 27))
    engine.dispose()
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(render(doc, "docx"))).paragraphs)

    out = CliRunner().invoke(cli, ["rounds", "results", "dti2025"])
    assert out.exit_code == 0, out.output
    cli_named = {line.split(":")[0].strip(): line.split(":", 1)[1].strip().split(", ")
                 for line in out.output.splitlines() if line.startswith("  ") and ":" in line}

    expected = {"first": ["01"], "second": ["68"], "third": [], "last": ["79"]}
    assert {k: [r["unit"] for r in v] for k, v in page.items()} == expected
    assert cli_named == {"1st": ["01"], "2nd": ["68"], "last": ["79"]}
    assert f"last: {names['79']} (" in text and f"asks {names['79']}, last in their groups" in text


def test_a_group_of_two_has_a_first_and_a_last_not_the_same_unit_second_and_last(tmp_path, monkeypatch, store_templates):
    # A store of the test's own holding province 68 (a copy of the loaded template).
    url, _pg = store_templates.copy("sqlite", PROVINCE, tmp_path / "chiso.sqlite3")
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_LANG", "en")
    engine = db.make_engine(url)
    path = tmp_path / "dti.csv"
    path.write_text("unit,node,value\n" + "".join(f"{u},{n},{v}\n" for u, v in {"01": 0.9, "68": 0.7}.items()
                                                  for n in MAIN), encoding="utf-8")
    with db.transaction(engine) as s:
        assessments.create_round(s, code="dti2025", method="dti-922-province", year=2025, actor=command_line("t"))
        published.import_published(session=s, round_code="dti2025", path=path, actor=command_line("t"), group="provinces")
    engine.dispose()
    out = CliRunner().invoke(cli, ["rounds", "results", "dti2025"])
    assert out.exit_code == 0, out.output
    named = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in out.output.splitlines()
             if line.startswith("  ") and ":" in line}
    assert named == {"1st": "01", "last": "68"}
