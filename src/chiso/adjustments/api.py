"""``/api/v1/adjustments``: technical deductions on an index score. The objects are those of
``chiso adjustments … --format json``. Entering and withdrawing are province-wide decisions
(``manage``); the list follows the reader's scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from chiso.adjustments import service
from chiso.adjustments.schemas import Adjustment
from chiso.assessments import evidence as evidence_store
from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.http.paging import Limit, Offset, page
from chiso.http.schemas import EXACT
from chiso.http.uploads import clean_filename, saved_upload
from chiso.i18n import _

router = APIRouter(prefix="/adjustments", tags=["adjustments"])

class Withdraw(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000)


@router.get("", summary="Adjustments of units in one's scope, withdrawn ones included", response_model=list[Adjustment],
            **EXACT)
def list_adjustments(response: Response, unit: str | None = None, period: str | None = None,
                     in_force: bool = False, limit: int = Limit, offset: int = Offset,
                     actor: Actor = Depends(get_user_actor),
                     session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    rows = service.list_adjustments(session, actor=actor, unit=unit, period=period, withdrawn=not in_force)
    return page(response, rows, limit, offset)


@router.post("", summary="Enter an adjustment (a technical deduction when negative), with an optional evidence file",
             response_model=Adjustment, **EXACT)
def add(unit: str = Form(..., min_length=1, max_length=64), period: str = Form(..., min_length=1, max_length=32),
        points: float = Form(...), reason: str = Form(..., min_length=1, max_length=2000),
        indicator: str | None = Form(None, max_length=32), group: str | None = Form(None, max_length=32),
        index: str = Form("766", max_length=32), file: UploadFile | None = File(None),
        actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    require(actor, "manage")
    fields: dict[str, Any] = dict(actor=actor, unit=unit, period=period, points=points, reason=reason, indicator=indicator,
                  group=group, index=index)
    if file is None or not file.filename:
        return service.add(session, **fields)
    with saved_upload(file, limit=evidence_store.MAX_BYTES) as path:
        return service.add(session, **fields, evidence=path, evidence_name=clean_filename(file.filename, "evidence"))


@router.post("/{adjustment_id}/withdraw", summary="Withdraw an adjustment (kept, marked withdrawn)",
             response_model=Adjustment, **EXACT)
def withdraw(adjustment_id: int, body: Withdraw, actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    try:
        row = service.get(session, adjustment_id)
    except NotFound:
        raise NotFound(_("Unknown adjustment: {id}").format(id=adjustment_id)) from None
    if not actor.sees(row.unit_id):
        raise NotFound(_("Unknown adjustment: {id}").format(id=adjustment_id))
    return service.withdraw(session, actor=actor, adjustment_id=adjustment_id, reason=body.reason)

