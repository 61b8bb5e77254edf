"""Technical deductions through the command line (SQLite and PostgreSQL): entered on a unit's
766 score, shown in the index and in explain, listed, withdrawn (kept as history), audited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chiso import db
from chiso.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from index_cases import A, CASES, write  # noqa: E402


def _json(capsys, *args: str):
    capsys.readouterr()
    assert main(list(args)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _fails(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) != 0
    return capsys.readouterr().err


@pytest.fixture
def imported(loaded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_LANG", "vi")
    _json(capsys, "dossiers", "import", str(write(tmp_path / "sept.csv", CASES)), "--format", "json")
    yield loaded_url
    # The tables are shared by the tests of this session: nothing of ours stays in force.
    for a in _json(capsys, "adjustments", "list", "--in-force", "--format", "json"):
        _json(capsys, "adjustments", "withdraw", str(a["id"]), "--reason", "end of test", "--format", "json")


def test_a_deduction_changes_the_total_shows_in_explain_and_is_withdrawn_not_deleted(imported, capsys, monkeypatch):
    [before] = _json(capsys, "index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    assert before["adjustments"] == [] and before["computed_total"] == before["total"]

    added = _json(capsys, "adjustments", "add", "--unit", A, "--period", "2025-09", "--indicator", "2.1",
                  "--points", "-1.5", "--reason", "Đồng bộ trễ hồ sơ tháng 9", "--by", "Sở Nội vụ", "--format", "json")
    assert {k: added[k] for k in ("unit", "period", "indicator", "group", "points", "withdrawn", "created_by")} == {
        "unit": A, "period": "2025-09", "indicator": "2.1", "group": None, "points": -1.5, "withdrawn": False,
        "created_by": "Sở Nội vụ"}

    [after] = _json(capsys, "index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    assert after["total"] == pytest.approx(before["total"] - 1.5)
    assert after["computed_total"] == pytest.approx(before["total"])
    assert [(a["id"], a["points"], a["indicator"]) for a in after["adjustments"]] == [(added["id"], -1.5, "2.1")]
    # The indicator's own points are what the records give.
    assert after["indicators"]["2.1"]["points"] == before["indicators"]["2.1"]["points"]

    explained = _json(capsys, "index", "explain", "766", "--period", "2025-09", "--unit", A, "--indicator", "2.1",
                      "--format", "json")
    assert [a["id"] for a in explained["adjustments"]] == [added["id"]]
    other = _json(capsys, "index", "explain", "766", "--period", "2025-09", "--unit", A, "--indicator", "3.3",
                  "--format", "json")
    assert other["adjustments"] == []

    capsys.readouterr()
    assert main(["adjustments", "list", "--unit", A]) == 0
    table = capsys.readouterr().out
    assert "Đồng bộ trễ hồ sơ tháng 9" in table and "-1,50" in table and "còn hiệu lực" in table

    withdrawn = _json(capsys, "adjustments", "withdraw", str(added["id"]), "--reason", "Nhập nhầm kỳ", "--format", "json")
    assert withdrawn["withdrawn"] and withdrawn["withdraw_reason"] == "Nhập nhầm kỳ"
    listed = _json(capsys, "adjustments", "list", "--unit", A, "--period", "2025-09", "--format", "json")
    assert [(a["id"], a["withdrawn"]) for a in listed] == [(added["id"], True)]
    assert _json(capsys, "adjustments", "list", "--unit", A, "--in-force", "--format", "json") == []
    [again] = _json(capsys, "index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    assert again["total"] == pytest.approx(before["total"]) and again["adjustments"] == []
    monkeypatch.setenv("CHISO_LANG", "en")
    assert "already withdrawn" in _fails(capsys, "adjustments", "withdraw", str(added["id"]), "--reason", "x")

    from chiso.audit import service as audit

    engine = db.make_engine(imported)
    with db.transaction(engine) as session:
        log = [e for e in audit.entries(session, action="adjustment.") if e["object_key"] == str(added["id"])]
    engine.dispose()
    assert sorted(e["action"] for e in log) == ["adjustment.add", "adjustment.withdraw"]
    assert all(e["actor"] == "Sở Nội vụ" or e["action"] == "adjustment.withdraw" for e in log)


def test_a_group_deduction_counts_on_the_total_and_the_total_stays_within_bounds(imported, capsys):
    [before] = _json(capsys, "index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    _json(capsys, "adjustments", "add", "--unit", A, "--period", "2025-09", "--group", "TDGQ", "--points", "-2",
          "--reason", "Điểm trừ nhóm", "--format", "json")
    _json(capsys, "adjustments", "add", "--unit", A, "--period", "2025-09", "--points", "0.5",
          "--reason", "Cộng điểm", "--format", "json")
    [after] = _json(capsys, "index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    assert after["total"] == pytest.approx(before["total"] - 1.5)
    assert [(a["group"], a["indicator"], a["points"]) for a in after["adjustments"]] == [("TDGQ", None, -2), (None, None, 0.5)]
    # Another period is untouched.
    [october] = _json(capsys, "index", "766", "--period", "2025-10", "--unit", A, "--format", "json")
    assert october["adjustments"] == []


@pytest.mark.parametrize("args, message", [
    (["--indicator", "9.9", "--points", "-1"], "Unknown indicator 9.9"),
    (["--group", "NOPE", "--points", "-1"], "Unknown group NOPE"),
    (["--indicator", "2.1", "--group", "TDGQ", "--points", "-1"], "not both"),
    (["--indicator", "2.1", "--points", "0"], "other than zero"),
    (["--indicator", "2.1", "--points", "-25"], "more than"),
    (["--indicator", "2.1", "--points", "-1", "--reason", "  "], "needs a reason"),
])
def test_what_is_refused(imported, capsys, monkeypatch, args, message):
    monkeypatch.setenv("CHISO_LANG", "en")
    base = ["adjustments", "add", "--unit", A, "--period", "2025-09"]
    if "--reason" not in args:
        args = args + ["--reason", "lý do"]
    assert message in _fails(capsys, *base, *args)
    assert _json(capsys, "adjustments", "list", "--unit", A, "--in-force", "--format", "json") == []
