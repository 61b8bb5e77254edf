"""The unit registry's operations. Pages, API and CLI call these; nothing else touches the
tables.

Two structures coexist in the registry. Before 1 July 2025: 63 provinces, about 700
district-level units (huyện, quận, thị xã, thành phố thuộc tỉnh) and about 10,000 communes
and wards. From 1 July 2025 (two-tier local government): 34 provinces and 3,321 communes,
wards and special zones, no districts. A unit that went on unchanged keeps one row; a unit
formed by a merger is a new row, linked to its sources by a lineage event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

import yaml
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.units import sources
from chiso.units.models import (
    GroupMember,
    GroupSet,
    LineageEvent,
    LineageLink,
    Meta,
    Unit,
    UnitGroup,
    UnitName,
    UnitParent,
)

#: The day the two-tier structure took effect (Nghị quyết 202/2025/QH15 and the Standing
#: Committee's resolutions on communes): the last day of the old structure is 30 June 2025.
REFORM_DATE = date(2025, 7, 1)
REFORM_BASIS = "Nghị quyết 202/2025/QH15; Nghị quyết của UBTVQH về sắp xếp ĐVHC cấp xã năm 2025"
LEGACY_PREFIX = "old:"
LEVELS = ("province", "district", "agency", "commune")
EVENT_KINDS = ("merge", "split", "rename", "reparent", "create", "dissolve")
DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "agencies.yaml"


# --------------------------------------------------------------------------- views


@dataclass
class UnitView:
    """A unit as seen on one date."""

    code: str
    name: str
    level: str
    kind: str
    parent: str | None
    official_code: str | None
    name_en: str | None
    valid_from: date | None
    valid_to: date | None
    lat: float | None = None
    lon: float | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["valid_from"] = self.valid_from.isoformat() if self.valid_from else None
        data["valid_to"] = self.valid_to.isoformat() if self.valid_to else None
        return data


@dataclass
class LoadSummary:
    """What ``init`` did: counts per kind of row, so a second run can show it changed nothing."""

    province: str
    inserted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def changed(self) -> bool:
        return bool(sum(self.inserted.values()) or sum(self.updated.values()))

    def to_json(self) -> dict:
        return {
            "province": self.province,
            "inserted": dict(self.inserted),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
        }


def valid_on(model, d: date):
    """SQL condition: the row of ``model`` holds on day ``d`` (half-open validity)."""
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= d),
        or_(model.valid_to.is_(None), model.valid_to > d),
    )


def _holds(valid_from: date | None, valid_to: date | None, d: date) -> bool:
    return (valid_from is None or valid_from <= d) and (valid_to is None or valid_to > d)


# --------------------------------------------------------------------------- loading


def normalise_province_code(code: str | int) -> str:
    text = str(code).strip()
    if not text.isdigit() or len(text) > 3:
        raise ChisoError(_("Invalid province code: {code}").format(code=code))
    return text.zfill(2)[-2:] if len(text) == 3 and text.startswith("0") else text.zfill(2)


class _Loader:
    """Idempotent upserts keyed by registry code, counting what changed."""

    def __init__(self, session: Session, summary: LoadSummary, source: str):
        self.session = session
        self.summary = summary
        self.source = source
        self.units: dict[str, Unit] = {u.code: u for u in session.scalars(select(Unit))}
        # Units a person has changed since (renamed, merged, moved) keep those changes:
        # reloading the package data must not undo recorded history.
        self.edited: set[int] = set()
        for link in session.scalars(select(LineageLink).join(LineageEvent).where(LineageEvent.source == "user")):
            self.edited.update((link.from_unit_id, link.to_unit_id))

    def unit(self, code: str, **fields) -> Unit:
        unit = self.units.get(code)
        if unit is None:
            unit = Unit(code=code, source=fields.pop("source", self.source), **fields)
            self.session.add(unit)
            self.units[code] = unit
            self.summary.inserted["units"] += 1
            return unit
        fields.pop("source", None)
        if unit.id in self.edited:
            self.summary.unchanged["units"] += 1
            return unit
        changed = False
        for key, value in fields.items():
            if getattr(unit, key) != value:
                setattr(unit, key, value)
                changed = True
        (self.summary.updated if changed else self.summary.unchanged)["units"] += 1
        return unit

    def parent(self, unit: Unit, parent: Unit, valid_from: date | None, valid_to: date | None) -> None:
        if unit.id in self.edited:
            self.summary.unchanged["parent_links"] += 1
            return
        for link in unit.parents:
            if link.parent is parent and link.valid_from == valid_from:
                if link.valid_to != valid_to:
                    link.valid_to = valid_to
                    self.summary.updated["parent_links"] += 1
                else:
                    self.summary.unchanged["parent_links"] += 1
                return
        unit.parents.append(UnitParent(parent=parent, valid_from=valid_from, valid_to=valid_to))
        self.summary.inserted["parent_links"] += 1

    def event(
        self,
        key: str,
        kind: str,
        effective: date,
        links: Iterable[tuple[Unit, Unit, float, bool]],
        legal_basis: str | None = REFORM_BASIS,
    ) -> None:
        existing = self.session.scalar(select(LineageEvent).where(LineageEvent.key == key))
        if existing is not None:
            self.summary.unchanged["lineage_events"] += 1
            return
        event = LineageEvent(
            key=key, kind=kind, effective_date=effective, legal_basis=legal_basis, source=self.source
        )
        for src, dst, share, primary in links:
            event.links.append(LineageLink(from_unit=src, to_unit=dst, share=share, primary=primary))
        self.session.add(event)
        self.summary.inserted["lineage_events"] += 1


def load_template(path: Path | None = None) -> dict:
    path = path or DEFAULT_TEMPLATE
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChisoError(_("Cannot read the agency template {path}: {reason}").format(path=path, reason=exc))
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), list):
        raise ChisoError(_("The agency template {path} has no list of agencies.").format(path=path))
    codes = [a.get("code") for a in data["agencies"]]
    for required in ("code", "name", "kind"):
        for entry in data["agencies"] + data.get("legacy_agencies", []):
            if not entry.get(required):
                raise ChisoError(
                    _("The agency template {path}: an agency has no {field}.").format(path=path, field=required)
                )
    if len(set(codes)) != len(codes):
        raise ChisoError(_("The agency template {path} repeats an agency code.").format(path=path))
    for entry in data.get("legacy_agencies", []):
        if entry.get("successor") and entry["successor"] not in codes:
            raise ChisoError(
                _("The agency template {path}: successor {code} is not one of today's agencies.").format(
                    path=path, code=entry["successor"]
                )
            )
    return data


def init_province(session: Session, province_code: str, *, template: Path | None = None) -> LoadSummary:
    """Load (or bring up to date) one province: all provinces of both eras with their
    mergers, and for this province its communes, its former districts and wards, its
    agencies and the lineage between them. Running it again changes nothing."""
    code = normalise_province_code(province_code)
    current = {p.code: p for p in sources.current_provinces()}
    if code not in current:
        raise ChisoError(
            _("Unknown province code {code}: today's 34 provinces have codes {codes}.").format(
                code=province_code, codes=", ".join(sorted(current))
            )
        )
    tmpl = load_template(template)
    versions = sources.data_versions()
    source = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    summary = LoadSummary(province=code)
    loader = _Loader(session, summary, source)

    provinces = _load_provinces(loader, current)
    _load_communes(loader, code, provinces)
    _load_agencies(loader, code, provinces, tmpl)
    _load_groups(loader, code, tmpl)

    _set_meta(session, "home_province", code, only_if_missing=True)
    for name, version in versions.items():
        _set_meta(session, f"data_version:{name}", version)
    session.flush()
    return summary


def _set_meta(session: Session, key: str, value: str, only_if_missing: bool = False) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    elif not only_if_missing:
        row.value = value


def _continuing(old_codes: list[str], new_code: str) -> bool:
    """A unit that went on unchanged: one predecessor, and it had the same code."""
    return old_codes == [new_code]


def _load_provinces(loader: _Loader, current: Mapping[str, sources.SourceUnit]) -> dict[str, Unit]:
    """All 34 provinces and the 63 former ones, so national comparisons have every peer.
    Returns registry units by registry code."""
    by_new: dict[str, list[str]] = defaultdict(list)
    for s in sources.province_successions():
        by_new[s.new_code].append(s.old_code)
    legacy = {p.code: p for p in sources.legacy_provinces()}
    units: dict[str, Unit] = {}
    for new_code, olds in sorted(by_new.items()):
        olds.sort()
        p = current[new_code]
        if _continuing(olds, new_code):
            units[new_code] = loader.unit(
                new_code, official_code=new_code, name=legacy[new_code].name, level="province",
                kind=p.kind, valid_from=None, valid_to=None, lat=p.lat, lon=p.lon, area_km2=p.area_km2,
            )
            continue
        target = units[new_code] = loader.unit(
            new_code, official_code=new_code, name=p.name, level="province", kind=p.kind,
            valid_from=REFORM_DATE, valid_to=None, lat=p.lat, lon=p.lon, area_km2=p.area_km2,
        )
        links = []
        for old in olds:
            lp = legacy[old]
            src = units[LEGACY_PREFIX + old] = loader.unit(
                LEGACY_PREFIX + old, official_code=old, name=lp.name, level="province", kind=lp.kind,
                valid_from=None, valid_to=REFORM_DATE, lat=lp.lat, lon=lp.lon, area_km2=lp.area_km2,
            )
            links.append((src, target, 1.0, True))
        loader.event(f"province-merge:{new_code}", "merge", REFORM_DATE, links)
    return units


def _load_communes(loader: _Loader, code: str, provinces: dict[str, Unit]) -> None:
    old_provinces = sources.predecessor_provinces(code)
    province_continues = old_provinces == [code]

    def old_province_unit(old_code: str) -> Unit:
        return provinces[old_code if province_continues else LEGACY_PREFIX + old_code]

    successions = sources.commune_successions(code)
    preds: dict[str, list[sources.Succession]] = defaultdict(list)
    succs: dict[str, list[sources.Succession]] = defaultdict(list)
    for s in successions:
        preds[s.new_code].append(s)
        succs[s.old_code].append(s)
    continuing = {
        new for new, ss in preds.items()
        if [s.old_code for s in ss] == [new] and ss[0].kind == "merge" and ss[0].old_level == "commune"
        and len(succs[new]) == 1
    }

    # Districts, then wards, of every former province the new one was formed from.
    districts: dict[str, Unit] = {}
    for d in sources.legacy_districts(old_provinces):
        unit = districts[d.code] = loader.unit(
            LEGACY_PREFIX + d.code, official_code=d.code, name=d.name, level="district", kind=d.kind,
            valid_from=None, valid_to=REFORM_DATE, lat=d.lat, lon=d.lon, area_km2=d.area_km2,
        )
        loader.parent(unit, old_province_unit(d.parent_code), None, REFORM_DATE)
    wards: dict[str, Unit] = {}
    legacy_names: dict[str, str] = {}
    for w in sources.legacy_wards(old_provinces):
        legacy_names[w.code] = w.name
        if w.code in continuing:
            continue  # loaded below as one unit spanning both eras
        unit = wards[w.code] = loader.unit(
            LEGACY_PREFIX + w.code, official_code=w.code, name=w.name, level="commune", kind=w.kind,
            valid_from=None, valid_to=REFORM_DATE, lat=w.lat, lon=w.lon, area_km2=w.area_km2,
        )
        loader.parent(unit, districts[w.parent_code], None, REFORM_DATE)
    legacy_parent = {w.code: w.parent_code for w in sources.legacy_wards(old_provinces)}

    province = provinces[code]
    communes: dict[str, Unit] = {}
    for c in sources.current_communes(code):
        keeps = c.code in continuing
        unit = communes[c.code] = loader.unit(
            c.code, official_code=c.code, name=c.name, level="commune", kind=c.kind,
            valid_from=None if keeps else REFORM_DATE, valid_to=None,
            lat=c.lat, lon=c.lon, area_km2=c.area_km2,
        )
        if keeps:
            wards[c.code] = unit
            loader.parent(unit, districts[legacy_parent[c.code]], None, REFORM_DATE)
            loader.parent(unit, province, REFORM_DATE, None)
            _name_history(loader, unit, legacy_names.get(c.code), c.name)
        else:
            loader.parent(unit, province, REFORM_DATE, None)

    for new_code, ss in sorted(preds.items()):
        if new_code in continuing:
            continue
        # An island district without communes (Côn Đảo, Lý Sơn...) became a special zone.
        olds = {
            s.old_code: (districts if s.old_level == "district" else wards).get(s.old_code)
            for s in ss if s.kind == "merge"
        }
        links = [(olds[c], communes[new_code], 1.0, True) for c in sorted(olds) if olds[c] is not None]
        if links and new_code in communes:
            loader.event(f"commune-merge:{new_code}", "merge", REFORM_DATE, links)
    for old_code, ss in sorted(succs.items()):
        split = [s for s in ss if s.kind == "split" and s.new_code in communes]
        if split and old_code in wards:
            loader.event(
                f"commune-split:{old_code}", "split", REFORM_DATE,
                [
                    (wards[old_code], communes[s.new_code], 1.0 if s.primary else 0.0, s.primary)
                    for s in sorted(split, key=lambda s: s.new_code)
                ],
            )


def _name_history(loader: _Loader, unit: Unit, old_name: str | None, new_name: str) -> None:
    """A continuing unit whose name changed at the reform keeps both names, each dated."""
    if not old_name or old_name == new_name:
        return
    if any(n.valid_to == REFORM_DATE for n in unit.names):
        loader.summary.unchanged["names"] += 1
        return
    unit.names.append(UnitName(name=old_name, valid_from=None, valid_to=REFORM_DATE))
    unit.names.append(UnitName(name=new_name, valid_from=REFORM_DATE, valid_to=None))
    loader.summary.inserted["names"] += 2


def _load_agencies(loader: _Loader, code: str, provinces: dict[str, Unit], tmpl: dict) -> None:
    old_provinces = sources.predecessor_provinces(code)
    province_continues = old_provinces == [code]
    province = provinces[code]
    today: dict[str, Unit] = {}
    for a in tmpl["agencies"]:
        continues = province_continues and any(
            la.get("successor") == a["code"] and la["code"] == a["code"]
            for la in tmpl.get("legacy_agencies", [])
        )
        unit = today[a["code"]] = loader.unit(
            f"{code}.{a['code']}", official_code=None, name=a["name"], name_en=a.get("name_en"),
            level="agency", kind=a["kind"], valid_from=None if continues else REFORM_DATE,
            valid_to=None, source="template " + str(tmpl.get("version", "")),
        )
        loader.parent(unit, province, None if continues else REFORM_DATE, None)

    merges: dict[str, list[Unit]] = defaultdict(list)
    for old in old_provinces:
        parent = provinces[old if province_continues else LEGACY_PREFIX + old]
        for la in tmpl.get("legacy_agencies", []):
            agency_code = f"{parent.code}.{la['code']}"
            if province_continues and la.get("successor") == la["code"] and la["code"] in today:
                continue  # the same agency went on: one unit, loaded above
            unit = loader.unit(
                agency_code, official_code=None, name=la["name"], name_en=la.get("name_en"),
                level="agency", kind=la["kind"], valid_from=None, valid_to=REFORM_DATE,
                source="template " + str(tmpl.get("version", "")),
            )
            loader.parent(unit, parent, None, REFORM_DATE)
            if la.get("successor"):
                merges[la["successor"]].append(unit)
    for successor, olds in sorted(merges.items()):
        loader.event(
            f"agency-merge:{code}.{successor}", "merge", REFORM_DATE,
            [(u, today[successor], 1.0, True) for u in sorted(olds, key=lambda u: u.code)],
            legal_basis=tmpl.get("legal_basis"),
        )


def _load_groups(loader: _Loader, code: str, tmpl: dict) -> None:
    session = loader.session
    sets = {s.code: s for s in session.scalars(select(GroupSet))}
    groups = {g.code: g for g in session.scalars(select(UnitGroup))}
    rules: dict[str, dict] = {}
    for gs in tmpl.get("group_sets", []):
        group_set = sets.get(gs["code"])
        if group_set is None:
            group_set = sets[gs["code"]] = GroupSet(code=gs["code"], name=gs["name"], name_en=gs.get("name_en"))
            session.add(group_set)
            loader.summary.inserted["group_sets"] += 1
        for g in gs.get("groups", []):
            rules[g["code"]] = g
            if g["code"] not in groups:
                groups[g["code"]] = UnitGroup(
                    code=g["code"], group_set=group_set, name=g["name"], name_en=g.get("name_en")
                )
                session.add(groups[g["code"]])
                loader.summary.inserted["groups"] += 1
    session.flush()

    agency_group = {a["code"]: a.get("group") for a in tmpl["agencies"] + tmpl.get("legacy_agencies", [])}
    existing = {(m.group_id, m.unit_id, m.valid_from) for m in session.scalars(select(GroupMember))}
    for unit in units_ever_within(session, code):
        wanted: list[str] = []
        if unit.level == "agency":
            wanted = [agency_group.get(unit.code.rsplit(".", 1)[-1])]
        for gcode, rule in rules.items():
            if unit.kind in rule.get("kinds", ()) or unit.level in rule.get("levels", ()):
                wanted.append(gcode)
        for gcode in filter(None, wanted):
            group = groups.get(gcode)
            if group is None:
                continue
            if (group.id, unit.id, unit.valid_from) in existing:
                loader.summary.unchanged["group_members"] += 1
                continue
            session.add(GroupMember(group=group, unit=unit, valid_from=unit.valid_from, valid_to=unit.valid_to))
            existing.add((group.id, unit.id, unit.valid_from))
            loader.summary.inserted["group_members"] += 1


def units_ever_within(session: Session, code: str) -> list[Unit]:
    """Every unit that ever sat below province ``code`` or one of its former provinces."""
    session.flush()
    children: dict[int, list[int]] = defaultdict(list)
    for link in session.scalars(select(UnitParent)):
        children[link.parent_id].append(link.unit_id)
    roots = [session.scalar(select(Unit).where(Unit.code == code))]
    roots += [
        link.from_unit for link in session.scalars(
            select(LineageLink).join(LineageEvent).where(LineageEvent.key == f"province-merge:{code}")
        )
    ]
    seen: dict[int, Unit] = {}
    stack = [u.id for u in roots if u is not None]
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen[uid] = session.get(Unit, uid)
        stack.extend(children[uid])
    return list(seen.values())


# --------------------------------------------------------------------------- queries


def home_province(session: Session) -> str | None:
    row = session.get(Meta, "home_province")
    return row.value if row else None


def get(session: Session, code: str, *, on: date | None = None) -> Unit:
    """A unit by registry code, or by official code (the unit holding it on ``on``, else
    the latest one that held it)."""
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is not None:
        return unit
    candidates = list(session.scalars(select(Unit).where(Unit.official_code == code)))
    if on is not None:
        candidates = [u for u in candidates if _holds(u.valid_from, u.valid_to, on)] or candidates
    if not candidates:
        raise NotFound(_("Unknown unit code: {code}").format(code=code))
    return max(candidates, key=lambda u: (u.valid_to is None, u.valid_to or date.min))


def name_on(unit: Unit, d: date) -> str:
    for n in unit.names:
        if _holds(n.valid_from, n.valid_to, d):
            return n.name
    return unit.name


def parent_on(unit: Unit, d: date) -> Unit | None:
    for link in unit.parents:
        if _holds(link.valid_from, link.valid_to, d):
            return link.parent
    return None


def view(unit: Unit, d: date) -> UnitView:
    parent = parent_on(unit, d)
    return UnitView(
        code=unit.code, name=name_on(unit, d), level=unit.level, kind=unit.kind,
        parent=parent.code if parent else None, official_code=unit.official_code,
        name_en=unit.name_en, valid_from=unit.valid_from, valid_to=unit.valid_to,
        lat=unit.lat, lon=unit.lon,
    )


def list_units(
    session: Session,
    *,
    level: str | None = None,
    as_of: date | None = None,
    within: str | None = None,
) -> list[UnitView]:
    """Units that existed on ``as_of`` (default today), optionally of one level and below
    one unit (``within``: a registry code, e.g. a province)."""
    d = as_of or date.today()
    if level is not None and level not in LEVELS:
        raise ChisoError(_("Unknown level {level}: use one of {levels}.").format(level=level, levels=", ".join(LEVELS)))
    query = select(Unit).where(valid_on(Unit, d)).order_by(Unit.level, Unit.code)
    if level:
        query = query.where(Unit.level == level)
    units = list(session.scalars(query))
    if within:
        roots = _territory_on(session, get(session, within, on=d), d)
        units = [u for u in units if any(_is_below(u, r, d) for r in roots)]
    return [view(u, d) for u in units]


def _territory_on(session: Session, unit: Unit, d: date) -> list[Unit]:
    """The units that covered ``unit``'s territory on ``d``: itself if it existed then,
    else its predecessors of that day (new Lâm Đồng before 1 July 2025 is the former Lâm
    Đồng, Bình Thuận and Đắk Nông)."""
    if _holds(unit.valid_from, unit.valid_to, d):
        return [unit]
    found: list[Unit] = []
    for link in session.scalars(select(LineageLink).where(LineageLink.to_unit_id == unit.id)):
        if link.event.effective_date > d and link.from_unit.id != unit.id:
            found += _territory_on(session, link.from_unit, d)
    return found


def _is_below(unit: Unit, root: Unit, d: date) -> bool:
    current = parent_on(unit, d)
    while current is not None:
        if current.id == root.id:
            return True
        current = parent_on(current, d)
    return False


def lineage(session: Session, code: str) -> dict:
    """The unit's direct predecessors and successors, each with the event that links them."""
    unit = get(session, code)
    links_in = session.scalars(select(LineageLink).where(LineageLink.to_unit_id == unit.id))
    links_out = session.scalars(select(LineageLink).where(LineageLink.from_unit_id == unit.id))

    def entry(link: LineageLink, other: Unit) -> dict:
        return {
            "code": other.code,
            "official_code": other.official_code,
            "name": other.name,
            "level": other.level,
            "event": link.event.kind,
            "effective_date": link.event.effective_date.isoformat(),
            "share": link.share,
            "primary": link.primary,
            "legal_basis": link.event.legal_basis,
        }

    names = [
        {"name": n.name, "valid_from": _iso(n.valid_from), "valid_to": _iso(n.valid_to)}
        for n in sorted(unit.names, key=lambda n: n.valid_from or date.min)
    ]
    return {
        "code": unit.code,
        "official_code": unit.official_code,
        "name": unit.name,
        "level": unit.level,
        "valid_from": _iso(unit.valid_from),
        "valid_to": _iso(unit.valid_to),
        "predecessors": sorted((entry(l, l.from_unit) for l in links_in), key=lambda e: e["code"]),
        "successors": sorted((entry(l, l.to_unit) for l in links_out), key=lambda e: e["code"]),
        "names": names,
    }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def feeders(session: Session, unit: Unit) -> list[Unit]:
    """The unit and every former unit whose additive data restates onto it (its
    predecessors through merges, and through splits where it is the receiving part)."""
    found = {unit.id: unit}
    stack = [unit]
    while stack:
        current = stack.pop()
        for link in session.scalars(select(LineageLink).where(LineageLink.to_unit_id == current.id)):
            src = link.from_unit
            if link.share > 0 and src.id not in found:
                found[src.id] = src
                stack.append(src)
    return list(found.values())


