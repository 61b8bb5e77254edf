"""Read Vietnam's administrative units, before and after the 2025 reform, from two
installed PyPI packages.

On 1 July 2025 Vietnam moved to two-tier local government (Nghị quyết 202/2025/QH15 and
the Standing Committee's resolutions on communes): the 63 provinces were merged into 34,
the ~700 district-level units (quận, huyện, thị xã, thành phố thuộc tỉnh) were abolished,
and the ~10,000 communes and wards were merged into 3,321 communes (xã), wards (phường)
and special zones (đặc khu). Official codes come from Quyết định 19/2025/QĐ-TTg; a new
unit usually takes the code of one of the units it was formed from, so the same code can
name an old unit and a different new one (old ward 20194 Phường Hòa Hiệp Bắc, new ward
20194 Phường Hải Vân; old and new province 68). Old and new units therefore never share a
list here, and a :class:`Succession` always says which side each code is on.

Two packages are read where they are installed (never copied, never fetched):

``vietnam-provinces``
    ``NESTED_DIVISIONS_JSON_PATH``: the 34 provinces and 3,321 communes. Used for the
    names of today's units (with their type word) and the commune types.

``vietnamadminunits``
    ``data/dataset.db`` (SQLite): ``admin_units`` (3,321 communes today) and
    ``admin_units_legacy`` (the 63 provinces, 696 districts and 10,035 wards of before),
    with coordinates and areas, and the ASCII keys its converter uses.
    ``data/converter_2025.json``: old province → new province, and old ward → new commune,
    either wholly (``DICT_PROVINCE_WARD_NO_DIVIDED``) or as one share of a divided ward
    (``DICT_PROVINCE_WARD_DIVIDED``, with the package's default new ward).

Which package is trusted for what:

* Codes of today's communes come from ``vietnamadminunits``. For 123 communes the two
  packages disagree; where checked (provinces 01, 04, 37, 46, 48, 79, 92) the
  ``vietnamadminunits`` code is the one in Quyết định 19/2025/QĐ-TTg, and it is always the
  code of one of the commune's predecessors, whereas ``vietnam-provinces`` (built from a
  draft list) sometimes gives a code none of the predecessors had. Province codes agree.
* Names of today's units come from ``vietnam-provinces`` (whitespace tidied); the two
  packages' names differ only in spelling details (``Hoà``/``Hòa``, apostrophes, dashes).
  The packages are matched by province and name, not by code.
* Types of today's communes come from ``vietnam-provinces``: its types agree with the
  names, while four ``wardType`` values in ``admin_units`` contradict them.
* Everything about old units, coordinates and areas comes from the SQLite tables. The
  type of an old unit is read from its name, for the same reason (three ``wardType``
  values contradict the name, e.g. "Thị trấn Ngọc Lặc" typed Xã), and the ten old names
  that capitalise their type word ("Thị Trấn Ái Tử", "Thành Phố Đồng Hới") are respelled
  the usual way. The tables give no area for old units nor for provinces.

Five old island districts (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) had no
commune level; each became a special zone. ``admin_units_legacy`` gives each a row with no
ward (no name, code or type: the only NULL ``wardType`` values), so those rows are
districts, not wards, and the legacy wards number 10,035 of the table's 10,040 rows. Their
successions start from the district, so :class:`Succession` carries ``old_level``.

Everything is parsed once per process and cached; the public functions return fresh lists
of frozen dataclasses.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

__all__ = [
    "SourceUnit",
    "Succession",
    "commune_successions",
    "current_communes",
    "current_provinces",
    "data_versions",
    "legacy_districts",
    "legacy_provinces",
    "legacy_wards",
    "predecessor_provinces",
    "province_successions",
]

LEVELS = ("province", "district", "commune")
PROVINCE_KINDS = ("province", "city")
DISTRICT_KINDS = ("urban_district", "rural_district", "town", "provincial_city")
COMMUNE_KINDS = ("commune", "ward", "township", "special_zone")
SUCCESSION_KINDS = ("merge", "split")

# Type words as they open a unit's full name, and as the SQLite type columns spell them.
_PROVINCE_PREFIXES = {"Thành phố ": "city", "Tỉnh ": "province"}
_DISTRICT_TYPES = {
    "Quận": "urban_district",
    "Huyện": "rural_district",
    "Thị xã": "town",
    "Thành phố": "provincial_city",
}
_DISTRICT_PREFIXES = {f"{word} ": kind for word, kind in _DISTRICT_TYPES.items()}
_COMMUNE_TYPES = {"Thị trấn": "township", "Phường": "ward", "Xã": "commune", "Đặc khu": "special_zone"}
_COMMUNE_PREFIXES = {f"{word} ": kind for word, kind in _COMMUNE_TYPES.items()}
_VP_PROVINCE_TYPES = {"tỉnh": ("Tỉnh", "province"), "thành phố trung ương": ("Thành phố", "city")}
_VP_COMMUNE_TYPES = {"xã": "commune", "phường": "ward", "đặc khu": "special_zone"}


@dataclass(frozen=True)
class SourceUnit:
    """One administrative unit of one era, as the source packages describe it."""

    code: str  # official code, zero-padded: province '68', district '490', commune '24781'
    name: str  # full name with its type word: 'Tỉnh Lâm Đồng', 'Phường Xuân Hương - Đà Lạt'
    level: str  # one of LEVELS
    kind: str  # one of PROVINCE_KINDS, DISTRICT_KINDS or COMMUNE_KINDS, by level
    parent_code: str | None  # the parent in the same era; None for provinces
    lat: float | None
    lon: float | None
    area_km2: float | None


@dataclass(frozen=True)
class Succession:
    """An old unit (before 1 July 2025) and one new unit that took over some or all of it.

    ``merge``: the old unit went wholly into the new one (``primary`` is True).
    ``split``: the old unit was divided among several new ones; exactly one of its
    successions is ``primary``, the package's default new commune for the old one.
    ``old_level`` says what kind of code ``old_code`` is: 'province', 'commune', or
    'district' for the five island districts that had no communes.
    """

    old_code: str  # official code before the reform
    new_code: str  # official code after the reform
    kind: str  # one of SUCCESSION_KINDS
    primary: bool
    old_level: str = "commune"


# --------------------------------------------------------------------------- public API


def current_provinces() -> list[SourceUnit]:
    """The 34 provinces and centrally run cities since 1 July 2025, by code."""
    return list(_current().provinces)


def current_communes(province_code: str | None = None) -> list[SourceUnit]:
    """Today's communes, wards and special zones (3,321), or those of one province, by code."""
    current = _current()
    if province_code is None:
        return [c for p in current.provinces for c in current.communes[p.code]]
    return list(current.communes[_known(province_code, current.communes, "today's")])


