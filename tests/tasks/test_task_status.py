"""Derived statuses as of a date, sub-task roll-up, progress and the completion score."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.tasks import service
from chiso.tasks.service import derive_status

DEADLINE = date(2025, 12, 15)
BEFORE, ON, AFTER = date(2025, 12, 14), date(2025, 12, 15), date(2025, 12, 16)


@pytest.mark.parametrize("stored", ["not_started", "in_progress"])
def test_open_task_before_on_and_after_its_deadline(stored):
    assert derive_status(stored, DEADLINE, None, BEFORE) == stored
    assert derive_status(stored, DEADLINE, None, ON) == stored
    assert derive_status(stored, DEADLINE, None, AFTER) == "overdue"


@pytest.mark.parametrize("completed", [BEFORE, ON])
def test_done_by_the_deadline_is_on_time_at_every_later_date(completed):
    for d in (completed, ON, AFTER, date(2026, 6, 1)):
        assert derive_status("done", DEADLINE, completed, d) == "done_on_time"


def test_done_after_the_deadline_is_late():
    assert derive_status("done", DEADLINE, AFTER, AFTER) == "done_late"
    assert derive_status("done", DEADLINE, AFTER, date(2026, 1, 1)) == "done_late"


def test_a_task_completed_after_the_date_was_not_yet_done_then():
    # Completed 16 Dec: on 14 and 15 Dec it was still being worked on, on 16 Dec late.
    assert derive_status("done", DEADLINE, AFTER, BEFORE) == "in_progress"
    assert derive_status("done", DEADLINE, AFTER, ON) == "in_progress"
    # Completed 20 Dec: on 17 Dec it was overdue.
    assert derive_status("done", DEADLINE, date(2025, 12, 20), date(2025, 12, 17)) == "overdue"
    # Completed on time, looked at before it was done.
    assert derive_status("done", DEADLINE, ON, BEFORE) == "in_progress"


def test_cancelled_stays_cancelled_even_past_the_deadline():
    for d in (BEFORE, ON, AFTER):
        assert derive_status("cancelled", DEADLINE, None, d) == "cancelled"


def test_score_rule_is_data():
    rule = service.load_score_rule()
    assert rule["weights"] == {"done_on_time": 100.0, "done_late": 50.0, "overdue": 0.0}
    assert service.score(["done_on_time", "done_late", "overdue", "in_progress", "cancelled"], rule) == 50.0
    assert service.score(["in_progress", "cancelled"], rule) is None


def test_a_bad_score_rule_is_refused(tmp_path):
    bad = tmp_path / "rule.yaml"
    bad.write_text("weights: {finished: 100}\n", encoding="utf-8")
    with pytest.raises(ChisoError):
        service.load_score_rule(bad)


def _programme(tmp_path, rows: list[str], name="programme.csv"):
    head = "id,title,owner,unit,coordinating_units,deadline,product,authority,source,member_in_charge,status,completed_at,parent_id,cancel_reason"
    path = tmp_path / name
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def test_sub_tasks_roll_up_into_their_parent(tstore, tmp_path):
    path = _programme(tmp_path, [
        "P,Số hóa hồ sơ,Bà An,99.SNV,,2025-12-31,Báo cáo,Chủ tịch UBND,CT 2025,,in_progress,,,",
        "P.1,Số hóa 2024,Ông Bình,99.SNV,,2025-11-30,Dữ liệu,Giám đốc Sở,CT 2025,,done,2025-11-20,P,",
        "P.2,Số hóa 2025,Ông Chi,99.STP,,2025-12-20,Dữ liệu,Giám đốc Sở,CT 2025,,in_progress,,P,",
        "P.3,Số hóa 2023,Ông Dũng,99.STP,,2025-12-20,Dữ liệu,Giám đốc Sở,CT 2025,,cancelled,,P,trùng việc",
    ])
    with db.transaction(tstore) as s:
        assert service.import_tasks(s, actor=command_line(), path=path).inserted == 4
        service.update_progress(s, actor=command_line(), code="P.2", percent=40, note="đã quét", on=date(2025, 12, 1))
    with db.transaction(tstore) as s:
        parent = service.get(s, "P")
        assert service.status_on(parent, date(2025, 12, 10)) == "in_progress"
        assert service.progress_on(parent, date(2025, 12, 10)) == 70  # mean of 100 and 40; cancelled left out
        with pytest.raises(ChisoError):
            service.mark_done(s, actor=command_line(), code="P", on=date(2025, 12, 10))
    with db.transaction(tstore) as s:
        service.mark_done(s, actor=command_line(), code="P.2", on=date(2026, 1, 5))
    with db.transaction(tstore) as s:
        parent = service.get(s, "P")
        assert service.completion(parent) == date(2026, 1, 5)
        assert service.status_on(parent, date(2025, 12, 31)) == "in_progress"
        assert service.status_on(parent, date(2026, 1, 2)) == "overdue"
        assert service.status_on(parent, date(2026, 1, 5)) == "done_late"
        assert service.progress_on(parent, date(2026, 1, 5)) == 100


def test_changes_update_done_cancel(tstore, tmp_path):
    path = _programme(tmp_path, ["T1,Việc một,Bà An,99.SNV,,2025-12-15,,,,,not_started,,,"])
    with db.transaction(tstore) as s:
        service.import_tasks(s, actor=command_line(), path=path)
        task = service.update_progress(s, actor=command_line("Bà An"), code="T1", percent=30, note="bắt đầu", on=date(2025, 12, 1))
        assert task.status == "in_progress"
        with pytest.raises(ChisoError):
            service.update_progress(s, actor=command_line(), code="T1", percent=130)
        service.mark_done(s, actor=command_line(), code="T1", on=date(2025, 12, 15))
        assert service.status_on(task, date(2025, 12, 20)) == "done_on_time"
        assert [p.percent for p in task.progress] == [30, 100]
        with pytest.raises(ChisoError, match="reason"):
            service.cancel(s, actor=command_line(), code="T1", reason=" ")
        service.cancel(s, actor=command_line(), code="T1", reason="không còn cần thiết")
        assert service.status_on(task, date(2025, 12, 20)) == "cancelled"
        with pytest.raises(ChisoError, match="Unknown task"):
            service.get(s, "nope")


def test_rollup_per_unit_and_per_owner(tstore, tmp_path):
    path = _programme(tmp_path, [
        "A,Đúng hạn,Bà An,99.SNV,,2025-12-15,,,,,done,2025-12-10,,",
        "B,Trễ hạn,Bà An,99.SNV,,2025-12-15,,,,,done,2025-12-20,,",
        "C,Quá hạn,Ông Bình,99.SNV,,2025-12-15,,,,,in_progress,,,",
        "D,Chưa đến hạn,Ông Bình,99.STP,,2025-12-31,,,,,not_started,,,",
        "E,Hủy,Ông Bình,99.STP,,2025-12-10,,,,,cancelled,,,thay đổi kế hoạch",
        "F,Năm sau,Ông Bình,99.STP,,2026-03-31,,,,,not_started,,,",
        "G,Cha,Bà An,99.STP,,2025-12-31,,,,,in_progress,,,",
        "G.1,Con,Bà An,99.STP,,2025-12-20,,,,,done,2025-12-19,G,",
    ])
    with db.transaction(tstore) as s:
        service.import_tasks(s, actor=command_line(), path=path)
        by_unit = {r["unit"]: r for r in service.rollup(s, period="2025-12", as_of=date(2025, 12, 25))}
        snv = by_unit["99.SNV"]
        assert (snv["assigned"], snv["done_on_time"], snv["done_late"], snv["overdue"], snv["open"]) == (3, 1, 1, 1, 0)
        assert snv["score"] == 50.0
        stp = by_unit["99.STP"]  # D not due yet, E cancelled, F outside the period, G is G.1's parent
        assert (stp["assigned"], stp["done_on_time"], stp["open"], stp["cancelled"]) == (2, 1, 1, 1)
        assert stp["score"] == 100.0
        by_owner = {r["owner"]: r for r in service.rollup(s, period="2025-12", by="owner", as_of=date(2025, 12, 25))}
        assert by_owner["Bà An"]["assigned"] == 3 and by_owner["Bà An"]["score"] == pytest.approx(83.33)
        assert by_owner["Ông Bình"]["overdue"] == 1 and by_owner["Ông Bình"]["score"] == 0.0
        # As of the end of the period D is overdue too; a rule given as data changes the score.
        late = {r["unit"]: r for r in service.rollup(s, period="2025-12", as_of=date(2025, 12, 31))}
        assert late["99.STP"]["overdue"] == 0  # 31 Dec is the deadline itself: not yet overdue
        late = {r["unit"]: r for r in service.rollup(s, period="2025-12", as_of=date(2026, 1, 1))}
        assert late["99.STP"]["overdue"] == 1 and late["99.STP"]["score"] == 50.0
        strict = {"weights": {"done_on_time": 100.0, "done_late": 0.0, "overdue": 0.0},
                  "counted": ["done_on_time", "done_late", "overdue"]}
        assert service.rollup(s, period="2025-12", as_of=date(2025, 12, 25), rule=strict)[0]["score"] == pytest.approx(33.33)


def test_committee_members_and_their_units(tstore):
    with db.transaction(tstore) as s:
        service.add_member(s, actor=command_line(), code="pct", name="Phó Chủ tịch A", role="Phó Trưởng ban", email="a@example.vn",
                           unit_codes=["99.SNV", "99001"])
        service.add_member(s, actor=command_line(), code="pct", name="Phó Chủ tịch A", role="Phó Trưởng ban", email="a@example.vn",
                           unit_codes=["99001"])
        assert service.list_members(s) == [{"code": "pct", "name": "Phó Chủ tịch A", "role": "Phó Trưởng ban",
                                             "email": "a@example.vn", "title": None, "body": "committee",
                                             "fields": [], "joined_on": None, "left_on": None, "units": ["99001"]}]
        with pytest.raises(ChisoError):
            service.add_member(s, actor=command_line(), code="x", name="X", unit_codes=["nope"])


def test_progress_reports_carry_checked_evidence(tstore, tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    path = _programme(tmp_path, ["E1,Ký số văn bản,Bà An,99.SNV,,2025-12-15,Báo cáo,Chủ tịch UBND,,,in_progress,,,"])
    report = tmp_path / "bao-cao.pdf"
    report.write_bytes(b"%PDF-1.7 bao cao tien do")
    bad = tmp_path / "run.exe"
    bad.write_bytes(b"MZ\x90\x00")
    with db.transaction(tstore) as s:
        service.import_tasks(s, actor=command_line(), path=path)
        service.update_progress(s, actor=command_line(), code="E1", percent=50, on=date(2025, 12, 1), evidence=report)
    with pytest.raises(ChisoError):
        with db.transaction(tstore) as s:
            service.update_progress(s, actor=command_line(), code="E1", percent=80, on=date(2025, 12, 5), evidence=bad)
    with db.transaction(tstore) as s:
        reports = service.get(s, "E1").progress
        assert [r.percent for r in reports] == [50]  # the refused report left nothing behind
        assert reports[0].evidence_name == "bao-cao.pdf"
        assert reports[0].evidence_sha256 == hashlib.sha256(report.read_bytes()).hexdigest()
        assert reports[0].evidence_type == "application/pdf"
