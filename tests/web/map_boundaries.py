"""Made-up commune boundaries for the map's tests and screenshots, written as GeoJSON here
(nothing copied): squares around the registered coordinates of a few communes, or, for a
whole province, the cells of a Voronoi diagram of the communes' points clipped to a margin
around them. Neither is the official geography; both are only shapes to draw."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from chiso import db


def commune_points(engine, province: str = "68") -> list[tuple[str, float, float]]:
    from chiso.units import service as units

    with db.transaction(engine) as session:
        return [(u.code, u.lon, u.lat) for u in units.list_units(session, level="commune", within=province,
                                                                  as_of=date.today()) if u.lat is not None]


def squares(points, side: float = 0.03) -> dict:
    h = side / 2
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ma_xa": code},
         "geometry": {"type": "Polygon", "coordinates": [[[x - h, y - h], [x + h, y - h], [x + h, y + h],
                                                          [x - h, y + h], [x - h, y - h]]]}}
        for code, x, y in points]}


def cells(points) -> dict:
    from shapely.geometry import MultiPoint, Point, mapping
    from shapely.ops import voronoi_diagram

    hull = MultiPoint([(x, y) for _c, x, y in points]).convex_hull.buffer(0.04)
    features = []
    for cell in voronoi_diagram(MultiPoint([(x, y) for _c, x, y in points]), envelope=hull).geoms:
        code = next((c for c, x, y in points if cell.contains(Point(x, y))), None)
        if code:
            features.append({"type": "Feature", "properties": {"ma_xa": code}, "geometry": mapping(cell.intersection(hull))})
    return {"type": "FeatureCollection", "features": features}


def write(path: Path, collection: dict) -> Path:
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path
