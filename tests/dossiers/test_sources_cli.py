"""Sources and the history of a record from the command line (issue 18): granting sources
to accounts and tokens, and ``chiso dossiers history``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from chiso.auth.cli import tokens, users
from chiso.dossiers.cli import dossiers
from chiso.units.models import Meta, Unit, UnitParent

from dossier_helpers import row, write_csv


@pytest.fixture
def units(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("CHISO_RECORDS_PATH", str(tmp_path / "records"))
    with Session(engine) as s:
        province = Unit(code="68", name="Lâm Đồng", level="province", kind="province", source="test")
        s.add(province)
        s.add(Unit(code="C1", name="Xã C1", level="commune", kind="commune", source="test",
                   parents=[UnitParent(parent=province)]))
        s.add(Meta(key="home_province", value="68"))
        s.commit()
    return engine


def _run(group, *args: str, input: str | None = None):
    return CliRunner().invoke(group, list(args), input=input)


def test_sources_are_granted_from_the_command_line(units):
    added = _run(users, "add", "xa", "--role", "editor", "--unit", "C1", "--source", "hcc-c1",
                 "--password-stdin", input="a long password 1\n")
    assert added.exit_code == 0, added.output
    listed = json.loads(_run(users, "list", "--format", "json").output)
    assert listed[0]["sources"] == ["hcc-c1"]
    refused = _run(tokens, "create", "--user", "xa", "--source", "dvc-tinh")
    assert refused.exit_code != 0 and "dvc-tinh" in str(refused.exception)
    assert _run(tokens, "create", "--user", "xa", "--source", "hcc-c1").exit_code == 0
    assert json.loads(_run(tokens, "list", "--format", "json").output)[0]["sources"] == ["hcc-c1"]
    changed = _run(users, "sources", "xa", "hcc-c1", "dvc-tinh")
    assert changed.exit_code == 0 and "dvc-tinh" in changed.output
    assert _run(users, "sources", "xa").exit_code == 0
    assert json.loads(_run(users, "list", "--format", "json").output)[0]["sources"] == []


def test_history_shows_each_import_of_a_record(units, tmp_path):
    received = dict(unit_code="C1", received_at="2025-09-01T08:00:00", due_at="2025-09-05T17:00:00")
    first = write_csv(tmp_path / "1.csv", [row("H1", **received), row("H2", **received)])
    second = write_csv(tmp_path / "2.csv", [row("H1", status="settled", finished_at="2025-09-04T10:00:00",
                                                **received)])
    for path in (first, second):
        result = _run(dossiers, "import", "--source", "igate", str(path))
        assert result.exit_code == 0, result.output
    data = json.loads(_run(dossiers, "history", "H1", "--format", "json").output)
    assert [(h["version"], h["action"], h["source"]) for h in data] == [(1, "insert", "igate"), (2, "update", "igate")]
    assert data[1]["changes"] == {"finished_at": [None, "2025-09-04 10:00:00"], "status": ["processing", "settled"]}
    assert data[1]["actor"].startswith("cli:") and data[1]["at"]
    table = _run(dossiers, "history", "H1").output
    assert "status: processing → settled" in table
    assert "H9" in _run(dossiers, "history", "H9").output  # nothing on record: says so


def test_compact_from_the_command_line_keeps_the_records_and_their_history(units, tmp_path):
    received = dict(unit_code="C1", received_at="2025-09-01T08:00:00", due_at="2025-09-05T17:00:00")
    for k in range(3):
        path = write_csv(tmp_path / f"{k}.csv", [row(f"H{k}", **received), row("H9", supplement_days=k, **received)])
        assert _run(dossiers, "import", "--source", "igate", str(path)).exit_code == 0
    before = _run(dossiers, "history", "H9", "--format", "json").output
    done = _run(dossiers, "compact", "--format", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"dossiers": 3, "procedures": 0, "feedback": 0}
    segments = sorted(p.name for p in (tmp_path / "records" / "dossiers").glob("*.parquet"))
    assert "base-000000000003.parquet" in segments
    assert _run(dossiers, "history", "H9", "--format", "json").output == before
    assert "dossiers" in _run(dossiers, "compact", "--kind", "dossiers").output
