"""Meetings, their conclusions as tasks (the acceptance's commands), the counts and the
agenda draft, the conclusion notice (DOCX and PDF, dd/mm/yyyy dates), the committee's
documents and members' history, the catalogue metric, and digests to the member following
a commune; on both stores."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from chiso import db, worker
from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.tasks import charter, meetings, service
from chiso.tasks.cli import committee, meetings as meetings_cli, tasks as tasks_cli

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture
def home(tstore):
    """The small province of the task tests as the store's home province."""
    from chiso.units.models import Meta

    with db.transaction(tstore) as s:
        s.add(Meta(key="home_province", value="99"))
    return tstore


def run(group, *args):
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--format" in args and "json" in args else result.output


def test_the_acceptance_commands(tstore):
    m = run(meetings_cli, "add", "--date", "2025-12-10", "--kind", "regular", "--chair", "Chủ tịch Hòa",
            "--format", "json")
    assert m["id"] == "HOP-20251210" and m["conclusions"]["total"] == 0
    one = run(meetings_cli, "conclude", m["id"], "--owner", "Giám đốc Sở Nội vụ", "--unit", "99.SNV",
              "--deadline", "2025-12-31", "--title", "Rà soát thủ tục", "--product", "Báo cáo rà soát",
              "--authority", "Chủ tịch UBND tỉnh", "--format", "json")
    two = run(meetings_cli, "conclude", m["id"], "--owner", "Chủ tịch phường", "--unit", "99001",
              "--deadline", "2026-01-15", "--title", "Số hóa hồ sơ", "--product", "Dữ liệu số",
              "--authority", "Giám đốc Sở", "--coordinating", "99.STP", "--format", "json")
    assert one["id"] == one["task"] == "HOP-20251210-KL01" and two["point"] == 2
    listed = run(tasks_cli, "list", "--meeting", m["id"], "--as-of", "2026-01-05", "--format", "json")
    assert [(t["id"], t["meeting"], t["meeting_point"]) for t in listed] == [
        ("HOP-20251210-KL01", m["id"], 1), ("HOP-20251210-KL02", m["id"], 2)]
    first = listed[0]
    # The six clear fields, all stored.
    assert (first["owner"], first["unit"], first["deadline"], first["title"], first["product"], first["authority"]) == (
        "Giám đốc Sở Nội vụ", "99.SNV", "2025-12-31", "Rà soát thủ tục", "Báo cáo rà soát", "Chủ tịch UBND tỉnh")
    assert listed[1]["coordinating_units"] == ["99.STP"]
    assert first["source"] == "Kết luận phiên họp ngày 10/12/2025, mục 1"  # the state's document, in Vietnamese
    assert listed[0]["status"] == "overdue" and listed[1]["status"] == "not_started"
    # Tasks of other origins are not the meeting's.
    assert run(tasks_cli, "list", "--format", "json") and len(run(tasks_cli, "list", "--format", "json")) == 2
    bad = CliRunner().invoke(tasks_cli, ["list", "--meeting", "HOP-nope", "--format", "json"])
    assert bad.exit_code != 0


def test_a_conclusion_needs_its_six_clear_fields_and_a_deadline_after_the_meeting(tstore):
    with db.transaction(tstore) as s:
        meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 12, 10), kind="thematic", chair="A")
        with pytest.raises(ChisoError, match="product"):
            meetings.conclude(s, actor=command_line(), meeting="HOP-20251210", owner="B", unit="99.SNV",
                              deadline=date(2025, 12, 31), title="Việc", product=" ", authority="C")
        with pytest.raises(ChisoError):
            meetings.conclude(s, actor=command_line(), meeting="HOP-20251210", owner="B", unit="99.SNV",
                              deadline=date(2025, 12, 1), title="Việc", product="P", authority="C")
        with pytest.raises(ChisoError):
            meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 12, 10), kind="party", chair="A")
        second = meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 12, 10), kind="regular", chair="A")
        assert second.code == "HOP-20251210-2"


