"""The registry after `init --province 68` (Lâm Đồng), on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from chiso import db
from chiso.errors import ChisoError, NotFound
from chiso.units import service
from chiso.units.models import LineageEvent, Unit

BEFORE = date(2025, 6, 30)
AFTER = date(2025, 7, 1)


def test_today_lam_dong_has_124_communes_with_official_codes(loaded, today):
    communes = service.list_units(loaded, level="commune", within="68", as_of=today)
    assert len(communes) == 124
    assert all(len(c.code) == 5 and c.code.isdigit() for c in communes)
    assert all(c.parent == "68" for c in communes)
    names = {c.name for c in communes}
    assert "Phường Xuân Hương - Đà Lạt" in names
    # Names keep their diacritics (precomposed, as the official lists write them).
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_structure_before_the_reform_is_the_three_former_provinces(loaded):
    # New Lâm Đồng did not exist yet: its territory was the three former provinces'.
    territory = service.list_units(loaded, level="commune", within="68", as_of=BEFORE)
    provinces = {p.code: p for p in service.list_units(loaded, level="province", as_of=BEFORE)}
    assert len(provinces) == 63
    for old in ("old:68", "old:60", "old:67"):
        assert old in provinces
    assert "68" not in provinces
    wards = []
    for old in ("old:68", "old:60", "old:67"):
        wards += service.list_units(loaded, level="commune", within=old, as_of=BEFORE)
    assert len(wards) > 300
    assert sorted(w.code for w in wards) == sorted(w.code for w in territory)
    assert all(w.parent.startswith("old:") for w in wards)  # their parent is a district
    districts = service.list_units(loaded, level="district", within="old:68", as_of=BEFORE)
    assert {d.name for d in districts} >= {"Thành phố Đà Lạt", "Huyện Đức Trọng"}


def test_provinces_today_are_34_and_unchanged_ones_continue(loaded, today):
    provinces = service.list_units(loaded, level="province", as_of=today)
    assert len(provinces) == 34
    # Điện Biên (11) was not merged: one unit spans both structures.
    dien_bien = service.get(loaded, "11")
    assert dien_bien.valid_from is None and dien_bien.valid_to is None
    assert loaded.scalar(select(Unit).where(Unit.code == "old:11")) is None


def test_agencies_today_and_before(loaded, today):
    agencies = {a.code: a for a in service.list_units(loaded, level="agency", within="68", as_of=today)}
    assert "68.SKHCN" in agencies and agencies["68.SKHCN"].name == "Sở Khoa học và Công nghệ"
    assert "68.STTTT" not in agencies
    before = {a.code for a in service.list_units(loaded, level="agency", within="old:60", as_of=BEFORE)}
    assert "old:60.STTTT" in before


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


def test_init_twice_changes_nothing(backend, store_url):
    engine = db.make_engine(store_url)
    with db.transaction(engine) as session:
        first = service.init_province(session, "11")
    with db.transaction(engine) as session:
        count = session.scalar(select(func.count()).select_from(Unit))
        events = session.scalar(select(func.count()).select_from(LineageEvent))
        second = service.init_province(session, "11")
        assert session.scalar(select(func.count()).select_from(Unit)) == count
        assert session.scalar(select(func.count()).select_from(LineageEvent)) == events
    assert first.changed and not second.changed, second.to_json()
    engine.dispose()


@pytest.mark.parametrize("bad", ["99", "abc", "", "6800"])
def test_unknown_province_is_refused_and_nothing_is_written(backend, store_url, bad):
    engine = db.make_engine(store_url)
    with pytest.raises(ChisoError):
        with db.transaction(engine) as session:
            service.init_province(session, bad)
    with db.transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
    engine.dispose()


def test_get_by_official_code_picks_the_unit_of_the_date(loaded):
    assert service.get(loaded, "68").code == "68"
    assert service.get(loaded, "60").code == "old:60"  # no unit holds 60 today
    assert service.get(loaded, "68", on=BEFORE).code == "68"  # the registry code wins
    with pytest.raises(NotFound):
        service.get(loaded, "nowhere")


@pytest.mark.parametrize(
    "template, words",
    [
        ("agencies: [{code: A, name: Sở A, kind: department}, {code: A, name: Sở B, kind: department}]", "repeats"),
        ("agencies: [{code: A, name: Sở A}]", "kind"),
        ("agencies: [{code: A, name: Sở A, kind: department}]\nlegacy_agencies: [{code: B, name: Sở B, kind: department, successor: Z}]", "Z"),
        ("nothing: here", "list of agencies"),
        ("agencies: [", "Cannot read"),
    ],
)
def test_a_bad_agency_template_is_refused_and_nothing_is_written(backend, store_url, tmp_path, monkeypatch,
                                                                 template, words):
    monkeypatch.setenv("CHISO_LANG", "en")
    path = tmp_path / "agencies.yaml"
    path.write_text(template, encoding="utf-8")
    engine = db.make_engine(store_url)
    with pytest.raises(ChisoError, match=words):
        with db.transaction(engine) as session:
            service.init_province(session, "68", template=path)
    with db.transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
    engine.dispose()
