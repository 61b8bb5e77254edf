"""Importing a work programme: bad rows reject the whole file with every reason; re-import
is idempotent; ``chiso tasks`` prints the JSON shapes the acceptance reads."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner
from openpyxl import Workbook

from chiso import db
from chiso.auth.permissions import command_line
from chiso.tasks import service
from chiso.tasks.cli import committee, tasks

HEAD = ("id,title,owner,unit,coordinating_units,deadline,product,authority,source,member_in_charge,"
        "status,completed_at,parent_id,cancel_reason")
GOOD = [
    "KH1,Phủ sóng họp trực tuyến đến mọi xã,Ông Bình,99.VP,99.SNV;99001,2025-12-15,Hệ thống họp trực tuyến,"
    "Chủ tịch UBND tỉnh,Chương trình công tác 2025,pct,in_progress,,,",
    "KH1.1,Lắp thiết bị phường Một,Bà Chi,99001,,2025-11-30,Biên bản nghiệm thu,Giám đốc Sở,"
    "Chương trình công tác 2025,pct,done,2025-11-28,KH1,",
    "KH2,Chữ ký số cho công chức,Bà An,99.SNV,,2025-12-31,Báo cáo,Trưởng ban,Kết luận 12/TB,,not_started,,,",
]


def write(tmp_path, rows, name="programme.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_file_with_bad_rows_imports_nothing_and_shows_every_reason(tstore, tmp_path):
    path = write(tmp_path, GOOD + [
        "B1,Đơn vị lạ,Bà An,99.XYZ,,2025-12-31,,,,,not_started,,,",               # line 5
        "B2,Ngày sai,Bà An,99.SNV,,31/12/2025,,,,,not_started,,,",                # line 6
        "B3,Xong không ngày,Bà An,99.SNV,,2025-12-31,,,,,done,,,",                # line 7
        "B4,Hủy không lý do,Bà An,99.SNV,,2025-12-31,,,,,cancelled,,,",           # line 8
        "B5,Cha lạ,Bà An,99.SNV,,2025-12-31,,,,,not_started,,NOPE,",              # line 9
        "KH2,Trùng mã,Bà An,99.SNV,,2025-12-31,,,,,not_started,,,",               # line 10
        "C1,Vòng 1,Bà An,99.SNV,,2025-12-31,,,,,not_started,,C2,",                # line 11
        "C2,Vòng 2,Bà An,99.SNV,,2025-12-31,,,,,not_started,,C1,",                # line 12
        "B6,Trạng thái lạ,Bà An,99.SNV;,99.QQQ,2025-12-31,,,,,finished,,,",       # line 13
        "B7,,,99.SNV,,2025-12-31,,,,,in_progress,2025-12-01,,",                   # line 14
    ])
    with db.transaction(tstore) as s:
        summary = service.import_tasks(s, actor=command_line(), path=path)
        data = summary.to_json()
        assert data["imported"] == 0 and data["rejected"] == 10 and data["read"] == 13
        reasons = {r["line"]: r["reason"] for r in data["rejects"]}
        assert "unknown unit 99.XYZ" in reasons[5]
        assert "deadline '31/12/2025' is not a date" in reasons[6]
        assert "status is done but completed_at is empty" in reasons[7]
        assert "status is cancelled but cancel_reason is empty" in reasons[8]
        assert "unknown parent NOPE" in reasons[9]
        assert "id KH2 is given twice (first at line 4)" in reasons[10]
        assert "cycle" in reasons[11] and "cycle" in reasons[12]
        assert "unknown status finished" in reasons[13] and "unknown coordinating unit 99.QQQ" in reasons[13]
        assert "title is empty" in reasons[14] and "owner is empty" in reasons[14]
        assert "completed_at is given but status is in_progress" in reasons[14]
        assert (tmp_path / "programme.csv.rejects.csv").exists()
    with db.transaction(tstore) as s:
        assert service.list_tasks(s) == []


def test_reimport_is_idempotent_and_updates_what_changed(tstore, tmp_path):
    path = write(tmp_path, GOOD)
    with db.transaction(tstore) as s:
        first = service.import_tasks(s, actor=command_line(), path=path).to_json()
    assert (first["imported"], first["updated"], first["unchanged"], first["rejected"]) == (3, 0, 0, 0)
    with db.transaction(tstore) as s:
        again = service.import_tasks(s, actor=command_line(), path=path).to_json()
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 3)
    changed = [GOOD[0].replace("2025-12-15", "2025-12-20"), GOOD[1], GOOD[2].replace("99.SNV,,", "99.SNV,99.STP,")]
    with db.transaction(tstore) as s:
        third = service.import_tasks(s, actor=command_line(), path=write(tmp_path, changed)).to_json()
    assert (third["imported"], third["updated"], third["unchanged"]) == (0, 2, 1)
    with db.transaction(tstore) as s:
        rows = {r["id"]: r for r in service.list_tasks(s, as_of=date(2025, 12, 1))}
        assert rows["KH1"]["deadline"] == "2025-12-20"
        assert rows["KH1"]["coordinating_units"] == ["99.SNV", "99001"]
        assert rows["KH2"]["coordinating_units"] == ["99.STP"]
        assert rows["KH1.1"]["parent_id"] == "KH1" and rows["KH1.1"]["status"] == "done_on_time"


def test_xlsx_with_real_date_cells(tstore, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD.split(","))
    ws.append(["X1", "Việc", "Bà An", "99.SNV", "", date(2025, 12, 15), "", "", "", "", "done", date(2025, 12, 1), "", ""])
    path = tmp_path / "programme.xlsx"
    wb.save(path)
    with db.transaction(tstore) as s:
        assert service.import_tasks(s, actor=command_line(), path=path).inserted == 1
        assert service.list_tasks(s, as_of=date(2025, 12, 20))[0]["status"] == "done_on_time"


def run(group, *args):
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cli_json_shapes(tstore, tmp_path):
    run(committee, "add", "pct", "--name", "Phó Chủ tịch A", "--role", "Phó Trưởng ban", "--email", "a@example.vn",
        "--unit", "99001")
    members = json.loads(run(committee, "list", "--format", "json").output)
    assert members[0]["units"] == ["99001"]

    summary = json.loads(run(tasks, "import", str(write(tmp_path, GOOD)), "--format", "json").output)
    assert summary["imported"] == 3 and summary["rejected"] == 0 and summary["rejects"] == []

    rows = json.loads(run(tasks, "list", "--as-of", "2025-12-16", "--format", "json").output)
    assert [set(r) >= {"id", "title", "unit", "owner", "deadline", "status"} for r in rows] == [True] * 3
    # KH1's one sub-task was done on 28 Nov, so KH1 is done then too (roll-up).
    assert {r["id"]: r["status"] for r in rows} == {"KH1.1": "done_on_time", "KH1": "done_on_time", "KH2": "not_started"}
    assert rows[0] == rows[0] | {"id": "KH1.1", "unit": "99001", "owner": "Bà Chi", "deadline": "2025-11-30",
                                 "member_in_charge": "pct"}

    # --unit takes the units below: the province holds all three, the ward only its own.
    assert len(json.loads(run(tasks, "list", "--unit", "99", "--format", "json").output)) == 3
    assert [r["id"] for r in json.loads(run(tasks, "list", "--unit", "99001", "--format", "json").output)] == ["KH1.1"]
    assert json.loads(run(tasks, "list", "--unit", "98", "--format", "json").output) == []

    row = json.loads(run(tasks, "update", "KH2", "--progress", "40", "--note", "đã cấp 40%", "--on", "2025-12-01",
                         "--format", "json").output)
    assert row["stored_status"] == "in_progress"
    row = json.loads(run(tasks, "done", "KH2", "--on", "2026-01-05", "--format", "json").output)
    assert row["status"] == "done_late" and row["completed_at"] == "2026-01-05"
    row = json.loads(run(tasks, "cancel", "KH1.1", "--reason", "làm chung với KH1", "--format", "json").output)
    assert row["status"] == "cancelled" and row["cancel_reason"] == "làm chung với KH1"

    late = json.loads(run(tasks, "list", "--status", "overdue", "--as-of", "2025-12-16", "--format", "json").output)
    assert [r["id"] for r in late] == ["KH1"]  # its only sub-task cancelled: KH1 stands on its own again
    shown = json.loads(run(tasks, "show", "KH2", "--as-of", "2025-12-10", "--format", "json").output)
    assert [u["percent"] for u in shown["updates"]] == [40, 100] and shown["status"] == "in_progress"

    rollup = json.loads(run(tasks, "rollup", "--period", "2025-Q4", "--format", "json").output)
    r = {x["unit"]: x for x in rollup}
    assert set(r["99.VP"]) == {"unit", "period", "as_of", "assigned", "done_on_time", "done_late", "overdue", "open",
                               "cancelled", "score"}
    assert (r["99.VP"]["period"], r["99.VP"]["as_of"], r["99.VP"]["overdue"], r["99.VP"]["score"]) == (
        "2025-Q4", "2025-12-31", 1, 0.0)
    assert (r["99001"]["assigned"], r["99001"]["cancelled"], r["99001"]["score"]) == (0, 1, None)
    assert (r["99.SNV"]["open"], r["99.SNV"]["score"]) == (1, None)  # done on 5 Jan, after the period
    later = json.loads(run(tasks, "rollup", "--period", "2025-Q4", "--as-of", "2026-01-10", "--format", "json").output)
    assert {x["unit"]: x for x in later}["99.SNV"]["done_late"] == 1
    by_owner = json.loads(run(tasks, "rollup", "--period", "2025", "--by", "owner", "--format", "json").output)
    assert {x["owner"] for x in by_owner} == {"Ông Bình", "Bà Chi", "Bà An"}

    bad = write(tmp_path, ["Z,Việc,Bà An,99.ZZZ,,2025-12-31,,,,,not_started,,,"], name="bad.csv")
    result = CliRunner().invoke(tasks, ["import", str(bad), "--format", "json"])
    # A refused file still answers with its summary, and fails so that a script notices.
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["imported"] == 0 and data["inserted"] == 0 and data["rejected"] == 1
    assert [{k: r[k] for k in ("line", "reason")} for r in data["rejects"]] == [
        {"line": 2, "reason": "unknown unit 99.ZZZ"}]
    assert data["rejects"][0]["values"]["unit"] == "99.ZZZ"
