"""The procedure catalogue in view (danh mục TTHC): each procedure with its online level,
fee, statutory time, the units that handle it and its dossiers, counts by online level and
the share of full online services (dịch vụ công trực tuyến toàn trình) per unit.

*The units that handle a procedure* are the units its dossiers were received at (the
catalogue file names levels, not units). A unit's share of full online services is, among
the distinct procedures it (or a unit below it) received dossiers of, the share whose
online level is ``full``; the province's is over the whole catalogue. The same function
answers the CLI, the page and the target metric ``catalogue.full_online_rate``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.periods import Period
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

LEVELS = ("full", "partial", "none")
METRIC = "catalogue.full_online_rate"


def _window(period: Period | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    if period is not None:
        return datetime.combine(period.start, time.min), datetime.combine(period.end + timedelta(days=1), time.min)
    if until is not None:
        return None, datetime.combine(until + timedelta(days=1), time.min)
    return None, None


Handled = dict[str, dict[str, int]]


def _read(store: DossierStore, period: Period | None, until: date | None = None) -> tuple[list[dict[str, Any]], Handled]:
    """The catalogue's rows and {procedure: {unit: dossiers in the window}} (every unit that
    ever received one is a key, with 0 outside the window)."""
    start, end = _window(period, until)
    con = store.connect()
    try:
        rows = con.execute(
            "SELECT procedure_code, name, levels, online_level, has_fee, statutory_days FROM procedures "
            "ORDER BY procedure_code").fetchall()
        conds, params = [], []
        if start is not None:
            conds.append("received_at >= ?")
            params.append(start)
        if end is not None:
            conds.append("received_at < ?")
            params.append(end)
        inside = " AND ".join(conds) or "TRUE"
        counts = con.execute(
            f"SELECT procedure_code, unit_code, count(*) FILTER (WHERE {inside}) FROM dossiers "
            "GROUP BY procedure_code, unit_code", params).fetchall()
    finally:
        con.close()
    handled: Handled = defaultdict(dict)
    for code, unit, n in counts:
        handled[code][unit] = int(n)
    procs = [{"code": c, "name": n, "levels": lv, "online_level": ol or "none", "has_fee": fee,
              "statutory_days": days} for c, n, lv, ol, fee, days in rows]
    return procs, handled


def _within(session: Session, unit: str) -> set[str]:
    root = units.get(session, unit)
    return {root.code} | {u.code for u in units.list_units(session, within=root.code)}


def list_procedures(session: Session, store: DossierStore, *, unit: str | None = None, level: str | None = None,
                    period: Period | None = None) -> list[dict[str, Any]]:
    """Every procedure of the catalogue: code, name, levels, online level, fee, statutory
    days, the units that handle it and its dossiers in ``period`` (all, without one).
    ``unit`` keeps those handled by the unit or a unit below it; ``level`` one online level."""
    if level is not None and level not in LEVELS:
        raise ChisoError(_("Unknown online level {level}: use one of {levels}.").format(
            level=level, levels=", ".join(LEVELS)))
    procs, handled = _read(store, period)
    keep = _within(session, unit) if unit else None
    out = []
    for p in procs:
        by_unit = handled.get(p["code"], {})
        if level is not None and p["online_level"] != level:
            continue
        if keep is not None and not keep & set(by_unit):
            continue
        shown = {u: n for u, n in by_unit.items() if keep is None or u in keep}
        out.append({**p, "units": sorted(shown), "dossiers": sum(shown.values())})
    return out


def _share(levels: list[str]) -> dict[str, Any]:
    c = Counter(levels)
    total = len(levels)
    return {"procedures": total, "full": c["full"], "partial": c["partial"], "none": c["none"],
            "full_online_rate": (c["full"] / total) if total else None}


def summary(session: Session, store: DossierStore, *, period: Period | None = None,
            until: date | None = None) -> dict[str, Any]:
    """Counts by online level over the catalogue (the province) and, per unit that received
    dossiers in the window, over the procedures it handled: {province: {...}, units: [...]}."""
    procs, handled = _read(store, period, until)
    level_of = {p["code"]: p["online_level"] for p in procs}
    per_unit: dict[str, list[str]] = defaultdict(list)
    for code, by_unit in handled.items():
        if code not in level_of:
            continue
        for unit, n in by_unit.items():
            if n or (period is None and until is None):
                per_unit[unit].append(level_of[code])
    rows = [{"unit": u, **_share(levels)} for u, levels in sorted(per_unit.items())]
    return {"province": {"unit": units.home_province(session), **_share(list(level_of.values()))}, "units": rows}


def full_online_rate(session: Session, store: DossierStore | None, unit: str, *, as_of: date,
                     period: Period | None = None, cache: dict[Any, Any] | None = None) -> float | None:
    """The target metric ``catalogue.full_online_rate`` of ``unit`` (0–1; None: no data):
    for the home province over the whole catalogue, for another unit over the procedures
    it and the units below it received dossiers of in ``period`` (without one: on or
    before ``as_of``)."""
    if store is None:
        return None
    cache = {} if cache is None else cache
    key = ("catalogue", period.code if period else None, None if period else as_of)
    if key not in cache:
        cache[key] = _read(store, period, None if period else as_of)
    procs, handled = cache[key]
    level_of = {p["code"]: p["online_level"] for p in procs}
    rate: float | None
    if unit == units.home_province(session):
        rate = _share(list(level_of.values()))["full_online_rate"]
        return rate
    keep = _within(session, unit)
    levels = [level_of[c] for c, by_unit in handled.items() if c in level_of
              and any(n for u, n in by_unit.items() if u in keep)]
    rate = _share(levels)["full_online_rate"]
    return rate
