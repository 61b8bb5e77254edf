"""Every rejected row is kept, with its line number and one reason a clerk understands."""

from __future__ import annotations

import pytest

from chiso.errors import ChisoError
from dossier_helpers import HEADER, UNITS, read_rejects, records, row, write_csv

# (row, reason code, words the reason must contain)
BAD_ROWS = [
    (row("", ), "missing_key", ["dossier_id is empty"]),
    (row("B1", procedure_code=""), "missing_value", ["procedure_code is empty"]),
    (row("B2", received_at=""), "missing_value", ["received_at is empty"]),
    (row("B3", received_at="2025-02-30"), "bad_timestamp", ["received_at", "“2025-02-30”"]),
    (row("B4", due_at="next week"), "bad_timestamp", ["due_at", "“next week”"]),
    (row("B5", finished_at="2025-08-04T25:00:00"), "bad_timestamp", ["finished_at", "“2025-08-04T25:00:00”"]),
    (row("B6", received_at="2205-08-04"), "implausible_date", ["received_at is out of range", "2205-08-04"]),
    (row("B7", status="settled", finished_at="2025-08-03 09:00"), "order",
     ["finished_at (2025-08-03 09:00:00) is earlier than received_at (2025-08-04 08:00:00)"]),
    (row("B8", status="done"), "bad_choice", ["status has an unknown value “done”", "settled"]),
    (row("B9", status=""), "missing_value", ["status is empty"]),
    (row("B10", status="11"), "bad_choice", ["status", "“11”"]),
    (row("B11", channel="fax"), "bad_choice", ["channel has an unknown value “fax”", "direct, online, postal"]),
    (row("B12", has_fee="maybe"), "bad_boolean", ["has_fee is not a yes/no value: “maybe”"]),
    (row("B13", synced="2"), "bad_boolean", ["synced", "“2”"]),
    (row("B14", supplement_days="-1"), "negative", ["supplement_days is negative: “-1”"]),
    (row("B15", supplement_days="two"), "bad_number", ["supplement_days is not a number: “two”"]),
    (row("B16", unit_code="99999"), "unknown_unit", ["Unknown unit code “99999” in unit_code"]),
    (row("B17", unit_code="old:20194", received_at="2025-07-01T00:00:00", due_at=""), "unit_not_on_date",
     ["Unit “old:20194” did not exist on 2025-07-01"]),
    (row("B18", unit_code=""), "missing_value", ["unit_code is empty"]),
    # Issue 18, item 7: a NUL byte in an id, a settled dossier with no finish time, a date of 2099.
    (row("B\x0019"), "control_character", ["dossier_id holds a control character", "“B\\019”"]),
    (row("B\t20"), "control_character", ["dossier_id holds a control character"]),
    (row("B21", procedure_code="1.00\x001"), "control_character", ["procedure_code holds a control character"]),
    (row("B22", status="settled", finished_at=""), "missing_finish",
     ["finished_at is empty, but the status settled means the processing ended"]),
    (row("B23", status="10", finished_at=""), "missing_finish", ["finished_at is empty", "returned"]),
    (row("B24", due_at="2099-08-08T17:00:00"), "future_date",
     ["due_at is more than a year after the import: “2099-08-08T17:00:00”"]),
    (row("B25", received_at="2099-08-04T08:00:00", due_at=""), "future_date", ["received_at"]),
]


@pytest.mark.parametrize("bad, code, words", BAD_ROWS, ids=[c + ":" + (r["dossier_id"].replace("\x00", "NUL").replace("\t", "TAB") or "-")
                                          for r, c, _w in BAD_ROWS])
def test_each_reason_with_its_line(store, tmp_path, bad, code, words):
    path = write_csv(tmp_path / "in.csv", [row("G1"), bad, row("G2")])
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    [reject] = summary.rejects
    assert (reject.line, reject.code) == (3, code)
    for word in words:
        assert word in reject.reason
    [line] = read_rejects(tmp_path / "in.csv.rejects.csv")
    assert line["line"] == "3" and line["reason"] == reject.reason
    # The original values, as written.
    assert {h: line[h] for h in HEADER} == {h: str(bad[h]) for h in HEADER}
    assert set(records(store)) == {"G1", "G2"}


def test_duplicates_keep_the_last_and_say_which_line_won(store, tmp_path):
    path = write_csv(tmp_path / "dup.csv", [
        row("D1", status="received"),
        row("D2"),
        row("D1", status="processing"),
        row("D1", status="settled", finished_at="2025-08-05 10:00"),
    ])
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.rejected) == (4, 2, 2)
    assert [(r.line, r.code) for r in summary.rejects] == [(2, "duplicate"), (4, "duplicate")]
    assert all("line 5" in r.reason for r in summary.rejects)
    assert records(store)["D1"]["status"] == "settled"