def successors_on(session: Session, code: str, d: date) -> list[tuple[str, float]]:
    """Where a unit's data belongs on day ``d``: itself if it exists then, else the units
    its lineage leads to, each with the share of additive data that goes there."""
    unit = get(session, code)
    result: dict[str, float] = defaultdict(float)

    def walk(u: Unit, share: float, depth: int) -> None:
        if _holds(u.valid_from, u.valid_to, d) or depth > 20:
            result[u.code] += share
            return
        links = [
            l for l in session.scalars(select(LineageLink).where(LineageLink.from_unit_id == u.id))
            if l.event.effective_date <= d
        ]
        if not links:
            return  # dissolved without successor: its data has nowhere to go on that day
        for link in links:
            walk(link.to_unit, share * link.share, depth + 1)

    walk(unit, 1.0, 0)
    return sorted(result.items())


def restate(session: Session, values: Mapping[str, float], *, on: date, how: str = "sum") -> dict[str, float]:
    """Carry values measured on former units onto the units that exist on ``on``.

    ``sum`` adds additive measures (dossiers, population) using each link's share (a split
    unit's data goes to its primary successor unless shares were edited); ``mean`` is the
    unweighted mean over the former units that fed a target, the rule DTI 2024 used for
    merged provinces."""
    if how not in ("sum", "mean"):
        raise ChisoError(_("Unknown restatement rule {how}: use sum or mean.").format(how=how))
    sums: dict[str, float] = defaultdict(float)
    feeds: dict[str, list[float]] = defaultdict(list)
    for code, value in values.items():
        for target, share in successors_on(session, code, on):
            sums[target] += value * share
            if share > 0:
                feeds[target].append(value)
    if how == "sum":
        return dict(sums)
    return {t: sum(v) / len(v) for t, v in feeds.items()}


