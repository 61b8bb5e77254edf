"""Report schedules: due times (pure), one run per schedule and due time even with two workers
(SQLite and PostgreSQL), and the file e-mailed as an attachment to a real local SMTP server."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone
from email import policy
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from chiso import db
from chiso.errors import ChisoError
from chiso.reports import schedule
from chiso.reports.models import ReportRun, ReportSchedule

from tests.mail import free_port, smtp_server

HCM = "Asia/Ho_Chi_Minh"
Z = ZoneInfo(HCM)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=Z)


# --------------------------------------------------------------------------- rules (pure)


def test_rules_parse_and_print_back():
    assert str(schedule.parse_rule("weekly:MON@8:00")) == "weekly:mon@08:00"
    assert str(schedule.parse_rule(" monthly:31@23:59 ")) == "monthly:31@23:59"
    for bad in ("weekly:xyz@08:00", "monthly:0@08:00", "monthly:32@08:00", "weekly:mon@24:00", "daily@08:00", ""):
        with pytest.raises(ChisoError, match="weekly:mon@08:00"):
            schedule.parse_rule(bad)


def test_latest_due_weekly_in_local_time():
    rule = schedule.parse_rule("weekly:mon@08:00")
    # Monday 30 November 2026, 07:59 local: the due time is the Monday before.
    assert schedule.latest_due(rule, local(2026, 11, 30, 7, 59), HCM) == local(2026, 11, 23, 8, 0)
    assert schedule.latest_due(rule, local(2026, 11, 30, 8, 0), HCM) == local(2026, 11, 30, 8, 0)
    assert schedule.latest_due(rule, local(2026, 12, 2, 12, 0), HCM) == local(2026, 11, 30, 8, 0)
    # 01:00 UTC on Monday is 08:00 in Hồ Chí Minh City.
    assert schedule.latest_due(rule, datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc), HCM) == local(
        2026, 11, 30, 8, 0)


def test_latest_due_monthly_clamps_to_the_month_end():
    rule = schedule.parse_rule("monthly:31@08:00")
    assert schedule.latest_due(rule, local(2026, 3, 1, 9, 0), HCM) == local(2026, 2, 28, 8, 0)
    assert schedule.latest_due(rule, local(2026, 1, 15, 0, 0), HCM) == local(2025, 12, 31, 8, 0)
    first = schedule.parse_rule("monthly:1@08:00")
    assert schedule.due_times(first, since=local(2026, 1, 1, 8, 0), until=local(2026, 4, 1, 8, 0), tz=HCM) == [
        local(2026, 2, 1, 8, 0), local(2026, 3, 1, 8, 0), local(2026, 4, 1, 8, 0)]


def test_the_period_of_a_scheduled_report_is_the_last_complete_one():
    from datetime import date

    assert schedule.period_of({"period_kind": "week"}, date(2026, 11, 30)).code == "2026-W48"
    assert schedule.period_of({"period_kind": "month"}, date(2026, 12, 1)).code == "2026-11"
    assert schedule.period_of({"period_kind": "quarter"}, date(2027, 1, 5)).code == "2026-Q4"
    assert schedule.period_of({"period": "2026-Q3"}, date(2027, 1, 5)).code == "2026-Q3"


# --------------------------------------------------------------------------- claiming


@pytest.fixture
def sched_id(engine):
    with db.transaction(engine) as s:
        row = ReportSchedule(code="w", kind="periodic", params={"period_kind": "week"}, format="pdf", lang=None,
                             rule="weekly:mon@08:00", recipients=[], active=True,
                             created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        s.add(row)
        s.flush()
        return row.id


def test_two_workers_never_both_claim_a_run(engine, sched_id):
    due = local(2026, 11, 30, 8, 0).astimezone(timezone.utc)
    results = []
    barrier = threading.Barrier(4)

    def take(name):
        barrier.wait()
        results.append(schedule.claim(engine, schedule_id=sched_id, due=due, worker=name))

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert not schedule.claim(engine, schedule_id=sched_id, due=due, worker="later")
    with db.transaction(engine) as s:
        runs = list(s.scalars(select(ReportRun)))
    assert len(runs) == 1 and runs[0].status == "running" and runs[0].attempts == 1
    # A failed run is taken again, up to the limit of attempts.
    schedule._finish(engine, schedule_id=sched_id, due=due, worker=runs[0].claimed_by, status="failed", error="x")
    assert schedule.claim(engine, schedule_id=sched_id, due=due, worker="retry")
    schedule._finish(engine, schedule_id=sched_id, due=due, worker="retry", status="failed", error="x")
    assert not schedule.claim(engine, schedule_id=sched_id, due=due, worker="retry", max_attempts=2)


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def smtp(monkeypatch):
    with smtp_server(monkeypatch, policy.default) as inbox:
        yield inbox


@pytest.fixture
def scheduled(env, monkeypatch, tmp_path):
    """A copy of the demo store for one test (schedules and runs are committed)."""
    import shutil
    from pathlib import Path

    src = Path(env["url"].removeprefix("sqlite:///"))
    # The test's own folder: an object's id can come back in a later test.
    dst = tmp_path / "copy" / "chiso.sqlite3"
    dst.parent.mkdir(parents=True)
    # The whole store: its database (through SQLite's backup, so what the write-ahead log
    # holds comes too) and its records folder beside it.
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    shutil.copytree(src.with_name("chiso.records"), dst.with_name("chiso.records"),
                    ignore=shutil.ignore_patterns("cache", ".lock"))
    url = f"sqlite:///{dst}"
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def test_the_weekly_report_is_built_once_and_arrives_as_an_attachment(scheduled, env, smtp, tmp_path):
    engine = scheduled
    with db.transaction(engine) as s:
        schedule.add_schedule(s, code="tuan-766", kind="periodic", rule="weekly:mon@08:00", fmt="xlsx",
                              recipients=["pct@tinh.test", "snv@tinh.test"], params={"period_kind": "week"})
        row = s.scalar(select(ReportSchedule).where(ReportSchedule.code == "tuan-766"))
        row.created_at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    now = local(2026, 11, 23, 9, 30)
    first = schedule.run_due(engine, now=now, worker="a", store=env["store"])
    assert first["failed"] == [] and [e["schedule"] for e in first["sent"]] == ["tuan-766"]
    again = schedule.run_due(engine, now=now + timedelta(minutes=5), worker="b", store=env["store"])
    assert again["sent"] == [] and [e["schedule"] for e in again["already"]] == ["tuan-766"]
    assert len(smtp.messages) == 1
    rcpt, msg = smtp.messages[0]
    assert set(rcpt) == {"pct@tinh.test", "snv@tinh.test"}
    parts = [p for p in msg.iter_attachments()]
    assert len(parts) == 1
    name = parts[0].get_filename()
    assert name == "periodic-766-2026-W47-20261123-0800.xlsx"
    data = parts[0].get_payload(decode=True)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "Tỉnh theo nhóm" in wb.sheetnames
    with db.transaction(engine) as s:
        runs = schedule.list_runs(s, schedule="tuan-766")
    assert len(runs) == 1 and runs[0]["status"] == "sent"
    import hashlib
    from pathlib import Path

    assert Path(runs[0]["file"]).read_bytes() == data
    assert runs[0]["sha256"] == hashlib.sha256(data).hexdigest()
    from chiso.store.service import reports_dir

    # In the store's own folder, not in a folder of the operating-system user.
    assert Path(runs[0]["file"]).parent == reports_dir(engine) / "tuan-766"


def test_a_failed_send_is_recorded_and_retried(scheduled, env, monkeypatch):
    engine = scheduled
    monkeypatch.setenv("CHISO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHISO_SMTP_PORT", str(free_port()))  # nobody listens
    with db.transaction(engine) as s:
        schedule.add_schedule(s, code="thang", kind="ranking", rule="monthly:1@07:00", fmt="pdf",
                              recipients=["ubnd@tinh.test"], params={"index": "766", "period_kind": "month",
                                                                     "groups": ["wards"]}, lang="en")
        s.scalar(select(ReportSchedule)).created_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    got = schedule.run_due(engine, now=local(2026, 11, 2, 7, 0), worker="a", store=env["store"])
    assert [e["schedule"] for e in got["failed"]] == ["thang"]
    with db.transaction(engine) as s:
        run = schedule.list_runs(s)[0]
    assert run["status"] == "failed" and run["error"] and run["attempts"] == 1
    assert run["due"] == local(2026, 11, 1, 7, 0).astimezone(timezone.utc).isoformat()
    again = schedule.run_due(engine, now=local(2026, 11, 2, 7, 5), worker="b", store=env["store"])
    assert [e["schedule"] for e in again["failed"]] == ["thang"]


def test_nothing_is_due_before_a_schedule_exists_and_bad_schedules_are_refused(scheduled, env):
    engine = scheduled
    with db.transaction(engine) as s:
        schedule.add_schedule(s, code="new", kind="periodic", rule="weekly:mon@08:00", fmt="pdf", recipients=[],
                              params={})
        for kw, msg in ((dict(kind="ranking", params={}), "chỉ số"),
                        (dict(kind="periodic", params={"groups": ["nope"]}), "nope"),
                        (dict(kind="ranking", params={"round": "nope-round"}), "nope-round"),
                        (dict(kind="scorecard", params={"units": ["99999"]}), "99999"),
                        (dict(kind="periodic", params={}, recipients=["not-an-address"]), "not-an-address")):
            with pytest.raises(ChisoError, match=msg):
                schedule.add_schedule(s, code="x", rule="weekly:mon@08:00", fmt="pdf",
                                      **{"recipients": [], **kw})
        with pytest.raises(ChisoError, match="new"):
            schedule.add_schedule(s, code="new", kind="periodic", rule="weekly:mon@08:00", fmt="pdf",
                                  recipients=[], params={})
    got = schedule.run_due(engine, now=datetime.now(timezone.utc), store=env["store"])
    assert got["sent"] == got["written"] == got["failed"] == []
    with db.transaction(engine) as s:
        assert schedule.list_runs(s) == []
        schedule.remove_schedule(s, code="new")
        assert schedule.list_schedules(s) == []
