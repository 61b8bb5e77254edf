"""Groups of units: the package's groups after `init`, and dated membership by hand."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.errors import ChisoError
from chiso.units import service

BEFORE = date(2025, 6, 30)
D0 = date(2020, 1, 1)
D1 = date(2026, 1, 1)


def test_groups_split_agencies_and_communes(loaded, today):
    with_tthc = {u.code for u in service.group_members(loaded, "agencies_with_procedures", as_of=today)}
    without = {u.code for u in service.group_members(loaded, "agencies_without_procedures", as_of=today)}
    assert "68.SNV" in with_tthc and "68.VPTU" in without and not with_tthc & without
    wards = service.group_members(loaded, "wards", as_of=today)
    communes = service.group_members(loaded, "communes", as_of=today)
    assert len(wards) + len(communes) == 124
    assert all(u.kind == "ward" for u in wards)
    districts = service.group_members(loaded, "districts", as_of=BEFORE)
    assert len(districts) > 20 and service.group_members(loaded, "districts", as_of=today) == []


def test_group_membership_has_history(tree):
    with db.transaction(tree) as s:
        service.create_group(s, code="g", name="Nhóm", group_set="set")
        with pytest.raises(ChisoError):
            service.create_group(s, code="g", name="Nhóm khác", group_set="set")
        assert service.add_to_group(s, "g", ["A", "B"], valid_from=D0) == 2
        assert service.add_to_group(s, "g", ["A"], valid_from=D0) == 0
        service.remove_from_group(s, "g", ["B"], effective=D1)
    with db.transaction(tree) as s:
        assert [u.code for u in service.group_members(s, "g", as_of=date(2025, 1, 1))] == ["A", "B"]
        assert [u.code for u in service.group_members(s, "g", as_of=D1)] == ["A"]