def _two_meetings(s):
    a = meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 11, 5), kind="regular", chair="Chủ tịch")
    for title, deadline in (("Một", date(2025, 11, 20)), ("Hai", date(2025, 11, 30)), ("Ba", date(2025, 12, 31)),
                            ("Bốn", date(2025, 11, 25))):
        meetings.conclude(s, actor=command_line(), meeting=a.code, owner="Ông B", unit="99.SNV", deadline=deadline,
                          title=title, product="Báo cáo", authority="Chủ tịch UBND tỉnh")
    service.mark_done(s, actor=command_line(), code=f"{a.code}-KL01", on=date(2025, 11, 18))  # on time
    service.mark_done(s, actor=command_line(), code=f"{a.code}-KL02", on=date(2025, 12, 3))   # late
    service.cancel(s, actor=command_line(), code=f"{a.code}-KL04", reason="gộp vào điểm 3")
    b = meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 12, 10), kind="regular", chair="Chủ tịch")
    return a, b


def test_counts_and_the_agenda_draft_of_the_next_meeting(tstore):
    with db.transaction(tstore) as s:
        a, b = _two_meetings(s)
        counts = meetings.meeting_json(s, a, date(2026, 1, 5))["conclusions"]
        assert counts == {"total": 4, "done": 2, "done_on_time": 1, "late": 1, "overdue": 1, "open": 0,
                          "cancelled": 1}
        before = meetings.meeting_json(s, a, date(2025, 12, 10))["conclusions"]
        assert (before["overdue"], before["open"]) == (0, 1)
        agenda = meetings.agenda(s, meeting=b.code)
        assert [(i["task"], i["status"]) for i in agenda["open"]] == [(f"{a.code}-KL03", "not_started")]
        board = meetings.conclusion_counts(s, as_of=date(2026, 1, 5))
        assert [(r["id"], r["done"], r["late"], r["overdue"]) for r in board] == [(a.code, 2, 1, 1)]


def _text_of_docx(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_conclusion_notice_lists_who_does_what_by_when_in_dd_mm_yyyy(home, lang):
    tstore = home
    from chiso.reports.build import build_conclusion
    from chiso.reports.render import render

    with db.transaction(tstore) as s:
        service.add_member(s, actor=command_line(), code="pct", name="Phó Chủ tịch Hòa", role="Phó Trưởng ban")
        m = meetings.add_meeting(s, actor=command_line(), held_on=date(2025, 12, 10), kind="regular",
                                 chair="Chủ tịch Mười", attendees=["pct"])
        meetings.conclude(s, actor=command_line(), meeting=m.code, owner="Giám đốc Sở Nội vụ", unit="99.SNV",
                          deadline=date(2026, 1, 5), title="Rà soát thủ tục", product="Báo cáo rà soát",
                          authority="Chủ tịch UBND tỉnh")
        doc = build_conclusion(s, meeting=m.code, lang=lang, day=date(2025, 12, 12), number="45/TB-BCĐ")
        text = _text_of_docx(render(doc, "docx"))
        pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render(doc, "pdf"))).pages)
    for t in (text, pdf):
        assert "10/12/2025" in t and "05/01/2026" in t
        assert "Rà soát thủ tục" in t and "Giám đốc Sở Nội vụ" in t and "Báo cáo rà soát" in t
        assert not ISO.search(t), ISO.search(t)
    assert "45/TB-BCĐ" in text and "Phó Chủ tịch Hòa" in text
    if lang == "vi":
        assert "THÔNG BÁO" in text and "ngày 12 tháng 12 năm 2025" in text and "thời hạn: 05/01/2026" in text