def legacy_provinces() -> list[SourceUnit]:
    """The 63 provinces and cities as they were until 30 June 2025, by code."""
    return list(_legacy().provinces)


def legacy_districts(province_codes: Iterable[str] | None = None) -> list[SourceUnit]:
    """The district-level units until 30 June 2025 (696), or those of some old provinces.

    ``province_codes`` are old province codes; a single code may be passed as a string.
    """
    legacy = _legacy()
    return [d for code in _legacy_codes(province_codes, legacy) for d in legacy.districts[code]]


def legacy_wards(province_codes: Iterable[str] | None = None) -> list[SourceUnit]:
    """The communes, wards and townships until 30 June 2025 (10,035), or those of some old
    provinces. Their parent is their district."""
    legacy = _legacy()
    return [w for code in _legacy_codes(province_codes, legacy) for w in legacy.wards[code]]


def province_successions() -> list[Succession]:
    """Old province → new province: 63 merges (a province that went on unchanged is a merge
    into its own continuation), by new code then old code."""
    return list(_successions().provinces)


def commune_successions(new_province_code: str | None = None) -> list[Succession]:
    """Old ward (or island district) → new commune, for the new communes of one province
    (or all), by new code then old code."""
    successions = _successions()
    if new_province_code is None:
        return [s for code in sorted(successions.communes) for s in successions.communes[code]]
    return list(successions.communes[_known(new_province_code, successions.communes, "today's")])


