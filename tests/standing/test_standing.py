"""National standing, reconciliation, "no data" and ties, through the public commands
(issue 13, points 1–3), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from chiso import db
from chiso.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from index_cases import A, B, HEADER  # noqa: E402

PROVINCE = "68"


@pytest.fixture
def cli(loaded_url, tmp_path, monkeypatch, capsys):
    """Run a command, return its JSON. The standings and targets a test imports into the
    shared store are removed after it."""
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str, code: int = 0):
        got = main(list(args))
        out = capsys.readouterr().out
        assert got == code, out
        return json.loads(out) if "--format" in args and "json" in args else out

    yield run
    engine = db.make_engine(loaded_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM published_standings"))
        conn.execute(text("DELETE FROM target_flips WHERE target_id IN (SELECT id FROM targets WHERE code LIKE 'W3-%')"))
        conn.execute(text("DELETE FROM targets WHERE code LIKE 'W3-%'"))
    engine.dispose()


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def dossier(did, received, due, finished, status, *, unit=A, synced="true", supplement=""):
    return [did, "1.000001", unit, received, due, finished, status, "direct", "false", "false", "true", "false",
            "false", synced, supplement]


DOSSIERS = [
    dossier("d1", "2025-09-02 09:00", "2025-09-05 17:00", "2025-09-04 10:00", "settled"),
    dossier("d2", "2025-09-03 09:00", "2025-09-10 17:00", "2025-09-12 10:00", "settled", synced="false"),
    # On time only because it waited 4 days for the applicant's supplement.
    dossier("d5", "2025-09-01 09:00", "2025-09-05 17:00", "2025-09-08 10:00", "returned", supplement="4"),
    # A former ward's dossier, counted for its successor A through the merger lineage.
    dossier("m1", "2025-06-20 09:00", "2025-06-30 17:00", "2025-09-03 10:00", "settled", unit="old:24784"),
    dossier("a1", "2025-08-05 09:00", "2025-08-08 17:00", "2025-08-07 10:00", "settled"),
]


def test_published_import_counts_refuses_and_reads_the_portal_headers(cli, tmp_path):
    path = write_csv(tmp_path / "portal.csv", ["Đơn vị", "Kỳ", "Tổng điểm", "Xếp hạng", "Tổng số đơn vị", "CKMB",
                                               "Tiến độ giải quyết", "2.1"],
                     [[PROVINCE, "2025-09", "85,59", "8", "34", "17.5", "19.2", "19.2"],
                      ["01", "2025-09", "90.10", "1", "34", "", "", ""],
                      [A, "2025-09", "83.5", "", "", "", "", ""]])
    got = cli("published", "import", str(path), "--index", "766", "--format", "json")
    assert {k: got[k] for k in ("read", "inserted", "updated", "unchanged", "rejected")} == {
        "read": 3, "inserted": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    again = cli("published", "import", str(path), "--index", "766", "--format", "json")
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    rows = {r["unit"]: r for r in cli("published", "list", "--period", "2025-09", "--format", "json")}
    assert rows[PROVINCE]["total"] == pytest.approx(85.59)
    assert (rows[PROVINCE]["rank"], rows[PROVINCE]["of"]) == (8, 34)
    assert rows[PROVINCE]["groups"] == {"CKMB": 17.5, "TDGQ": 19.2}
    assert rows[PROVINCE]["indicators"] == {"2.1": 19.2}
    assert rows["01"]["name"] == "Thành phố Hà Nội" and rows[A]["rank"] is None

    # Canonical columns; one bad row refuses the whole file, with a reason per bad row.
    bad = write_csv(tmp_path / "bad.csv", ["unit", "period", "total", "rank", "of"],
                    [[PROVINCE, "2025-09", "80", "9", "34"], ["nowhere", "2025-09", "1", "", ""],
                     [A, "2025-13", "1", "", ""], [A, "2025-09", "1", "40", "34"]])
    refused = cli("published", "import", str(bad), "--format", "json", code=1)
    assert refused["rejected"] == 3 and refused["inserted"] == 0
    assert [r["line"] for r in refused["rejects"]] == [3, 4, 5]
    assert "nowhere" in refused["rejects"][0]["reason"]
    assert Path(refused["rejects_path"]).exists()
    rows = {r["unit"]: r for r in cli("published", "list", "--period", "2025-09", "--format", "json")}
    assert rows[PROVINCE]["rank"] == 8  # nothing imported


def test_xlsx_as_downloaded(cli, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["unit", "period", "total", "rank", "of", "MDHL"])
    ws.append([PROVINCE, "2025", 88.2, 4, 34, 17.0])
    ws.append([PROVINCE, "2024", 80.0, 9, 63, None])
    wb.save(tmp_path / "year.xlsx")
    got = cli("published", "import", str(tmp_path / "year.xlsx"), "--format", "json")
    assert (got["read"], got["inserted"]) == (2, 2)
    history = cli("published", "history", "--format", "json")
    assert [(r["period"], r["rank"], r["of"]) for r in history] == [("2024", 9, 63), ("2025", 4, 34)]


def test_national_standing_on_the_index_row_and_as_a_target(cli, tmp_path):
    cli("dossiers", "import", str(write_csv(tmp_path / "d.csv", HEADER, DOSSIERS)), "--source", "t", "--format", "json")
    cli("published", "import", str(write_csv(tmp_path / "p.csv", ["unit", "period", "total", "rank", "of"],
                                             [[PROVINCE, "2025-09", "85.59", "8", "34"],
                                              [PROVINCE, "2025-08", "80.00", "13", "34"]])), "--format", "json")
    [row] = cli("index", "766", "--period", "2025-09", "--unit", PROVINCE, "--format", "json")
    assert (row["national_rank"], row["national_of"], row["national_rank_change"]) == (8, 34, 5)
    assert row["national_total"] == pytest.approx(85.59)
    assert row["rank"] is None  # no peers here: its rank is the national one
    [other] = cli("index", "766", "--period", "2025-07", "--unit", PROVINCE, "--format", "json")
    assert "national_rank" not in other or other["national_rank"] is None

    targets = write_csv(tmp_path / "t.csv", ["code", "indicator", "unit", "direction", "goal", "deadline", "period"],
                        [["W3-TOP10", "766.national_rank", PROVINCE, "lower", "10", "2025-12-31", "2025-09"],
                         ["W3-RANK", "766.rank", PROVINCE, "lower", "5", "2025-12-31", "2025-09"]])
    cli("targets", "import", str(targets), "--format", "json")
    status = {r["target"]: r for r in cli("targets", "status", "--as-of", "2025-10-15", "--format", "json")
              if r["target"].startswith("W3-")}
    assert (status["W3-TOP10"]["value"], status["W3-TOP10"]["colour"]) == (8, "green")
    assert status["W3-RANK"]["value"] == 8 and status["W3-RANK"]["colour"] != "green"  # goal 5: not met


def test_no_data_is_not_scored_ranked_or_compared(cli, tmp_path):
    cli("dossiers", "import", str(write_csv(tmp_path / "d.csv", HEADER, DOSSIERS)), "--source", "t", "--format", "json")
    rows = {r["unit"]: r for r in cli("index", "766", "--period", "2025-09", "--format", "json")}
    b = rows[B]  # no dossier, no feedback in September
    assert (b["total"], b["rank"], b["band"], b["rank_change"], b["total_change"]) == (None, None, None, None, None)
    assert all(i["points"] is None for i in b["indicators"].values())
    assert rows[A]["total"] is not None and rows[A]["rank"] == 1
    # A unit with data, against a period without: the changes are empty, not "+56 points".
    first = [dossier("b1", "2025-10-02 09:00", "2025-10-09 17:00", "2025-10-03 10:00", "settled", unit=B)]
    cli("dossiers", "import", str(write_csv(tmp_path / "b.csv", HEADER, first)), "--source", "t", "--format", "json")
    [october] = cli("index", "766", "--period", "2025-10", "--unit", B, "--format", "json")
    assert october["total"] is not None and october["rank"] is not None and october["previous_total"] is None
    assert (october["total_change"], october["rank_change"], october["previous_rank"]) == (None, None, None)
    # No indicator exceeds its maximum, and the province is scored out of what its groups give.
    prov = rows[PROVINCE]
    for r in rows.values():
        for ind in r["indicators"].values():
            assert ind["points"] is None or ind["points"] <= ind["max"] + 1e-9
    assert prov["max_total"] == pytest.approx(sum(g["max"] for g in prov["groups"].values() if g["applicable"]))


def test_reconcile_finds_the_causes_down_to_the_dossiers(cli, tmp_path, monkeypatch):
    cli("dossiers", "import", str(write_csv(tmp_path / "d.csv", HEADER, DOSSIERS)), "--source", "t", "--format", "json")
    # Without a catalogue no procedure is outside it; with one, d9's procedure is.
    [ours] = cli("index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    cli("published", "import", str(write_csv(tmp_path / "p0.csv", ["unit", "period", "total"],
                                             [[A, "2025-09", "1"]])), "--format", "json")
    [first] = cli("reconcile", "--period", "2025-09", "--format", "json")
    assert {c["cause"] for c in first["causes"]} == {"not_synced", "merger_lineage", "late_supplement"}
    cli("dossiers", "import", str(write_csv(tmp_path / "c.csv", ["procedure_code", "name", "levels"],
                                            [["1.000001", "Đăng ký khai sinh", "commune"]])),
        "--kind", "procedures", "--source", "t", "--format", "json")
    outside = dossier("d9", "2025-09-09 09:00", "2025-09-12 17:00", "2025-09-11 10:00", "settled")
    outside[1] = "9.999999"
    cli("dossiers", "import", str(write_csv(tmp_path / "d9.csv", HEADER, [outside])), "--source", "t",
        "--format", "json")
    [ours] = cli("index", "766", "--period", "2025-09", "--unit", A, "--format", "json")
    mine = ours["indicators"]["2.1"]["points"]
    cli("published", "import", str(write_csv(
        tmp_path / "p.csv", ["unit", "period", "total", "TDGQ", "2.1"],
        [[A, "2025-09", f"{ours['total'] + 0.004:.6f}", f"{ours['groups']['TDGQ']['points']:.6f}", f"{mine - 5:.6f}"]])),
        "--format", "json")
    got = {r["indicator"]: r for r in cli("reconcile", "--period", "2025-09", "--format", "json")}
    assert set(got) == {"total", "TDGQ", "2.1"}
    one = got["2.1"]
    assert {"unit", "indicator", "ours", "published", "difference", "causes"} <= set(one)
    assert one["unit"] == A and one["flagged"] is True
    assert one["ours"] == pytest.approx(mine) and one["difference"] == pytest.approx(5)
    causes = {c["cause"]: c["dossier_ids"] for c in one["causes"]}
    assert causes == {"not_synced": ["d2"], "outside_national_scope": ["d9"], "merger_lineage": ["m1"],
                      "late_supplement": ["d5"]}
    # Within the tolerance (0.01 points by default): not flagged; equal: no causes looked for.
    assert got["total"]["flagged"] is False and got["total"]["difference"] == pytest.approx(-0.004)
    assert got["TDGQ"]["flagged"] is False and got["TDGQ"]["causes"] == []
    monkeypatch.setenv("CHISO_RECONCILE_TOLERANCE", "0.001")
    strict = {r["indicator"]: r for r in cli("reconcile", "--period", "2025-09", "--flagged", "--format", "json")}
    assert set(strict) == {"total", "2.1"}
    assert "d2" in cli("reconcile", "--period", "2025-09")


def test_the_province_scores_4_2b_over_its_communes(cli, tmp_path):
    # Copy certification is offered online at every commune; only A received an online dossier.
    cli("dossiers", "import", str(write_csv(tmp_path / "c.csv", ["procedure_code", "name", "levels", "online_level"],
                                            [["2.000815", "Chứng thực bản sao từ bản chính", "commune", "full"]])),
        "--kind", "procedures", "--source", "t", "--format", "json")
    online = dossier("c1", "2025-09-02 09:00", "2025-09-03 17:00", "2025-09-03 10:00", "settled")
    online[1], online[7] = "2.000815", "online"
    cli("dossiers", "import", str(write_csv(tmp_path / "d.csv", HEADER, [online])), "--source", "t", "--format", "json")
    rows = cli("index", "766", "--period", "2025-09", "--format", "json")
    communes = [r for r in rows if r["level"] == "commune"]
    [prov] = [r for r in rows if r["level"] == "province"]
    ind = prov["indicators"]["4.2b"]
    assert (ind["numerator"], ind["denominator"], ind["applicable"]) == (1, len(communes), True)
    assert ind["points"] == pytest.approx(2 / len(communes))
    assert {r["unit"]: r["indicators"]["4.2b"]["numerator"] for r in communes}[A] == 1
    # Scored out of what its groups give, 4.2b's 2 points included.
    assert prov["groups"]["MDSH"]["max"] >= 2
    assert prov["max_total"] == pytest.approx(sum(g["max"] for g in prov["groups"].values() if g["applicable"]))