# --------------------------------------------------------------------------- changes


def _record(session: Session, kind: str, effective: date, links, legal_basis: str | None, note: str | None,
            who=None, before: dict | None = None, after: dict | None = None) -> LineageEvent:
    from chiso.audit import service as audit

    event = LineageEvent(kind=kind, effective_date=effective, legal_basis=legal_basis, note=note, source="user")
    for src, dst, share, primary in links:
        event.links.append(LineageLink(from_unit=src, to_unit=dst, share=share, primary=primary))
    session.add(event)
    session.flush()
    primary = next((dst for _s, dst, _sh, p in links if p), links[0][1])
    audit.record(session, actor=who, action=f"unit.{kind}", object_type="unit", object_key=primary.code,
                 unit_id=primary.id, before=before, after={
                     "effective": effective.isoformat(), "legal_basis": legal_basis, "note": note,
                     "links": [{"from": s_.code, "to": d.code, "share": sh} for s_, d, sh, _p in links], **(after or {})})
    return event


def _audit_plain(session: Session, who, action: str, object_type: str, key: str, unit_id: int | None = None,
                 before=None, after=None) -> None:
    from chiso.audit import service as audit

    audit.record(session, actor=who, action=action, object_type=object_type, object_key=key, unit_id=unit_id,
                 before=before, after=after)


