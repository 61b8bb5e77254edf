"""Published standings: import what the national portal publishes, and read it back.

A file (CSV or XLSX, as the portal's download gives it, or JSON: a list of objects) has one
row per unit and period: ``unit, period, total, rank, of`` and, optionally, a column per
group of the index's method (``CKMB`` … ``MDHL``, or the group's Vietnamese name) and per
indicator (``2.1``, ``4.2b``), each the points the portal published. The portal's
Vietnamese headers are accepted too (``Đơn vị``, ``Kỳ``, ``Tổng điểm``, ``Xếp hạng``,
``Tổng số đơn vị``).

A unit is a registry unit (registry or official code, or its name); a province outside the
registry (the national table lists every province) is kept under the code and name given.
The import is atomic (a file with any rejected row imports nothing, and the rejected rows
go with their reasons to ``<file>.rejects.csv``), idempotent (the same file again changes
nothing) and audited, like every import (:mod:`chiso.imports`).

The province's own row is its national standing: :func:`national` gives its score, rank
and change against the previous period, which the overview, the reports, the targets
(``766.national_rank``) and ``chiso index 766`` read.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso import sheets
from chiso.audit import service as audit
from chiso.db import utcnow
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.imports import ImportSummary, Reject, write_rejects
from chiso.methods import loader
from chiso.periods import PeriodError, parse_period
from chiso.standing.models import PublishedStanding
from chiso.units import service as units
from chiso.units.models import Unit

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor

#: The indexes a standing can be imported for, with the method family whose groups and
#: indicators name the optional columns.
INDEXES = {"766": "766"}

#: Canonical column → names accepted in a header (trimmed, lower-cased).
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "unit_code", "don_vi", "đơn vị", "ma_don_vi", "mã đơn vị", "tỉnh, thành phố", "tỉnh/thành phố",
             "tên đơn vị"),
    "period": ("period", "ky", "kỳ", "kỳ đánh giá", "ky_danh_gia", "thời gian"),
    "total": ("total", "score", "tong_diem", "tổng điểm", "điểm", "điểm tổng"),
    "rank": ("rank", "xep_hang", "xếp hạng", "thứ hạng"),
    "of": ("of", "out_of", "tong_so", "tổng số", "tổng số đơn vị", "số đơn vị", "trên tổng số"),
}
REQUIRED = ("unit", "period", "total")


def _index(index: str) -> str:
    if index not in INDEXES:
        raise ChisoError(_("Unknown index {index}: published standings are imported for {known}.").format(
            index=index, known=", ".join(INDEXES)))
    return index


def _extra_columns(index: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """The optional columns: {group id: accepted names}, {indicator id: accepted names}."""
    method = loader.default_method(INDEXES[index])
    groups: dict[str, tuple[str, ...]] = {g.id: (g.id.lower(), g.name.lower(), g.name_en.lower()) for g in method.groups}
    indicators: dict[str, tuple[str, ...]] = {i.id: (i.id.lower(), f"chỉ số {i.id}".lower()) for i in method.indicators}
    return groups, indicators


def _number(text: Any) -> float | None:
    """A number as the portal prints it: ``85,59`` or ``85.59``; None when it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = str(text).strip().replace(" ", "")
        if raw.count(",") == 1 and "." not in raw:
            raw = raw.replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _whole(text: Any) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value == int(value) and value >= 0 else None


def _rows(path: Path, columns: dict[str, tuple[str, ...]]) -> Iterator[tuple[int, dict[str, str]]]:
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
        if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
            raise ChisoError(_("{path}: expected a JSON list of objects.").format(path=path))
        for i, item in enumerate(data, start=1):
            lowered = {str(k).strip().lower(): v for k, v in item.items()}
            yield i, {c: ("" if (v := next((lowered[a] for a in names if a in lowered), None)) is None else str(v))
                      for c, names in columns.items()}
        return
    yield from sheets.table(
        path, columns=columns, required=list(REQUIRED),
        unsupported=_("Cannot read {path}: a published standings file is CSV, XLSX or JSON.").format(path=path),
        missing=_("{path}: missing column(s): {columns} (a published standings file has {expected})."))


