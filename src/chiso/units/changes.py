"""Changes of structure recorded by hand (merges, splits, renames, moves, new units): each
is a dated lineage event, nothing is deleted, and each is audited."""

from __future__ import annotations

from datetime import date
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.units.models import LineageEvent, LineageLink, Unit, UnitName, UnitParent
from chiso.units.registry import LEVELS, get, holds, is_below, parent_on


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


def audit_plain(session: Session, who, action: str, object_type: str, key: str, unit_id: int | None = None,
                before=None, after=None) -> None:
    from chiso.audit import service as audit

    audit.record(session, actor=who, action=action, object_type=object_type, object_key=key, unit_id=unit_id,
                 before=before, after=after)


def _require_current(unit: Unit, effective: date) -> None:
    if not holds(unit.valid_from, unit.valid_to, effective):
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
    audit_plain(session, who, "unit.create", "unit", code, unit.id, after={
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
    if new_parent.id == unit.id or is_below(new_parent, unit, effective):
        raise ChisoError(_("Unit {code} cannot be placed below itself.").format(code=code))
    for link in unit.parents:
        if holds(link.valid_from, link.valid_to, effective):
            link.valid_to = effective
    unit.parents.append(UnitParent(parent=new_parent, valid_from=effective))
    return _record(session, "reparent", effective, [(unit, unit, 1.0, True)], legal_basis, None, who=who,
                   before={"parent": old_parent.code if old_parent else None}, after={"parent": new_parent.code})
