"""The 766 index end to end: dossiers imported into the store, scored for units of the
registry (SQLite and PostgreSQL), explained by the ids behind each number."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from chiso.cli import main
from chiso.dossiers.store import DossierStore, registry_units
from chiso.index import explain, service

from index_cases import A, B, CASES, HEADER, SEPT, write  # noqa: F401


@pytest.fixture
def store(tmp_path, loaded):
    s = DossierStore(tmp_path / "store")
    summary = s.import_files([write(tmp_path / "sept.csv", CASES)], source="test", units=registry_units(loaded))
    assert summary.rejected == 0, summary.to_json()
    return s


def by_unit(rows):
    return {r["unit"]: r for r in rows}


def test_on_time_settlement_follows_the_rules(loaded, store):
    rows = by_unit(service.index_766(loaded, store, SEPT))
    ind = rows[A]["indicators"]["2.1"]
    assert (ind["numerator"], ind["denominator"]) == (4, 7)
    assert ind["rate"] == pytest.approx(4 / 7)
    assert ind["points"] == pytest.approx(20 * 4 / 7)
    # Online submission counts dossiers received in the period: d1, d3, d8 of six.
    online = rows[A]["indicators"]["3.3"]
    assert (online["numerator"], online["denominator"]) == (3, 6)


def test_a_running_period_judges_open_dossiers_now(loaded, store):
    # 20 September 2025 as "now": d4 (open, due 25/09) is not late yet; past its end it is.
    now = datetime(2025, 9, 20, 10, 30)
    rows = by_unit(service.index_766(loaded, store, SEPT, now=now))
    ind = rows[A]["indicators"]["2.1"]
    assert (ind["numerator"], ind["denominator"]) == (5, 7)
    assert (rows[A]["running"], rows[A]["until"]) == (True, "2025-09-20")
    got = service.explain(loaded, store, SEPT, unit=A, indicator="2.1", now=now)
    assert sorted(got["numerator_ids"]) == ["d1", "d3", "d4", "d5", "d8"]
    assert service.until_label(SEPT, now) == "đến 20/09/2025"
    # On the 26th d4 is overdue; once the period is over it keeps the rule of its end.
    late = by_unit(service.index_766(loaded, store, SEPT, now=datetime(2025, 9, 26, 8, 0)))[A]
    assert late["indicators"]["2.1"]["numerator"] == 4
    over = by_unit(service.index_766(loaded, store, SEPT, now=datetime(2025, 10, 2)))[A]
    assert (over["indicators"]["2.1"]["numerator"], over["running"], over["until"]) == (4, False, None)
    assert service.until_label(SEPT, datetime(2025, 10, 2)) == ""


def test_a_unit_without_dossiers_is_not_applicable_not_zero(loaded, store):
    b = by_unit(service.index_766(loaded, store, SEPT))[B]
    assert b["indicators"]["2.1"]["rate"] is None and not b["indicators"]["2.1"]["applicable"]
    assert b["groups"]["TDGQ"]["applicable"] is False


def test_the_ids_behind_the_numbers(loaded, store):
    got = service.explain(loaded, store, SEPT, unit=A, indicator="2.1")
    assert sorted(got["numerator_ids"]) == ["d1", "d3", "d5", "d8"]
    assert sorted(got["denominator_ids"]) == ["d1", "d2", "d3", "d4", "d5", "d7", "d8"]
    # The pages' paged view lists the same records, each flagged by whether the numerator
    # counts it, the late ones first; a unit's from the cached file, the province's directly.
    for code in (A, service.targets(loaded, SEPT)[-1].code):
        chosen = explain.picked(loaded, store, SEPT, unit=code, indicator="2.1", now=datetime(2025, 10, 2))
        listed = explain.records_page(store, chosen, only="all", page_no=0, limit=100)
        assert sorted(r["dossier_id"] for r in listed["rows"]) == sorted(got["denominator_ids"])
        assert sorted(r["dossier_id"] for r in listed["rows"] if r["counted"]) == sorted(got["numerator_ids"])
        assert (chosen["total"], chosen["counted"]) == (7, 4)
        late = explain.records_page(store, chosen, only="late", page_no=0, limit=2)
        assert [r["dossier_id"] for r in late["rows"]] == ["d2", "d4"] and late["matching"] == 3


def test_a_later_status_changes_the_score_and_reimport_changes_nothing(loaded, store, tmp_path):
    units = registry_units(loaded)
    again = store.import_files([tmp_path / "sept.csv"], source="test", units=units)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(CASES))
    later = [c if c[0] != "d4" else ("d4", "2025-09-10 09:00", "2025-09-25 17:00", "2025-09-24 16:00",
                                     "settled", "direct", "") for c in CASES]
    upd = store.import_files([write(tmp_path / "later.csv", later)], source="test", units=units)
    assert upd.updated == 1
    ind = by_unit(service.index_766(loaded, store, SEPT))[A]["indicators"]["2.1"]
    assert (ind["numerator"], ind["denominator"]) == (5, 7)


def test_the_province_rolls_up_its_units(loaded, store):
    rows = by_unit(service.index_766(loaded, store, SEPT))
    assert rows["68"]["indicators"]["2.1"]["denominator"] == 7
    assert rows["68"]["rank"] is None and rows["68"]["rank_change"] is None
    # Unranked, but its total moves like any unit's.
    prov = rows["68"]
    assert prov["total_change"] == pytest.approx(prov["total"] - prov["previous_total"])


def test_ranks_within_a_group_and_change_against_the_previous_period(loaded, store):
    rows = service.index_766(loaded, store, SEPT, group="wards")
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks, key=lambda r: (r is None, r))
    assert {r["unit"] for r in rows} >= {A, B}
    a = by_unit(rows)[A]
    assert a["previous_total"] is not None and a["total_change"] == pytest.approx(a["total"] - a["previous_total"])


def test_cli_json_shapes(loaded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    assert main(["dossiers", "import", str(write(tmp_path / "s.csv", CASES)), "--source", "t", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("read", "inserted", "updated", "unchanged", "rejected")} == {
        "read": 9, "inserted": 9, "updated": 0, "unchanged": 0, "rejected": 0}
    assert main(["index", "766", "--period", "2025-09", "--unit", A, "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert {"unit", "period", "total", "band", "rank", "groups", "indicators"} <= set(row)
    assert set(row["groups"]["TDGQ"]) >= {"points", "max", "applicable"}
    assert set(row["indicators"]["2.1"]) >= {"numerator", "denominator", "rate", "points", "max"}
    assert main(["index", "explain", "766", "--period", "2025-09", "--unit", A, "--indicator", "2.1",
                 "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert len(got["numerator_ids"]) == 4 and len(got["denominator_ids"]) == 7


def test_rejected_rows_are_reported_with_reasons(loaded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    bad = list(CASES[:2]) + [("x1", "not a date", "", "", "received", "direct", ""),
                             ("x2", "2025-09-05 09:00", "", "2025-09-01 09:00", "settled", "direct", "")]
    path = write(tmp_path / "bad.csv", bad)
    assert main(["dossiers", "import", str(path), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["inserted"], summary["rejected"]) == (2, 2)
    assert (tmp_path / "bad.csv.rejects.csv").exists()


# The records' selection does not depend on the registry's database: SQLite's twin alone.
@pytest.mark.parametrize("loaded_store_url", ["sqlite"], indirect=True)
def test_a_units_own_selection_lists_what_every_units_file_lists(loaded, demo_records):
    """The dossiers behind a number: a reader before the server has selected every unit's
    at once (:func:`explain.ids_file`) gets its unit's own selection, and later readers read
    the file. Both give each unit the same ids, flags and order, on the demo's data, for a
    period that is over and one still running."""

    from chiso.methods.loader import default_method
    from chiso.periods import parse_period

    store = demo_records(3000, seed=5)
    method = default_method("766")
    # One indicator of each basis of records: received, settled (open ones judged at the
    # period's end or now), finished, feedback.
    shapes: dict[str, str] = {}
    for i in method.indicators:
        if explain.listable(method, i.numerator) or explain.listable(method, i.denominator):
            shapes.setdefault(method.measures[i.denominator].basis, i.id)
    listed = sorted(shapes.values())
    assert len(listed) == 4 and "2.1" in listed
    now = datetime(2026, 11, 26, 15, 0)
    seen: dict[str, int] = {}
    for period in (parse_period("2026-Q3"), parse_period("2026-Q4")):
        targets = service.targets(loaded, period)
        units = [t.code for t in targets if t.level != "province"][::6]  # communes and agencies alike
        for indicator in listed:
            own = {u: explain.picked(loaded, store, period, unit=u, indicator=indicator, now=now, targets=targets)
                   for u in units}
            assert explain.ids_file(loaded, store, period, indicator=indicator, now=now, targets=targets) is not None
            for u in units:
                from_file = explain.picked(loaded, store, period, unit=u, indicator=indicator, now=now, targets=targets)
                assert (from_file["ids"], from_file["flags"], from_file["total"], from_file["counted"]) == (
                    own[u]["ids"], own[u]["flags"], own[u]["total"], own[u]["counted"]), (period.code, indicator, u)
            seen[indicator] = seen.get(indicator, 0) + sum(len(own[u]["ids"]) for u in units)
    assert all(seen[i] > 0 for i in listed), seen  # each compared on real lists, not empty ones
