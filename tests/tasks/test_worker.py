"""The reminder worker against a real local SMTP server (aiosmtpd) and a local webhook, on
both stores: one digest per person a day, even with two workers at once; escalation."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from chiso import db, worker
from chiso.auth.permissions import command_line
from chiso.notify.models import Digest
from chiso.tasks import service
from chiso.tasks.models import Task
from chiso.units.models import Unit

from tests.mail import free_port, smtp_server

D = date(2025, 12, 10)


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


@pytest.fixture
def smtp(monkeypatch):
    monkeypatch.setenv("CHISO_WEBHOOK_URL", "")
    with smtp_server(monkeypatch) as inbox:
        yield inbox


@pytest.fixture
def hook(monkeypatch):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CHISO_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture
def programme(tstore, monkeypatch):
    monkeypatch.setenv("CHISO_REMINDER_DAYS", "3")
    monkeypatch.setenv("CHISO_PERSON_EMAILS", "Nguyễn Văn A=a@tinh.test; bad-entry")
    with db.transaction(tstore) as s:
        service.add_member(s, actor=command_line(), code="pct", name="Phó Chủ tịch Hòa", role="Phó Trưởng ban", email="pct@tinh.test",
                           unit_codes=["99001"])
        uid = {u.code: u.id for u in s.scalars(select(Unit))}

        def task(code, owner, unit, deadline, **kw):
            s.add(Task(code=code, title=f"Nhiệm vụ {code}", owner=owner, unit_id=uid[unit], deadline=deadline, **kw))

        task("T1", "Nguyễn Văn A", "99.SNV", D + timedelta(days=2))            # due soon
        task("T2", "Nguyễn Văn A", "99001", D - timedelta(days=1))             # overdue → pct
        task("T3", "Trần B", "99.STP", D + timedelta(days=1))                  # no address: skipped
        task("T4", "pct", "99.VP", D)                                           # the member's own, due today
        task("T5", "Nguyễn Văn A", "99.SNV", D + timedelta(days=10))           # not yet due
        task("T6", "Nguyễn Văn A", "99.SNV", D - timedelta(days=5), status="done",
             completed_at=D - timedelta(days=6))                               # done: nothing
        task("T7", "Nguyễn Văn A", "99.SNV", D - timedelta(days=5), status="cancelled", cancel_reason="x")
    return tstore


def _rows(engine):
    with db.transaction(engine) as s:
        return [(d.person, d.day, d.channel, d.status, d.attempts) for d in
                s.scalars(select(Digest).order_by(Digest.person, Digest.channel, Digest.day))]


def test_one_digest_per_person_with_the_right_tasks(programme, smtp):
    report = worker.run_pass(programme, day=D)
    assert sorted(e["person"] for e in report["sent"]) == ["Nguyễn Văn A", "pct"]
    assert [e["person"] for e in report["skipped"]] == ["Trần B"]
    assert "Trần B" in report["skipped"][0]["reason"]

    (a,) = smtp.to("a@tinh.test")
    body = _body(a)
    assert "[T1]" in body and "[T2]" in body
    assert all(f"[{c}]" not in body for c in ("T3", "T4", "T5", "T6", "T7"))
    assert str(make_header(decode_header(a["Subject"]))) == "chiso: reminders for 2025-12-10"
    assert a["From"] == "chiso@tinh.test"

    (p,) = smtp.to("pct@tinh.test")
    body = _body(p)
    # Its own task due today, and the overdue task of the commune in its charge (escalation).
    assert "[T4]" in body and "[T2]" in body and "[T1]" not in body
    assert body.index("[T4]") < body.index("Overdue tasks in the units you are in charge of") < body.index("[T2]")
    assert len(smtp.messages) == 2


def test_a_second_pass_the_same_day_sends_nothing_and_the_next_day_sends_again(programme, smtp):
    worker.run_pass(programme, day=D)
    assert len(smtp.messages) == 2
    again = worker.run_pass(programme, day=D)  # a restart: a new worker id
    assert again["sent"] == [] and len(again["already"]) == 2
    assert len(smtp.messages) == 2

    smtp.clear()
    nxt = worker.run_pass(programme, day=D + timedelta(days=1))
    assert sorted(e["person"] for e in nxt["sent"]) == ["Nguyễn Văn A", "pct"]
    assert len(smtp.to("a@tinh.test")) == 1 and len(smtp.to("pct@tinh.test")) == 1
    assert [r[3] for r in _rows(programme)] == ["sent"] * 4


def test_two_workers_at_once_send_one_digest_per_person(programme, smtp, store_url):
    engines = [db.make_engine(store_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run(engine, name):
        try:
            barrier.wait()
            reports.append(worker.run_pass(engine, day=D, worker=name))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert not errors
    sent = [e["person"] for r in reports for e in r["sent"]]
    assert sorted(sent) == ["Nguyễn Văn A", "pct"]
    assert len(smtp.to("a@tinh.test")) == 1 and len(smtp.to("pct@tinh.test")) == 1
    assert len(smtp.messages) == 2
    assert _rows(programme) == [("Nguyễn Văn A", D, "email", "sent", 1), ("pct", D, "email", "sent", 1)]


def test_a_failed_send_is_retried_until_the_attempts_run_out(programme, monkeypatch):
    monkeypatch.setenv("CHISO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHISO_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("CHISO_DIGEST_MAX_ATTEMPTS", "2")
    assert len(worker.run_pass(programme, day=D)["failed"]) == 2
    assert len(worker.run_pass(programme, day=D)["failed"]) == 2
    third = worker.run_pass(programme, day=D)
    assert third["failed"] == [] and len(third["already"]) == 2
    assert {r[3:] for r in _rows(programme)} == {("failed", 2)}


def test_the_webhook_receives_json(programme, hook, monkeypatch):
    monkeypatch.setenv("CHISO_SMTP_HOST", "")
    report = worker.run_pass(programme, day=D)
    assert report["channels"] == ["webhook"]
    # The webhook needs no address: the owner without one gets it too.
    assert sorted(e["person"] for e in report["sent"]) == ["Nguyễn Văn A", "Trần B", "pct"]
    by_person = {p["person"]: (ctype, p) for ctype, p in hook}
    ctype, a = by_person["Nguyễn Văn A"]
    assert ctype.startswith("application/json")
    assert a["day"] == "2025-12-10"
    assert [t["id"] for t in a["due_soon"]] == ["T1"] and [t["id"] for t in a["overdue"]] == ["T2"]
    assert [t["id"] for t in by_person["pct"][1]["escalated"]] == ["T2"]
    assert worker.run_pass(programme, day=D)["sent"] == []
    assert len(hook) == 3


def test_the_digest_is_in_vietnamese_by_default(programme, smtp, monkeypatch):
    monkeypatch.delenv("CHISO_LANG")
    worker.run_pass(programme, day=D)
    (a,) = smtp.to("a@tinh.test")
    body = _body(a)
    assert "Nhiệm vụ quá hạn" in body
    assert "Overdue" not in body


def test_the_worker_command_runs_one_pass(programme, smtp):
    from click.testing import CliRunner

    from chiso.worker_cli import worker as worker_cmd

    result = CliRunner().invoke(worker_cmd, ["--once", "--day", "2025-12-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert sorted(e["person"] for e in report["sent"]) == ["Nguyễn Văn A", "pct"]
    assert len(smtp.messages) == 2


# --------------------------------------------------------------------------- early warning (issue 15)


def test_the_digest_warns_of_dossiers_falling_due(programme, smtp, monkeypatch, tmp_path):
    """The member in charge of a ward, and the person `due_contacts` names for a department,
    hear of their open dossiers due within 2 working days or overdue, and of no other."""
    from chiso.dossiers.store import registry_units
    from chiso.store.service import open_records
    from chiso.units.models import Meta

    monkeypatch.setenv("CHISO_RECORDS_PATH", str(tmp_path / "records"))
    monkeypatch.setenv("CHISO_DUE_CONTACTS", "99.SNV=Nguyễn Văn A")
    with db.transaction(programme) as s:
        s.merge(Meta(key="home_province", value="99"))
        rows = registry_units(s)

    def dossier(i, unit, due, finished=None):
        return {"dossier_id": i, "procedure_code": "1.1", "unit_code": unit, "received_at": "2025-12-01 08:00:00",
                "due_at": due, "finished_at": finished, "status": "settled" if finished else "processing"}

    # D is Wednesday 10/12/2025: within 2 working days means due before Saturday 13/12.
    summary = open_records(programme).import_rows([
        dossier("W-soon", "99001", "2025-12-12 17:00:00"),               # due Friday: listed
        dossier("W-late", "99001", "2025-12-05 17:00:00"),               # overdue: listed
        dossier("W-later", "99001", "2025-12-16 17:00:00"),              # after the window
        dossier("W-done", "99001", "2025-12-11 17:00:00", "2025-12-09 10:00:00"),  # finished
        dossier("S-late", "99.SNV", "2025-12-08 17:00:00"),              # the department's
    ], source="test", units=rows)
    assert summary.rejected == 0, summary.to_json()
    report = worker.run_pass(programme, day=D)
    assert sorted(e["person"] for e in report["sent"]) == ["Nguyễn Văn A", "pct"]
    body = _body(smtp.to("pct@tinh.test")[0])
    assert "W-soon" in body and "W-late" in body and "W-later" not in body and "W-done" not in body
    assert "Phường Một (99001): 1 overdue, 1 due soon" in body
    assert "S-late" not in body
    a = _body(smtp.to("a@tinh.test")[0])
    assert "S-late" in a and "W-late" not in a and "5 days overdue" not in a
    assert "2 days overdue" in a  # due Monday 08/12 17:00, the digest of Wednesday's morning
