"""Reading the registry after `init --province 68` (Lâm Đồng), on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import select

from chiso.errors import NotFound
from chiso.units import service
from chiso.units.models import Unit

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


def test_get_by_official_code_picks_the_unit_of_the_date(loaded):
    assert service.get(loaded, "68").code == "68"
    assert service.get(loaded, "60").code == "old:60"  # no unit holds 60 today
    assert service.get(loaded, "68", on=BEFORE).code == "68"  # the registry code wins
    with pytest.raises(NotFound):
        service.get(loaded, "nowhere")
