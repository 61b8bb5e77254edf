"""Lineage through the 2025 reform, and restating former units' data onto today's."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from chiso.errors import ChisoError
from chiso.units import service
from chiso.units.models import LineageLink

AFTER = date(2025, 7, 1)


def test_lam_dong_was_formed_from_three_provinces(loaded):
    lin = service.lineage(loaded, "68")
    preds = {p["official_code"]: p for p in lin["predecessors"]}
    assert set(preds) == {"68", "60", "67"}
    assert {p["name"] for p in lin["predecessors"]} == {"Tỉnh Lâm Đồng", "Tỉnh Bình Thuận", "Tỉnh Đắk Nông"}
    assert all(p["event"] == "merge" and p["effective_date"] == "2025-07-01" for p in preds.values())
    assert lin["successors"] == []
    back = service.lineage(loaded, "old:67")
    assert [s["code"] for s in back["successors"]] == ["68"]


def test_every_new_commune_has_predecessors_and_every_former_ward_a_successor(loaded, today):
    for c in service.list_units(loaded, level="commune", within="68", as_of=today):
        lin = service.lineage(loaded, c.code)
        if c.valid_from is None:  # continued unchanged
            continue
        assert lin["predecessors"], c.code
    for old in ("old:68", "old:60", "old:67"):
        for w in service.list_units(loaded, level="commune", within=old, as_of=date(2025, 6, 30)):
            assert service.successors_on(loaded, w.code, today), w.code


def test_split_wards_are_splits_with_one_primary(loaded):
    splits = {}
    for link in loaded.scalars(select(LineageLink)):
        if link.event.kind == "split":
            splits.setdefault(link.from_unit_id, []).append(link)
    if not splits:
        pytest.skip("no split ward in province 68's data")
    for links in splits.values():
        assert len(links) >= 2
        assert sum(l.primary for l in links) == 1
        assert sum(l.share for l in links) == pytest.approx(1.0)


def test_restate_sums_additive_data_and_means_for_dti(loaded, today):
    values = {"old:68": 10.0, "old:60": 20.0, "old:67": 60.0}
    assert service.restate(loaded, values, on=today, how="sum") == {"68": 90.0}
    assert service.restate(loaded, values, on=today, how="mean") == {"68": pytest.approx(30.0)}
    # Before the reform, the former provinces are themselves.
    assert service.restate(loaded, values, on=date(2025, 6, 30)) == values
    with pytest.raises(ChisoError):
        service.restate(loaded, values, on=today, how="median")


def test_restating_ward_data_keeps_the_total(loaded, today):
    wards = service.list_units(loaded, level="commune", within="old:67", as_of=date(2025, 6, 30))
    values = {w.code: 1.0 for w in wards}
    restated = service.restate(loaded, values, on=today)
    assert sum(restated.values()) == pytest.approx(len(wards))
    assert all(code.isdigit() for code in restated)


def test_former_agencies_merge_into_todays(loaded):
    lin = service.lineage(loaded, "68.SKHCN")
    codes = {p["code"] for p in lin["predecessors"]}
    assert {"old:68.STTTT", "old:60.STTTT", "old:67.STTTT", "old:68.SKHCN"} <= codes


def test_island_district_becomes_a_special_zone(backend, store_url, today):
    """Côn Đảo had no communes: the special zone's predecessor is the former district."""
    from chiso import db

    engine = db.make_engine(store_url)
    with db.transaction(engine) as session:
        service.init_province(session, "79")
        zones = [u for u in service.list_units(session, level="commune", within="79", as_of=today)
                 if u.kind == "special_zone"]
        assert [z.name for z in zones] == ["Đặc khu Côn Đảo"]
        preds = service.lineage(session, zones[0].code)["predecessors"]
        assert [(p["level"], p["name"]) for p in preds] == [("district", "Huyện Côn Đảo")]
    engine.dispose()


def test_reloading_keeps_changes_recorded_since(backend, store_url, today):
    from chiso import db

    engine = db.make_engine(store_url)
    with db.transaction(engine) as session:
        service.init_province(session, "11")
        communes = service.list_units(session, level="commune", within="11", as_of=today)
        a, b = communes[0].code, communes[1].code
        service.rename(session, code=a, name="Xã Đổi Tên", effective=date(2026, 1, 1))
        service.merge(session, sources_=[b], into=a, effective=date(2026, 1, 1))
    with db.transaction(engine) as session:
        again = service.init_province(session, "11")
        assert not again.changed, again.to_json()
        assert service.get(session, a).name == "Xã Đổi Tên"
        assert service.get(session, b).valid_to == date(2026, 1, 1)
        assert b not in {u.code for u in service.list_units(session, level="commune", within="11", as_of=today)}
    engine.dispose()