_PROVINCE_CODE = re.compile(r"^\d{1,2}$")
_PROVINCE_NAME = re.compile(r"^(tỉnh|thành phố|tp\.?)\s", re.IGNORECASE)


def _resolve(session: Session, text: str, by_name: dict[str, Unit]) -> tuple[str, Unit | None] | None:
    """(code, registry unit or None) of a unit as written; None when it is unknown. A
    province outside the registry (a one- or two-digit code, or a name that says "Tỉnh" or
    "Thành phố") is known under what was written."""
    try:
        found = units.get(session, text)
        return found.code, found
    except NotFound:
        pass
    named = by_name.get(text.strip().lower())
    if named is not None:
        return named.code, named
    if _PROVINCE_CODE.match(text) or _PROVINCE_NAME.match(text):
        return text.strip(), None
    return None


def import_standings(session: Session, *, index: str, path: str | Path, actor: Actor,
                     write_rejects_file: bool = True) -> ImportSummary:
    """Import one file of published standings (see the module docstring)."""
    index = _index(index)
    path = Path(path)
    groups, indicators = _extra_columns(index)
    columns = {**COLUMNS, **{f"group:{g}": names for g, names in groups.items()},
               **{f"indicator:{i}": names for i, names in indicators.items()}}
    by_name = {u.name.strip().lower(): u for u in session.scalars(select(Unit))}
    summary = ImportSummary(kind="published_standings", extra={"index": index})
    accepted: dict[tuple[str, str], dict[str, Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, raw in _rows(path, columns):
        summary.read += 1
        given = {c: v for c, v in raw.items() if v != ""}
        reason: str | None = None
        row: dict[str, Any] = {}
        missing = [c for c in REQUIRED if not raw.get(c, "").strip()]
        if missing:
            reason = _("{column} is empty").format(column=missing[0])
        if reason is None:
            resolved = _resolve(session, raw["unit"].strip(), by_name)
            if resolved is None:
                reason = _("unknown unit {unit}").format(unit=raw["unit"])
            else:
                row["unit_code"], unit = resolved
                row["unit_id"] = unit.id if unit is not None else None
                row["name"] = unit.name if unit is not None else raw["unit"].strip()
        if reason is None:
            try:
                row["period"] = parse_period(raw["period"].strip()).code
            except PeriodError as exc:
                reason = str(exc)
        if reason is None:
            row["total"] = _number(raw["total"])
            if row["total"] is None or row["total"] < 0:
                reason = _("total {value!r} is not a number of points").format(value=raw["total"])
        for col in ("rank", "of"):
            if reason is None:
                text = raw.get(col, "").strip()
                row[col] = _whole(text) if text else None
                if text and (row[col] is None or row[col] < 1):
                    reason = _("{column} {value!r} is not a whole number").format(column=col, value=text)
        if reason is None and row["rank"] is not None and row["of"] is not None and row["rank"] > row["of"]:
            reason = _("rank {rank} is beyond the {of} units ranked").format(rank=row["rank"], of=row["of"])
        for kind, store in (("group", "groups"), ("indicator", "indicators")):
            row[store] = {}
            for col, text in given.items():
                if reason is not None or not col.startswith(kind + ":"):
                    continue
                value = _number(text)
                if value is None or value < 0:
                    reason = _("{column} {value!r} is not a number of points").format(column=col.split(":", 1)[1],
                                                                                     value=text)
                else:
                    row[store][col.split(":", 1)[1]] = value
        if reason is None:
            key = (row["period"], row["unit_code"])
            if key in seen:
                reason = _("{unit} {period} is given twice (first at line {line})").format(
                    unit=row["unit_code"], period=row["period"], line=seen[key])
            else:
                seen[key] = line
                accepted[key] = row
        if reason is not None:
            summary.rejects.append(Reject(line=line, reason=reason, values={c: raw.get(c, "") for c in REQUIRED}))
    summary.rejected = len(summary.rejects)
    if write_rejects_file:
        summary.rejects_path = write_rejects(path, summary.rejects, REQUIRED)
    if summary.rejects:
        summary.refused = True
        return summary

    existing = {(r.period, r.unit_code): r for r in session.scalars(
        select(PublishedStanding).where(PublishedStanding.index_code == index))}
    fields = ("unit_id", "name", "total", "rank", "of", "groups", "indicators")
    for key, row in sorted(accepted.items()):
        old = existing.get(key)
        if old is not None and all(getattr(old, f) == row[f] for f in fields):
            summary.unchanged += 1
            continue
        if old is None:
            old = PublishedStanding(index_code=index, period=row["period"], unit_code=row["unit_code"])
            session.add(old)
            summary.inserted += 1
        else:
            summary.updated += 1
        for f in fields:
            setattr(old, f, row[f])
        old.source_file, old.imported_by, old.imported_at = path.name, actor.name, utcnow()
    session.flush()
    if summary.inserted or summary.updated:
        audit.record(session, actor=actor, action="standing.import", object_type="standing", object_key=index,
                     after={"file": path.name, "read": summary.read, "inserted": summary.inserted,
                            "updated": summary.updated, "unchanged": summary.unchanged})
    return summary


def _json(row: PublishedStanding) -> dict[str, Any]:
    return {"index": row.index_code, "period": row.period, "unit": row.unit_code, "name": row.name,
            "total": row.total, "rank": row.rank, "of": row.of, "groups": dict(row.groups or {}),
            "indicators": dict(row.indicators or {}), "source_file": row.source_file,
            "imported_by": row.imported_by, "imported_at": row.imported_at.isoformat() if row.imported_at else None}


def list_standings(session: Session, *, index: str = "766", period: str | None = None,
                   unit: str | None = None) -> list[dict[str, Any]]:
    """Published standings of ``index``, for one period and/or one unit; by period, then rank."""
    query = select(PublishedStanding).where(PublishedStanding.index_code == _index(index))
    if period:
        query = query.where(PublishedStanding.period == parse_period(period).code)
    if unit:
        code = _unit_code(session, unit)
        query = query.where(PublishedStanding.unit_code == code)
    rows = [_json(r) for r in session.scalars(query)]
    return sorted(rows, key=lambda r: (parse_period(r["period"]).start, r["period"], r["rank"] is None,
                                       r["rank"] or 0, r["unit"]))


def _unit_code(session: Session, unit: str) -> str:
    try:
        return units.get(session, unit).code
    except NotFound:
        return unit


def published(session: Session, *, index: str, period: str) -> dict[str, dict[str, Any]]:
    """{unit code: published standing} of one index and period."""
    return {r["unit"]: r for r in list_standings(session, index=index, period=period)}


def national(session: Session, *, index: str = "766", period: str, unit: str | None = None) -> dict[str, Any] | None:
    """The province's (or ``unit``'s) published standing for ``period`` with its change
    against the previous period of the same kind: {total, rank, of, previous_total,
    previous_rank, rank_change (positive: up), total_change}; None when not published."""
    code = _unit_code(session, unit) if unit else units.home_province(session)
    if code is None:
        return None
    p = parse_period(period)
    now = published(session, index=index, period=p.code).get(code)
    if now is None:
        return None
    before = published(session, index=index, period=p.previous().code).get(code)
    out = dict(now)
    out["previous_period"] = p.previous().code
    out["previous_total"] = before["total"] if before else None
    out["previous_rank"] = before["rank"] if before else None
    out["rank_change"] = (before["rank"] - now["rank"]) if before and None not in (before["rank"], now["rank"]) else None
    out["total_change"] = (now["total"] - before["total"]) if before and None not in (before["total"], now["total"]) \
        else None
    return out


def history(session: Session, *, index: str = "766", unit: str | None = None) -> list[dict[str, Any]]:
    """Every published standing of the province (or ``unit``), oldest period first."""
    code = _unit_code(session, unit) if unit else units.home_province(session)
    if code is None:
        return []
    return list_standings(session, index=index, unit=code)