def test_committee_documents_members_and_their_history(tstore):
    with db.transaction(tstore) as s:
        charter.add_document(s, actor=command_line(), kind="working_rules", number="10/QĐ-BCĐ",
                             title="Quy chế hoạt động", signed_on=date(2025, 8, 1), summary="Chức năng, nhiệm vụ")
        charter.add_document(s, actor=command_line(), kind="working_rules", number="20/QĐ-BCĐ",
                             title="Quy chế sửa đổi", signed_on=date(2025, 12, 1))
        docs = {d["number"]: d for d in charter.list_documents(s)}
        assert docs["10/QĐ-BCĐ"]["replaced_on"] == "2025-12-01" and docs["20/QĐ-BCĐ"]["replaced_on"] is None
    run(committee, "add", "tgv1", "--name", "Chuyên viên An", "--title", "Chuyên viên Sở Nội vụ", "--role", "Tổ viên",
        "--body", "support_team", "--field", "Cải cách TTHC", "--field", "Chuyển đổi số", "--unit", "99001",
        "--joined", "2025-08-01")
    run(committee, "add", "tgv1", "--name", "Chuyên viên An", "--role", "Tổ phó", "--unit", "99001",
        "--on", "2025-10-01")
    run(committee, "add", "tgv1", "--name", "Chuyên viên An", "--role", "Tổ phó", "--unit", "99001",
        "--left", "2025-12-01")
    listed = run(committee, "list", "--format", "json")
    assert listed[0]["body"] == "support_team" and listed[0]["fields"] == ["Cải cách TTHC", "Chuyển đổi số"]
    assert listed[0]["title"] == "Chuyên viên Sở Nội vụ"
    history = run(committee, "history", "tgv1", "--format", "json")
    assert [(h["on"], h["change"]) for h in history] == [("2025-08-01", "joined"), ("2025-10-01", "changed"),
                                                         ("2025-12-01", "left")]
    assert history[1]["before"]["role"] == "Tổ viên" and history[1]["after"]["role"] == "Tổ phó"
    assert run(committee, "list", "--on", "2025-11-01", "--format", "json")[0]["code"] == "tgv1"
    assert run(committee, "list", "--on", "2025-12-02", "--format", "json") == []


def test_the_member_following_a_commune_hears_what_the_commune_hears(tstore, monkeypatch):
    from sqlalchemy import select

    from chiso.tasks.models import Task
    from chiso.units.models import Unit

    monkeypatch.setenv("CHISO_REMINDER_DAYS", "3")
    d = date(2025, 12, 10)
    with db.transaction(tstore) as s:
        service.add_member(s, actor=command_line(), code="pct", name="Phó Chủ tịch Hòa", unit_codes=["99001"])
        service.add_member(s, actor=command_line(), code="old", name="Người cũ", unit_codes=["99001"],
                           left_on=date(2025, 11, 1))
        uid = {u.code: u.id for u in s.scalars(select(Unit))}
        s.add(Task(code="C1", title="Việc của phường", owner="Chủ tịch phường", unit_id=uid["99001"],
                   deadline=d + timedelta(days=2)))
        s.add(Task(code="C2", title="Việc của sở", owner="Giám đốc", unit_id=uid["99.SNV"],
                   deadline=d + timedelta(days=2)))
    with db.transaction(tstore) as s:
        people = worker.collect(s, d)
    assert [t["id"] for t in people["Chủ tịch phường"].due_soon] == ["C1"]
    assert [t["id"] for t in people["pct"].followed] == ["C1"]
    assert "old" not in people
    _subject, body = worker.render(people["pct"], d)
    assert "[C1]" in body and "[C2]" not in body


