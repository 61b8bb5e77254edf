"""Early warning, the period's end foreseen, and what would raise a score (issue 15) on the
dossiers of September 2025 (``index_cases``), on both stores: the figures are the index's
own, re-scored by the pure engine."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from chiso.cli import main
from chiso.dossiers.store import DossierStore, registry_units
from chiso.index import service, steer
from chiso.methods.loader import default_method
from chiso.scoring.rules import score_unit

from index_cases import A, CASES, SEPT, write

#: Saturday 20 September 2025: d4 (open, due Thursday 25th) is not late yet, d3 is due in October.
NOW = datetime(2025, 9, 20, 10, 30)


@pytest.fixture
def store(tmp_path, loaded):
    s = DossierStore(tmp_path / "store")
    summary = s.import_files([write(tmp_path / "sept.csv", CASES)], source="test", units=registry_units(loaded))
    assert summary.rejected == 0, summary.to_json()
    return s


def test_due_lists_open_dossiers_within_the_working_days_and_the_overdue(loaded, store):
    # Within 2 working days of Saturday 20/09: Monday and Tuesday; d4 is due Thursday.
    assert steer.due(loaded, store, unit=A, within=2, now=NOW) == []
    rows = steer.due(loaded, store, unit=A, within=4, now=NOW)
    assert [r["dossier_id"] for r in rows] == ["d4"]
    assert rows[0]["overdue"] is False and rows[0]["overdue_days"] == 0 and rows[0]["working_days_left"] == 4
    assert rows[0]["stage"] == "processing" and rows[0]["unit"] == A and rows[0]["holder"] is None
    # On Saturday 27/09 d4 is two days late; d3 (due Friday 03/10) is within 5 working days;
    # d9 is not received yet.
    later = steer.due(loaded, store, unit=A, within=5, now=datetime(2025, 9, 27, 9, 0))
    assert [(r["dossier_id"], r["overdue"], r["overdue_days"]) for r in later] == [("d4", True, 2), ("d3", False, 0)]
    # The province's list is every unit's.
    province = service.targets(loaded, SEPT)[-1].code
    assert steer.due(loaded, store, unit=province, within=5, now=datetime(2025, 9, 27, 9, 0)) == later


def test_the_forecast_is_the_index_with_the_dossiers_at_stake_late_or_on_time(loaded, store):
    rows = {r["unit"]: r for r in steer.forecast(loaded, store, SEPT, now=NOW)}
    a = rows[A]
    now_row = {r["unit"]: r for r in service.index_766(loaded, store, SEPT, now=NOW)}[A]
    assert a["running"] and a["current"] == pytest.approx(now_row["total"]) and a["high"] == a["current"]
    assert a["at_stake"] == 1  # d4, counted on time today, late at the end unless settled by the 25th
    # Low: the same counts with d4 late in 2.1 and 5.4, scored by the engine.
    method = default_method("766")
    counts = dict(service.compute_scores(loaded, store, SEPT, method=method, now=NOW)[1][SEPT.code][A].counts)
    for name in ("settled_on_time", "settled_on_time_without_complaint"):
        counts[name] -= 1
    assert a["low"] == pytest.approx(score_unit(method, counts, level="commune").total)
    # Expected: of the dossiers due in the last 90 days (d1, d2, d5, d6, d7) three were on time.
    assert a["on_time_rate"] == pytest.approx(3 / 5)
    assert a["low"] < a["expected"] < a["high"]
    # A period that is over: its final figures.
    over = {r["unit"]: r for r in steer.forecast(loaded, store, SEPT, now=datetime(2025, 10, 5))}[A]
    assert over["low"] == over["high"] == over["expected"] == over["current"] and not over["running"]


def test_advice_ranks_actions_by_points_per_dossier_with_the_caps_respected(loaded, store):
    got = steer.advise(loaded, store, SEPT, unit=A, now=NOW)
    by_lever = {a["lever"]: a for a in got["actions"]}
    # Settling d4 on time keeps what the forecast's low loses.
    fc = {r["unit"]: r for r in steer.forecast(loaded, store, SEPT, now=NOW)}[A]
    assert got["baseline"] == pytest.approx(fc["low"])
    assert by_lever["settle_due"]["dossiers"] == 1
    assert by_lever["settle_due"]["points"] == pytest.approx(fc["high"] - fc["low"])
    # 3.3 (online) is at its cap of 50 %: no action; 4.3 (reuse, target 80 %) needs 5 of the 6.
    assert "raise:dossiers_online_synced" not in by_lever
    assert by_lever["raise:dossiers_reused"]["dossiers"] == 5 and by_lever["raise:dossiers_reused"]["available"] == 6
    assert by_lever["raise:dossiers_reused"]["points"] == pytest.approx(2.0)
    per = [a["per_dossier"] for a in got["actions"]]
    assert per == sorted(per, reverse=True)
    # The plan reaches the next band above the unit's, with the fewest actions in that order.
    row = {r["unit"]: r for r in service.index_766(loaded, store, SEPT, now=NOW)}[A]
    next_min = min(b.min for b in default_method("766").bands if b.min > row["total"] * 100 / row["max_total"])
    assert got["goal"] and got["plan"] is not None
    reached = got["baseline"] + sum(a["points"] for a in got["plan"])
    assert reached * 100 / row["max_total"] >= next_min - 1e-9
    assert [a["lever"] for a in got["plan"]] == [a["lever"] for a in got["actions"]][:len(got["plan"])]


def test_the_commands_answer_the_shapes_of_the_issue(loaded, store, capsys, monkeypatch):
    # The commands read the store of the settings: the test's records folder holds the cases.
    monkeypatch.setattr("chiso.index.cli.records", lambda engine: store)
    assert main(["index", "forecast", "--period", "2025-Q3", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"unit", "low", "high", "expected"} <= rows[0].keys()
    assert main(["index", "advise", "--unit", A, "--period", "2025-09", "--format", "json"]) == 0
    actions = json.loads(capsys.readouterr().out)
    assert actions and {"action", "indicator", "dossiers", "points"} <= actions[0].keys()
    assert main(["dossiers", "due", "--unit", A, "--within", "2", "--format", "json"]) == 0
    # Today every open dossier of September 2025 is long overdue: listed, the earliest due first.
    due = json.loads(capsys.readouterr().out)
    assert [(d["dossier_id"], d["overdue"]) for d in due] == [("d4", True), ("d3", True), ("d9", True)]


def test_the_backtest_stands_on_the_middle_day_with_what_was_known(loaded, store):
    (got,) = steer.backtest(loaded, store, [SEPT])
    assert got["period"] == "2025-09" and got["standing_on"] == "2025-09-15" and got["units"] >= 1
    assert got["mean_abs_error"] is not None and 0 <= got["within_range"] <= 1


def test_kept_scores_and_record_scans_give_the_same_forecast_and_advice(loaded, store):
    """A server counts a period once and scans the records once for the forecast, the advice
    and every language (``computed``, ``scans``): the answers are those counted afresh, and
    the shared scans are not changed by either (the province's sum is added to a copy)."""
    method = default_method("766")
    computed = service.scores_and_previous(loaded, store, SEPT, method=method, now=NOW)
    scans = steer.scans_for(store, SEPT, now=NOW)
    assert scans is not None and scans.due and scans.recent
    kept = (dict(scans.due), dict(scans.recent), dict(scans.received))
    fresh_forecast = steer.forecast(loaded, store, SEPT, now=NOW)
    fresh_advice = steer.advise_many(loaded, store, SEPT, now=NOW)
    for _twice in range(2):
        assert steer.forecast(loaded, store, SEPT, now=NOW, computed=computed, scans=scans) == fresh_forecast
        assert steer.advise_many(loaded, store, SEPT, now=NOW, computed=computed, scans=scans) == fresh_advice
    assert (scans.due, scans.recent, scans.received) == kept
    # A period that is over has no scans: nothing is at stake.
    assert steer.scans_for(store, SEPT, now=datetime(2025, 10, 5)) is None