def _require_current(unit: Unit, effective: date) -> None:
    if not _holds(unit.valid_from, unit.valid_to, effective):
        raise ChisoError(
            _("Unit {code} does not exist on {date}.").format(code=unit.code, date=effective.isoformat())
        )


def _end(unit: Unit, effective: date) -> None:
    unit.valid_to = effective
    for link in unit.parents:
        if link.valid_to is None or link.valid_to > effective:
            link.valid_to = effective


def create(
    session: Session, *, code: str, name: str, level: str, kind: str, parent: str | None,
    valid_from: date | None, name_en: str | None = None, official_code: str | None = None, who=None,
) -> Unit:
    if level not in LEVELS:
        raise ChisoError(_("Unknown level {level}: use one of {levels}.").format(level=level, levels=", ".join(LEVELS)))
    if session.scalar(select(Unit).where(Unit.code == code)) is not None:
        raise ChisoError(_("Unit code {code} is already taken.").format(code=code))
    unit = Unit(
        code=code, official_code=official_code, name=name, name_en=name_en, level=level,
        kind=kind, valid_from=valid_from, source="user",
    )
    if parent:
        unit.parents.append(UnitParent(parent=get(session, parent), valid_from=valid_from))
    session.add(unit)
    session.flush()
    _audit_plain(session, who, "unit.create", "unit", code, unit.id, after={
        "code": code, "name": name, "level": level, "kind": kind, "parent": parent,
        "valid_from": valid_from.isoformat() if valid_from else None})
    return unit


