"""The HTTP API, version 1 (``/api/v1``), described by the generated OpenAPI document.

Every route asks the one permission check (:mod:`chiso.auth.permissions`). Lists are JSON
arrays of the same objects the CLI prints with ``--format json``, paged with ``limit`` and
``offset``; the total is in the ``X-Total-Count`` header. Errors are
``{"error": {"code": ..., "message": ...}}``.

Domain packages have their own routers (``<domain>/api.py``); :mod:`chiso.web.app` mounts
them under the same prefix, checks and error responses (:func:`api_router`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from chiso.audit import service as audit
from chiso.audit.schemas import AuditEntryOut
from chiso.auth import service as auth
from chiso.auth.permissions import Actor, require
from chiso.auth.schemas import Me, TokenOut
from chiso.dossiers.schemas import ImportSummaryOut
from chiso.errors import NotFound
from chiso.http.deps import check_csrf, get_db, get_user_actor
from chiso.http.paging import MAX_LIMIT, Limit, Offset, page
from chiso.http.schemas import EXACT, ErrorBody
from chiso.http.scope import in_scope, unit_ids, visible_unit
from chiso.i18n import _
from chiso.index.schemas import Explanation, IndexRow, Reconciled
from chiso.units.schemas import LineageOut, UnitOut
from chiso.web import cache

#: Every API route may answer these, always with the one error shape.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Refused: the input or the object's state does not allow it"},
    401: {"model": ErrorBody, "description": "No valid login or token"},
    403: {"model": ErrorBody, "description": "Seen, but not allowed to do this (role or token scope)"},
    404: {"model": ErrorBody, "description": "Unknown, or outside one's scope (the same answer)"},
    413: {"model": ErrorBody, "description": "The request is larger than the limit"},
    422: {"model": ErrorBody, "description": "The request does not match this description"},
}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(check_csrf)], responses=ERRORS)


def get_reader(actor: Actor = Depends(get_user_actor)) -> Actor:
    """A logged-in actor whose role and token allow reading (a token limited to
    ``dossiers:write`` uploads and reads nothing)."""
    require(actor, "read")
    return actor


# --------------------------------------------------------------------------- who am I


@router.get("/me", tags=["accounts"], summary="The account and permissions in use", response_model=Me, **EXACT)
def me(actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    from chiso.auth.models import User
    from chiso.auth.permissions import ROLE_ACTIONS

    user = session.get(User, actor.user_id)
    return {**auth.user_json(user), "via": actor.via,
            "token_scopes": sorted(actor.token_scopes) if actor.token_scopes is not None else None,
            "may": sorted(a for a in ROLE_ACTIONS[actor.role] if actor.may(a))}


# --------------------------------------------------------------------------- units


@router.get("/units", tags=["units"], summary="Units in scope (today's structure, or on a date)", response_model=list[UnitOut], **EXACT)
def list_units(response: Response, level: Literal["province", "district", "agency", "commune"] | None = None,
               as_of: date | None = None, within: str | None = Query(None, max_length=64),
               limit: int = Limit, offset: int = Offset,
               actor: Actor = Depends(get_reader), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from chiso.units import service as units

    if within:
        visible_unit(session, actor, within, on=as_of)
    rows = [u.to_json() for u in units.list_units(session, level=level, as_of=as_of, within=within)]
    return page(response, in_scope(rows, actor, unit_ids(session), key="code"), limit, offset)


@router.get("/units/{code}", tags=["units"], summary="One unit", response_model=UnitOut, **EXACT)
def get_unit(code: str, as_of: date | None = None, actor: Actor = Depends(get_reader),
             session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    from chiso.units import service as units

    d = as_of or date.today()
    return units.view(visible_unit(session, actor, code, on=d), d).to_json()


@router.get("/units/{code}/lineage", tags=["units"], summary="Where a unit came from and went to", response_model=LineageOut, **EXACT)
def unit_lineage(code: str, actor: Actor = Depends(get_reader), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    from chiso.units import service as units

    unit = visible_unit(session, actor, code)
    return units.lineage(session, unit.code)


# --------------------------------------------------------------------------- the 766 index


def _period(text: str):
    from chiso.periods import parse_period

    return parse_period(text)


@router.get("/index/766", tags=["index"], summary="Scores, bands and ranks on the 766 index (as `chiso index 766 --format json`)", response_model=list[IndexRow], **EXACT)
def index_766(request: Request, response: Response,
              period: str = Query(..., max_length=32, description="e.g. 2025-W49, 2025-11, 2025-Q3, 2025, 2025-YTD-11"),
              unit: str | None = Query(None, max_length=64), group: str | None = Query(None, max_length=64),
              method: str | None = Query(None, max_length=64), limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT),
              offset: int = Offset,
              actor: Actor = Depends(get_reader), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    p = _period(period)
    if unit:
        target = visible_unit(session, actor, unit, on=p.end)
    rows = cache.index_766(request.app, session, p, group=group, method_id=method)
    rows = in_scope(rows, actor, unit_ids(session))
    if unit:
        rows = [r for r in rows if r["unit"] == target.code]
        if not rows:
            raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=p.code))
    return page(response, rows, limit, offset)


@router.get("/index/766/reconcile", tags=["index"], summary="chiso's 766 figures beside the published ones, with likely causes (as `chiso reconcile --format json`)", response_model=list[Reconciled], **EXACT)
def reconcile_766(request: Request, response: Response, period: str = Query(..., max_length=32),
                  limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT), offset: int = Offset,
                  actor: Actor = Depends(get_reader),
                  session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from chiso.index import reconcile

    rows = reconcile.reconcile(session, request.app.state.store, _period(period))
    return page(response, in_scope(rows, actor, unit_ids(session)), limit, offset)


@router.get("/index/766/explain", tags=["index"], summary="The dossiers behind one indicator of one unit", response_model=Explanation, **EXACT)
def explain_766(request: Request, period: str = Query(..., max_length=32), unit: str = Query(..., max_length=64),
                indicator: str = Query(..., max_length=16), method: str | None = Query(None, max_length=64),
                limit: int = Query(100, ge=1, le=10_000), offset: int = Offset,
                actor: Actor = Depends(get_reader), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    from chiso.index import service

    p = _period(period)
    visible_unit(session, actor, unit, on=p.end)
    data = service.explain(session, request.app.state.store, p, unit=unit, indicator=indicator, method_id=method)
    for side in ("numerator", "denominator"):
        ids = data.get(f"{side}_ids")
        if ids is not None:
            data[f"{side}_ids"] = ids[offset: offset + limit]
    data["limit"], data["offset"] = limit, offset
    return data


# --------------------------------------------------------------------------- dossiers

DOSSIER_BODY = {
    "required": True,
    "content": {
        # An array of records, or a page of the feed protocol (docs/sources.md) as it is.
        "application/json": {"schema": {"oneOf": [
                                 {"type": "array", "items": {"type": "object"}},
                                 {"type": "object", "required": ["items"],
                                  "properties": {"items": {"type": "array", "items": {"type": "object"}}}}]},
                             "example": [{"dossier_id": "000.00.00.H38-251201-0001", "unit_code": "24781"}]},
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.post("/dossiers", tags=["dossiers"], openapi_extra={"requestBody": DOSSIER_BODY},
             summary="Import dossier records (or feedback, or the procedure catalogue): the CLI's import path and summary", response_model=ImportSummaryOut, **EXACT)
async def upload_dossiers(request: Request,
                          source: str = Query("api", min_length=1, max_length=64, description="The system the records come from."),
                          kind: Literal["dossiers", "procedures", "feedback"] = "dossiers",
                          actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    from chiso.dossiers import service as dossiers

    upload = dossiers.Upload(body=await request.body(),
                             media_type=request.headers.get("content-type", "").split(";")[0].strip().lower())
    summary = await run_in_threadpool(dossiers.import_records, session, request.app.state.store, actor=actor,
                                      kind=kind, source=source.strip(), upload=upload)
    return summary.to_json()


# --------------------------------------------------------------------------- audit


@router.get("/audit", tags=["audit"], summary="The audit trail within one's scope, newest first", response_model=list[AuditEntryOut], **EXACT)
def read_audit(action: str | None = Query(None, max_length=64), actor_name: str | None = Query(None, alias="actor", max_length=128),
               unit: str | None = Query(None, max_length=64), since: date | None = None,
               before_id: int | None = Query(None, ge=1, le=2**62), limit: int = Limit,
               actor: Actor = Depends(get_reader), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    from chiso.auth.permissions import scope_units

    ids = None
    if unit:
        ids = scope_units(session, visible_unit(session, actor, unit).id)
    return audit.entries(session, actor=actor, unit_ids=ids, action=action, who=actor_name, since=since,
                         before_id=before_id, limit=limit)


# --------------------------------------------------------------------------- tokens (one's own)


@router.get("/tokens", tags=["accounts"], summary="One's API tokens (all of them for an administrator)", response_model=list[TokenOut], **EXACT)
def tokens(actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    return auth.list_tokens(session, user=None if actor.may("admin") else actor.name, actor=actor)


@router.delete("/tokens/{token_id}", tags=["accounts"], summary="Revoke a token", response_model=TokenOut, **EXACT)
def revoke(token_id: int, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    if token_id > 2**62:
        raise NotFound(_("Unknown token {id}.").format(id=token_id))
    return auth.token_json(auth.revoke_token(session, token_id=token_id, actor=actor))
