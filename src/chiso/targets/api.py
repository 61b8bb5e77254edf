"""``/api/v1/targets``: targets, their traffic lights, and the manual indicator values a
unit enters. The objects are those of ``chiso targets … --format json``."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, Forbidden, require
from chiso.errors import ChisoError, NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.http.paging import Limit, Offset, page
from chiso.http.schemas import EXACT
from chiso.http.scope import unit_ids, unit_in_scope, unknown_unit, visible_unit
from chiso.i18n import _
from chiso.targets import service
from chiso.targets.schemas import ManualValueOut, TargetOut, TargetStatusOut

router = APIRouter(prefix="/targets", tags=["targets"])


class ManualValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(..., min_length=1, max_length=64)
    unit: str = Field(..., min_length=1, max_length=64)
    period: str = Field(..., min_length=1, max_length=32, description="e.g. 2025, 2025-Q3, 2025-11")
    value: float
    source: str | None = Field(None, max_length=255, description="The system the value comes from; "
                               "in a batch, the batch's source when not given.")


class ValueBatch(BaseModel):
    """Values sent by another system (document management, digital signatures, paperless
    meetings): all saved or none."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(..., min_length=1, max_length=255, description="The sending system, e.g. qlvb.")
    values: list[ManualValue] = Field(..., min_length=1, max_length=5000)


class BatchOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    saved: int
    values: list[ManualValueOut]


def _sees_target(actor: Actor, t) -> bool:
    # A target set for a level (no unit) applies across the province: everyone reads it;
    # their own units' lights are filtered separately.
    return t.unit_id is None or actor.sees(t.unit_id)


def _target(session: Session, actor: Actor, code: str):
    unknown = _("Unknown target: {code}").format(code=code)
    try:
        t = service.get_target(session, code)
    except NotFound:
        raise NotFound(unknown) from None
    if not _sees_target(actor, t):
        raise NotFound(unknown)
    require(actor, "read")
    return t


@router.get("", summary="Targets that apply in one's scope", response_model=list[TargetOut], **EXACT)
def list_targets(response: Response, limit: int = Limit, offset: int = Offset, actor: Actor = Depends(get_user_actor),
                 session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from chiso.targets.models import Target

    require(actor, "read")
    rows = [service.target_json(t) for t in session.scalars(select(Target).order_by(Target.code)) if _sees_target(actor, t)]
    return page(response, rows, limit, offset)


@router.get("/status", summary="Every (target, unit) in scope with its colour, value and goal on a day", response_model=list[TargetStatusOut], **EXACT)
def status(request: Request, response: Response, as_of: date | None = None,
           target: str | None = Query(None, max_length=64), limit: int = Limit, offset: int = Offset,
           actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    require(actor, "read")
    if target:
        target = _target(session, actor, target).code
    rows = service.status(session, as_of=as_of or date.today(), store=request.app.state.store, target=target)
    if actor.units is not None:
        ids = unit_ids(session)
        rows = [r for r in rows if ids.get(r["unit"]) in actor.units]
    return page(response, rows, limit, offset)


@router.get("/values", summary="Manual indicator values entered for units in scope", response_model=list[ManualValueOut], **EXACT)
def values(response: Response, indicator: str | None = Query(None, max_length=64),
           unit: str | None = Query(None, max_length=64), limit: int = Limit, offset: int = Offset,
           actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    require(actor, "read")
    if unit:
        unit = visible_unit(session, actor, unit).code
    rows = service.list_values(session, indicator=indicator, unit=unit)
    if actor.units is not None:
        ids = unit_ids(session)
        rows = [r for r in rows if ids.get(r["unit"]) in actor.units]
    return page(response, rows, limit, offset)


def _save(session: Session, actor: Actor, body: ManualValue, source: str | None) -> dict[str, Any]:
    unit = unit_in_scope(session, actor, body.unit)
    require(actor, "targets:write", unit_id=unit.id, what=unknown_unit(body.unit))
    indicator = body.indicator.strip()
    if actor.indicators is not None and indicator not in actor.indicators:
        raise Forbidden(_("This token may enter values of {indicators} only, not {indicator}.").format(
            indicators=", ".join(sorted(actor.indicators)), indicator=indicator))
    if not math.isfinite(body.value):
        raise ChisoError(_("The value must be a finite number."))
    return service.set_value(session, actor=actor, indicator=indicator, unit=unit.code, period=body.period,
                             value=body.value, source=body.source or source)


@router.put("/values", summary="Enter (or replace) manual indicator values: one, or a batch from another system",
            response_model=ManualValueOut | BatchOut, **EXACT)
def set_value(body: ValueBatch | ManualValue, actor: Actor = Depends(get_user_actor),
              session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    """One value ``{indicator, unit, period, value, source?}``, or a batch ``{source, values: [...]}``
    saved all or nothing: a value the token may not enter (another indicator, a unit outside
    its scope) refuses the whole batch. A token created with ``--indicator`` enters only those."""
    if isinstance(body, ManualValue):
        return _save(session, actor, body, None)
    saved = [_save(session, actor, v, body.source) for v in body.values]
    return {"source": body.source, "saved": len(saved), "values": saved}


@router.get("/{code}", summary="One target", response_model=TargetOut, **EXACT)
def get_target(code: str, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    return service.target_json(_target(session, actor, code))
