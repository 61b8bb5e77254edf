"""Writing and reading the audit trail.

``record`` is called by every service function that changes something, inside the same
transaction as the change, so a change and its entry land together or not at all.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chiso.audit.models import AuditEntry
from chiso.auth.permissions import cli_actor_name

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(session: Session, *, actor: "Actor | None", action: str, object_type: str | None = None,
           object_key: str | None = None, unit_id: int | None = None, before: Any = None,
           after: Any = None) -> AuditEntry:
    """Append one entry. ``actor`` None means the command line of this machine."""
    entry = AuditEntry(
        actor=actor.name if actor is not None else cli_actor_name(),
        user_id=actor.user_id if actor is not None else None,
        via=actor.via if actor is not None else "cli",
        address=actor.address if actor is not None else None,
        token=actor.token if actor is not None else None,
        action=action, object_type=object_type, object_key=None if object_key is None else str(object_key)[:255],
        unit_id=unit_id, before=_json(before), after=_json(after),
    )
    session.add(entry)
    session.flush()
    return entry


def entry_json(e: AuditEntry, unit_codes: dict[int, str]) -> dict[str, Any]:
    at = e.at if e.at.tzinfo else e.at.replace(tzinfo=timezone.utc)
    return {
        "id": e.id, "at": at.isoformat(), "actor": e.actor, "via": e.via, "address": e.address,
        "token": e.token, "action": e.action, "object_type": e.object_type, "object_key": e.object_key,
        "unit": unit_codes.get(e.unit_id) if e.unit_id else None,
        "before": json.loads(e.before) if e.before else None,
        "after": json.loads(e.after) if e.after else None,
    }


def entries(session: Session, *, actor: "Actor | None" = None, unit_ids: frozenset[int] | None = None,
            action: str | None = None, who: str | None = None, since: date | datetime | None = None,
            before_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first. An actor with a limited scope reads the entries of units in scope, and
    their own entries; province-wide actors read everything. Page with ``before_id``."""
    from chiso.units.models import Unit

    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    if actor is not None and actor.units is not None:
        q = q.where(or_(AuditEntry.unit_id.in_(actor.units), AuditEntry.user_id == actor.user_id))
    if unit_ids is not None:
        q = q.where(AuditEntry.unit_id.in_(unit_ids))
    if action:
        q = q.where(AuditEntry.action.startswith(action))
    if who:
        q = q.where(AuditEntry.actor == who)
    if since is not None:
        start = since if isinstance(since, datetime) else datetime.combine(since, datetime.min.time(), timezone.utc)
        q = q.where(AuditEntry.at >= start)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    rows = list(session.scalars(q))
    ids = {e.unit_id for e in rows if e.unit_id}
    codes = {uid: code for uid, code in session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(ids)))} if ids else {}
    return [entry_json(e, codes) for e in rows]


def latest_id(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.max(AuditEntry.id))) or 0
