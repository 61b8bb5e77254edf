"""Reconciliation (``/reconcile``): chiso's 766 figures beside those the national portal
published, the differences over the tolerance flagged, with their likely causes and the
dossier ids behind them (:mod:`chiso.index.reconcile`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.http.deps import get_db, get_user_actor
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page

router = APIRouter()

#: Dossier ids shown per cause on the page (the CLI's JSON has them all).
SHOWN_IDS = 20


@router.get("/reconcile")
def reconcile_page(request: Request, period: str | None = None, flagged: bool = False,
                   actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.index import reconcile

    require(actor, "read")
    app = request.app
    p = common.pick_period(period)
    rows = reconcile.reconcile(session, app.state.store, p)
    rows = common.in_scope(app, session, actor, rows)
    if flagged:
        rows = [r for r in rows if r["flagged"]]
    return page(request, "reconcile.html", rows=rows, period=p, picker=common.picker(p), flagged=flagged,
                tolerance=reconcile.tolerance(), shown_ids=SHOWN_IDS, reg=common.registry(app, session))