def test_catalogue_full_online_rate_is_a_target_metric(home, tmp_path):
    tstore = home
    from chiso.dossiers.store import DossierStore, registry_units
    from chiso.targets import service as targets

    store = DossierStore(tmp_path / "records")
    with db.transaction(tstore) as s:
        reg = registry_units(s)
    procs = [{"procedure_code": c, "name": f"Thủ tục {c}", "online_level": lv}
             for c, lv in (("P1", "full"), ("P2", "partial"), ("P3", "full"), ("P4", "none"))]
    store.import_rows(procs, source="catalogue", units=None, kind="procedures")

    def dossier(i, proc, unit):
        return {"dossier_id": f"D{i}", "procedure_code": proc, "unit_code": unit, "received_at": "2025-11-03 08:00:00",
                "due_at": "2025-11-10 08:00:00", "finished_at": "2025-11-05 08:00:00", "status": "settled"}

    store.import_rows([dossier(1, "P1", "99001"), dossier(2, "P2", "99001"), dossier(3, "P3", "99.SNV")],
                      source="one-stop", units=reg)
    with db.transaction(tstore) as s:
        assert targets.is_computed("catalogue.full_online_rate")
        rate = targets.resolve_value(s, "catalogue.full_online_rate", "99001", date(2025, 12, 1), store=store)
        assert rate == 0.5
        assert targets.resolve_value(s, "catalogue.full_online_rate", "99", date(2025, 12, 1), store=store) == 0.5
        assert targets.resolve_value(s, "catalogue.full_online_rate", "99.SNV", date(2025, 12, 1), store=store) == 1.0
        # Before any dossier, a unit has no procedure handled: no data.
        assert targets.resolve_value(s, "catalogue.full_online_rate", "99001", date(2025, 10, 1), store=store) is None
        targets.save_target(s, actor=command_line(), code="TT", indicator="catalogue.full_online_rate", unit="99001",
                            direction="higher", goal=0.8, deadline="2025-12-31")
        (light,) = targets.status(s, as_of=date(2025, 12, 1), store=store)
        assert (light["value"], light["colour"]) == (0.5, "amber")  # below the goal, before the deadline
        (late,) = targets.status(s, as_of=date(2026, 1, 5), store=store)
        assert (late["value"], late["colour"]) == (0.5, "red")
        with pytest.raises(ChisoError):
            targets.set_value(s, actor=command_line("x"), indicator="catalogue.full_online_rate", unit="99001",
                              period="2025", value=1)
        from chiso.dossiers import catalogue

        rows = catalogue.list_procedures(s, store)
        assert [(r["code"], r["online_level"], r["units"]) for r in rows] == [
            ("P1", "full", ["99001"]), ("P2", "partial", ["99001"]), ("P3", "full", ["99.SNV"]), ("P4", "none", [])]
        assert [r["code"] for r in catalogue.list_procedures(s, store, level="full", unit="99001")] == ["P1"]
        summary = catalogue.summary(s, store)
        assert summary["province"]["procedures"] == 4 and summary["province"]["full"] == 2
        assert {r["unit"]: r["full_online_rate"] for r in summary["units"]} == {"99.SNV": 1.0, "99001": 0.5}


def test_procedures_list_through_the_commands(home, tmp_path):
    from chiso.dossiers.catalogue_cli import procedures
    from chiso.dossiers.cli import dossiers

    catalogue = tmp_path / "procedures.csv"
    catalogue.write_text("procedure_code,name,online_level,statutory_days,has_fee\n"
                         "1.001,Đăng ký khai sinh,toàn trình,1,false\n"
                         "1.002,Cấp phép xây dựng,một phần,15,true\n"
                         "1.003,Chứng thực bản sao,none,,\n", encoding="utf-8")
    records = tmp_path / "dossiers.csv"
    records.write_text("dossier_id,procedure_code,unit_code,received_at,due_at,finished_at,status\n"
                       "H1,1.001,99001,2025-11-03 08:00:00,2025-11-04 08:00:00,2025-11-03 15:00:00,settled\n"
                       "H2,1.002,99001,2025-11-04 08:00:00,2025-11-20 08:00:00,,processing\n"
                       "H3,1.002,99.SNV,2025-11-05 08:00:00,2025-11-20 08:00:00,,processing\n", encoding="utf-8")
    run(dossiers, "import", str(catalogue), "--kind", "procedures", "--source", "catalogue", "--format", "json")
    run(dossiers, "import", str(records), "--source", "one-stop", "--format", "json")
    rows = run(procedures, "list", "--format", "json")
    assert [{k: r[k] for k in ("code", "name", "online_level", "units")} for r in rows] == [
        {"code": "1.001", "name": "Đăng ký khai sinh", "online_level": "full", "units": ["99001"]},
        {"code": "1.002", "name": "Cấp phép xây dựng", "online_level": "partial", "units": ["99.SNV", "99001"]},
        {"code": "1.003", "name": "Chứng thực bản sao", "online_level": "none", "units": []}]
    assert rows[1]["dossiers"] == 2 and rows[1]["statutory_days"] == 15
    assert [r["code"] for r in run(procedures, "list", "--unit", "99.SNV", "--format", "json")] == ["1.002"]
    assert [r["code"] for r in run(procedures, "list", "--level", "full", "--format", "json")] == ["1.001"]
    assert run(procedures, "list", "--period", "2025-10", "--format", "json")[1]["dossiers"] == 0
    summary = run(procedures, "summary", "--format", "json")
    assert summary["province"]["full_online_rate"] == pytest.approx(1 / 3)
    assert {r["unit"]: r["full_online_rate"] for r in summary["units"]} == {"99.SNV": 0.0, "99001": 0.5}
