"""A small hand-made registry shared by the tests of changes and groups."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.units import service

D0 = date(2020, 1, 1)


@pytest.fixture
def tree(engine):
    """A province with three communes, made by hand (no package data)."""
    with db.transaction(engine) as s:
        service.create(s, code="P", name="Tỉnh Thử", level="province", kind="province", parent=None, valid_from=D0)
        for c in ("A", "B", "C"):
            service.create(s, code=c, name=f"Xã {c}", level="commune", kind="commune", parent="P", valid_from=D0)
    return engine