def merge(
    session: Session, *, sources_: list[str], into: str, effective: date, new: dict | None = None,
    legal_basis: str | None = None, note: str | None = None, who=None,
) -> LineageEvent:
    """Merge units into one. ``into`` is an existing unit that absorbs the others (it goes
    on), or, with ``new`` (name, level, kind, parent), a unit created on ``effective``."""
    olds = [get(session, c) for c in sources_]
    if not olds:
        raise ChisoError(_("A merge needs at least one source unit."))
    for u in olds:
        _require_current(u, effective)
    if new is not None:
        target = create(session, code=into, valid_from=effective, who=who, **new)
    else:
        target = get(session, into)
        _require_current(target, effective)
    links = []
    for u in olds:
        if u.id == target.id:
            continue
        _end(u, effective)
        links.append((u, target, 1.0, True))
    if not links:
        raise ChisoError(_("A merge needs a source other than its target."))
    return _record(session, "merge", effective, links, legal_basis, note, who=who)


def split(
    session: Session, *, source: str, into: Mapping[str, float], effective: date,
    legal_basis: str | None = None, note: str | None = None, who=None,
) -> LineageEvent:
    """Split one unit among existing units; ``into`` maps target code → share of the
    source's additive data (shares must add up to 1)."""
    old = get(session, source)
    _require_current(old, effective)
    if len(into) < 2:
        raise ChisoError(_("A split needs at least two target units."))
    total = sum(into.values())
    if abs(total - 1.0) > 1e-9 or any(s < 0 for s in into.values()):
        raise ChisoError(_("The shares of a split must be between 0 and 1 and add up to 1 (they add up to {total}).").format(total=total))
    targets = [(get(session, c), share) for c, share in into.items()]
    primary = max(targets, key=lambda t: t[1])[0]
    _end(old, effective)
    return _record(
        session, "split", effective, [(old, t, share, t is primary) for t, share in targets], legal_basis, note,
        who=who)


