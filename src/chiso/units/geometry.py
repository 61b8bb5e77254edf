"""Unit boundaries (ranh giới hành chính) from a provincial GIS office: GeoJSON or an ESRI
shapefile in longitude/latitude, one feature a unit, keyed by unit code.

A feature's code is a registry code ("24781" for a unit of today, "old:24781" for a commune
of the structure before 1 July 2025) or an official code; a bare official code names today's
unit unless ``era="old"`` says the file is of the former structure. So a former commune's
polygon stays with the former unit and today's unit gets its own: the two never overwrite
each other, whatever order the files come in.

Polygons are kept as GeoJSON text (WGS 84) in ``unit_geometries``, which every backup holds
like any other table. Nothing is reprojected: a file in VN-2000 metres is refused with the
reason, since guessing its zone would put communes in the wrong place.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.db import utcnow
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.imports import ImportSummary, write_rejects
from chiso.units.models import Unit, UnitGeometry

#: Property names a GIS office uses for the unit code, tried in this order (case ignored).
CODE_FIELDS = ("code", "unit_code", "ma", "ma_xa", "maxa", "ma_dvhc", "madvhc", "ma_phuong", "id")
ERAS = ("auto", "old")


def _features_geojson(path: Path) -> Iterator[tuple[int, dict, dict | None]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ChisoError(_("{path} is not GeoJSON: {why}").format(path=path, why=e)) from None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        features = data.get("features") or []
    elif kind == "Feature":
        features = [data]
    else:
        raise ChisoError(_("{path} is not a GeoJSON FeatureCollection or Feature.").format(path=path))
    for n, f in enumerate(features, start=1):
        if not isinstance(f, dict):
            yield n, {}, None
            continue
        yield n, f.get("properties") or {}, f.get("geometry")


def _features_shapefile(path: Path) -> Iterator[tuple[int, dict, dict | None]]:
    import shapefile  # pyshp

    try:
        reader = shapefile.Reader(str(path), encoding="utf-8", encodingErrors="replace")
    except (shapefile.ShapefileException, OSError, zipfile.BadZipFile) as e:
        raise ChisoError(_("{path} is not a shapefile: {why}").format(path=path, why=e)) from None
    with reader:
        for n, rec in enumerate(reader.iterShapeRecords(), start=1):
            geometry = None if rec.shape.shapeType == shapefile.NULL else rec.shape.__geo_interface__
            yield n, rec.record.as_dict(), geometry


def read_features(path: Path) -> Iterator[tuple[int, dict, dict | None]]:
    """(feature number from 1, properties, GeoJSON geometry or None) for each feature."""
    if not path.is_file():
        raise ChisoError(_("No such file: {path}").format(path=path))
    suffix = path.suffix.lower()
    if suffix in (".shp", ".zip"):
        return _features_shapefile(path)
    if suffix in (".geojson", ".json"):
        return _features_geojson(path)
    raise ChisoError(_("Boundaries must be GeoJSON (.geojson, .json) or a shapefile (.shp, or .zip holding one): "
                       "{path}").format(path=path))


def _code_of(props: dict, field: str | None) -> str | None:
    lower = {str(k).lower(): v for k, v in props.items()}
    for name in ((field.lower(),) if field else CODE_FIELDS):
        value = lower.get(name)
        if value not in (None, ""):
            text = str(value).strip()
            # Shapefiles store codes as numbers and lose leading zeros ("00004" → 4.0).
            if text.endswith(".0") and text[:-2].isdigit():
                text = text[:-2]
            return text
    return None


def _polygon(geometry: dict | None) -> tuple[Any | None, str | None]:
    """The shape and None, or None and the reason it is refused."""
    from shapely.geometry import MultiPolygon, Polygon, shape
    from shapely.validation import make_valid

    if not geometry:
        return None, _("the feature has no geometry")
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None, _("a boundary must be a polygon, not {kind}").format(kind=geometry.get("type"))
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as e:
        return None, _("the polygon cannot be read: {why}").format(why=e)
    if geom.is_empty:
        return None, _("the polygon is empty")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return None, _("coordinates are not longitude/latitude (WGS 84, EPSG:4326); reproject the file first")
    if not geom.is_valid:
        # Self-touching rings are common in digitised boundaries; repair rather than refuse.
        fixed = make_valid(geom)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, (Polygon, MultiPolygon))]
        if not parts:
            return None, _("the polygon is invalid and cannot be repaired")
        geom = parts[0] if len(parts) == 1 else MultiPolygon(
            [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])])
    return geom, None


def _unit_for(session: Session, code: str, era: str, cache: dict[str, Unit | None]) -> Unit | None:
    key = f"old:{code}" if era == "old" and not code.startswith("old:") and "." not in code else code
    if key not in cache:
        unit = session.execute(select(Unit).where(Unit.code == key)).scalar_one_or_none()
        if unit is None and era == "auto" and not key.startswith("old:"):
            # A code the registry knows only as an official code of one unit (an agency's, say).
            found = session.execute(select(Unit).where(Unit.official_code == key)).scalars().all()
            unit = found[0] if len(found) == 1 else None
        cache[key] = unit
    return cache[key]


def import_geometry(session: Session, path: Path | str, *, code_field: str | None = None, era: str = "auto",
                    actor=None) -> ImportSummary:
    """Store each feature's polygon on its unit; features that cannot be placed are rejected
    with the reason (also in ``<file>.rejects.csv`` beside it) and the rest are taken."""
    from chiso.audit import service as audit

    path = Path(path)
    if era not in ERAS:
        raise ChisoError(_("Unknown era: {era} (one of {eras})").format(era=era, eras=", ".join(ERAS)))
    summary = ImportSummary(kind="unit_geometry")
    seen: dict[int, int] = {}
    cache: dict[str, Unit | None] = {}
    existing = {g.unit_id: g for g in session.execute(select(UnitGeometry)).scalars()}
    for n, props, geometry in read_features(path):
        summary.read += 1
        code = _code_of(props, code_field)
        values = {"code": code or ""}
        if code is None:
            summary.reject(n, _("no unit code (a property named {names})").format(
                names=code_field or ", ".join(CODE_FIELDS)), values)
            continue
        unit = _unit_for(session, code, era, cache)
        if unit is None:
            summary.reject(n, _("unknown unit code {code}").format(code=code), values)
            continue
        if unit.id in seen:
            summary.reject(n, _("unit {code} already has a boundary in feature {first}").format(
                code=unit.code, first=seen[unit.id]), values)
            continue
        geom, why = _polygon(geometry)
        if geom is None:
            summary.reject(n, why or _("not a polygon"), values)
            continue
        seen[unit.id] = n
        text = json.dumps(geom.__geo_interface__, separators=(",", ":"))
        row = existing.get(unit.id)
        if row is None:
            session.add(UnitGeometry(unit_id=unit.id, geojson=text, source=path.name[:255]))
            summary.inserted += 1
        elif row.geojson == text:
            summary.unchanged += 1
        else:
            row.geojson, row.source, row.updated_at = text, path.name[:255], utcnow()
            summary.updated += 1
    session.flush()
    summary.rejects_path = write_rejects(path, summary.rejects, ["code"])
    audit.record(session, actor=actor, action="unit.geometry_import", object_type="unit_geometry",
                 object_key=path.name, after={k: getattr(summary, k) for k in
                                             ("read", "inserted", "updated", "unchanged", "rejected")})
    return summary


def geometries(session: Session, codes: list[str] | None = None) -> dict[str, dict]:
    """GeoJSON geometries by unit code (of the given units, or all)."""
    q = select(Unit.code, UnitGeometry.geojson).join(UnitGeometry, UnitGeometry.unit_id == Unit.id)
    if codes is not None:
        q = q.where(Unit.code.in_(codes))
    return {code: json.loads(text) for code, text in session.execute(q)}
