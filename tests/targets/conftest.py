"""A small unit tree (province 68 with communes C1, C2, C3) in a fresh store of each backend."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from chiso.units.models import Meta, Unit, UnitParent


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        province = Unit(code="68", name="Lâm Đồng", level="province", kind="province", source="test")
        s.add(province)
        for code in ("C1", "C2", "C3"):
            s.add(Unit(code=code, name=f"Xã {code}", level="commune", kind="commune", source="test",
                       parents=[UnitParent(parent=province)]))
        s.add(Meta(key="home_province", value="68"))
        s.commit()
        yield s
