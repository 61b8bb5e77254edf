"""Subscriptions through the worker, against a real local SMTP server (tests/mail.py) and a
local webhook, on both stores: the scheduled message of a page and of a unit, an alert when
a unit turns red or falls into the last three of its group (once per change, only to those
who may read the unit), and the watch's history."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from chiso import db, worker
from chiso.auth.permissions import command_line
from chiso.subscriptions import service
from chiso.subscriptions.models import AlertEvent, Subscription, SubscriptionSend

from tests.mail import free_port, smtp_server
from tests.web.conftest import dossier

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 12, 7)  # a Monday in the fourth quarter
T1 = datetime(2026, 12, 7, 8, 0, tzinfo=TZ)  # after the 07:00 sending time
PASSWORD = "mật-khẩu-đủ-dài-1"


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


def _subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


@pytest.fixture
def province(province_engine, monkeypatch):
    """The wards of Lâm Đồng, each with 20 dossiers settled on time in November (all tied
    first), and three accounts: the steering committee, and viewers of two wards."""
    from chiso.auth import service as auth
    from chiso.dossiers.store import registry_units
    from chiso.store.service import open_records
    from chiso.units import service as units

    monkeypatch.setenv("CHISO_WEBHOOK_URL", "")
    engine = province_engine  # province 68 loaded (a copy of the template store)
    with db.transaction(engine) as s:
        wards = [u.code for u in units.group_members(s, "wards", as_of=DAY)]
        registry = registry_units(s)
        x, y = wards[0], wards[1]
        for name, role, unit in (("lanhdao", "steering", None), ("phuong_x", "viewer", x), ("phuong_y", "viewer", y)):
            auth.add_user(s, actor=command_line(), name=name, role=role, unit=unit, password=PASSWORD,
                          full_name=f"Người {name}")
            auth.get_user(s, name).email = f"{name}@tinh.test"
    store = open_records(engine)
    store.import_rows([dossier(f"{w}-{i}", w) for w in wards for i in range(20)], source="seed", units=registry)
    return {"engine": engine, "store": store, "wards": wards, "x": x, "y": y, "registry": registry}


def _subscribe(engine, name: str, kind: str, target: str, frequency: str = "daily", alerts: bool = True) -> None:
    from chiso.auth import service as auth

    with db.transaction(engine) as s:
        actor = auth.actor_for_user(s, auth.get_user(s, name))
        service.subscribe(s, actor=actor, kind=kind, target=target, frequency=frequency, alerts=alerts)
        # Made before the day of the test, whenever the test runs.
        s.execute(update(Subscription).values(created_at=datetime(2026, 12, 1, tzinfo=timezone.utc)))


def _late(province, unit: str, n: int) -> None:
    """``n`` more dossiers of ``unit`` received on 2 November, still open long past due."""
    rows = [dossier(f"{unit}-late-{i}", unit, status="processing") for i in range(n)]
    province["store"].import_rows(rows, source="late", units=province["registry"])


@pytest.fixture
def smtp(monkeypatch):
    with smtp_server(monkeypatch) as inbox:
        yield inbox


def test_scheduled_messages_then_one_alert_per_change_within_scope(province, smtp):
    engine, x, y = province["engine"], province["x"], province["y"]
    _subscribe(engine, "lanhdao", "page", "overview")
    _subscribe(engine, "phuong_x", "unit", x)
    _subscribe(engine, "phuong_y", "unit", y, frequency="off")

    first = worker.run_pass(engine, day=DAY, now=T1)["subscriptions"]
    assert first["events"] == []  # nobody red, nobody behind: everyone ties first
    assert sorted((s["user"], s["kind"]) for s in first["sent"]) == [("lanhdao", "subscription"),
                                                                       ("phuong_x", "subscription")]
    (overview,) = smtp.to("lanhdao@tinh.test")
    assert _subject(overview).startswith("chiso: Tổng quan, Quý 4/2026")
    assert "Năm đơn vị thấp nhất theo tổng điểm" in _body(overview)
    (unit_mail,) = smtp.to("phuong_x@tinh.test")
    assert f"Hạng 1/{len(province['wards'])}" in _body(unit_mail)
    assert smtp.to("phuong_y@tinh.test") == []

    # X gets forty dossiers long overdue (weak band, last), Y three (still average, but last three).
    _late(province, x, 40)
    _late(province, y, 3)
    smtp.clear()
    second = worker.run_pass(engine, day=DAY, now=T1 + timedelta(minutes=10))["subscriptions"]
    with db.transaction(engine) as s:
        events = {(e.condition, e.unit_id) for e in s.scalars(select(AlertEvent))}
    assert len(second["events"]) == 3 == len(events)  # X red, X last three, Y last three
    assert all(s["kind"] == "alert" for s in second["sent"])  # the day's digests went out already
    (boss,) = smtp.to("lanhdao@tinh.test")
    body = _body(boss)
    assert "chuyển sang đỏ" in body and body.count("rơi vào nhóm ba đơn vị cuối") == 2
    (mine,) = smtp.to("phuong_x@tinh.test")
    assert "chuyển sang đỏ" in _body(mine) and "rơi vào nhóm ba đơn vị cuối" in _body(mine)
    (other,) = smtp.to("phuong_y@tinh.test")
    # Y's reader hears of Y falling behind, never of X (outside their scope).
    assert "rơi vào nhóm ba đơn vị cuối" in _body(other) and "chuyển sang đỏ" not in _body(other)
    assert _subject(other).startswith("chiso cảnh báo:")

    # The same flip is never sent twice: a restart, then a later pass.
    smtp.clear()
    third = worker.run_pass(engine, day=DAY, now=T1 + timedelta(minutes=20))["subscriptions"]
    assert third["events"] == [] and third["sent"] == [] and smtp.messages == []
    with db.transaction(engine) as s:
        sends = s.scalars(select(SubscriptionSend).where(SubscriptionSend.key.like("alert:%"))).all()
        assert len(sends) == 3 + 2 + 1 and {r.status for r in sends} == {"sent"}

    # The next morning's scheduled messages go out again; the history keeps every change.
    smtp.clear()
    nxt = worker.run_pass(engine, day=DAY + timedelta(days=1), now=T1 + timedelta(days=1))["subscriptions"]
    assert sorted(s["user"] for s in nxt["sent"]) == ["lanhdao", "phuong_x"]
    with db.transaction(engine) as s:
        history = service.alert_history(s, actor=command_line())
    assert sorted((h["unit"], h["condition"], h["holds"]) for h in history) == sorted(
        [(x, "red", True), (x, "last_three", True), (y, "last_three", True)])


def test_two_workers_watching_at_once_record_one_event_per_change(province):
    from chiso.periods import period_for

    engine, x = province["engine"], province["x"]
    _late(province, x, 40)
    period = period_for("quarter", DAY)
    with db.transaction(engine) as s:
        found = service.states(s, province["store"], period)
    assert found[x].red and found[x].last_three
    results: list[list[int]] = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(service.watch(engine, found, period))

    threads = [threading.Thread(target=run) for _i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results)[-1] >= 1
    assert sum(len(r) for r in results) == 2  # red and last three, once each
    assert service.watch(engine, found, period) == []


@pytest.fixture
def hook(monkeypatch):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CHISO_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    monkeypatch.setenv("CHISO_SMTP_HOST", "")
    yield received
    server.shutdown()


def test_the_webhook_receives_the_alert_as_json(province, hook):
    engine, x = province["engine"], province["x"]
    _subscribe(engine, "phuong_x", "unit", x, frequency="off")
    _late(province, x, 40)
    report = worker.run_pass(engine, day=DAY, now=T1)["subscriptions"]
    assert [s["channel"] for s in report["sent"]] == ["webhook"]
    (payload,) = hook
    assert payload["person"] == "phuong_x" and payload["kind"] == "alert"
    assert sorted(a["condition"] for a in payload["alerts"]) == ["last_three", "red"]
    assert {a["unit"] for a in payload["alerts"]} == {x}
    assert worker.run_pass(engine, day=DAY, now=T1)["subscriptions"]["sent"] == []


def test_the_cli_subscribes_lists_and_shows_the_history(province, monkeypatch):
    from click.testing import CliRunner

    from chiso.cli import cli as main

    monkeypatch.setenv("CHISO_DATABASE_URL", province["engine"].url.render_as_string(hide_password=False))
    runner = CliRunner()
    r = runner.invoke(main, ["subscriptions", "add", "--user", "phuong_x", "--unit", province["x"], "--frequency",
                             "weekly", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["frequency"] == "weekly"
    refused = runner.invoke(main, ["subscriptions", "add", "--user", "phuong_x", "--unit", province["y"]])
    assert refused.exit_code != 0  # outside the account's scope
    rows = json.loads(runner.invoke(main, ["subscriptions", "list", "--format", "json"]).output)
    assert [(r["user"], r["target"]) for r in rows] == [("phuong_x", province["x"])]
    assert runner.invoke(main, ["subscriptions", "remove", "--user", "phuong_x", "--unit", province["x"]]).exit_code == 0
    assert json.loads(runner.invoke(main, ["subscriptions", "list", "--format", "json"]).output) == []
    assert json.loads(runner.invoke(main, ["subscriptions", "alerts", "--format", "json"]).output) == []


def test_a_target_light_turning_red_is_an_alert_once(province, smtp):
    from chiso.targets import service as targets

    engine, x, y = province["engine"], province["x"], province["y"]
    _subscribe(engine, "phuong_x", "unit", x, frequency="off")
    _subscribe(engine, "phuong_y", "unit", y, frequency="off")
    with db.transaction(engine) as s:
        targets.save_target(s, actor=command_line(), code="TG-SO-HOA", indicator="so_hoa.manual", unit=x,
                            direction="higher", goal=10, deadline="2026-11-30", name="Tỷ lệ số hóa hồ sơ")
        targets.set_value(s, actor=command_line("seed"), indicator="so_hoa.manual", unit=x, period="2026", value=3)
        recorded = targets.evaluate(s, as_of=DAY, store=province["store"])
    assert [f["to"] for f in recorded["flips"]] == ["red"]
    report = worker.run_pass(engine, day=DAY, now=T1)["subscriptions"]
    assert [s["user"] for s in report["sent"]] == ["phuong_x"]
    (mail,) = smtp.to("phuong_x@tinh.test")
    body = _body(mail)
    assert "Tỷ lệ số hóa hồ sơ" in body and "chỉ tiêu chuyển sang đỏ" in body
    assert smtp.to("phuong_y@tinh.test") == []  # another ward's reader hears nothing of it
    smtp.clear()
    again = worker.run_pass(engine, day=DAY, now=T1 + timedelta(minutes=5))["subscriptions"]
    assert again["sent"] == [] and again["events"] == [] and smtp.messages == []
