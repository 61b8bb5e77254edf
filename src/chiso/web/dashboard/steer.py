"""The dossiers falling due (issue 15): ``/due`` for the province, ``/due/{unit}`` for one
unit ("Sắp đến hạn"), from :func:`chiso.index.steer.due`, kept per store version and day.
The period's end foreseen and the advice are on the unit page and the overview
(:func:`chiso.web.dashboard.common.forecasts`, :func:`~chiso.web.dashboard.common.advice`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.http.deps import get_db, get_user_actor
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page

router = APIRouter()
#: Dossiers listed on one page (the counts cover them all).
SHOWN = 500


def due_rows(app: FastAPI, session: Session) -> list[dict]:
    """Every unit's dossiers falling due or overdue (:func:`chiso.index.steer.due`), cached."""
    from chiso.index import steer

    return common.cached(app, session, "due", (), lambda: steer.due(session, app.state.store))


def _page(request: Request, session: Session, actor: Actor, code: str | None):
    app = request.app
    rows = common.in_scope(app, session, actor, due_rows(app, session))
    unit = None
    if code is not None:
        unit = common.unit_or_404(app, session, actor, code)
        rows = [r for r in rows if r["unit"] == unit.code]
    counts: dict[str, dict] = {}
    for r in rows:
        c = counts.setdefault(r["unit"], {"unit": r["unit"], "name": r["unit_name"] or r["unit"], "overdue": 0,
                                          "due": 0})
        c["overdue" if r["overdue"] else "due"] += 1
    by_unit = sorted(counts.values(), key=lambda c: (-c["overdue"], -c["due"], c["unit"]))
    from chiso import settings
    from chiso.web.dashboard.index766 import value_label

    return page(request, "due.html", stage_name=lambda s: value_label("status", s), unit=unit, rows=rows[:SHOWN], total=len(rows),
                overdue=sum(1 for r in rows if r["overdue"]), by_unit=by_unit,
                within=int(settings.get("due_within_days")), live_url=request.url.path)


@router.get("/due")
def due_province(request: Request, actor: Actor = Depends(get_user_actor),
                 session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    return _page(request, session, actor, None)


@router.get("/due/{code}")
def due_unit(request: Request, code: str, actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    return _page(request, session, actor, code)
