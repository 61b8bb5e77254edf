"""Staging: every accepted input format and spelling lands as the same canonical record."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from openpyxl import Workbook

from chiso.dossiers.schema import DOSSIER_STATUSES
from dossier_helpers import HEADER, UNITS, read_rejects, records, row, write_csv


def test_canonical_csv(store, tmp_path):
    path = write_csv(tmp_path / "d.csv", [row("H1"), row("H2", status="settled", finished_at="2025-08-06 10:00")])
    summary = store.import_files([path], source="hcc", units=UNITS)
    assert (summary.read, summary.inserted, summary.updated, summary.unchanged, summary.rejected) == (2, 2, 0, 0, 0)
    assert summary.rejects_path is None and not (tmp_path / "d.csv.rejects.csv").exists()
    got = records(store)
    assert got["H2"] == {
        "source": "hcc", "dossier_id": "H2", "procedure_code": "1.001234", "unit_code": "24781",
        "received_at": datetime(2025, 8, 4, 8, 0), "due_at": datetime(2025, 8, 8, 17, 0),
        "finished_at": datetime(2025, 8, 6, 10, 0), "status": "settled", "channel": "online",
        "has_fee": True, "paid_online": False, "digitized": True, "e_result": False,
        "requires_paper_result": True, "synced": True, "supplement_days": 0.0, "supplement_count": 0.0,
        "reused": None, "population_db": None, "rating": None, "complaint": None,
        "imported_at": got["H2"]["imported_at"],
    }
    assert got["H2"]["imported_at"] is not None
    assert set(summary.to_json()) >= {"read", "inserted", "updated", "unchanged", "rejected"}


def test_semicolon_csv_with_bom_and_decimal_comma(store, tmp_path):
    """What Excel saves as "CSV UTF-8" in a Vietnamese locale."""
    path = write_csv(tmp_path / "excel.csv", [row("H1", supplement_days="1,5")], delimiter=";", bom=True)
    summary = store.import_files([path], source="s", units=UNITS)
    assert summary.inserted == 1, summary.rejects
    assert records(store)["H1"]["supplement_days"] == 1.5


def test_xlsx_with_typed_cells(store, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["X1", "1.001234", 24781, datetime(2025, 8, 4, 8, 0), datetime(2025, 8, 8, 17), None,
               "processing", "direct", True, False, 1, 0, "có", None, 0.5])
    ws.append([None] * len(HEADER))  # an empty sheet row: skipped, not counted
    # Settled (9) needs its finish time (issue 18): a number like the received time.
    ws.append(["X2", "1.001234", "24781", 20250804080000, None, 20250806103000, 9, 2, "yes", "no", "Không", "0",
               "1", "0", None])
    ws.append(["X3", "1.001234", "24781", "not a date", None, None, "received", "", "", "", "", "", "", "", ""])
    path = tmp_path / "sheet.xlsx"
    wb.save(path)
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    got = records(store)
    assert got["X1"]["received_at"] == datetime(2025, 8, 4, 8, 0)
    assert (got["X1"]["has_fee"], got["X1"]["paid_online"], got["X1"]["requires_paper_result"]) == (True, False, True)
    assert got["X1"]["supplement_days"] == 0.5 and got["X1"]["channel"] == "direct"
    assert got["X2"]["received_at"] == datetime(2025, 8, 4, 8, 0)
    assert (got["X2"]["status"], got["X2"]["channel"], got["X2"]["synced"]) == ("settled", "online", False)
    # The sheet row number, counting the skipped empty row.
    [reject] = read_rejects(tmp_path / "sheet.xlsx.rejects.csv")
    assert reject["line"] == "5" and reject["dossier_id"] == "X3"
    assert "received_at is not a date" in reject["reason"]


NATIONAL = [
    {
        "MaHoSo": "000.00.20.H12-250804-0001", "MaTTHC": "1.005129", "TenTTHC": "Cấp bản sao",
        "MaDonVi": "20194", "KenhThucHien": 2, "NgayTiepNhan": "20250804080000",
        "NgayHenTra": "20250808170000", "NgayKetThucXuLy": "20250806103000", "TrangThaiHoSo": 10,
        "DuocThanhToanTrucTuyen": 2, "HoSoCoThanhPhanSoHoa": 1,
        "TaiLieuNop": [{"TepDinhKemId": "a", "DuocSoHoa": 1}],
    },
    {
        "MaHoSo": "000.00.20.H12-250630-0002", "MaTTHC": "1.005129", "MaDonVi": "20194", "KenhThucHien": "",
        "NgayTiepNhan": "20250630160000", "NgayHenTra": "", "NgayKetThucXuLy": "", "TrangThaiHoSo": "4",
        "DuocThanhToanTrucTuyen": 0, "HoSoCoThanhPhanSoHoa": 0,
    },
]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_national_synchronisation_format(store, tmp_path, fmt):
    path = tmp_path / f"sync.{fmt}"
    if fmt == "json":
        path.write_text("\ufeff" + json.dumps(NATIONAL, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in NATIONAL) + "\n", encoding="utf-8")
    summary = store.import_files([path], source="dvc", units=UNITS)
    assert (summary.inserted, summary.rejected) == (2, 0), summary.rejects
    got = records(store)
    first = got["000.00.20.H12-250804-0001"]
    assert first["procedure_code"] == "1.005129"
    assert first["unit_code"] == "20194"  # received after the reform: the new ward
    assert (first["channel"], first["status"], first["paid_online"], first["digitized"]) == (
        "online", "returned", True, True)
    assert first["received_at"] == datetime(2025, 8, 4, 8, 0)
    assert first["finished_at"] == datetime(2025, 8, 6, 10, 30)
    # Columns the national format does not carry are unknown (NULL), not "no".
    assert first["has_fee"] is None and first["requires_paper_result"] is None and first["e_result"] is None
    assert first["synced"] is True and first["supplement_days"] == 0.0
    second = got["000.00.20.H12-250630-0002"]
    assert second["unit_code"] == "old:20194"  # received before the reform: the old ward
    assert (second["channel"], second["status"], second["paid_online"], second["due_at"]) == (
        "direct", "processing", False, None)


@pytest.mark.parametrize("code, status", sorted(DOSSIER_STATUSES.items()))
def test_status_codes_and_words(store, tmp_path, code, status):
    # Settled and returned need their finish time (issue 18); the other statuses take it too.
    path = write_csv(tmp_path / "s.csv", [row("H1", status=code, finished_at="2025-08-06T10:30:00")])
    assert store.import_files([path], source="s", units=UNITS).inserted == 1
    assert records(store)["H1"]["status"] == status


@pytest.mark.parametrize("text, value", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("Yes", True), ("có", True), ("Có", True),
    ("CÓ", True), ("co", True), (" 1 ", True),
    ("false", False), ("0", False), ("no", False), ("NO", False), ("không", False), ("Không", False),
    ("khong", False), ("KHÔNG", False),
    ("", False),  # empty: no
])
def test_boolean_spellings(store, tmp_path, text, value):
    path = write_csv(tmp_path / "b.csv", [row("H1", has_fee=text)])
    assert store.import_files([path], source="s", units=UNITS).inserted == 1
    assert records(store)["H1"]["has_fee"] is value


@pytest.mark.parametrize("text, local", [
    ("2025-08-04T08:00:00", datetime(2025, 8, 4, 8, 0)),  # no offset: local time
    ("2025-08-04 08:00", datetime(2025, 8, 4, 8, 0)),
    ("2025-08-04", datetime(2025, 8, 4, 0, 0)),
    ("2025-08-04T08:00:00+07:00", datetime(2025, 8, 4, 8, 0)),
    ("2025-08-04T01:00:00Z", datetime(2025, 8, 4, 8, 0)),  # UTC → UTC+7
    ("2025-08-03T20:00:00-05:00", datetime(2025, 8, 4, 8, 0)),
    ("2025-08-04T08:00:00.250+0700", datetime(2025, 8, 4, 8, 0, 0, 250000)),
    ("2025-08-04 08:00:00 +07:00", datetime(2025, 8, 4, 8, 0)),
    ("20250804080000", datetime(2025, 8, 4, 8, 0)),  # yyyyMMddHHmmss
    ("04/08/2025 08:00", datetime(2025, 8, 4, 8, 0)),  # day first, as Vietnamese sheets write it
    ("4/8/2025", datetime(2025, 8, 4, 0, 0)),
])
def test_timestamps_are_stored_as_local_time(store, tmp_path, text, local):
    path = write_csv(tmp_path / "t.csv", [row("H1", received_at=text, due_at="")])
    summary = store.import_files([path], source="s", units=UNITS)
    assert summary.inserted == 1, summary.rejects
    assert records(store)["H1"]["received_at"] == local


def test_offset_can_move_a_dossier_to_the_next_local_day(store, tmp_path):
    # 30 June 18:30 UTC is 1 July 01:30 in Vietnam: after the reform, so the new ward.
    path = write_csv(tmp_path / "t.csv", [row("H1", unit_code="20194", received_at="2025-06-30T18:30:00Z", due_at="")])
    store.import_files([path], source="s", units=UNITS)
    got = records(store)["H1"]
    assert got["received_at"] == datetime(2025, 7, 1, 1, 30) and got["unit_code"] == "20194"


def test_empty_and_absent_columns(store, tmp_path):
    """Empty synced means yes, empty supplement_days 0, empty channel in person; optional
    columns may be left out entirely."""
    header = ["dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
              "channel", "synced", "supplement_days", "rating", "reused", "complaint", "population_db"]
    path = write_csv(tmp_path / "e.csv", [
        row("H1", channel="", synced="", supplement_days="", rating="", reused="", complaint=""),
        row("H2", synced="0", supplement_days="2.25", rating="Không hài lòng", reused="1", complaint="có",
            population_db="0"),
    ], header=header)
    assert store.import_files([path], source="s", units=UNITS).inserted == 2
    got = records(store)
    assert (got["H1"]["channel"], got["H1"]["synced"], got["H1"]["supplement_days"]) == ("direct", True, 0.0)
    assert got["H1"]["has_fee"] is None  # column absent: unknown
    assert (got["H1"]["rating"], got["H1"]["reused"], got["H1"]["complaint"]) == (None, None, None)
    assert (got["H2"]["synced"], got["H2"]["supplement_days"], got["H2"]["rating"]) == (False, 2.25, "dislike")
    assert (got["H2"]["reused"], got["H2"]["complaint"], got["H2"]["population_db"]) == (True, True, False)


def test_header_names_ignore_case_spaces_and_underscores(store, tmp_path):
    header = ["Dossier ID", "PROCEDURE_CODE", "unit code", "ReceivedAt", "due_at", "finished_at", "Status"]
    path = write_csv(tmp_path / "h.csv", [dict(zip(header, ["H1", "1.1", "24781", "2025-08-04", "", "", "received"]))],
                     header=header)
    assert store.import_files([path], source="s", units=UNITS).inserted == 1


def test_import_rows_in_memory(store):
    rows = [
        {"dossier_id": "R1", "procedure_code": "1.1", "unit_code": "24781", "received_at": datetime(2025, 8, 4, 8),
         "due_at": None, "finished_at": None, "status": "received", "has_fee": True, "supplement_days": 0.5},
        {"dossier_id": "R2", "procedure_code": "1.1", "unit_code": "nowhere", "received_at": "2025-08-04",
         "due_at": None, "finished_at": None, "status": "received"},
    ]
    summary = store.import_rows(rows, source="api", units=UNITS)
    assert (summary.read, summary.inserted, summary.rejected, summary.rejects_path) == (2, 1, 1, None)
    [reject] = summary.rejects
    assert (reject.line, reject.code) == (2, "unknown_unit")
    got = records(store)["R1"]
    assert got["received_at"] == datetime(2025, 8, 4, 8) and got["has_fee"] is True and got["supplement_days"] == 0.5


def test_several_files_are_one_import(store, tmp_path):
    a = write_csv(tmp_path / "a.csv", [row("H1"), row("H2")])
    b = write_csv(tmp_path / "b.jsonl", [])  # placeholder, replaced below
    b.write_text(json.dumps(row("H3")) + "\n", encoding="utf-8")
    summary = store.import_files([a, b], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.version) == (3, 3, 1)
    assert [f.read for f in summary.files] == [2, 1]
    assert store.count() == 3


def test_empty_json_array_imports_nothing(store, tmp_path):
    path = tmp_path / "none.json"
    path.write_text("[]", encoding="utf-8")
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.version) == (0, 0, None)
