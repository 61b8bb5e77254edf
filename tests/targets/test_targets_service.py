"""Targets, manual values, lights, flips and roll-up on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.targets import service
from chiso.targets.models import Flip, Target

DL = date(2025, 12, 15)
SIG = "digital_signature_pct"


def _targets(session):
    # Every commune: ≥ 90% of officials with digital signatures by 15 Dec, amber in the last 15 days.
    service.save_target(session, actor=command_line(), code="T1", indicator=SIG, level="commune", direction="higher", goal=90,
                        deadline=DL, amber={"amber_days_before_deadline": 15})
    # The province: late dossiers ≤ 5 (lower is better) for 2025-Q4.
    service.save_target(session, actor=command_line(), code="T2", indicator="late_pct", unit="68", direction="lower", goal=5,
                        deadline=DL, period="2025-Q4")
    for unit, value in (("C1", 95), ("C2", 80)):   # C3 has no value
        service.set_value(session, actor=command_line("Sở Nội vụ"), indicator=SIG, unit=unit, period="2025-Q4", value=value)
    service.set_value(session, actor=command_line("VP UBND"), indicator="late_pct", unit="68", period="2025-Q4", value=4)
    session.commit()


def colours(session, as_of):
    return {(r["target"], r["unit"]): r["colour"] for r in service.status(session, as_of=as_of)}


def test_lights_before_on_and_after_the_deadline(session):
    _targets(session)
    assert colours(session, date(2025, 11, 1)) == {
        ("T1", "C1"): "green", ("T1", "C2"): "green", ("T1", "C3"): "no_data", ("T2", "68"): "green"}
    assert colours(session, DL)[("T1", "C2")] == "amber"
    assert colours(session, date(2025, 12, 16))[("T1", "C2")] == "red"
    # Before Q4 started no value is known.
    assert colours(session, date(2025, 9, 30))[("T1", "C1")] == "no_data"


def test_manual_values_latest_started_period_and_replacement(session):
    _targets(session)
    service.set_value(session, actor=command_line("Sở Nội vụ"), indicator=SIG, unit="C2", period="2025-12", value=91)
    assert service.resolve_value(session, SIG, "C2", date(2025, 11, 30)) == 80   # December not started
    assert service.resolve_value(session, SIG, "C2", date(2025, 12, 2)) == 91
    service.set_value(session, actor=command_line("Sở Nội vụ"), indicator=SIG, unit="C2", period="2025-12", value=92)
    assert [v["value"] for v in service.list_values(session, indicator=SIG, unit="C2")] == [80, 92]
    with pytest.raises(ChisoError):
        service.set_value(session, actor=command_line("x"), indicator="766.total", unit="C2", period="2025", value=1)


def test_flips_are_recorded_once_and_only_on_change(session):
    _targets(session)
    first = service.evaluate(session, as_of=date(2025, 11, 1))
    assert len(first["flips"]) == 4 and all(f["from"] is None for f in first["flips"])
    assert service.evaluate(session, as_of=date(2025, 11, 1))["flips"] == []
    assert service.evaluate(session, as_of=date(2025, 11, 20))["flips"] == []    # nothing changed
    got = service.evaluate(session, as_of=date(2025, 12, 1))["flips"]
    assert [(f["unit"], f["from"], f["to"]) for f in got] == [("C2", "green", "amber")]
    got = service.evaluate(session, as_of=date(2025, 12, 16))["flips"]
    assert [(f["unit"], f["from"], f["to"]) for f in got] == [("C2", "amber", "red")]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Flip)) == 6
    red = service.flips(session, since=date(2025, 12, 10), to="red")
    assert [(f["target"], f["unit"], f["at"]) for f in red] == [("T1", "C2", "2025-12-16")]
    assert "2025-12-15" in red[0]["why"]


def test_roll_up_per_unit_and_province(session):
    _targets(session)
    data = service.rollup(session, as_of=date(2025, 12, 16))
    assert {r["unit"]: r["colour"] for r in data["units"]} == {"68": "green", "C1": "green", "C2": "red",
                                                               "C3": "amber"}
    assert data["province"]["colour"] == "red"
    assert service.rollup(session, as_of=date(2025, 11, 1), rule={"no_data_as": None})["province"]["colour"] == "green"


def test_include_subunits(session):
    service.save_target(session, actor=command_line(), code="T3", indicator=SIG, unit="68", include_subunits=True, direction="higher",
                        goal=1, deadline=DL)
    assert {r["unit"] for r in service.status(session, as_of=DL)} == {"68", "C1", "C2", "C3"}


GOOD = """code,name,indicator,unit,include_subunits,level,direction,goal,deadline,period,amber_days_before_deadline,amber_within,source
P02-1,Chữ ký số,digital_signature_pct,,,commune,higher,90,2025-12-15,,15,,KH 02-KH/BCĐTW
P02-2,Hồ sơ trễ hạn,late_pct,68,,,lower,5,2025-12-31,2025-Q4,,0.05,KH 02-KH/BCĐTW
"""
BAD = GOOD + """P02-3,,late_pct,99,,,lower,5,2025-12-31,,,,x
P02-4,,late_pct,68,,,sideways,5,2025-12-31,,,,x
P02-5,,late_pct,68,,,lower,five,2025-13-01,,,,x
P02-1,,late_pct,68,,,lower,5,2025-12-31,,,,x
P02-6,,late_pct,68,,,lower,5,2025-12-31,,,-1,x
"""


def test_import_all_or_nothing_with_reasons_and_idempotent(session, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    summary = service.import_targets(session, actor=command_line(), path=bad)
    assert summary.to_json()["imported"] == 0 and summary.rejected == 5 and summary.refused
    assert [r.line for r in summary.rejects] == [4, 5, 6, 7, 8]
    assert "99" in summary.rejects[0].reason and "sideways" in summary.rejects[1].reason
    assert "P02-1" in summary.rejects[3].reason and "2" in summary.rejects[3].reason
    assert session.scalar(select(func.count()).select_from(Target)) == 0
    # Every import writes its rejected rows, with their values, beside the input.
    assert summary.rejects_path == str(tmp_path / "bad.csv.rejects.csv")
    written = (tmp_path / "bad.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert written[0].endswith(",code,name,indicator,unit,include_subunits,level,direction,goal,deadline,period,"
                               "amber_days_before_deadline,amber_within,source") and written[1].startswith("4,")

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    first = service.import_targets(session, actor=command_line(), path=good)
    assert (first.inserted, first.rejected, first.to_json()["imported"]) == (2, 0, 2)
    assert not (tmp_path / "good.csv.rejects.csv").exists()
    again = service.import_targets(session, actor=command_line(), path=good)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    t = {r["code"]: r for r in service.list_targets(session)}
    assert t["P02-1"]["amber"] == {"amber_days_before_deadline": 15} and t["P02-1"]["level"] == "commune"
    assert t["P02-2"]["amber"] == {"amber_within": 0.05} and t["P02-2"]["period"] == "2025-Q4"
    good.write_text(GOOD.replace("lower,5,", "lower,4,"), encoding="utf-8")
    assert service.import_targets(session, actor=command_line(), path=good).updated == 1


def test_import_xlsx(session, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    for row in [["code", "indicator", "unit", "direction", "goal", "deadline"],
                ["X1", "late_pct", "68", "lower", 5, date(2025, 12, 31)]]:
        wb.active.append(row)
    wb.save(tmp_path / "t.xlsx")
    assert service.import_targets(session, actor=command_line(), path=tmp_path / "t.xlsx").inserted == 1
    assert service.get_target(session, "X1").deadline == date(2025, 12, 31)


def test_cli_status_json_shape(session, store_url, tmp_path, capsys):
    from chiso.cli import main

    _targets(session)
    session.close()
    assert main(["targets", "status", "--as-of", "2025-12-16", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(list(r) == ["target", "unit", "colour", "value", "goal", "deadline"] for r in rows)
    assert {"target": "T1", "unit": "C2", "colour": "red", "value": 80.0, "goal": 90.0,
            "deadline": "2025-12-15"} in rows

    assert main(["targets", "evaluate", "--as-of", "2025-12-16", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["flips"]) == 4
    assert main(["targets", "evaluate", "--as-of", "2025-12-16", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["flips"] == []
    assert main(["targets", "flips", "--since", "2025-12-10", "--to", "red", "--format", "json"]) == 0
    assert [(f["unit"], f["to"]) for f in json.loads(capsys.readouterr().out)] == [("C2", "red")]

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["targets", "import", str(bad), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["imported"] == 0 and out["rejected"] == 5 and out["rejects"][0]["line"] == 4


def test_a_refused_file_exits_non_zero_with_one_line(session, tmp_path, monkeypatch):
    """Issue 18: every refusal exits non-zero and says so in one line, in JSON output too."""
    from click.testing import CliRunner

    from chiso.targets.cli import targets

    monkeypatch.setenv("CHISO_LANG", "en")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    for fmt in ("table", "json"):
        result = CliRunner().invoke(targets, ["import", str(bad), "--format", fmt])
        assert result.exit_code == 1
        [line] = result.stderr.splitlines()
        assert line.startswith("chiso: 5 rows rejected, nothing imported") and "bad.csv.rejects.csv" in line
    assert json.loads(result.stdout)["rejected"] == 5
    assert session.scalar(select(func.count()).select_from(Target)) == 0
