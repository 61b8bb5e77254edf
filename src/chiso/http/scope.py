"""Units as a request names them, seen through the actor's scope: an unknown code and a
code outside the scope get the same answer, so scope does not leak."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.i18n import _
from chiso.units import service as units
from chiso.units.models import Unit


def unit_ids(session: Session) -> dict[str, int]:
    return {code: uid for code, uid in session.execute(select(Unit.code, Unit.id))}


def unknown_unit(code: str) -> str:
    return _("Unknown unit code: {code}").format(code=code)


def visible_unit(session: Session, actor: Actor, code: str, *, on: date | None = None) -> Unit:
    """The unit ``code`` names, or NotFound when it is unknown or outside the actor's scope
    (the same answer, so scope does not leak)."""
    try:
        unit = units.get(session, code, on=on)
    except NotFound:
        raise NotFound(unknown_unit(code)) from None
    require(actor, "read", unit_id=unit.id, what=unknown_unit(code))
    return unit


def unit_in_scope(session: Session, actor: Actor, code: str) -> Unit:
    """The unit ``code`` names when it is in the actor's scope (whatever the actor may do
    there: the caller checks the action), else NotFound, as for an unknown code."""
    try:
        unit = units.get(session, code)
    except NotFound:
        raise NotFound(unknown_unit(code)) from None
    if not actor.sees(unit.id):
        raise NotFound(unknown_unit(code))
    return unit


def in_scope(rows: list[dict], actor: Actor, ids: dict[str, int], key: str = "unit") -> list[dict]:
    if actor.units is None:
        return rows
    return [r for r in rows if ids.get(r.get(key)) in actor.units]
