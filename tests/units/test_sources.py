"""chiso.units.sources against the installed data of vietnam-provinces and
vietnamadminunits (no mocks: these tests pin down what the packages actually say)."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from importlib import metadata

import pytest
import vietnam_provinces

from chiso.units import sources
from chiso.units.sources import (
    COMMUNE_KINDS,
    DISTRICT_KINDS,
    PROVINCE_KINDS,
    SourceUnit,
    Succession,
)

LAM_DONG = "68"
LAM_DONG_PREDECESSORS = ["60", "67", "68"]  # Bình Thuận, Đắk Nông, Lâm Đồng

# The old island districts that had no communes; each became a special zone.
ISLAND_DISTRICTS = {
    "318": "Huyện Bạch Long Vĩ",
    "471": "Huyện Cồn Cỏ",
    "498": "Huyện Hoàng Sa",
    "536": "Huyện Lý Sơn",
    "755": "Huyện Côn Đảo",
}


def _has_vietnamese_diacritics(text: str) -> bool:
    return any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", text)) or "đ" in text.lower()


# --------------------------------------------------------------------------- counts


def test_counts():
    assert len(sources.current_provinces()) == 34
    assert len(sources.current_communes()) == 3321
    assert len(sources.legacy_provinces()) == 63
    assert len(sources.legacy_districts()) == 696
    # admin_units_legacy has 10,040 rows: 10,035 wards and one row each for the five
    # island districts that had no commune level.
    assert len(sources.legacy_wards()) == 10_035
    assert len(sources.province_successions()) == 63


def test_commune_counts_per_province():
    counts = Counter(c.parent_code for c in sources.current_communes())
    assert counts["68"] == 124
    assert counts["15"] == 99
    assert counts["66"] == 102
    assert counts["11"] == 45
    assert sum(counts.values()) == 3321
    for code, n in counts.items():
        assert len(sources.current_communes(code)) == n


# --------------------------------------------------------------------------- units


def test_province_68_communes():
    communes = sources.current_communes(LAM_DONG)
    assert len(communes) == 124
    assert all(len(c.code) == 5 and c.code.isdigit() for c in communes)
    assert all(c.parent_code == LAM_DONG and c.level == "commune" for c in communes)
    assert all(_has_vietnamese_diacritics(c.name) for c in communes)
    names = {c.name for c in communes}
    assert "Phường Xuân Hương - Đà Lạt" in names
    assert [c.code for c in communes] == sorted(c.code for c in communes)


def test_current_provinces():
    provinces = {p.code: p for p in sources.current_provinces()}
    assert provinces["68"].name == "Tỉnh Lâm Đồng"
    assert provinces["68"].kind == "province"
    assert provinces["01"].name == "Thành phố Hà Nội"
    assert provinces["46"].name == "Thành phố Huế"
    assert sorted(c for c, p in provinces.items() if p.kind == "city") == ["01", "31", "46", "48", "79", "92"]
    for p in provinces.values():
        assert len(p.code) == 2 and p.level == "province" and p.parent_code is None
        assert p.lat is not None and p.lon is not None


def test_codes_are_unique_and_zero_padded():
    for units, width in (
        (sources.current_provinces(), 2),
        (sources.current_communes(), 5),
        (sources.legacy_provinces(), 2),
        (sources.legacy_districts(), 3),
        (sources.legacy_wards(), 5),
    ):
        codes = [u.code for u in units]
        assert len(codes) == len(set(codes))
        assert all(len(c) == width and c.isdigit() for c in codes)


def test_kinds_are_from_the_allowed_sets():
    allowed = {
        "province": set(PROVINCE_KINDS), "district": set(DISTRICT_KINDS), "commune": set(COMMUNE_KINDS),
    }
    everything = (
        sources.current_provinces() + sources.current_communes() + sources.legacy_provinces()
        + sources.legacy_districts() + sources.legacy_wards()
    )
    for unit in everything:
        assert unit.kind in allowed[unit.level], unit
    current = Counter(c.kind for c in sources.current_communes())
    assert current == {"commune": 2621, "ward": 687, "special_zone": 13}
    legacy = Counter(w.kind for w in sources.legacy_wards())
    assert legacy == {"commune": 7692, "ward": 1726, "township": 617}
    assert set(d.kind for d in sources.legacy_districts()) == set(DISTRICT_KINDS)


def test_kinds_agree_with_names():
    words = {"commune": "Xã ", "ward": "Phường ", "township": "Thị trấn ", "special_zone": "Đặc khu "}
    for unit in sources.current_communes() + sources.legacy_wards():
        assert unit.name.startswith(words[unit.kind]), unit
    district_words = {
        "urban_district": "Quận ",
        "rural_district": "Huyện ",
        "town": "Thị xã ",
        "provincial_city": "Thành phố ",
    }
    for d in sources.legacy_districts():
        assert d.name.startswith(district_words[d.kind]), d


def test_kind_follows_the_name_where_the_type_column_contradicts_it():
    # vietnamadminunits types these three legacy wards 'Xã', and these four current
    # communes the opposite of what their names say.
    legacy = {w.code: w for w in sources.legacy_wards()}
    assert (legacy["15061"].name, legacy["15061"].kind) == ("Thị trấn Ngọc Lặc", "township")
    assert (legacy["27046"].name, legacy["27046"].kind) == ("Phường 5", "ward")
    assert (legacy["27076"].name, legacy["27076"].kind) == ("Phường 15", "ward")
    # A few names capitalise the type word; it is respelled the usual way.
    assert (legacy["19624"].name, legacy["19624"].kind) == ("Thị trấn Ái Tử", "township")
    districts = {d.code: d for d in sources.legacy_districts()}
    assert any(d.name == "Thành phố Đồng Hới" and d.kind == "provincial_city" for d in districts.values())
    current = {c.code: c for c in sources.current_communes()}
    assert current["10543"].kind == "ward"  # Phường Việt Hòa
    assert current["11848"].kind == "commune"  # Xã Vĩnh Hòa
    assert current["31213"].kind == "ward"  # Phường Tân Lộc
    assert current["31299"].kind == "commune"  # Xã Phong Điền


def test_parents_are_in_the_same_era():
    current = {p.code for p in sources.current_provinces()}
    assert {c.parent_code for c in sources.current_communes()} == current
    old_provinces = {p.code for p in sources.legacy_provinces()}
    districts = {d.code: d for d in sources.legacy_districts()}
    assert {d.parent_code for d in districts.values()} == old_provinces
    for w in sources.legacy_wards():
        assert w.parent_code in districts, w
    # Every district has wards, except the five island districts.
    with_wards = {w.parent_code for w in sources.legacy_wards()}
    assert {code: districts[code].name for code in set(districts) - with_wards} == ISLAND_DISTRICTS


def test_legacy_filters():
    wards = sources.legacy_wards(LAM_DONG_PREDECESSORS)
    districts = {d.code: d for d in sources.legacy_districts(LAM_DONG_PREDECESSORS)}
    assert {d.parent_code for d in districts.values()} == set(LAM_DONG_PREDECESSORS)
    assert all(w.parent_code in districts for w in wards)
    assert sources.legacy_districts("68") == sources.legacy_districts(["68"])  # one code as a string
    assert len(sources.legacy_wards(["60", "67", "68", "68"])) == len(wards)
    assert sources.legacy_districts([]) == []


def test_coordinates_and_areas():
    communes = sources.current_communes()
    assert all(c.lat is not None and c.lon is not None for c in communes)
    assert all(8 < c.lat < 24 and 102 < c.lon < 118 for c in communes)  # Trường Sa is near 114 °E
    # Two communes in Quảng Trị have no area in vietnamadminunits.
    assert {c.code for c in communes if c.area_km2 is None} == {"19147", "19159"}
    assert all(w.lat is not None for w in sources.legacy_wards())
    assert all(p.area_km2 is None for p in sources.current_provinces() + sources.legacy_provinces())


def test_names_come_from_vietnam_provinces():
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as f:
        data = json.load(f)
    vp_names = {
        f"{p['code']:02d}": {" ".join(w["name"].split()) for w in p["wards"]} for p in data
    }
    for c in sources.current_communes():
        assert c.name in vp_names[c.parent_code], c
        assert c.name == " ".join(c.name.split())  # no doubled spaces survive


def test_old_and_new_codes_stay_apart():
    # The same official code names an old ward and a different new one.
    new = {c.code: c for c in sources.current_communes()}
    old = {w.code: w for w in sources.legacy_wards()}
    assert new["20194"].name == "Phường Hải Vân"
    assert old["20194"].name == "Phường Hòa Hiệp Bắc"
    old_provinces = {p.code: p for p in sources.legacy_provinces()}
    assert old_provinces["68"].name == "Tỉnh Lâm Đồng"
    assert old_provinces["60"].name == "Tỉnh Bình Thuận"


def test_current_codes_follow_the_official_list():
    # vietnam-provinces 2025.10.1 gives 123 communes other codes; these are the codes of
    # Quyết định 19/2025/QĐ-TTg, which vietnamadminunits follows.
    new = {c.code: c.name for c in sources.current_communes()}
    assert new["00082"] == "Phường Cửa Nam"
    assert new["01537"] == "Xã Lý Quốc"
    assert new["13285"] == "Phường Phủ Lý"
    assert new["26800"] == "Phường Linh Xuân"
    # ... and every new commune's code is the code of one of its predecessors, or the
    # code of nothing before (special zones formed from island districts aside).
    preds: dict[str, set[str]] = defaultdict(set)
    for s in sources.commune_successions():
        preds[s.new_code].add(s.old_code)
    old_codes = {w.code for w in sources.legacy_wards()}
    outsiders = {code for code in new if code in old_codes and code not in preds[code]}
    assert outsiders == set()


# --------------------------------------------------------------------------- successions


def test_predecessor_provinces():
    assert sources.predecessor_provinces(LAM_DONG) == LAM_DONG_PREDECESSORS
    assert sources.predecessor_provinces("01") == ["01"]
    assert sources.predecessor_provinces("79") == ["74", "77", "79"]


def test_every_legacy_province_in_exactly_one_province_succession():
    successions = sources.province_successions()
    counts = Counter(s.old_code for s in successions)
    assert set(counts) == {p.code for p in sources.legacy_provinces()}
    assert set(counts.values()) == {1}
    assert {s.new_code for s in successions} == {p.code for p in sources.current_provinces()}
    assert all(s.kind == "merge" and s.primary and s.old_level == "province" for s in successions)
    by_new = defaultdict(list)
    for s in successions:
        by_new[s.new_code].append(s.old_code)
    assert sum(len(v) == 1 for v in by_new.values()) == 11  # provinces that went on unchanged
    for code, olds in by_new.items():
        assert sorted(olds) == sources.predecessor_provinces(code)


def test_every_new_commune_of_68_has_a_predecessor():
    successions = sources.commune_successions(LAM_DONG)
    assert {s.new_code for s in successions} == {c.code for c in sources.current_communes(LAM_DONG)}


def test_every_old_ward_of_60_67_68_has_a_successor_in_new_68():
    new_codes = {c.code for c in sources.current_communes(LAM_DONG)}
    successions = sources.commune_successions(LAM_DONG)
    assert all(s.new_code in new_codes for s in successions)
    succeeded = {s.old_code for s in successions if s.old_level == "commune"}
    old_wards = {w.code for w in sources.legacy_wards(LAM_DONG_PREDECESSORS)}
    assert old_wards - succeeded == set()
    assert succeeded - old_wards == set()


def test_successions_cover_both_eras_nationwide():
    successions = sources.commune_successions()
    assert {s.new_code for s in successions} == {c.code for c in sources.current_communes()}
    old_wards = {s.old_code for s in successions if s.old_level == "commune"}
    assert old_wards == {w.code for w in sources.legacy_wards()}
    per_province = sum(len(sources.commune_successions(p.code)) for p in sources.current_provinces())
    assert per_province == len(successions)


def test_commune_successions_stay_inside_the_merged_province():
    ward_province = {}
    districts = {d.code: d.parent_code for d in sources.legacy_districts()}
    for w in sources.legacy_wards():
        ward_province[w.code] = districts[w.parent_code]
    for p in sources.current_provinces():
        olds = set(sources.predecessor_provinces(p.code))
        for s in sources.commune_successions(p.code):
            old_province = districts[s.old_code] if s.old_level == "district" else ward_province[s.old_code]
            assert old_province in olds, s


def test_splits_have_several_successors_and_one_primary():
    by_old: dict[tuple[str, str], list[Succession]] = defaultdict(list)
    for s in sources.commune_successions():
        by_old[s.old_level, s.old_code].append(s)
    splits = {k: v for k, v in by_old.items() if any(s.kind == "split" for s in v)}
    assert len(splits) == 471
    for old, ss in splits.items():
        assert all(s.kind == "split" for s in ss), old  # never also a merge source
        assert len(ss) >= 2, old
        assert sum(s.primary for s in ss) == 1, old
    merges = {k: v for k, v in by_old.items() if k not in splits}
    assert all(len(v) == 1 and v[0].kind == "merge" and v[0].primary for v in merges.values())


def test_no_pair_is_both_merge_and_split():
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s in sources.commune_successions():
        kinds[s.old_code, s.new_code].add(s.kind)
    assert all(len(k) == 1 for k in kinds.values())
    assert all(s.kind in sources.SUCCESSION_KINDS for s in sources.commune_successions())


def test_island_districts_become_special_zones():
    current = {c.code: c for c in sources.current_communes()}
    from_districts = [s for s in sources.commune_successions() if s.old_level == "district"]
    assert {s.old_code for s in from_districts} == set(ISLAND_DISTRICTS)
    assert all(s.kind == "merge" and s.primary for s in from_districts)
    assert {current[s.new_code].name for s in from_districts} == {
        "Đặc khu Bạch Long Vĩ", "Đặc khu Cồn Cỏ", "Đặc khu Hoàng Sa", "Đặc khu Lý Sơn", "Đặc khu Côn Đảo",
    }


# --------------------------------------------------------------------------- API behaviour


@pytest.mark.parametrize(
    "call",
    [
        lambda: sources.current_communes("99"),
        lambda: sources.commune_successions("60"),  # an old code, not a current one
        lambda: sources.predecessor_provinces("7"),
        lambda: sources.legacy_wards(["68", "99"]),
        lambda: sources.legacy_districts("03"),
    ],
)
def test_unknown_province_codes_raise_key_error(call):
    with pytest.raises(KeyError, match="province code"):
        call()


def test_results_are_fresh_lists_of_frozen_units():
    first = sources.current_communes(LAM_DONG)
    first.clear()
    assert len(sources.current_communes(LAM_DONG)) == 124
    unit = sources.current_provinces()[0]
    assert isinstance(unit, SourceUnit)
    with pytest.raises(AttributeError):
        unit.name = "x"  # type: ignore[misc]


def test_data_versions():
    versions = sources.data_versions()
    assert set(versions) == {"vietnam-provinces", "vietnamadminunits"}
    assert versions["vietnam-provinces"] == metadata.version("vietnam-provinces")
    assert versions["vietnamadminunits"] == metadata.version("vietnamadminunits")


def test_the_package_data_is_read_once_and_kept():
    # How fast is a benchmark's question; a test checks what makes it fast: each source is
    # read once per process, then served from the cache without reading again.
    caches = (sources._current, sources._legacy, sources._successions)
    for cache in caches:  # start cold: earlier tests have filled them
        cache.cache_clear()
    calls = [
        sources.current_provinces, sources.current_communes, sources.legacy_provinces,
        sources.legacy_districts, sources.legacy_wards, sources.province_successions,
        sources.commune_successions, lambda: sources.predecessor_provinces(LAM_DONG),
    ]
    first = [call() for call in calls]
    misses = [cache.cache_info().misses for cache in caches]
    assert all(m >= 1 for m in misses)
    for _ in range(3):
        again = [call() for call in calls]
        assert again == first
    assert [cache.cache_info().misses for cache in caches] == misses
