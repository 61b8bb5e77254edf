"""The scorecard (``/scorecard``), as DHIS2's: units × the groups of the 766 method, each
cell coloured by its share of the group's maximum with its trend arrow against the previous
period; a group unfolds into its indicators. The groups and indicators are the method's
(data), never listed here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page

router = APIRouter()
LEVELS = ("commune", "agency")


def cell(now: dict | None, before: dict | None, bands: list | None = None) -> dict:
    """One cell: points of its maximum, the share's band, and the change since the previous
    period (``bands``: :func:`common.sorted_bands`, looked up once for a whole table)."""
    if now and not now.get("max") and now.get("rate") is not None:
        # An indicator without points of its own (its group's formula scores it): its value.
        return {"points": None, "max": None, "share": None, "band": None, "change": None, "value": now["rate"]}
    if not now or now.get("points") is None:
        return {"points": None, "max": (now or {}).get("max"), "share": None, "band": None, "change": None}
    points, maximum = now["points"], now.get("max")
    previous = (before or {}).get("points")
    return {"points": points, "max": maximum, "share": points / maximum if maximum else None,
            "band": common.share_band(points, maximum, bands),
            "change": None if previous is None else round(points - previous, 6)}


@router.get("/scorecard")
def scorecard(request: Request, period: str | None = None, group: str | None = None, level: str = "commune",
              unfold: str = Query("", max_length=32), q: str = Query("", max_length=100),
              actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    p = common.pick_period(period)
    cohorts = common.unit_groups(app, session)
    if group and group not in {g["code"] for g in cohorts}:
        raise NotFound(_("Unknown group: {code}").format(code=group))
    level = level if level in LEVELS else "commune"
    m = common.method()
    group_ids = [g.id for g in m.groups]
    if unfold and unfold != "all" and unfold not in group_ids:
        unfold = ""
    names, ind_names = common.group_names(), common.indicator_names()
    columns = []
    for g in m.groups:
        opened = unfold in (g.id, "all")
        columns.append({"id": g.id, "name": names.get(g.id, g.id), "max": g.max, "open": opened,
                        "indicators": [{"id": i.id, "name": ind_names.get(i.id, i.id), "max": i.max}
                                       for i in g.indicators] if opened else []})
    every = common.index_rows(app, session, p, group=group or None)
    rows = [r for r in every if r["level"] != "province" and (group or r["level"] == level)]
    rows = common.in_scope(app, session, actor, rows)
    if q.strip():
        needle = q.strip().casefold()
        rows = [r for r in rows if needle in r["name"].casefold() or needle in r["unit"]]
    before = common.index_by_unit(app, session, p.previous())
    lines = []
    sorted_bands = common.sorted_bands()
    for r in rows:
        b = before.get(r["unit"], {})
        lines.append({
            "unit": r["unit"], "name": r["name"], "rank": r["rank"], "total": r["total"], "band": r["band"],
            "total_change": r["total_change"], "weakest": common.weakest_group(r),
            "groups": {g: cell(r["groups"].get(g), b.get("groups", {}).get(g), sorted_bands) for g in group_ids},
            "indicators": {i["id"]: cell(r["indicators"].get(i["id"]), b.get("indicators", {}).get(i["id"]), sorted_bands)
                           for c in columns for i in c["indicators"]},
        })
    bands = sorted(m.bands, key=lambda x: x.min)
    return page(request, "scorecard.html", period=p, picker=common.picker(p), rows=lines, columns=columns,
                cohorts=cohorts, group=group or "", level=level, unfold=unfold, q=q, bands=bands,
                previous=p.previous(), live_url="/scorecard")
