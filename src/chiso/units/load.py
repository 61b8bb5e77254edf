"""Loading the registry from the installed unit packages and the agency template:
idempotent, and it never undoes a change a person recorded since."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from chiso.errors import ChisoError
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
from chiso.units.registry import LEGACY_PREFIX, REFORM_BASIS, REFORM_DATE, units_ever_within

#: The agency template shipped with chiso (a province may pass its own to ``init``).
DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "agencies.yaml"


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
        # One query each for the units with their parent links and names, and for the keys of
        # the events already loaded: looking each up in turn cost a query (and a flush) apiece.
        self.units: dict[str, Unit] = {
            u.code: u for u in session.scalars(
                select(Unit).options(selectinload(Unit.parents), selectinload(Unit.names)))
        }
        self.event_keys: set[str] = set(session.scalars(select(LineageEvent.key).where(LineageEvent.key.is_not(None))))
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
        if key in self.event_keys:
            self.summary.unchanged["lineage_events"] += 1
            return
        self.event_keys.add(key)
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
        raise ChisoError(_("Cannot read the agency template {path}: {reason}").format(path=path, reason=exc)) from exc
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
