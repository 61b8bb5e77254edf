"""``chiso rounds`` as people and scripts run it, and the JSON shape of ``rounds results``."""

from __future__ import annotations

import json

from click.testing import CliRunner

from chiso.assessments.cli import rounds


def invoke(*args: str):
    result = CliRunner().invoke(rounds, list(args), catch_exceptions=True)
    return result


def test_round_from_the_command_line(store, method_file, tmp_path):
    assert invoke("create", "r2024", "--method", str(method_file), "--year", "2024", "--by", "admin").exit_code == 0
    assert invoke("create", "r2025", "--method", str(method_file), "--year", "2025").exit_code == 0
    for code in ("r2024", "r2025"):
        assert invoke("add-units", code, "99.SNV", "99.STP", "--group", "a").exit_code == 0
        assert invoke("add-units", code, "99.SYT", "--group", "b").exit_code == 0

    def assess(code, unit, values):
        path = tmp_path / f"{code}-{unit}.json"
        path.write_text(json.dumps(values), encoding="utf-8")
        result = invoke("self-assess", code, unit, "--input", str(path), "--by", unit)
        assert result.exit_code == 0, result.output + repr(result.exception)

    full = {"steering.meetings": 4, "steering.on_time": 1, "satisfaction": 1}
    assess("r2024", "99.SNV", full | {"tasks": 10})
    assess("r2024", "99.STP", full | {"tasks": 20})
    assess("r2024", "99.SYT", full | {"tasks": 30})
    assess("r2025", "99.SNV", full | {"tasks": {"value": 30, "note": "Kế hoạch 5/KH"}})
    assess("r2025", "99.STP", full | {"tasks": 20})
    assess("r2025", "99.SYT", full | {"tasks": 25})

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nope": 1}), encoding="utf-8")
    result = invoke("self-assess", "r2025", "99.SNV", "--input", str(bad))
    assert result.exit_code != 0 and "nope" in str(result.exception)

    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.7\nplan")
    result = invoke("evidence", "r2025", "99.SNV", "tasks", str(pdf))
    assert result.exit_code == 0 and "sha256" in result.output

    assert invoke("submit", "r2025", "99.SNV").exit_code == 0
    appraisal = tmp_path / "appraisal.json"
    appraisal.write_text(json.dumps({"tasks": {"value": 15, "comment": "Thiếu sản phẩm"}}), encoding="utf-8")
    assert invoke("appraise", "r2025", "99.SNV", "--input", str(appraisal)).exit_code == 0
    assert invoke("approve", "r2025", "99.SNV").exit_code == 0
    locked = invoke("appraise", "r2025", "99.SNV", "--input", str(appraisal))
    assert locked.exit_code != 0 and "locked" in str(locked.exception)
    assert invoke("reopen", "r2025", "99.SNV").exit_code != 0  # --reason is required
    reopened = invoke("reopen", "r2025", "99.SNV", "--reason", "Sai sót khi nhập", "--by", "chair")
    assert reopened.exit_code == 0 and "appraised" in reopened.output
    log = json.loads(invoke("events", "r2025", "99.SNV", "--format", "json").output)
    assert [(e["actor"], e["reason"]) for e in log if e["action"] == "reopened"] == [("chair", "Sai sót khi nhập")]

    listed = json.loads(invoke("list", "--format", "json").output)
    assert [r["code"] for r in listed] == ["r2024", "r2025"]

    result = invoke("results", "r2025", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all({"unit", "group", "total_points", "value", "band", "rank", "rank_change", "value_change",
                "nodes"} <= set(r) for r in rows)
    by = {r["unit"]: r for r in rows}
    assert by["99.SNV"]["total_points"] == 85 and by["99.STP"]["total_points"] == 90
    assert (by["99.STP"]["rank"], by["99.SNV"]["rank"], by["99.SYT"]["rank"]) == (1, 2, 1)
    assert by["99.SNV"]["rank_change"] == 0 and by["99.SNV"]["value_change"] == 5
    assert by["99.SYT"]["value_change"] == -5
    assert set(by["99.SNV"]["nodes"]["tasks"]) == {"points", "max", "value"}

    only_b = json.loads(invoke("results", "r2025", "--group", "b", "--format", "json").output)
    assert [r["unit"] for r in only_b] == ["99.SYT"]
    table = invoke("results", "r2025")
    assert table.exit_code == 0 and "99.STP" in table.output

    survey = tmp_path / "s.csv"
    survey.write_text("respondent,unit,factor,question,answer\np1,99.STP,satisfaction,q1,9\n", encoding="utf-8")
    result = invoke("surveys", "import", "r2025", str(survey))
    assert result.exit_code != 0 and "nothing imported" in str(result.exception)