def predecessor_provinces(new_province_code: str) -> list[str]:
    """The old provinces a new one was formed from, sorted: '68' → ['60', '67', '68']."""
    by_new = _successions().predecessor_provinces
    return list(by_new[_known(new_province_code, by_new, "today's")])


def data_versions() -> dict[str, str]:
    """The installed versions of the two source packages, to record next to loaded data."""
    return {name: metadata.version(name) for name in ("vietnam-provinces", "vietnamadminunits")}


# --------------------------------------------------------------------------- caches


@dataclass(frozen=True)
class _Current:
    provinces: tuple[SourceUnit, ...]
    communes: Mapping[str, tuple[SourceUnit, ...]]  # by province code
    codes_by_key: Mapping[tuple[str, str], str]  # (provinceKey, wardKey) → commune code
    province_codes_by_key: Mapping[str, str]


@dataclass(frozen=True)
class _Legacy:
    provinces: tuple[SourceUnit, ...]
    districts: Mapping[str, tuple[SourceUnit, ...]]  # by province code
    wards: Mapping[str, tuple[SourceUnit, ...]]  # by province code
    # The converter's "provinceKey_districtKey_wardKey" → (level, code); island districts
    # have an empty ward key and map to the district.
    codes_by_key: Mapping[str, tuple[str, str]]
    province_codes_by_key: Mapping[str, str]


@dataclass(frozen=True)
class _Successions:
    provinces: tuple[Succession, ...]
    predecessor_provinces: Mapping[str, tuple[str, ...]]  # new province code → old codes
    communes: Mapping[str, tuple[Succession, ...]]  # by new province code


def _admin_units_dir() -> Path:
    # find_spec locates the package without importing it: importing vietnamadminunits
    # loads its address parser (~0.3 s) that nothing here needs.
    spec = find_spec("vietnamadminunits")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("The package vietnamadminunits is not installed.")
    return Path(spec.origin).parent / "data"


def _query(sql: str) -> list[sqlite3.Row]:
    # Read-only, so nothing (not even a journal) is ever written into site-packages.
    uri = (_admin_units_dir() / "dataset.db").as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql).fetchall()


@lru_cache(maxsize=1)
def _current() -> _Current:
    import vietnam_provinces  # 30 ms: only when a province's units are read

    with Path(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH).open(encoding="utf-8") as f:
        vp_provinces = {f"{p['code']:02d}": p for p in json.load(f)}
    rows = _query(
        "SELECT provinceCode, provinceKey, provinceLat, provinceLon, wardCode, ward, wardKey,"
        " wardLat, wardLon, wardAreaKm2 FROM admin_units ORDER BY provinceCode, wardCode"
    )
    by_province: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in rows:
        by_province[row["provinceCode"]].append(row)
    if set(by_province) != set(vp_provinces):
        raise ValueError(
            "vietnam-provinces and vietnamadminunits list different provinces: "
            f"{sorted(set(by_province) ^ set(vp_provinces))}"
        )

    provinces: list[SourceUnit] = []
    communes: dict[str, tuple[SourceUnit, ...]] = {}
    codes_by_key: dict[tuple[str, str], str] = {}
    province_codes_by_key: dict[str, str] = {}
    for code in sorted(vp_provinces):
        vp = vp_provinces[code]
        type_word, kind = _VP_PROVINCE_TYPES[vp["division_type"]]
        name = _tidy(vp["name"])
        # Its provinces are named bare ('Lâm Đồng'), its cities with the type word.
        if not name.startswith(type_word + " "):
            name = f"{type_word} {name}"
        first = by_province[code][0]
        provinces.append(
            SourceUnit(
                code=code, name=name, level="province", kind=kind,
                parent_code=None, lat=first["provinceLat"], lon=first["provinceLon"],
                # The tables give no province area, and the sum of the communes' areas
                # would be wrong where a commune's area is missing (two in Quảng Trị).
                area_km2=None,
            )
        )
        province_codes_by_key[first["provinceKey"]] = code
        vp_wards = _match_names(code, by_province[code], vp["wards"])
        units = []
        for row in by_province[code]:
            vp_ward = vp_wards[row["wardCode"]]
            units.append(
                SourceUnit(
                    code=row["wardCode"], name=_tidy(vp_ward["name"]), level="commune",
                    kind=_VP_COMMUNE_TYPES[vp_ward["division_type"]], parent_code=code,
                    lat=row["wardLat"], lon=row["wardLon"], area_km2=row["wardAreaKm2"],
                )
            )
            _put_once(codes_by_key, (row["provinceKey"], row["wardKey"]), row["wardCode"], "admin_units")
        communes[code] = tuple(units)
    return _Current(tuple(provinces), communes, codes_by_key, province_codes_by_key)


