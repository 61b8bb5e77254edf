"""The map (``/map``): the province's communes placed by their coordinates (from the
registry, loaded from ``vietnamadminunits``), coloured by a chosen measure, each a link to
its unit page. Drawn on the server as SVG: no map tiles, nothing from the internet."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.web.dashboard import common
from chiso.web.dashboard.overview import province_code
from chiso.web.dashboard.page import page
from chiso.web.dashboard.steering import heat, visible_targets
router = APIRouter()
WIDTH = 720


def communes(app: FastAPI, session: Session) -> list[str]:
    from chiso.units import service as units

    code = province_code(app, session)
    day = common.today()
    return common.cached(app, session, "map-communes", (code, day.isoformat()),
                         lambda: [v.code for v in units.list_units(session, level="commune", within=code, as_of=day)],
                         store=False)


def band_of(value: float | None) -> str | None:
    """The 766 bands (weak < 50 ≤ average < 70 ≤ good < 90 ≤ excellent) on a 0–100 value."""
    if value is None:
        return None
    return "weak" if value < 50 else "average" if value < 70 else "good" if value < 90 else "excellent"


def layout(points: list[tuple[str, float, float]], width: int = WIDTH) -> tuple[dict[str, tuple[float, float]], int]:
    """Equirectangular projection scaled by the cosine of the mean latitude, fitted to
    ``width``; returns positions and the height."""
    if not points:
        return {}, 200
    lat0 = sum(p[1] for p in points) / len(points)
    k = math.cos(math.radians(lat0))
    xs = [p[2] * k for p in points]
    ys = [-p[1] for p in points]
    pad = 16
    span_x, span_y = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)
    if height > width * 1.4:  # a tall province: fit the height instead
        scale = (width * 1.4 - 2 * pad) / span_y
        height = int(width * 1.4)
    return ({code: (pad + (x - min(xs)) * scale, pad + (y - min(ys)) * scale)
             for (code, _la, _lo), x, y in zip(points, xs, ys)}, height)


@router.get("/map")
def map_page(request: Request, show: str = "total", period: str | None = None, actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    p = common.pick_period(period)
    reg = common.registry(app, session)
    ind_names = common.indicator_names()
    targets = heat(app, session)
    choices = [("total", _("766 total"))] + [(f"766.{i}", f"{i} {n}") for i, n in ind_names.items()] + [
        (f"target:{t['code']}", _("Target {code}").format(code=t["code"])) for t in visible_targets(actor, reg, targets)]
    if show not in {c for c, _l in choices}:
        raise NotFound(_("Unknown measure: {what}").format(what=show))
    by_unit = common.index_by_unit(app, session, p)
    codes = [c for c in communes(app, session) if common.visible(actor, reg.get(c)) and reg[c].lat is not None]
    pos, height = layout([(c, reg[c].lat, reg[c].lon) for c in codes])
    dots = []
    for c in codes:
        row = by_unit.get(c)
        if show == "total":
            value = row["total"] if row else None
            cls, text = common.band_class(band_of(value)), common.number_or_dash(value)
        elif show.startswith("766."):
            value = (row or {}).get("indicators", {}).get(show[4:], {}).get("rate")
            cls, text = common.band_class(band_of(None if value is None else 100 * value)), common.pct(value)
        else:
            cell = targets["cells"].get(c, {}).get(show[7:])
            value = cell["value"] if cell else None
            cls, text = (f"light-{cell['colour']}" if cell else "band-none"), common.number_or_dash(value)
        x, y = pos[c]
        dots.append({"code": c, "name": reg[c].name, "x": round(x, 1), "y": round(y, 1), "cls": cls, "text": text,
                     "value": value})
    legend = (["excellent", "good", "average", "weak"] if not show.startswith("target:") else
              ["green", "amber", "red", "no_data"])
    return page(request, "map.html", period=p, picker=common.picker(p), choices=choices, show=show, dots=dots,
                width=WIDTH, height=height, legend=legend, live_url="/map")