def test_duplicate_key_in_a_national_file_names_its_column(store, tmp_path):
    header = ["MaHoSo", "MaTTHC", "MaDonVi", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "TrangThaiHoSo"]
    line = ["N1", "1.1", "24781", "20250804080000", "", "", "4"]
    path = write_csv(tmp_path / "n.csv", [dict(zip(header, line)), dict(zip(header, line))], header=header)
    summary = store.import_files([path], source="s", units=UNITS)
    assert summary.rejects[0].reason.startswith("MaHoSo N1 appears again on line 3")


def test_unreadable_lines_and_blank_lines_keep_line_numbers_right(store, tmp_path):
    path = tmp_path / "messy.csv"
    good = lambda i: ",".join(row(f"M{i}")[h] for h in HEADER)  # noqa: E731
    path.write_text(
        "\n".join([
            ",".join(HEADER),  # 1
            good(1),  # 2
            "",  # 3: blank, skipped
            "M2,only,three",  # 4: too few fields
            good(3),  # 5
            good(4) + ",extra",  # 6: too many fields
            ",,,,,,,,,,,,,,",  # 7: all empty, skipped and not counted
            row("M5", status="bogus")["dossier_id"] + "," + good(5).split(",", 1)[1].replace("processing", "bogus"),  # 8
        ]) + "\n",
        encoding="utf-8",
    )
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.rejected) == (5, 2, 3)
    assert [(r.line, r.code) for r in summary.rejects] == [(4, "malformed"), (6, "malformed"), (8, "bad_choice")]
    assert "fewer fields" in summary.rejects[0].reason and "more fields" in summary.rejects[1].reason
    lines = read_rejects(tmp_path / "messy.csv.rejects.csv")
    assert lines[0]["original line"] == "M2,only,three"


def test_rejects_file_is_utf8_with_bom(store, tmp_path):
    path = write_csv(tmp_path / "vn.csv", [row("V1", status="đã xong")])
    store.import_files([path], source="s", units=UNITS)
    raw = (tmp_path / "vn.csv.rejects.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "đã xong" in raw.decode("utf-8-sig")


def test_a_clean_import_removes_a_stale_rejects_file(store, tmp_path):
    path = write_csv(tmp_path / "f.csv", [row("F1", status="nonsense")])
    assert store.import_files([path], source="s", units=UNITS).rejected == 1
    assert (tmp_path / "f.csv.rejects.csv").exists()
    write_csv(path, [row("F1")])
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.rejected, summary.rejects_path) == (0, None)
    assert not (tmp_path / "f.csv.rejects.csv").exists()


@pytest.mark.parametrize("drop", ["dossier_id", "received_at", "status", "unit_code"])
def test_header_missing_a_required_column_refuses_the_file(store, tmp_path, drop):
    store.import_files([write_csv(tmp_path / "ok.csv", [row("K1")])], source="s", units=UNITS)
    before = store.snapshot()
    header = [h for h in HEADER if h not in (drop, "due_at")]
    path = write_csv(tmp_path / "bad.csv", [row("K2")], header=header)
    with pytest.raises(ChisoError) as info:
        store.import_files([path], source="s", units=UNITS)
    message = str(info.value)
    assert "bad.csv" in message and drop in message and "due_at" in message
    assert store.snapshot() == before and set(records(store)) == {"K1"}
    assert not (tmp_path / "bad.csv.rejects.csv").exists()


def test_one_bad_header_refuses_every_file_of_the_import(store, tmp_path):
    good = write_csv(tmp_path / "good.csv", [row("K1")])
    bad = write_csv(tmp_path / "bad.csv", [row("K2")], header=[h for h in HEADER if h != "status"])
    with pytest.raises(ChisoError):
        store.import_files([good, bad], source="s", units=UNITS)
    assert store.count() == 0


def test_a_field_given_twice_refuses_the_file(store, tmp_path):
    header = HEADER + ["MaHoSo"]
    path = write_csv(tmp_path / "twice.csv", [row("K1") | {"MaHoSo": "K1"}], header=header)
    with pytest.raises(ChisoError, match="dossier_id.*MaHoSo"):
        store.import_files([path], source="s", units=UNITS)


def test_files_that_cannot_be_read(store, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ChisoError, match="empty"):
        store.import_files([tmp_path / "empty.csv"], source="s", units=UNITS)
    (tmp_path / "utf16.csv").write_bytes(",".join(HEADER).encode("utf-16"))
    with pytest.raises(ChisoError, match="UTF-8"):
        store.import_files([tmp_path / "utf16.csv"], source="s", units=UNITS)
    (tmp_path / "broken.json").write_text('[{"MaHoSo": "A"', encoding="utf-8")
    with pytest.raises(ChisoError, match="cannot be read"):
        store.import_files([tmp_path / "broken.json"], source="s", units=UNITS)
    (tmp_path / "data.pdf").write_bytes(b"%PDF")
    with pytest.raises(ChisoError, match="unsupported"):
        store.import_files([tmp_path / "data.pdf"], source="s", units=UNITS)
    with pytest.raises(ChisoError, match="no such file"):
        store.import_files([tmp_path / "missing.csv"], source="s", units=UNITS)
    assert store.count() == 0