def _match_names(province_code: str, rows: list[sqlite3.Row], vp_wards: list[dict]) -> dict[str, dict]:
    """Pair one province's SQLite communes (by code) with vietnam-provinces' (by name).

    Codes cannot be the join (the packages disagree on 123), so names are: first folded
    with diacritics kept (several provinces have pairs such as Văn Lăng / Văn Lang), then,
    for what is left, without diacritics when that is unambiguous.
    """
    matched: dict[str, dict] = {}
    for fold in (_fold, _fold_ascii):
        rows_left = [r for r in rows if r["wardCode"] not in matched]
        taken = {id(w) for w in matched.values()}
        vp_by_fold = defaultdict(list)
        for w in vp_wards:
            if id(w) not in taken:
                vp_by_fold[fold(w["name"])].append(w)
        rows_by_fold = defaultdict(list)
        for r in rows_left:
            rows_by_fold[fold(r["ward"])].append(r)
        for key, candidates in rows_by_fold.items():
            if len(candidates) == 1 and len(vp_by_fold.get(key, ())) == 1:
                matched[candidates[0]["wardCode"]] = vp_by_fold[key][0]
    missing = [r["ward"] for r in rows if r["wardCode"] not in matched]
    if missing or len(rows) != len(vp_wards):
        raise ValueError(
            f"Province {province_code}: cannot pair vietnamadminunits' communes with "
            f"vietnam-provinces' ({len(rows)} and {len(vp_wards)}); unmatched: {missing}"
        )
    return matched


@lru_cache(maxsize=1)
def _legacy() -> _Legacy:
    rows = _query(
        "SELECT province, provinceCode, provinceKey, provinceLat, provinceLon,"
        " district, districtType, districtCode, districtKey, districtLat, districtLon,"
        " ward, wardType, wardCode, wardKey, wardLat, wardLon"
        " FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode"
    )
    provinces: dict[str, SourceUnit] = {}
    districts: dict[str, dict[str, SourceUnit]] = defaultdict(dict)
    wards: dict[str, list[SourceUnit]] = defaultdict(list)
    codes_by_key: dict[str, tuple[str, str]] = {}
    province_codes_by_key: dict[str, str] = {}
    for row in rows:
        p_code, d_code = row["provinceCode"], row["districtCode"]
        if p_code not in provinces:
            name, kind = _typed(row["province"], _PROVINCE_PREFIXES)
            provinces[p_code] = SourceUnit(
                code=p_code, name=name, level="province", kind=kind, parent_code=None,
                lat=row["provinceLat"], lon=row["provinceLon"], area_km2=None,
            )
            _put_once(province_codes_by_key, row["provinceKey"], p_code, "admin_units_legacy")
        if d_code not in districts[p_code]:
            name, kind = _typed(row["district"], _DISTRICT_PREFIXES, row["districtType"], _DISTRICT_TYPES)
            districts[p_code][d_code] = SourceUnit(
                code=d_code, name=name, level="district", kind=kind, parent_code=p_code,
                lat=row["districtLat"], lon=row["districtLon"], area_km2=None,
            )
        full_key = f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey'] or ''}"
        if row["wardCode"] is None:
            # An island district without communes: a row for the district alone.
            _put_once(codes_by_key, full_key, ("district", d_code), "admin_units_legacy")
            continue
        name, kind = _typed(row["ward"], _COMMUNE_PREFIXES, row["wardType"], _COMMUNE_TYPES)
        wards[p_code].append(
            SourceUnit(
                code=row["wardCode"], name=name, level="commune", kind=kind, parent_code=d_code,
                lat=row["wardLat"], lon=row["wardLon"], area_km2=None,
            )
        )
        _put_once(codes_by_key, full_key, ("commune", row["wardCode"]), "admin_units_legacy")
    return _Legacy(
        provinces=tuple(provinces[c] for c in sorted(provinces)),
        districts={p: tuple(ds[d] for d in sorted(ds)) for p, ds in districts.items()},
        wards={p: tuple(sorted(ws, key=lambda w: w.code)) for p, ws in wards.items()},
        codes_by_key=codes_by_key,
        province_codes_by_key=province_codes_by_key,
    )


