"""The wall screen (``/wall``) of a provincial operations centre.

The wall is one page with three screens (overview, scorecard, map) in large type and no
navigation, shown one after the other every ``interval`` seconds (the setting
``wall_interval``, or ``?interval=``); every ``wall_refresh`` seconds it fetches itself again
and swaps in the fresh screens, and when the server cannot be reached it keeps cycling what
it has and says since when. Only its own script and style are loaded: nothing from outside."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from chiso import settings
from chiso.auth.permissions import Actor, require
from chiso.clock import local_now
from chiso.http.deps import get_db, get_user_actor
from chiso.web.dashboard import common
from chiso.web.dashboard.geo import band_of, base_map, communes
from chiso.web.dashboard.overview import province_code
from chiso.web.dashboard.page import page

router = APIRouter()
SCREENS = ("overview", "scorecard", "map")
#: Rows of the scorecard screen: the weakest units, as many as a wall shows in large type.
WALL_ROWS = 12


def _seconds(name: str, default: int) -> int:
    try:
        return max(2, int(settings.get(name)))
    except ValueError:
        return default


@router.get("/wall")
def wall(request: Request, period: str | None = None, interval: int | None = Query(None, ge=2, le=3600),
         refresh: int | None = Query(None, ge=2, le=3600),
         screens: str = Query(",".join(SCREENS), max_length=64), actor: Actor = Depends(get_user_actor),
         session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    p = common.pick_period(period)
    chosen = [s for s in screens.split(",") if s in SCREENS] or list(SCREENS)
    reg = common.registry(app, session)
    by_unit = common.index_by_unit(app, session, p)
    code = province_code(app, session)
    province = by_unit.get(code) if actor.province_wide else None
    names = common.group_names()
    rows = common.in_scope(app, session, actor, [r for r in by_unit.values() if r["level"] == "commune"])
    scored = sorted((r for r in rows if r["total"] is not None),
                    key=lambda r: (r["total"], r["rank"] is None, -(r["rank"] or 0), r["unit"]))
    counts = {b: 0 for b in common.BANDS}
    for r in scored:
        if r["band"] in counts:
            counts[r["band"]] += 1
    last = [dict(r, weakest=common.weakest_group(r)) for r in scored[:5]]
    m = common.method()
    share_band = common.share_bander()
    columns = [{"id": g.id, "name": names.get(g.id, g.id), "max": g.max} for g in m.groups]
    card = [{"unit": r["unit"], "name": r["name"], "total": r["total"], "band": r["band"], "rank": r["rank"],
             "cells": [{"points": (r["groups"].get(c["id"]) or {}).get("points"), "max": c["max"],
                        "band": share_band((r["groups"].get(c["id"]) or {}).get("points"), c["max"])}
                       for c in columns]} for r in scored[:WALL_ROWS]]
    base = base_map(app, session, reg)
    areas, dots = [], []
    for c in communes(app, session):
        if not common.visible(actor, reg.get(c)):
            continue
        value = (by_unit.get(c) or {}).get("total")
        item = {"code": c, "name": reg[c].name, "cls": common.band_class(band_of(value)),
                "text": common.number_or_dash(value)}
        if c in base["areas"]:
            areas.append(dict(item, **base["areas"][c]))
        elif c in base["dots"]:
            x, y = base["dots"][c]
            dots.append(dict(item, x=x, y=y))
    band_names = common.band_names()
    return page(request, "wall.html", period=p, screens=chosen, province=province, group_names=names,
                last=last, counts=counts, band_names=band_names, columns=columns, card=card, areas=areas, dots=dots,
                width=base["width"], height=base["height"], outline=base["outline"], now=common.fmt_date(local_now()),
                interval=interval or _seconds("wall_interval", 20), refresh=refresh or _seconds("wall_refresh", 60))