def rename(session: Session, *, code: str, name: str, effective: date, legal_basis: str | None = None,
           who=None) -> LineageEvent:
    unit = get(session, code)
    old_name = unit.name
    _require_current(unit, effective)
    if not unit.names:
        unit.names.append(UnitName(name=unit.name, valid_from=unit.valid_from, valid_to=effective))
    else:
        for n in unit.names:
            if n.valid_to is None:
                n.valid_to = effective
    unit.names.append(UnitName(name=name, valid_from=effective, valid_to=None))
    unit.name = name
    return _record(session, "rename", effective, [(unit, unit, 1.0, True)], legal_basis, None, who=who,
                   before={"name": old_name}, after={"name": name})


def reparent(session: Session, *, code: str, parent: str, effective: date, legal_basis: str | None = None,
             who=None) -> LineageEvent:
    unit = get(session, code)
    new_parent = get(session, parent)
    old_parent = parent_on(unit, effective)
    _require_current(unit, effective)
    _require_current(new_parent, effective)
    if new_parent.id == unit.id or _is_below(new_parent, unit, effective):
        raise ChisoError(_("Unit {code} cannot be placed below itself.").format(code=code))
    for link in unit.parents:
        if _holds(link.valid_from, link.valid_to, effective):
            link.valid_to = effective
    unit.parents.append(UnitParent(parent=new_parent, valid_from=effective))
    return _record(session, "reparent", effective, [(unit, unit, 1.0, True)], legal_basis, None, who=who,
                   before={"parent": old_parent.code if old_parent else None}, after={"parent": new_parent.code})