@lru_cache(maxsize=1)
def _successions() -> _Successions:
    with (_admin_units_dir() / "converter_2025.json").open(encoding="utf-8") as f:
        converter = json.load(f)
    current, legacy = _current(), _legacy()

    provinces: list[Succession] = []
    predecessors: dict[str, tuple[str, ...]] = {}
    for new_key, old_keys in converter["DICT_PROVINCE"].items():
        new_code = _lookup(current.province_codes_by_key, new_key, "new province key")
        olds = sorted(_lookup(legacy.province_codes_by_key, k, "old province key") for k in old_keys)
        predecessors[new_code] = tuple(olds)
        provinces += [Succession(old, new_code, "merge", True, "province") for old in olds]
    _check_partition(provinces, legacy.provinces, current.provinces)

    communes = {
        code: _commune_successions(key, converter, current, legacy)
        for key, code in current.province_codes_by_key.items()
    }
    return _Successions(
        provinces=tuple(sorted(provinces, key=lambda s: (s.new_code, s.old_code))),
        predecessor_provinces=predecessors,
        communes=communes,
    )


def _commune_successions(
    new_province_key: str, converter: Mapping, current: _Current, legacy: _Legacy
) -> tuple[Succession, ...]:
    """The successions into one new province's communes, by new code then old code."""

    def new_commune(ward_key: str) -> str:
        key = (new_province_key, ward_key)
        return _lookup(current.codes_by_key, key, "new commune key")

    def old_unit(full_key: str) -> tuple[str, str]:
        return _lookup(legacy.codes_by_key, full_key, "old ward key")

    pairs: dict[tuple[str, str], Succession] = {}
    # Divided wards first: a ward split among several communes is a split, and must not
    # also count as a merge source should the wholesale lists mention it as well.
    divided: set[tuple[str, str]] = set()
    for full_key, shares in converter["DICT_PROVINCE_WARD_DIVIDED"].get(new_province_key, {}).items():
        level, old_code = old = old_unit(full_key)
        new_codes = {new_commune(s["newWardKey"]): bool(s["isDefaultNewWard"]) for s in shares}
        if len(new_codes) < 2 or sum(new_codes.values()) != 1:
            raise ValueError(f"Divided ward {full_key} needs two or more shares and one default: {shares}")
        divided.add(old)
        for new_code, primary in new_codes.items():
            pairs[old_code, new_code] = Succession(old_code, new_code, "split", primary, level)

    whole: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ward_key, full_keys in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_province_key, {}).items():
        for full_key in full_keys:
            whole[old_unit(full_key)].add(new_commune(ward_key))
    for (level, old_code), new_codes in whole.items():
        if (level, old_code) in divided:
            continue
        if len(new_codes) > 1:
            # Wholly into several communes would be a split without a default: nothing
            # here could say which share is the primary one, so refuse to guess.
            raise ValueError(f"Old {level} {old_code} is listed wholly in {sorted(new_codes)}")
        (new_code,) = new_codes
        pairs[old_code, new_code] = Succession(old_code, new_code, "merge", True, level)
    return tuple(sorted(pairs.values(), key=lambda s: (s.new_code, s.old_code)))


