"""Published results imported into a round at any node (issue 4, Build item 5): the DTI 2022
main-indicator values of the top five provinces (docs/methodology/published-figures.md#dti-2022) give back their published
DTI and order; a file with a bad row imports nothing; a re-import changes nothing."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from chiso import db
from chiso.assessments import published, service
from chiso.assessments.cli import rounds
from chiso.assessments.models import RoundEvent
from chiso.auth.permissions import command_line
from chiso.units import service as units

MAIN = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security",
        "gov_activity", "economy_activity", "society_activity"]

#: DTI 2022 (dti.gov.vn), docs/methodology/published-figures.md#dti-2022, by registry code, in their published order.
DTI_2022 = {
    "48": ([1.0000, 0.9000, 0.8253, 0.8487, 0.7578, 0.8575, 0.7836, 0.5197], 0.8002),  # Đà Nẵng
    "79": ([0.8917, 0.9000, 0.8258, 0.6267, 0.5580, 0.8406, 0.7611, 0.3590], 0.7163),  # TP Hồ Chí Minh
    "22": ([0.9581, 0.9000, 0.7648, 0.6250, 0.5382, 0.8385, 0.5904, 0.4505], 0.7024),  # Quảng Ninh
    "46": ([0.9500, 0.9000, 0.6823, 0.6794, 0.6423, 0.8262, 0.6787, 0.3001], 0.6975),  # Huế
    "92": ([0.9000, 0.8000, 0.7233, 0.7376, 0.7226, 0.7325, 0.7556, 0.2947], 0.6924),  # Cần Thơ
}
NAMES = {"48": "Thành phố Đà Nẵng", "79": "Thành phố Hồ Chí Minh", "22": "Tỉnh Quảng Ninh",
         "46": "Thành phố Huế", "92": "Thành phố Cần Thơ"}


@pytest.fixture
def dti_round(store):
    """A DTI 922 round of 2022 with the registry's provinces; the store's own province 99 is
    assessed in the round (group "provinces")."""
    with db.transaction(store) as s:
        for code, name in NAMES.items():
            units.create(s, code=code, name=name, level="province", kind="city", parent=None,
                         valid_from=date(2025, 7, 1), official_code=code)
        service.create_round(s, code="dti2022", method="dti-922-province", year=2022, actor=command_line("admin"))
        service.add_units(s, round_code="dti2022", actor=command_line("admin"), units_groups={"99": "provinces"})
    return store


def _csv(tmp_path, rows, name="published.csv"):
    path = tmp_path / name
    lines = ["unit,node,value"] + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _published_rows():
    return [(unit, node, value) for unit, (values, _dti) in DTI_2022.items() for node, value in zip(MAIN, values)]


def _events(engine) -> int:
    with db.transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(RoundEvent))


def test_published_dti_2022_reproduces_the_published_dti_and_order(dti_round, tmp_path):
    engine = dti_round
    path = _csv(tmp_path, _published_rows())
    with db.transaction(engine) as s:
        summary = published.import_published(session=s, round_code="dti2022", path=path, actor=command_line("analyst"))
    assert (summary.read, summary.rejected, summary.extra["units_added"], summary.inserted) == (40, 0, 5, 40)
    assert not (tmp_path / "published.csv.rejects.csv").exists()
    with db.transaction(engine) as s:
        rows = [r for r in service.results(s, round_code="dti2022") if r["group"] == "published"]
        view = service.assessment_view(s, round_code="dti2022", unit_code="48")
        log = service.events(s, round_code="dti2022", unit_code="48")
    assert [r["unit"] for r in rows] == list(DTI_2022)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    for r in rows:
        assert r["value"] == pytest.approx(DTI_2022[r["unit"]][1], abs=0.0001), r["unit"]
        assert (r["status"], r["source"], r["missing"]) == ("published", "published", [])
    # Read as given at the main indicators, never as a self-assessment.
    assert view["source"] == "published" and view["leaves"]["awareness"]["published_value"] == 1.0
    assert view["leaves"]["awareness"]["self_value"] is None
    assert [e["action"] for e in log] == ["unit_added", "published_imported"]
    assert log[0]["to"] == "published" and log[1]["actor"] == "analyst"

    # Re-import of the same file changes nothing, not even the log.
    before = _events(engine)
    with db.transaction(engine) as s:
        again = published.import_published(session=s, round_code="dti2022", path=path, actor=command_line("analyst"))
    assert (again.extra["units_added"], again.inserted, again.updated, again.unchanged) == (0, 0, 0, 40)
    assert _events(engine) == before
    with db.transaction(engine) as s:
        assert [r for r in service.results(s, round_code="dti2022") if r["group"] == "published"] == rows


def test_published_units_rank_with_the_others_of_their_group(dti_round, tmp_path):
    """Imported into the group of the round's own province, they are ranked with it (JSON file)."""
    engine = dti_round
    data = {unit: dict(zip(MAIN, values)) for unit, (values, _dti) in DTI_2022.items()}
    path = tmp_path / "published.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with db.transaction(engine) as s:
        published.import_published(session=s, round_code="dti2022", path=path, actor=command_line("analyst"), group="provinces")
        rows = service.results(s, round_code="dti2022", group="provinces")
    # Province 99 has entered nothing: a draft, not a result, so it takes no rank.
    assert [r["unit"] for r in rows] == [*DTI_2022, "99"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5, None]
    assert [r["source"] for r in rows] == ["published"] * 5 + ["assessed"]


