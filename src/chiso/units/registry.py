"""The unit registry as it stood on any day: which units existed, their names, parents and
lineage, and how data measured on former units carries onto today's.

Two structures coexist in the registry. Before 1 July 2025: 63 provinces, about 700
district-level units (huyện, quận, thị xã, thành phố thuộc tỉnh) and about 10,000 communes
and wards. From 1 July 2025 (two-tier local government): 34 provinces and 3,321 communes,
wards and special zones, no districts. A unit that went on unchanged keeps one row; a unit
formed by a merger is a new row, linked to its sources by a lineage event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Iterable, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.units.models import LineageEvent, LineageLink, Meta, Unit, UnitName, UnitParent


#: The day the two-tier structure took effect (Nghị quyết 202/2025/QH15 and the Standing
#: Committee's resolutions on communes): the last day of the old structure is 30 June 2025.
REFORM_DATE = date(2025, 7, 1)
REFORM_BASIS = "Nghị quyết 202/2025/QH15; Nghị quyết của UBTVQH về sắp xếp ĐVHC cấp xã năm 2025"
LEGACY_PREFIX = "old:"
LEVELS = ("province", "district", "agency", "commune")
EVENT_KINDS = ("merge", "split", "rename", "reparent", "create", "dissolve")


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


def valid_on(model, d: date):
    """SQL condition: the row of ``model`` holds on day ``d`` (half-open validity)."""
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= d),
        or_(model.valid_to.is_(None), model.valid_to > d),
    )


def holds(valid_from: date | None, valid_to: date | None, d: date) -> bool:
    return (valid_from is None or valid_from <= d) and (valid_to is None or valid_to > d)


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
        candidates = [u for u in candidates if holds(u.valid_from, u.valid_to, on)] or candidates
    if not candidates:
        raise NotFound(_("Unknown unit code: {code}").format(code=code))
    return max(candidates, key=lambda u: (u.valid_to is None, u.valid_to or date.min))


def name_on(unit: Unit, d: date) -> str:
    for n in unit.names:
        if holds(n.valid_from, n.valid_to, d):
            return n.name
    return unit.name


def parent_on(unit: Unit, d: date) -> Unit | None:
    for link in unit.parents:
        if holds(link.valid_from, link.valid_to, d):
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
    # The parents and names of every unit in three queries, not two per unit: the registry
    # of a province is thousands of rows and its pages list them all.
    codes = dict(session.execute(select(Unit.id, Unit.code)).all())
    parents: dict[int, list[tuple[int, date | None, date | None]]] = defaultdict(list)
    for unit_id, parent_id, vf, vt in session.execute(
            select(UnitParent.unit_id, UnitParent.parent_id, UnitParent.valid_from, UnitParent.valid_to)
            .order_by(UnitParent.id)):
        parents[unit_id].append((parent_id, vf, vt))
    names: dict[int, list[tuple[str, date | None, date | None]]] = defaultdict(list)
    for unit_id, name, vf, vt in session.execute(
            select(UnitName.unit_id, UnitName.name, UnitName.valid_from, UnitName.valid_to).order_by(UnitName.id)):
        names[unit_id].append((name, vf, vt))

    def parent_id_on(unit_id: int) -> int | None:
        return next((pid for pid, vf, vt in parents.get(unit_id, ()) if holds(vf, vt, d)), None)

    if within:
        roots = {r.id for r in _territory_on(session, get(session, within, on=d), d)}

        def below(unit_id: int) -> bool:
            current, seen = parent_id_on(unit_id), set()
            while current is not None and current not in seen:
                if current in roots:
                    return True
                seen.add(current)
                current = parent_id_on(current)
            return False

        units = [u for u in units if below(u.id)]
    out = []
    for u in units:
        parent = parent_id_on(u.id)
        out.append(UnitView(
            code=u.code, name=next((n for n, vf, vt in names.get(u.id, ()) if holds(vf, vt, d)), u.name),
            level=u.level, kind=u.kind, parent=codes[parent] if parent is not None else None,
            official_code=u.official_code, name_en=u.name_en, valid_from=u.valid_from, valid_to=u.valid_to,
            lat=u.lat, lon=u.lon,
        ))
    return out


def _territory_on(session: Session, unit: Unit, d: date) -> list[Unit]:
    """The units that covered ``unit``'s territory on ``d``: itself if it existed then,
    else its predecessors of that day (new Lâm Đồng before 1 July 2025 is the former Lâm
    Đồng, Bình Thuận and Đắk Nông)."""
    if holds(unit.valid_from, unit.valid_to, d):
        return [unit]
    found: list[Unit] = []
    for link in session.scalars(select(LineageLink).where(LineageLink.to_unit_id == unit.id)):
        if link.event.effective_date > d and link.from_unit.id != unit.id:
            found += _territory_on(session, link.from_unit, d)
    return found


def is_below(unit: Unit, root: Unit, d: date) -> bool:
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


def feeders_of(session: Session, codes: Iterable[str]) -> dict[str, list[Unit]]:
    """:func:`feeders` of many units at once, by registry code, in two queries whatever
    their number: every unit and every lineage link are read once and walked in memory."""
    by_id = {u.id: u for u in session.scalars(select(Unit))}
    by_code = {u.code: u for u in by_id.values()}
    sources: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for src, dst, share in session.execute(
            select(LineageLink.from_unit_id, LineageLink.to_unit_id, LineageLink.share).order_by(LineageLink.id)):
        sources[dst].append((src, share))
    out: dict[str, list[Unit]] = {}
    for code in codes:
        unit = by_code.get(code)
        if unit is None:
            raise NotFound(_("Unknown unit code: {code}").format(code=code))
        found = {unit.id: unit}
        stack = [unit.id]
        while stack:
            for src, share in sources.get(stack.pop(), ()):
                if share > 0 and src not in found:
                    found[src] = by_id[src]
                    stack.append(src)
        out[code] = list(found.values())
    return out


def names_on(session: Session, codes: Iterable[str], d: date) -> dict[str, str]:
    """:func:`name_on` of many units by registry code, in two queries."""
    wanted = set(codes)
    units = {u.id: u for u in session.scalars(select(Unit)) if u.code in wanted}
    out = {u.code: u.name for u in units.values()}
    found: set[int] = set()
    for unit_id, name, vf, vt in session.execute(
            select(UnitName.unit_id, UnitName.name, UnitName.valid_from, UnitName.valid_to).order_by(UnitName.id)):
        if unit_id in units and unit_id not in found and holds(vf, vt, d):
            out[units[unit_id].code] = name
            found.add(unit_id)
    for code in wanted - out.keys():  # an official code: the unit holding it then
        out[code] = name_on(get(session, code, on=d), d)
    return out


def successors_on(session: Session, code: str, d: date) -> list[tuple[str, float]]:
    """Where a unit's data belongs on day ``d``: itself if it exists then, else the units
    its lineage leads to, each with the share of additive data that goes there."""
    unit = get(session, code)
    result: dict[str, float] = defaultdict(float)

    def walk(u: Unit, share: float, depth: int) -> None:
        if holds(u.valid_from, u.valid_to, d) or depth > 20:
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


def units_ever_within(session: Session, code: str) -> list[Unit]:
    """Every unit that ever sat below province ``code`` or one of its former provinces."""
    session.flush()
    children: dict[int, list[int]] = defaultdict(list)
    for link in session.scalars(select(UnitParent)):
        children[link.parent_id].append(link.unit_id)
    # Every unit in one query rather than one per unit reached.
    by_id = {u.id: u for u in session.scalars(select(Unit))}
    roots = [u.id for u in by_id.values() if u.code == code]
    roots += list(session.scalars(
        select(LineageLink.from_unit_id).join(LineageEvent).where(LineageEvent.key == f"province-merge:{code}")
    ))
    seen: dict[int, Unit] = {}
    stack = roots
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen[uid] = by_id[uid]
        stack.extend(children[uid])
    return list(seen.values())