def test_invalid_utf8_in_a_row_rejects_that_row_only(store, tmp_path):
    path = tmp_path / "latin.csv"
    lines = [",".join(HEADER).encode(), ",".join(row("L1")[h] for h in HEADER).encode(),
             ",".join(row("L2", procedure_code="Th\xe9")[h] for h in HEADER).encode("latin-1")]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = store.import_files([path], source="s", units=UNITS)
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.rejects[0].line == 3 and "UTF-8" in summary.rejects[0].reason


def test_a_date_a_year_ahead_is_refused_but_a_due_date_months_ahead_is_not(store, tmp_path):
    from datetime import timedelta

    from chiso.clock import local_now

    now = local_now().replace(microsecond=0)
    soon = (now + timedelta(days=200)).isoformat()
    late = (now + timedelta(days=400)).isoformat()
    path = write_csv(tmp_path / "ahead.csv", [row("F1", received_at=now.isoformat(), due_at=soon),
                                              row("F2", received_at=now.isoformat(), due_at=late)])
    summary = store.import_files([path], source="s", units=UNITS)
    assert summary.inserted == 1 and [r.code for r in summary.rejects] == ["future_date"]


def test_a_nul_byte_posted_as_json_is_refused_with_its_reason(store):
    summary = store.import_rows([row("J\x001"), row("J2"), row("J3", status="settled")], source="s", units=UNITS)
    assert summary.inserted == 1
    assert [(r.line, r.code) for r in summary.rejects] == [(1, "control_character"), (3, "missing_finish")]
    assert set(records(store)) == {"J2"}


def test_units_resolve_by_day_as_the_rule_says(store, tmp_path):
    """Unit codes resolve in one join against spans of days cut at the units' validity
    bounds; every (code, day) gives what the rule gives day by day: of the units whose
    registry or official code matches (case aside) and that are valid that day, the
    registry-code match; none valid: unit_not_on_date; no match: unknown_unit."""
    from datetime import date, timedelta

    d = date
    units = [
        ("A1", "X1", None, d(2025, 7, 1)),          # official X1 before the reform...
        ("A2", "X1", d(2025, 7, 1), None),          # ...and after it, another unit
        ("B1", None, d(2025, 3, 1), d(2025, 9, 1)),  # valid only within a window
        ("C1", "a2", d(2025, 8, 1), None),          # official code = another's registry code
        ("D1", "D9", None, d(2025, 5, 1)),
        ("d9", None, d(2025, 6, 1), d(2025, 10, 1)),  # registry code d9 vs official D9
        ("E1", "E1", None, None),
    ]
    given = ["A1", "a1", "A2", "x1", "X1", "B1", "C1", "D9", "d9", "E1", "e1", "Z1"]
    days = [d(2025, 1, 2) + timedelta(days=17 * k) for k in range(20)]
    days += [d(2025, 3, 1), d(2025, 5, 1), d(2025, 6, 1), d(2025, 7, 1), d(2025, 8, 1), d(2025, 9, 1),
             d(2025, 6, 30), d(2025, 8, 31), d(2025, 9, 30)]
    days = sorted(set(days))

    def expected(code: str, day: date) -> tuple[str, str | None]:
        matches = [(u[0].lower() == code.lower(), u) for u in units
                   if u[0].lower() == code.lower() or (u[1] is not None and u[1].lower() == code.lower())]
        if not matches:
            return "unknown_unit", None
        valid = [(exact, u) for exact, u in matches if (u[2] is None or u[2] <= day) and (u[3] is None or u[3] > day)]
        if not valid:
            return "unit_not_on_date", None
        return "ok", max(valid, key=lambda m: m[0])[1][0]

    rows, want = [], {}
    for code in given:
        for day in days:
            key = f"K-{code}-{day.isoformat()}"
            rows.append(row(key, unit_code=code, received_at=f"{day.isoformat()}T09:00:00", due_at=""))
            want[key] = expected(code, day)
    path = write_csv(tmp_path / "in.csv", rows)
    summary = store.import_files([path], source="s", units=units)
    got = {key: ("ok", rec["unit_code"]) for key, rec in records(store).items()}
    for line in read_rejects(tmp_path / "in.csv.rejects.csv"):
        got[line["dossier_id"]] = (
            "unknown_unit" if line["reason"].startswith("Unknown unit") else "unit_not_on_date", None)
    assert summary.rejected == sum(1 for v in want.values() if v[0] != "ok")
    assert got == want