def test_a_file_with_a_bad_row_imports_nothing(dti_round, tmp_path):
    engine = dti_round
    good = _published_rows()
    bad = _csv(tmp_path, good[:3] + [
        ("77", "awareness", 0.5),             # line 5: not in the registry
        ("79", "nope", 0.5),                  # line 6: no such node
        ("79", "awareness", 1.2),             # line 7: a ratio above 1
        ("48", "awareness", 0.9),             # line 8: given twice (line 2)
        ("99", "awareness", 0.9),             # line 9: the round assesses it itself
        ("79", "institutions", "abc"),        # line 10: not a number
    ])
    before = _events(engine)
    with db.transaction(engine) as s:
        summary = published.import_published(session=s, round_code="dti2022", path=bad, actor=command_line("analyst"))
    assert (summary.read, summary.rejected, summary.inserted, summary.extra["units_added"]) == (9, 6, 0, 0)
    reasons = {r.line: r.reason for r in summary.rejects}
    assert sorted(reasons) == [5, 6, 7, 8, 9, 10]
    assert "unknown unit 77" in reasons[5] and "no node nope" in reasons[6] and "outside [0, 1]" in reasons[7]
    assert "first at line 2" in reasons[8] and "assessed in round dti2022" in reasons[9]
    assert "not a number" in reasons[10]
    rejects = (tmp_path / "published.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "line,reason,unit,node,value" and len(rejects) == 7 and rejects[1].startswith("5,")
    assert _events(engine) == before
    with db.transaction(engine) as s:
        assert [r["unit"] for r in service.results(s, round_code="dti2022")] == ["99"]

    # The command line: a clear one-line error naming the first line and reason; nothing imported.
    result = CliRunner().invoke(rounds, ["import-published", "dti2022", str(bad), "--by", "analyst"])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "\n" not in message and "6 rows rejected, nothing imported" in message and "line 5" in message
    assert "unknown unit 77" in message and "rejects.csv" in message

    # XLSX, a clean file: all five imported from the command line.
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Đơn vị", "Chỉ số", "Giá trị"])
    for row in good:
        ws.append(list(row))
    path = tmp_path / "published.xlsx"
    wb.save(path)
    result = CliRunner().invoke(rounds, ["import-published", "dti2022", str(path), "--group", "top5"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "5 units added, 40 values new" in result.output
    result = CliRunner().invoke(rounds, ["results", "dti2022", "--group", "top5", "--format", "json"])
    data = json.loads(result.output)
    assert [(r["unit"], r["rank"]) for r in data] == [(u, i) for i, u in enumerate(DTI_2022, start=1)]
