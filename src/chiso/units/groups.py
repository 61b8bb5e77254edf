"""Groups of units (agencies with procedures, wards, communes...) and their dated
membership, so a ranking peer group on a past date is the group of that date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.units.changes import audit_plain
from chiso.units.models import GroupMember, GroupSet, Unit, UnitGroup
from chiso.units.registry import UnitView, get, holds, valid_on, view


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
    audit_plain(session, who, "group.create", "group", code, after={"code": code, "name": name, "set": group_set})
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
        current = [m for m in g.members if m.unit_id == unit.id and holds(m.valid_from, m.valid_to, d)]
        if current:
            continue
        g.members.append(GroupMember(unit=unit, valid_from=valid_from, valid_to=unit.valid_to))
        added += 1
        audit_plain(session, who, "group.add", "group", group, unit.id, after={
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
            if m.unit_id == unit.id and holds(m.valid_from, m.valid_to, effective):
                m.valid_to = effective
                ended += 1
                audit_plain(session, who, "group.remove", "group", group, unit.id, after={
                    "unit": unit.code, "valid_to": effective.isoformat()})
    return ended