# --------------------------------------------------------------------------- groups


def list_groups(session: Session) -> list[dict]:
    return [
        {"code": g.code, "name": g.name, "name_en": g.name_en, "set": g.group_set.code}
        for g in session.scalars(select(UnitGroup).order_by(UnitGroup.code))
    ]


def create_group(
    session: Session, *, code: str, name: str, group_set: str, name_en: str | None = None,
    set_name: str | None = None, who=None,
) -> UnitGroup:
    """A new group in a group set (the set is created if it does not exist yet)."""
    if session.scalar(select(UnitGroup).where(UnitGroup.code == code)) is not None:
        raise ChisoError(_("Group code {code} is already taken.").format(code=code))
    gs = session.scalar(select(GroupSet).where(GroupSet.code == group_set))
    if gs is None:
        gs = GroupSet(code=group_set, name=set_name or group_set)
        session.add(gs)
    group = UnitGroup(code=code, name=name, name_en=name_en, group_set=gs)
    session.add(group)
    session.flush()
    _audit_plain(session, who, "group.create", "group", code, after={"code": code, "name": name, "set": group_set})
    return group


def group_members(session: Session, group: str, *, as_of: date | None = None) -> list[UnitView]:
    d = as_of or date.today()
    g = session.scalar(select(UnitGroup).where(UnitGroup.code == group))
    if g is None:
        raise NotFound(_("Unknown group: {code}").format(code=group))
    members = session.scalars(
        select(Unit).join(GroupMember, GroupMember.unit_id == Unit.id)
        .where(GroupMember.group_id == g.id, valid_on(GroupMember, d), valid_on(Unit, d))
        .order_by(Unit.code)
    )
    return [view(u, d) for u in members]


