"""Fixtures for assessment rounds: a small criteria tree with a step table, a ratio, a manual
and a survey leaf, units in two groups, an evidence store in a temporary data folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chiso import db
from chiso.units import service as units

METHOD = """\
kind: tree
id: "test-round"
family: "test-round"
version: "{version}"
default: false
name: "Bộ tiêu chí thử"
name_en: "Test criteria"
legal_basis:
  - document: "Test"
    title: "Văn bản thử"
    title_en: "Test document"
    confidence: V
sources:
  - title: "test"
confidence: V
levels: [agency]
max: 100
publish: points
bands:
  - {{id: "A", name: "A", name_en: "A", min: 90, max: 100, confidence: V}}
  - {{id: "B", name: "B", name_en: "B", min: 0, max: 90, confidence: V}}
nodes:
  - id: "steering"
    name: "Chỉ đạo"
    name_en: "Steering"
    max: 40
    children:
      - id: "steering.meetings"
        name: "Số cuộc họp"
        name_en: "Meetings"
        max: 20
        rule:
          type: steps
          steps:
            - {{at_least: 4, points: 20}}
            - {{at_least: 3, points: 15}}
            - {{at_least: 2, points: 10}}
            - {{at_least: 1, points: 5}}
      - id: "steering.on_time"
        name: "Tỷ lệ đúng hạn"
        name_en: "On time"
        max: 20
        rule: {{type: ratio}}
  - id: "tasks"
    name: "Nhiệm vụ"
    name_en: "Tasks"
    max: 30
    rule: {{type: manual}}
  - id: "satisfaction"
    name: "Hài lòng"
    name_en: "Satisfaction"
    max: 30
    rule: {{type: survey}}
"""


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CHISO_LANG", "en")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CHISO_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def method_file(tmp_path) -> Path:
    path = tmp_path / "test-round.yaml"
    path.write_text(METHOD.format(version="2025"), encoding="utf-8")
    return path


@pytest.fixture
def store(engine):
    """The store with a province, four agencies and a merged agency formed from two."""
    with db.transaction(engine) as s:
        units.create(s, code="99", name="Tỉnh Thử", level="province", kind="province", parent=None,
                     valid_from=date(2025, 7, 1))
        for code, name in (("99.SNV", "Sở Nội vụ"), ("99.STP", "Sở Tư pháp"), ("99.SYT", "Sở Y tế"),
                           ("99.SKH", "Sở Kế hoạch"), ("99.STC", "Sở Tài chính")):
            units.create(s, code=code, name=name, level="agency", kind="department", parent="99",
                         valid_from=date(2020, 1, 1))
        units.merge(s, sources_=["99.SKH", "99.STC"], into="99.STCM", effective=date(2025, 3, 1),
                    new={"name": "Sở Tài chính (mới)", "level": "agency", "kind": "department", "parent": "99"})
    return engine
