"""A full assessment round on both stores: self-assessment with evidence, appraisal, the
approval lock and its audited reopening, survey rates, rankings with a tie and the change
against the previous round (issue 4, "Done when")."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from chiso import db
from chiso.assessments import evidence, service, surveys
from chiso.assessments.models import RoundEvent
from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.store import service as store_service

WITH, WITHOUT = "with_procedures", "without_procedures"


def _previous_round(engine, method_file):
    """2024: SNV 70, STP 75, SKH 60, STC 50 (ranked together), SYT 40 alone."""
    values = {
        "99.SNV": (4, 1.0, 30, 0.0), "99.STP": (4, 1.0, 20, 0.5), "99.SKH": (4, 1.0, 20, 0.0),
        "99.STC": (4, 1.0, 10, 0.0), "99.SYT": (4, 1.0, 0, 0.0),
    }
    with db.transaction(engine) as s:
        service.create_round(s, code="r2024", method=str(method_file), year=2024, actor=command_line("admin"))
        service.add_units(s, round_code="r2024", actor=command_line("admin"), units_groups={
            "99.SNV": WITH, "99.STP": WITH, "99.SKH": WITH, "99.STC": WITH, "99.SYT": WITHOUT})
        for unit, (meetings, on_time, tasks, sat) in values.items():
            service.self_assess(s, round_code="r2024", unit_code=unit, actor=command_line(unit), values={
                "steering.meetings": meetings, "steering.on_time": on_time, "tasks": tasks, "satisfaction": sat})


def _survey_file(tmp_path, rows, name="survey.csv"):
    path = tmp_path / name
    lines = ["respondent,unit,factor,question,answer"] + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SURVEY = [
    # SNV: 5, 4, 4, 4, 2 → 4 of 5 satisfied = 0.8
    ("p1", "99.SNV", "satisfaction", "q1", 5), ("p2", "99.SNV", "satisfaction", "q1", 4),
    ("p3", "99.SNV", "satisfaction", "q1", 4), ("p4", "99.SNV", "satisfaction", "q1", 4),
    ("p5", "99.SNV", "satisfaction", "q1", 2),
    # STP: 4, 5, 5, 3, 4 → 0.8
    ("p1", "99.STP", "satisfaction", "q1", 4), ("p2", "99.STP", "satisfaction", "q1", 5),
    ("p3", "99.STP", "satisfaction", "q1", 5), ("p4", "99.STP", "satisfaction", "q1", 3),
    ("p5", "99.STP", "satisfaction", "q1", 4),
]


def test_a_full_round(store, method_file, tmp_path, data_dir):
    engine = store
    _previous_round(engine, method_file)
    with db.transaction(engine) as s:
        rnd = service.create_round(s, code="r2025", method=str(method_file), year=2025, actor=command_line("admin"))
        assert (rnd.method_id, rnd.method_version, rnd.method_family) == ("test-round", "2025", "test-round")
        counts = service.add_units(s, round_code="r2025", actor=command_line("admin"), units_groups={
            "99.SNV": WITH, "99.STP": WITH, "99.STCM": WITH, "99.SYT": WITHOUT})
        assert counts == {"inserted": 4, "updated": 0, "unchanged": 0}

    # Self-assessment, checked against the tree.
    with db.transaction(engine) as s:
        with pytest.raises(ChisoError, match="no node 'steering.nope'"):
            service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"), values={"steering.nope": 1})
        with pytest.raises(ChisoError, match=r"steering.on_time: 95 is outside \[0, 1\]"):
            service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"), values={"steering.on_time": 95})
        with pytest.raises(ChisoError, match=r"node tasks: 31 is outside \[0, 30\]"):
            service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"), values={"tasks": 31})
        with pytest.raises(ChisoError, match="Node steering has parts"):
            service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"), values={"steering": 10})
    with db.transaction(engine) as s:
        service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"),
                            values={"steering.meetings": 4, "steering.on_time": 0.9, "tasks": 25},
                            notes={"tasks": "Báo cáo số 12/BC-SNV"})
        service.self_assess(s, round_code="r2025", unit_code="99.STP", actor=command_line("stp"),
                            values={"steering.meetings": 3, "steering.on_time": 0.95, "tasks": 24.003})
        service.self_assess(s, round_code="r2025", unit_code="99.SYT", actor=command_line("syt"),
                            values={"steering.meetings": 2, "steering.on_time": 0.5, "tasks": 10, "satisfaction": 0.5})
        service.self_assess(s, round_code="r2025", unit_code="99.STCM", actor=command_line("stc"),
                            values={"steering.meetings": 1, "steering.on_time": 0.5, "tasks": 10, "satisfaction": 0.5})

    # Evidence: stored by checksum, checked on read; oversized and badly named files refused.
    pdf = tmp_path / "Báo cáo 12.pdf"
    content = b"%PDF-1.4\n" + b"x" * 1000
    pdf.write_bytes(content)
    with db.transaction(engine) as s:
        ev = service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=pdf, actor=command_line("snv"))
        assert ev.sha256 == hashlib.sha256(content).hexdigest()
        assert (ev.size, ev.media_type, ev.original_name) == (len(content), "application/pdf", "Báo cáo 12.pdf")
    # In the store's own records folder, never in a folder of the operating-system user.
    folder = evidence.store_dir(engine)
    assert not (data_dir / "evidence").exists() and folder.parent == store_service.records_path(engine)
    blob = folder / ev.sha256
    assert blob.read_bytes() == content and not blob.stat().st_mode & 0o111
    assert evidence.read(ev.sha256, where=engine) == content

    big = tmp_path / "big.pdf"
    with big.open("wb") as f:
        f.write(b"%PDF-")
        f.truncate(evidence.MAX_BYTES + 1)
    archive = tmp_path / "all.zip"
    archive.write_bytes(b"PK\x03\x04rest")
    fake = tmp_path / "tool.pdf"
    fake.write_bytes(b"MZ\x90\x00 an executable")
    with db.transaction(engine) as s:
        with pytest.raises(ChisoError, match="more than the limit"):
            service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=big, actor=command_line("snv"))
        with pytest.raises(ChisoError, match="path parts"):
            service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=pdf,
                                    name="../../etc/passwd.pdf", actor=command_line("snv"))
        with pytest.raises(ChisoError, match="control characters"):
            service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=pdf,
                                    name="a\x1b[31m.pdf", actor=command_line("snv"))
        with pytest.raises(ChisoError, match="type .zip is not allowed"):
            service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=archive, actor=command_line("snv"))
        with pytest.raises(ChisoError, match="content is not a .pdf file"):
            service.attach_evidence(s, round_code="r2025", unit_code="99.SNV", node_id="tasks", path=fake, actor=command_line("snv"))
    assert sorted(p.name for p in folder.iterdir()) == [ev.sha256]

    # Surveys feed the survey leaf of SNV and STP.
    with db.transaction(engine) as s:
        summary = surveys.import_responses(s, round_code="r2025", path=_survey_file(tmp_path, SURVEY), actor=command_line("admin"))
        assert (summary.read, summary.rejected, summary.inserted) == (10, 0, 2)
        assert {r["unit"]: r["rate"] for r in summary.extra["rates"]} == {"99.SNV": 0.8, "99.STP": 0.8}

    # Submit, appraise (changes SNV's score), approve.
    with db.transaction(engine) as s:
        for unit in ("99.SNV", "99.STP", "99.SYT", "99.STCM"):
            service.submit(s, round_code="r2025", unit_code=unit, actor=command_line(unit))
        with pytest.raises(ChisoError, match="is submitted: cannot self-assess"):
            service.self_assess(s, round_code="r2025", unit_code="99.SNV", actor=command_line("snv"), values={"tasks": 30})
        before = {r["unit"]: r for r in service.results(s, round_code="r2025")}
        assert before["99.SNV"]["total_points"] == pytest.approx(87.0)
        service.appraise(s, round_code="r2025", unit_code="99.SNV", actor=command_line("council"), values={"tasks": 20},
                         comments={"tasks": "Hai nhiệm vụ chưa có sản phẩm."})
        view = service.assessment_view(s, round_code="r2025", unit_code="99.SNV")
        assert view["leaves"]["tasks"] | {"evidence": None} == {
            "self_value": 25.0, "self_points": 25.0, "note": "Báo cáo số 12/BC-SNV", "appraised_value": 20.0,
            "appraised_points": 20.0, "appraiser_comment": "Hai nhiệm vụ chưa có sản phẩm.", "evidence": None}
        assert view["leaves"]["tasks"]["evidence"][0]["sha256"] == ev.sha256
        service.approve(s, round_code="r2025", actor=command_line("chair"))

    # Approved data is locked; reopening needs a reason and is recorded.
    with db.transaction(engine) as s:
        with pytest.raises(ChisoError, match="locked"):
            service.appraise(s, round_code="r2025", unit_code="99.SNV", actor=command_line("council"), values={"tasks": 21})
    with db.transaction(engine) as s:
        summary = surveys.import_responses(s, round_code="r2025", path=_survey_file(tmp_path, SURVEY[:1], "again.csv"),
                                           actor=command_line("admin"))
        assert summary.rejected == 1 and "locked" in summary.rejects[0].reason and summary.inserted == 0
    with db.transaction(engine) as s:
        with pytest.raises(ChisoError, match="needs a reason"):
            service.reopen(s, round_code="r2025", unit_code="99.SNV", actor=command_line("chair"), reason="  ")
        service.reopen(s, round_code="r2025", unit_code="99.SNV", actor=command_line("chair"), reason="Khiếu nại của Sở Nội vụ")
    with db.transaction(engine) as s:
        service.appraise(s, round_code="r2025", unit_code="99.SNV", actor=command_line("council"), values={"tasks": 20})
        service.approve(s, round_code="r2025", unit_code="99.SNV", actor=command_line("chair"))
        service.publish(s, round_code="r2025", actor=command_line("chair"))
        log = service.events(s, round_code="r2025", unit_code="99.SNV")
        reopened = [e for e in log if e["action"] == "reopened"]
        assert [(e["actor"], e["reason"], e["from"], e["to"]) for e in reopened] == [
            ("chair", "Khiếu nại của Sở Nội vụ", "approved", "appraised")]
        assert [e["to"] for e in log if e["to"]][-1] == "published"

    # The event log is append-only, in the store itself too.
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE assessment_events SET reason = 'erased'"))
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM assessment_events"))
    with pytest.raises(Exception, match="append-only"):
        with db.transaction(engine) as s:
            s.scalars(select(RoundEvent)).first().reason = "erased"

    # Results: a tie within 0.005 shares rank 1; changes against 2024, the merged unit through its lineage.
    with db.transaction(engine) as s:
        rows = {r["unit"]: r for r in service.results(s, round_code="r2025")}
    assert rows["99.SNV"]["total_points"] == pytest.approx(20 + 18 + 20 + 24)  # appraised tasks 20, survey 0.8
    assert rows["99.STP"]["total_points"] == pytest.approx(15 + 19 + 24.003 + 24)
    assert (rows["99.SNV"]["rank"], rows["99.STP"]["rank"], rows["99.STCM"]["rank"]) == (1, 1, 3)
    assert rows["99.SYT"]["rank"] == 1 and rows["99.SYT"]["group"] == WITHOUT
    assert rows["99.SNV"]["rank_change"] == 1 and rows["99.SNV"]["value_change"] == pytest.approx(12)
    assert rows["99.STP"]["rank_change"] == 0 and rows["99.STP"]["value_change"] == pytest.approx(7.003)
    assert rows["99.STCM"]["rank_change"] is None and rows["99.STCM"]["value_change"] == pytest.approx(40 - 55)
    assert rows["99.SYT"]["value_change"] == pytest.approx(45 - 40)
    assert rows["99.SNV"]["band"] == "B" and rows["99.SNV"]["nodes"]["tasks"]["points"] == 20
    assert rows["99.SNV"]["previous_round"] == "r2024"

    with db.transaction(engine) as s:
        announced = service.announcement(service.results(s, round_code="r2025"))
    assert [(g["group"], g["first"], g["second"], g["third"], g["last"]) for g in announced] == [
        (WITH, ["99.SNV", "99.STP"], [], [], ["99.STCM"]),  # third and last: named once, as last
        (WITHOUT, ["99.SYT"], [], [], []),  # alone: first, and no last
    ]


def test_survey_import_rejects_bad_rows_and_imports_nothing(store, method_file, tmp_path):
    engine = store
    with db.transaction(engine) as s:
        service.create_round(s, code="r", method=str(method_file), year=2025, actor=command_line("admin"))
        service.add_units(s, round_code="r", actor=command_line("admin"), units_groups={"99.SNV": WITH, "99.STP": WITH})
    bad = _survey_file(tmp_path, [
        ("p1", "99.SNV", "satisfaction", "q1", 5),
        ("p2", "99.XXX", "satisfaction", "q1", 4),      # line 3: unit not in the round
        ("p3", "99.SNV", "tasks", "q1", 4),             # line 4: not a survey leaf
        ("p4", "99.SNV", "satisfaction", "q1", 6),      # line 5: out of the scale
        ("p1", "99.SNV", "satisfaction", "q1", 4),      # line 6: twice
        ("", "99.SNV", "satisfaction", "q1", 4),        # line 7: no respondent
    ])
    with db.transaction(engine) as s:
        summary = surveys.import_responses(s, round_code="r", path=bad, actor=command_line("admin"))
    assert (summary.read, summary.rejected, summary.inserted) == (6, 5, 0)
    reasons = {r.line: r.reason for r in summary.rejects}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "not in round r" in reasons[3] and "feeds no survey leaf" in reasons[4]
    assert "1 to 5" in reasons[5] and "first at line 2" in reasons[6] and "respondent is empty" in reasons[7]
    rejects = (tmp_path / "survey.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert rejects.splitlines()[0].startswith("line,reason") and len(rejects.splitlines()) == 6
    with db.transaction(engine) as s:
        assert surveys.rates(s, round_code="r") == []

    # XLSX, with Vietnamese headers and several factors pooled into one leaf; run twice.
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Mã phiếu", "Mã đơn vị", "Yếu tố", "Câu hỏi", "Mức độ"])
    for i, (factor, answer) in enumerate([("access", 5), ("access", 3), ("procedure", 4), ("procedure", 1)]):
        ws.append([f"p{i}", "99.STP", factor, "q1", answer])
    path = tmp_path / "sipas.xlsx"
    wb.save(path)
    mapping = {"access": "satisfaction", "procedure": "satisfaction"}
    with db.transaction(engine) as s:
        summary = surveys.import_responses(s, round_code="r", path=path, actor=command_line("admin"), nodes=mapping)
        assert (summary.read, summary.rejected, summary.inserted) == (4, 0, 2)
        a = service.get_assessment(s, round_code="r", unit_code="99.STP")
        assert service.leaf_values(s, a, service.method_of(a.round)) == {"satisfaction": 0.5}
    with db.transaction(engine) as s:
        again = surveys.import_responses(s, round_code="r", path=path, actor=command_line("admin"), nodes=mapping)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_round_refuses_a_changed_method_version(store, method_file):
    with db.transaction(store) as s:
        service.create_round(s, code="r", method=str(method_file), year=2025, actor=command_line("admin"))
    method_file.write_text(method_file.read_text(encoding="utf-8").replace('version: "2025"', 'version: "2026"'),
                           encoding="utf-8")
    with db.transaction(store) as s, pytest.raises(ChisoError, match="version 2025.*now holds test-round version 2026"):
        service.results(s, round_code="r")


def test_shipped_template_round(store):
    """The shipped department template (a formula leaf fed by the 766 input) scores in a round."""
    with db.transaction(store) as s:
        service.create_round(s, code="dept", method="template-department", year=2025, actor=command_line("admin"))
        service.add_units(s, round_code="dept", actor=command_line("admin"), units_groups={"99.SNV": WITH})
        service.self_assess(s, round_code="dept", unit_code="99.SNV", actor=command_line("snv"), inputs={"index_766": 85.59}, values={
            "steering.plan": True, "steering.meetings": 3, "procedures.on_time": 0.95,
            "digital.online_dossiers": 0.6, "digital.appraised": 12, "satisfaction.survey": 0.9,
            "bonus": 2, "penalty": 1})
        [row] = service.results(s, round_code="dept")
    assert row["total_points"] == pytest.approx(85.118, abs=0.001) and row["rank"] == 1
