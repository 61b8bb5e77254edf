"""The map (``/map``): a choropleth of the province's communes, drawn from the boundaries a
GIS office gave (``chiso units geometry import``) inside the province's outline, coloured by
a chosen measure with a legend that suits it (scores by band, rates by rate class, targets
by light), each commune a link to its unit page. Communes without a boundary are points at
their registered coordinates, inside the outline of the points when there are no boundaries
at all. Drawn on the server as SVG paths: no map tiles, no script library, nothing from
the internet."""

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


#: Classes of a rate (lower bound in %, label): a rate is not a score, and the score bands
#: would paint nearly every commune the same colour, since most rates sit above 90 %.
RATE_CLASSES = ((0, "< 50 %"), (50, "50–70 %"), (70, "70–85 %"), (85, "85–95 %"), (95, "≥ 95 %"))


def rate_class(rate: float | None) -> str:
    if rate is None:
        return "rate-none"
    n = sum(1 for low, _label in RATE_CLASSES if 100 * rate >= low)
    return f"rate-{max(n, 1)}"


class Projection:
    """Equirectangular, scaled by the cosine of the middle latitude (true shapes at a
    province's size), fitted to ``width`` with a tall province fitted by its height."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int = WIDTH, pad: int = 16):
        minx, miny, maxx, maxy = bounds
        self.k = math.cos(math.radians((miny + maxy) / 2))
        self.x0, self.y0, self.pad = minx * self.k, -maxy, pad
        span_x, span_y = ((maxx - minx) * self.k) or 1e-6, (maxy - miny) or 1e-6
        self.scale = (width - 2 * pad) / span_x
        self.height = int(span_y * self.scale + 2 * pad)
        if self.height > width * 1.4:
            self.scale = (width * 1.4 - 2 * pad) / span_y
            self.height = int(width * 1.4)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return self.pad + (lon * self.k - self.x0) * self.scale, self.pad + (-lat - self.y0) * self.scale


def layout(points: list[tuple[str, float, float]], width: int = WIDTH) -> tuple[dict[str, tuple[float, float]], int]:
    """Positions of (code, lat, lon) points fitted to ``width``, and the height."""
    if not points:
        return {}, 200
    lats, lons = [p[1] for p in points], [p[2] for p in points]
    proj = Projection((min(lons), min(lats), max(lons), max(lats)), width)
    return {code: proj(lon, lat) for code, lat, lon in points}, proj.height


def _path(geom, proj: Projection) -> str:
    """SVG path data of a (multi)polygon; holes drawn with the even-odd rule."""
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            pts = [proj(x, y) for x, y in ring.coords[:-1]]
            if len(pts) >= 3:
                out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return "".join(out)


def short_name(name: str) -> str:
    """A label's name without the kind that every commune has ("Phường Mũi Né" → "Mũi Né")."""
    for prefix in ("Phường ", "Xã ", "Thị trấn ", "Đặc khu "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def geometry_stamp(session: Session) -> tuple:
    from sqlalchemy import func, select

    from chiso.units.models import UnitGeometry

    return tuple(session.execute(select(func.count(UnitGeometry.id), func.max(UnitGeometry.id),
                                        func.max(UnitGeometry.updated_at))).one())


def base_map(app, session: Session, reg: dict) -> dict:
    """The drawing every reader shares, made once per change of the registry or the
    boundaries: each commune's area (or point, where it has no boundary), its label, the
    province outline (the union of the communes, or the hull around their points)."""
    codes = communes(app, session)

    def build() -> dict:
        from shapely.geometry import MultiPoint, Polygon, shape
        from shapely.ops import unary_union

        from chiso.units.geometry import geometries

        shapes = {c: shape(g) for c, g in geometries(session, codes).items()}
        points = {c: (reg[c].lon, reg[c].lat) for c in codes if c not in shapes and c in reg and reg[c].lat is not None}
        parts = list(shapes.values()) + ([MultiPoint(list(points.values()))] if points else [])
        if not parts:
            return {"width": WIDTH, "height": 200, "areas": {}, "dots": {}, "outline": "", "boundaries": False}
        proj = Projection(unary_union(parts).bounds)
        # Simplified to about half a pixel: a GIS office's boundaries have far more detail than a page shows.
        tolerance = 0.5 / proj.scale
        areas = {}
        for c, g in shapes.items():
            simple = g.simplify(tolerance, preserve_topology=True)
            inside = g.representative_point()
            x0, y0 = proj(g.bounds[0], g.bounds[3])
            x1, _y1 = proj(g.bounds[2], g.bounds[1])
            name = short_name(reg[c].name) if c in reg else c
            lx, ly = proj(inside.x, inside.y)
            areas[c] = {"d": _path(simple, proj), "lx": round(lx, 1), "ly": round(ly, 1), "label": name,
                        # Only names that fit their commune are written; every name is in the tooltip and the table.
                        "show_label": (x1 - x0) >= 5.2 * len(name)}
        dots = {c: tuple(round(v, 1) for v in proj(lon, lat)) for c, (lon, lat) in points.items()}
        if shapes:
            outline = _path(unary_union([g.buffer(0) for g in shapes.values()]).simplify(tolerance), proj)
        else:
            hull = MultiPoint([proj(lon, lat) for lon, lat in points.values()]).convex_hull.buffer(12, quad_segs=4)
            outline = _path(hull if isinstance(hull, Polygon) else hull.convex_hull, _Identity())
        return {"width": WIDTH, "height": proj.height, "areas": areas, "dots": dots, "outline": outline,
                "boundaries": bool(shapes)}

    return common.cached(app, session, "map-base", (tuple(codes), geometry_stamp(session)), build, store=False)


class _Identity:
    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return x, y


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
        (f"target:{t['code']}", _("Target {code}").format(code=t.get("name") or t["code"])) for t in visible_targets(actor, reg, targets)]
    if show not in {c for c, _l in choices}:
        raise NotFound(_("Unknown measure: {what}").format(what=show))
    by_unit = common.index_by_unit(app, session, p)
    base = base_map(app, session, reg)
    items = []
    for c in communes(app, session):
        if not common.visible(actor, reg.get(c)) or (c not in base["areas"] and c not in base["dots"]):
            continue
        row = by_unit.get(c)
        if show == "total":
            value = row["total"] if row else None
            cls, text = common.band_class(band_of(value)), common.number_or_dash(value)
        elif show.startswith("766."):
            value = (row or {}).get("indicators", {}).get(show[4:], {}).get("rate")
            cls, text = rate_class(value), common.pct(value)
        else:
            cell = targets["cells"].get(c, {}).get(show[7:])
            value = cell["value"] if cell else None
            cls, text = (f"light-{cell['colour']}" if cell else "light-no_data"), common.number_or_dash(value)
        item = {"code": c, "name": reg[c].name, "cls": cls, "text": text, "value": value}
        if c in base["areas"]:
            item.update(base["areas"][c], kind="area")
        else:
            x, y = base["dots"][c]
            item.update(x=x, y=y, kind="dot")
        items.append(item)
    if show == "total":
        names = common.band_names()
        legend = [(common.band_class(b), f"{names.get(b) or b} {r}") for b, r in
                  (("excellent", "≥ 90"), ("good", "70–90"), ("average", "50–70"), ("weak", "< 50"))]
        legend.append(("band-none", _("no data")))
    elif show.startswith("766."):
        legend = [(f"rate-{i}", label) for i, (_low, label) in reversed(list(enumerate(RATE_CLASSES, start=1)))]
        legend.append(("rate-none", _("no data")))
    else:
        legend = [("light-green", _("green")), ("light-amber", _("amber")), ("light-red", _("red")),
                  ("light-no_data", _("no data"))]
    return page(request, "map.html", period=p, picker=common.picker(p), choices=choices, show=show, items=items,
                dots=[i for i in items if i["kind"] == "dot"], areas=[i for i in items if i["kind"] == "area"],
                width=base["width"], height=base["height"], outline=base["outline"], boundaries=base["boundaries"],
                legend=legend, live_url="/map")
