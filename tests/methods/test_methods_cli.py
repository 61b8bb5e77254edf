"""``chiso methods`` list, validate and docs, through click's runner (the group is not yet
registered in ``chiso.cli``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chiso.methods import docs, loader
from chiso.methods.cli import methods


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("CHISO_LANG", "en")
    return CliRunner()


def test_list_json(runner):
    result = runner.invoke(methods, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    # Both kinds: the flat 766 methods and the criteria trees of the assessed indexes.
    assert {r["id"]: r["kind"] for r in rows} == {
        "766-portal-2025": "flat", "766-formula-2022": "flat",
        "dti-922-province": "tree", "dti-405-province": "tree", "par-province": "tree", "sipas-1001": "tree",
        "template-department": "tree", "template-commune": "tree",
        # Issue 13: PII, and department/commune (and district) variants of DTI, PAR and SIPAS.
        "pii-1705": "tree", "dti-405-department": "tree", "dti-405-commune": "tree", "par-department": "tree",
        "par-commune": "tree", "par-district": "tree", "sipas-1001-local": "tree", "par-province-blocks": "tree",
    }
    assert all({"id", "kind", "family", "version", "name", "default"} <= set(r) for r in rows)
    assert [r["id"] for r in rows if r["default"] and r["family"] == "766"] == ["766-portal-2025"]


def test_list_table(runner):
    result = runner.invoke(methods, ["list"])
    assert result.exit_code == 0 and "766-portal-2025" in result.output and "2025.07" in result.output


def test_validate_a_good_file(runner):
    path = loader.shipped()[0]
    result = runner.invoke(methods, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_validate_a_bad_file_prints_one_line_per_problem(runner, tmp_path):
    text = loader.shipped()[0].read_text(encoding="utf-8")
    text = text.replace("rule: {type: linear}", "rule: {type: sigmoid}", 1).replace("AND synced", "AND salary", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(methods, ["validate", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == loader.validate(bad) and len(lines) >= 2
    assert all(line.startswith(f"{bad}:") for line in lines)


def test_docs_writes_the_pages(runner, tmp_path):
    result = runner.invoke(methods, ["docs", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name, text in docs.pages().items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