# --------------------------------------------------------------------------- helpers


def _known(code: str, known: Mapping[str, object], era: str) -> str:
    if code not in known:
        raise KeyError(
            f"Unknown {era} province code {code!r}: expected one of {', '.join(sorted(known))}"
        )
    return code


def _legacy_codes(province_codes: Iterable[str] | None, legacy: _Legacy) -> list[str]:
    if province_codes is None:
        return [p.code for p in legacy.provinces]
    if isinstance(province_codes, str):  # one code, not an iterable of its characters
        province_codes = [province_codes]
    known = {p.code: p for p in legacy.provinces}
    return sorted({_known(code, known, "old") for code in province_codes})


def _lookup(mapping: Mapping, key, what: str):
    try:
        return mapping[key]
    except KeyError:
        raise ValueError(f"vietnamadminunits' converter names an unknown {what}: {key!r}") from None


def _put_once(mapping: dict, key, value, table: str) -> None:
    # The converter's keys must name exactly one unit, or successions would be guesses.
    if mapping.setdefault(key, value) != value:
        raise ValueError(f"Key {key!r} is ambiguous in {table}: {mapping[key]!r} and {value!r}")


def _check_partition(
    successions: list[Succession], old: Iterable[SourceUnit], new: Iterable[SourceUnit]
) -> None:
    """Every old province goes into exactly one new one, and every new one has a source."""
    old_codes = [s.old_code for s in successions]
    if sorted(old_codes) != sorted(p.code for p in old) or {s.new_code for s in successions} != {
        p.code for p in new
    }:
        raise ValueError("The converter's province mergers do not cover the 63 old and 34 new provinces.")


def _typed(
    name: str,
    prefixes: Mapping[str, str],
    type_word: str | None = None,
    types: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """A legacy unit's name with its type word in the usual case, and its kind.

    The kind is the one the name announces ('Thị trấn Ngọc Lặc' is a township), else the
    one the type column gives: the name wins because the column contradicts it in places.
    A few names capitalise the type word ('Thị Trấn Ái Tử', 'Thành Phố Đồng Hới'); it is
    respelled so that every name of one kind starts the same way.
    """
    for prefix, kind in prefixes.items():
        if name[: len(prefix)].lower() == prefix.lower():
            return prefix + name[len(prefix) :], kind
    if types and type_word in types:
        return name, types[type_word]
    raise ValueError(f"Cannot tell the kind of {name!r} (type {type_word!r})")


_TONE_MOVES = {
    # Old-style tone placement ("Hoà", "Thuỷ") versus new ("Hòa", "Thủy"): the packages
    # mix the two, and both spell the same name.
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_TONE_RE = re.compile("|".join(_TONE_MOVES))


def _fold(name: str) -> str:
    """A name reduced to its letters and digits, lower case, tone marks placed one way."""
    name = unicodedata.normalize("NFC", name).lower()
    name = _TONE_RE.sub(lambda m: _TONE_MOVES[m.group()], name)
    return "".join(ch for ch in name if ch.isalnum())


def _fold_ascii(name: str) -> str:
    """:func:`_fold` without diacritics, for names the packages spell differently."""
    stripped = unicodedata.normalize("NFD", _fold(name).replace("đ", "d"))
    return "".join(ch for ch in stripped if not unicodedata.combining(ch))


def _tidy(name: str) -> str:
    """NFC with single spaces: vietnam-provinces has doubled spaces in ten names."""
    return " ".join(unicodedata.normalize("NFC", name).split())

