"""Counting rules of the 766 index read from the records (issue 13, point 7): a dossier only
submitted (national status 1) is not received; more than one supplement request makes a
dossier late (canonical ``supplement_count`` and the national list ``DanhSachHoSoBoSung``);
a statutory time the catalogue gives in working days is counted on the working-day calendar.
The demo generator writes feedback the importer takes and nothing received after now."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from chiso.cli import main
from chiso.clock import local_now
from chiso.dossiers.demo import generate, units_receiving_dossiers
from chiso.dossiers.store import DossierStore, registry_units
from chiso.index import service

from index_cases import A, CASES, SEPT, write


def _one(rows, unit=A):
    return next(r for r in rows if r["unit"] == unit)


def _csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def store(tmp_path, loaded):
    s = DossierStore(tmp_path / "store")
    summary = s.import_files([write(tmp_path / "sept.csv", CASES)], source="test", units=registry_units(loaded))
    assert summary.rejected == 0, summary.to_json()
    return s


def _settled_on_time(loaded, store) -> tuple[float, float, list[str]]:
    ind = _one(service.index_766(loaded, store, SEPT))["indicators"]["2.1"]
    ids = service.explain(loaded, store, SEPT, unit=A, indicator="2.1")["numerator_ids"]
    return ind["numerator"], ind["denominator"], sorted(ids)


def test_a_dossier_only_submitted_is_stored_and_counted_nowhere(loaded, store, tmp_path):
    before = _one(service.index_766(loaded, store, SEPT))
    # TrangThaiHoSo 1 (mới đăng ký) under the national headers, beside one received (2).
    path = _csv(tmp_path / "national.csv",
                ["MaHoSo", "MaTTHC", "MaDonVi", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "TrangThaiHoSo",
                 "KenhThucHien"],
                [["s1", "1.000001", A, "20250905090000", "20250910170000", "", "1", "2"],
                 ["s2", "1.000001", A, "20250905090000", "20250910170000", "", "2", "2"]])
    summary = store.import_files([path], source="test", units=registry_units(loaded))
    assert (summary.inserted, summary.rejected) == (2, 0)
    with store.connect() as con:
        assert con.execute("SELECT dossier_id, status FROM dossiers WHERE dossier_id IN ('s1', 's2') "
                           "ORDER BY 1").fetchall() == [("s1", "submitted"), ("s2", "received")]
    after = _one(service.index_766(loaded, store, SEPT))
    for ind in ("2.1", "3.3"):  # s2 is counted, s1 is not
        assert after["indicators"][ind]["denominator"] == before["indicators"][ind]["denominator"] + 1
    explained = service.explain(loaded, store, SEPT, unit=A, indicator="3.3")
    assert "s2" in explained["denominator_ids"] and "s1" not in explained["denominator_ids"]
    # The export that later says "received" moves it on, and it counts from then.
    path = _csv(tmp_path / "later.csv", ["MaHoSo", "MaTTHC", "MaDonVi", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
                                         "TrangThaiHoSo", "KenhThucHien"],
                [["s1", "1.000001", A, "20250905090000", "20250910170000", "", "2", "2"]])
    assert store.import_files([path], source="test", units=registry_units(loaded)).updated == 1
    assert _one(service.index_766(loaded, store, SEPT))["indicators"]["3.3"]["denominator"] == \
        before["indicators"]["3.3"]["denominator"] + 2


def test_more_than_one_supplement_request_is_late(loaded, store, tmp_path):
    assert _settled_on_time(loaded, store) == (4, 7, ["d1", "d3", "d5", "d8"])
    # The national format lists the requests (DanhSachHoSoBoSung); each dossier below is
    # settled well before its appointment.
    request = {"NgayYeuCauBoSung": "20250903090000", "NoiDung": "Bổ sung giấy tờ"}
    rows = [{"MaHoSo": f"m{n}", "MaTTHC": "1.000001", "MaDonVi": A, "NgayTiepNhan": "20250902090000",
             "NgayHenTra": "20250912170000", "NgayKetThucXuLy": "20250905090000", "TrangThaiHoSo": "9",
             "DanhSachHoSoBoSung": [request] * n} for n in (0, 1, 2, 3)]
    path = tmp_path / "national.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    summary = store.import_files([path], source="test", units=registry_units(loaded))
    assert (summary.inserted, summary.rejected) == (4, 0), summary.to_json()
    with store.connect() as con:
        counts = dict(con.execute("SELECT dossier_id, supplement_count FROM dossiers WHERE dossier_id LIKE 'm%'").fetchall())
    assert counts == {"m0": 0, "m1": 1, "m2": 2, "m3": 3}
    assert _settled_on_time(loaded, store) == (6, 11, ["d1", "d3", "d5", "d8", "m0", "m1"])
    # The canonical column, and the list as JSON text in a spreadsheet cell; an open dossier
    # with two requests is late before its appointment too.
    path = _csv(tmp_path / "canonical.csv",
                ["dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
                 "supplement_count"],
                [["c1", "1.000001", A, "2025-09-02 09:00", "2025-10-30 17:00", "", "processing", "2"],
                 ["c2", "1.000001", A, "2025-09-02 09:00", "2025-10-30 17:00", "", "processing", "1"]])
    assert store.import_files([path], source="test", units=registry_units(loaded)).rejected == 0
    assert _settled_on_time(loaded, store) == (7, 13, ["c2", "d1", "d3", "d5", "d8", "m0", "m1"])
    bad = _csv(tmp_path / "bad.csv", ["MaHoSo", "MaTTHC", "MaDonVi", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
                                      "TrangThaiHoSo", "DanhSachHoSoBoSung"],
               [["b1", "1.000001", A, "20250902090000", "", "", "4", '[{"a": 1}, {"b": 2}]'],
                ["b2", "1.000001", A, "20250902090000", "", "", "4", "nhiều lần"]])
    summary = store.import_files([bad], source="test", units=registry_units(loaded))
    assert (summary.inserted, summary.rejected) == (1, 1)
    with store.connect() as con:
        assert con.execute("SELECT supplement_count FROM dossiers WHERE dossier_id = 'b1'").fetchall() == [(2.0,)]


def _catalogue(tmp_path: Path, unit: str) -> Path:
    return _csv(tmp_path / f"catalogue-{unit}.csv", ["procedure_code", "name", "statutory_days", "statutory_unit"],
                [["2.000001", "Thủ tục một ngày", "1", unit], ["2.000002", "Thủ tục hai ngày", "2", unit]])


def test_statutory_times_in_working_days_follow_the_calendar(loaded, store, tmp_path):
    units = registry_units(loaded)
    # No appointment date: judged on the statutory time. w1 comes on Friday 5 September
    # with one working day (due Monday 8th), h1 on Friday 29 August with two, over the
    # National Day holidays (1 and 2 September): due Thursday 4 September.
    path = _csv(tmp_path / "no-due.csv",
                ["dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status"],
                [["w1", "2.000001", A, "2025-09-05 10:00", "", "2025-09-08 09:30", "settled"],
                 ["w2", "2.000001", A, "2025-09-05 10:00", "", "2025-09-08 10:30", "settled"],
                 ["h1", "2.000002", A, "2025-08-29 10:00", "", "2025-09-04 09:00", "settled"]])
    assert store.import_files([path], source="test", units=units).rejected == 0
    assert store.import_files([_catalogue(tmp_path, "ngày làm việc")], source="test", units=units,
                              kind="procedures").rejected == 0
    assert _settled_on_time(loaded, store) == (6, 10, ["d1", "d3", "d5", "d8", "h1", "w1"])
    # The same times in calendar days: all three are late.
    assert store.import_files([_catalogue(tmp_path, "calendar_days")], source="test", units=units,
                              kind="procedures").updated == 2
    assert _settled_on_time(loaded, store) == (4, 10, ["d1", "d3", "d5", "d8"])
    with store.connect() as con:
        assert con.execute("SELECT statutory_unit FROM procedures ORDER BY 1").fetchall() == [
            ("calendar_days",), ("calendar_days",)]


def test_a_store_written_before_the_new_columns_still_reads(loaded, tmp_path):
    # A segment written without supplement_count (as every store before this version).
    old = DossierStore(tmp_path / "old")
    assert old.import_files([write(tmp_path / "sept.csv", CASES)], source="test",
                            units=registry_units(loaded)).inserted == 9
    [segment] = list((tmp_path / "old").rglob("seg-*.parquet"))
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * EXCLUDE (supplement_count) FROM read_parquet('{segment}')) TO '{segment}.tmp' "
                f"(FORMAT parquet, KV_METADATA {{chiso_hash_probe: 'x'}})")
    con.close()
    Path(f"{segment}.tmp").replace(segment)
    assert _settled_on_time(loaded, old) == (4, 7, ["d1", "d3", "d5", "d8"])
    # Importing the same rows again compares them with the old file column by column.
    again = old.import_files([write(tmp_path / "again.csv", CASES)], source="test", units=registry_units(loaded))
    assert again.rejected == 0 and again.inserted == 0


def test_the_demo_receives_nothing_after_now_and_its_feedback_imports(loaded, tmp_path):
    today = local_now().date()
    year = (today - timedelta(days=1)).year  # the year of the last day that is over
    units = units_receiving_dossiers(loaded, "68", date(2025, 12, 31))
    files = generate(province="68", units=units, n=3000, seed=3, year=year, out_dir=tmp_path / "demo",
                     until=date(year, 12, 31))
    con = duckdb.connect()
    [(last,)] = con.execute(f"SELECT max(try_strptime(received_at, '%Y-%m-%dT%H:%M:%S')) "
                            f"FROM read_csv('{files.dossiers}', all_varchar=true)").fetchall()
    [(finished,)] = con.execute(f"SELECT max(try_strptime(finished_at, '%Y-%m-%dT%H:%M:%S')) "
                                f"FROM read_csv('{files.dossiers}', all_varchar=true)").fetchall()
    outcomes = {o for (o,) in con.execute(f"SELECT DISTINCT outcome FROM read_csv('{files.feedback}', all_varchar=true)")
                .fetchall()}
    [(fb_last,)] = con.execute(f"SELECT max(received_at) FROM read_csv('{files.feedback}', all_varchar=true)").fetchall()
    con.close()
    now = local_now()
    assert last < now and (finished is None or finished < now)
    assert fb_last < now.isoformat()
    assert outcomes <= {"handled", "pending"}
    store = DossierStore(tmp_path / "store")
    summary = store.import_files([files.feedback], source="demo", kind="feedback", units=registry_units(loaded))
    assert summary.rejected == 0, summary.to_json()
    with pytest.raises(ValueError):
        generate(province="68", units=units, n=10, seed=3, year=year + 1, out_dir=tmp_path / "future")


def test_the_catalogue_unit_is_documented_and_imported_by_the_command(loaded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    path = _catalogue(tmp_path, "working_days")
    assert main(["dossiers", "import", str(path), "--kind", "procedures", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)
    doc = (Path(__file__).parents[2] / "docs" / "dossiers.md").read_text(encoding="utf-8")
    assert "more than one supplement request" in doc.lower() and "statutory_unit" in doc
