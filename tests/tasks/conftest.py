"""A store with a small province for the task tests."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.units import service as units


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CHISO_LANG", "en")


@pytest.fixture
def tstore(engine):
    with db.transaction(engine) as s:
        units.create(s, code="99", name="Tỉnh Thử", level="province", kind="province", parent=None,
                     valid_from=date(2025, 7, 1))
        for code, name in (("99.SNV", "Sở Nội vụ"), ("99.STP", "Sở Tư pháp"), ("99.VP", "Văn phòng UBND")):
            units.create(s, code=code, name=name, level="agency", kind="department", parent="99",
                         valid_from=date(2020, 1, 1))
        units.create(s, code="99001", name="Phường Một", level="commune", kind="ward", parent="99",
                     valid_from=date(2025, 7, 1))
        units.create(s, code="98", name="Tỉnh Khác", level="province", kind="province", parent=None,
                     valid_from=date(2025, 7, 1))
    return engine
