"""``/api/v1/subscriptions``: the signed-in person's subscriptions, and the watch's history
(``/api/v1/alerts``) within their scope. The objects are those of ``chiso subscriptions …
--format json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor
from chiso.http.deps import get_db, get_user_actor
from chiso.http.schemas import EXACT
from chiso.subscriptions import service
from chiso.subscriptions.schemas import AlertEventOut, SubscriptionIn, SubscriptionOut

router = APIRouter(tags=["subscriptions"])


@router.get("/subscriptions", summary="One's subscriptions", response_model=list[SubscriptionOut], **EXACT)
def list_subscriptions(actor: Actor = Depends(get_user_actor),
                       session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    return service.list_subscriptions(session, actor=actor)


@router.post("/subscriptions", summary="Follow a page or a unit (again, with new options)",
             response_model=SubscriptionOut, **EXACT)
def subscribe(body: SubscriptionIn, actor: Actor = Depends(get_user_actor),
              session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    return service.subscribe(session, actor=actor, kind=body.kind, target=body.target, frequency=body.frequency,
                             alerts=body.alerts)


@router.delete("/subscriptions/{kind}/{target}", summary="Stop following a page or a unit",
               response_model=SubscriptionOut, **EXACT)
def unsubscribe(kind: str, target: str, actor: Actor = Depends(get_user_actor),
                session: Session = Depends(get_db, scope="function")) -> dict[str, Any]:
    return service.unsubscribe(session, actor=actor, kind=kind, target=target)


@router.get("/alerts", summary="Units that turned red or fell into the last three (and left), newest first",
            response_model=list[AlertEventOut], **EXACT)
def alerts(unit: str | None = Query(None, max_length=64), limit: int = Query(100, ge=1, le=1000),
           actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")) -> list[dict[str, Any]]:
    return service.alert_history(session, actor=actor, unit=unit, limit=limit)
