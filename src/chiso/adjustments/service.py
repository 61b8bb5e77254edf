"""Technical deductions (điểm trừ kỹ thuật): entered, listed and withdrawn here, applied to
the scores by :mod:`chiso.index.service` (through the engine's ``apply_adjustments``).

An adjustment is a number of points for one unit, one index and one period, naming the
indicator or group it concerns, with a reason and optionally an evidence file. Entering one
is a province-wide decision (the action ``manage``); reading follows the unit's scope. It
changes the unit's total (kept within 0 and the maximum), never the indicator's own points,
so that the counted figures stay those the records give. Withdrawing keeps the row with who
withdrew it, when and why; every change is in the audit trail.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chiso.adjustments.models import ScoreAdjustment
from chiso.audit import service as audit
from chiso.auth.permissions import Actor, require
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.periods import parse_period
from chiso.scoring.rules import Adjustment
from chiso.units import service as units
from chiso.units.models import Unit

#: The indexes an adjustment can be entered on: those scored from the records.
INDEXES = ("766",)


def _method(index: str):
    from chiso.methods.loader import default_method

    if index not in INDEXES:
        raise ChisoError(_("Adjustments can be entered on the index {known}, not {index}.").format(
            known=", ".join(INDEXES), index=index))
    return default_method(index)


def _concerns(index: str, indicator: str | None, group: str | None) -> tuple[str | None, str | None, float]:
    """The indicator or group checked against the index's method, and the most points the
    adjustment may move (its maximum, or the method's total)."""
    method = _method(index)
    indicator = (indicator or "").strip() or None
    group = (group or "").strip() or None
    if indicator and group:
        raise ChisoError(_("Name an indicator or a group, not both."))
    if indicator:
        try:
            return indicator, None, float(method.indicator(indicator).max)
        except KeyError:
            raise ChisoError(_("Unknown indicator {id} in method {method}.").format(id=indicator, method=method.id)) from None
    if group:
        found = next((g for g in method.groups if g.id == group), None)
        if found is None:
            raise ChisoError(_("Unknown group {id} in method {method}.").format(id=group, method=method.id))
        return None, found.id, float(found.max)
    return None, None, float(sum(g.max for g in method.groups))


def to_json(row: ScoreAdjustment, unit_code: str | None = None) -> dict[str, Any]:
    """The object of ``chiso adjustments list --format json`` and of the API."""
    def moment(value: datetime | None) -> str | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()

    return {
        "id": row.id, "index": row.family, "unit": unit_code or row.unit.code, "period": row.period,
        "indicator": row.indicator, "group": row.group_code, "points": row.points, "reason": row.reason,
        "evidence_name": row.evidence_name, "evidence_sha256": row.evidence_sha256,
        "created_by": row.created_by, "created_at": moment(row.created_at),
        "withdrawn": row.withdrawn_at is not None, "withdrawn_at": moment(row.withdrawn_at),
        "withdrawn_by": row.withdrawn_by, "withdraw_reason": row.withdraw_reason,
    }


def add(session: Session, *, actor: Actor, unit: str, period: str, points: float, reason: str,
        indicator: str | None = None, group: str | None = None, index: str = "766",
        evidence: Path | None = None, evidence_name: str | None = None) -> dict[str, Any]:
    """Enter an adjustment of ``points`` (negative: a deduction) on ``unit``'s ``index``
    score for ``period``, concerning ``indicator`` or ``group`` (neither: the total)."""
    require(actor, "manage")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points == 0:
        raise ChisoError(_("An adjustment needs a number of points other than zero."))
    reason = (reason or "").strip()
    if not reason:
        raise ChisoError(_("An adjustment needs a reason."))
    if not actor.name.strip():
        raise ChisoError(_("Say who enters the adjustment."))
    indicator, group, most = _concerns(index, indicator, group)
    if abs(points) > most:
        raise ChisoError(_("{points} points is more than the {most} points it concerns.").format(
            points=points, most=most))
    p = parse_period(period)
    code = p.code
    u = units.get(session, unit, on=p.end)
    kept: dict[str, Any] = {}
    if evidence is not None:
        from chiso.assessments import evidence as store

        saved = store.store(Path(evidence), evidence_name, where=session)
        kept = {"evidence_name": saved.name, "evidence_sha256": saved.sha256, "evidence_size": saved.size,
                "evidence_type": saved.media_type}
    row = ScoreAdjustment(family=index, unit_id=u.id, period=code, indicator=indicator, group_code=group,
                          points=float(points), reason=reason, created_by=actor.name, **kept)
    session.add(row)
    session.flush()
    after = to_json(row, u.code)
    audit.record(session, actor=actor, action="adjustment.add", object_type="adjustment", object_key=str(row.id),
                 unit_id=u.id, after=after)
    return after


def get(session: Session, adjustment_id: int) -> ScoreAdjustment:
    row = session.get(ScoreAdjustment, adjustment_id)
    if row is None:
        raise NotFound(_("Unknown adjustment: {id}").format(id=adjustment_id))
    return row


def withdraw(session: Session, *, actor: Actor, adjustment_id: int, reason: str) -> dict[str, Any]:
    """Withdraw an adjustment: it no longer counts, and it stays listed as withdrawn."""
    require(actor, "manage")
    row = get(session, adjustment_id)
    if row.withdrawn_at is not None:
        raise ChisoError(_("Adjustment {id} is already withdrawn.").format(id=adjustment_id))
    reason = (reason or "").strip()
    if not reason:
        raise ChisoError(_("Withdrawing an adjustment needs a reason."))
    before = to_json(row)
    row.withdrawn_at, row.withdrawn_by, row.withdraw_reason = datetime.now(timezone.utc), actor.name, reason
    session.flush()
    after = to_json(row)
    audit.record(session, actor=actor, action="adjustment.withdraw", object_type="adjustment",
                 object_key=str(row.id), unit_id=row.unit_id, before=before, after=after)
    return after


def list_adjustments(session: Session, *, actor: Actor | None = None, unit: str | None = None,
                     period: str | None = None, index: str | None = None, indicator: str | None = None,
                     withdrawn: bool = True) -> list[dict[str, Any]]:
    """Adjustments, oldest first; with ``actor``, only those of units in its scope;
    ``withdrawn`` False leaves the withdrawn ones out."""
    if actor is not None:
        require(actor, "read")
    query = select(ScoreAdjustment, Unit.code).join(Unit, ScoreAdjustment.unit_id == Unit.id)
    if unit:
        query = query.where(ScoreAdjustment.unit_id == units.get(session, unit).id)
    if period:
        query = query.where(ScoreAdjustment.period == parse_period(period).code)
    if index:
        query = query.where(ScoreAdjustment.family == index)
    if indicator:
        query = query.where(ScoreAdjustment.indicator == indicator)
    if not withdrawn:
        query = query.where(ScoreAdjustment.withdrawn_at.is_(None))
    rows = session.execute(query.order_by(ScoreAdjustment.id)).all()
    return [to_json(r, code) for r, code in rows if actor is None or actor.sees(r.unit_id)]


def in_force(session: Session, *, index: str, periods: Iterable[str]) -> dict[tuple[str, str], list[Adjustment]]:
    """{(unit code, period code): the adjustments in force} for the engine's
    ``apply_adjustments``, oldest first."""
    codes = sorted(set(periods))
    if not codes:
        return {}
    rows = session.execute(
        select(ScoreAdjustment, Unit.code).join(Unit, ScoreAdjustment.unit_id == Unit.id)
        .where(ScoreAdjustment.family == index, ScoreAdjustment.period.in_(codes),
               ScoreAdjustment.withdrawn_at.is_(None))
        .order_by(ScoreAdjustment.id)
    ).all()
    out: dict[tuple[str, str], list[Adjustment]] = {}
    for r, code in rows:
        out.setdefault((code, r.period), []).append(Adjustment(
            points=r.points, reason=r.reason, author=r.created_by, indicator=r.indicator, group=r.group_code, id=r.id))
    return out


def stamp(session: Session) -> tuple:
    """Changes whenever an adjustment is entered or withdrawn (for the pages' caches)."""
    return tuple(session.execute(select(func.count(ScoreAdjustment.id), func.max(ScoreAdjustment.id),
                                        func.count(ScoreAdjustment.withdrawn_at))).one())


def by_indicator(adjustments: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The points of adjustments in force per indicator or group they concern ("" for the
    total), as pages and reports show them beside the figures."""
    out: dict[str, float] = {}
    for a in adjustments:
        if not a.get("withdrawn"):
            key = a.get("indicator") or a.get("group") or ""
            out[key] = out.get(key, 0.0) + float(a["points"])
    return out
