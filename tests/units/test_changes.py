"""Recording merges, splits, renames and moves by hand: nothing is deleted, history stays."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.errors import ChisoError
from chiso.units import service

D0 = date(2020, 1, 1)
D1 = date(2026, 1, 1)


def test_merge_into_a_new_unit_keeps_the_old_ones(tree):
    with db.transaction(tree) as s:
        service.merge(s, sources_=["A", "B"], into="AB", effective=D1,
                      new={"name": "Xã Hợp Nhất", "level": "commune", "kind": "commune", "parent": "P"},
                      legal_basis="Nghị quyết thử")
    with db.transaction(tree) as s:
        before = {u.code for u in service.list_units(s, level="commune", as_of=date(2025, 12, 31))}
        after = {u.code for u in service.list_units(s, level="commune", as_of=D1)}
        assert before == {"A", "B", "C"} and after == {"AB", "C"}
        lin = service.lineage(s, "AB")
        assert {p["code"] for p in lin["predecessors"]} == {"A", "B"}
        assert lin["predecessors"][0]["legal_basis"] == "Nghị quyết thử"
        assert service.restate(s, {"A": 3, "B": 4, "C": 5}, on=D1) == {"AB": 7, "C": 5}


def test_split_divides_data_by_share(tree):
    with db.transaction(tree) as s:
        service.split(s, source="C", into={"A": 0.25, "B": 0.75}, effective=D1)
    with db.transaction(tree) as s:
        assert service.restate(s, {"C": 100.0}, on=D1) == {"A": 25.0, "B": 75.0}
        assert [x["code"] for x in service.lineage(s, "C")["successors"]] == ["A", "B"]


@pytest.mark.parametrize("shares", [{"A": 0.5, "B": 0.6}, {"A": 1.0}, {"A": -0.5, "B": 1.5}])
def test_bad_splits_are_refused_without_change(tree, shares):
    with pytest.raises(ChisoError):
        with db.transaction(tree) as s:
            service.split(s, source="C", into=shares, effective=D1)
    with db.transaction(tree) as s:
        assert service.get(s, "C").valid_to is None


def test_rename_keeps_the_old_name_for_old_dates(tree):
    with db.transaction(tree) as s:
        service.rename(s, code="A", name="Xã Mới", effective=D1)
    with db.transaction(tree) as s:
        unit = service.get(s, "A")
        assert service.name_on(unit, date(2025, 1, 1)) == "Xã A"
        assert service.name_on(unit, D1) == "Xã Mới"
        assert [n["name"] for n in service.lineage(s, "A")["names"]] == ["Xã A", "Xã Mới"]


def test_move_changes_the_parent_from_a_date(tree):
    with db.transaction(tree) as s:
        service.create(s, code="Q", name="Tỉnh Khác", level="province", kind="province", parent=None, valid_from=D0)
        service.reparent(s, code="B", parent="Q", effective=D1)
    with db.transaction(tree) as s:
        assert service.view(service.get(s, "B"), date(2025, 1, 1)).parent == "P"
        assert service.view(service.get(s, "B"), D1).parent == "Q"
        with pytest.raises(ChisoError):
            service.reparent(s, code="P", parent="A", effective=D1)


def test_changes_to_units_that_no_longer_exist_are_refused(tree):
    with db.transaction(tree) as s:
        service.merge(s, sources_=["B"], into="A", effective=D1)
    with pytest.raises(ChisoError):
        with db.transaction(tree) as s:
            service.rename(s, code="B", name="X", effective=date(2026, 6, 1))