def add_to_group(session: Session, group: str, codes: list[str], *, valid_from: date | None = None, who=None) -> int:
    g = session.scalar(select(UnitGroup).where(UnitGroup.code == group))
    if g is None:
        raise NotFound(_("Unknown group: {code}").format(code=group))
    added = 0
    for code in codes:
        unit = get(session, code)
        d = valid_from or date.today()
        current = [m for m in g.members if m.unit_id == unit.id and _holds(m.valid_from, m.valid_to, d)]
        if current:
            continue
        g.members.append(GroupMember(unit=unit, valid_from=valid_from, valid_to=unit.valid_to))
        added += 1
        _audit_plain(session, who, "group.add", "group", group, unit.id, after={
            "unit": unit.code, "valid_from": valid_from.isoformat() if valid_from else None})
    return added


def remove_from_group(session: Session, group: str, codes: list[str], *, effective: date, who=None) -> int:
    """End membership on ``effective``; the history of who was in the group stays."""
    g = session.scalar(select(UnitGroup).where(UnitGroup.code == group))
    if g is None:
        raise NotFound(_("Unknown group: {code}").format(code=group))
    ended = 0
    for code in codes:
        unit = get(session, code)
        for m in g.members:
            if m.unit_id == unit.id and _holds(m.valid_from, m.valid_to, effective):
                m.valid_to = effective
                ended += 1
                _audit_plain(session, who, "group.remove", "group", group, unit.id, after={
                    "unit": unit.code, "valid_to": effective.isoformat()})
    return ended
