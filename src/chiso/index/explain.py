"""The dossiers behind one number, paged: the selection the "dossiers behind a number"
pages and exports list, its Parquet cache and its paging.

The selection is the SQL of :func:`chiso.index.compute.explain_sql`, the same that
``chiso index explain`` (:func:`chiso.index.service.explain`) and the counts use, so the
rows listed add up to the index's numbers. A page shows one unit's rows among thousands,
so the ids of every unit are selected in one scan per store version and kept in the
store's cache folder (:func:`ids_file`); a page then reads one unit's ids from that file
and only its own records in full (:func:`records_page`).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import duckdb
from sqlalchemy.orm import Session

from chiso.clock import local_now
from chiso.errors import NotFound
from chiso.i18n import _
from chiso.index import compute
from chiso.index.compute import listable  # noqa: F401  (the page asks the explain view)
from chiso.index import kept, service
from chiso.scoring.model import Indicator, Method
from chiso.periods import Period

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

#: The dossier fields the explain view shows and exports, in this order.
DOSSIER_COLUMNS = ("dossier_id", "procedure_code", "received_at", "due_at", "finished_at", "status", "channel",
                   "source")
#: Which records a page lists: all, those the numerator does not count, those it counts.
ONLY = ("all", "late", "counted")


def _target(session: Session, period: Period, unit: str, targets: Sequence[compute.Target] | None) -> compute.Target:
    found = next((t for t in targets or service.targets(session, period) if t.code == unit), None)
    if found is None:
        raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    return found


def _indicator(method: Method, indicator: str) -> Indicator:
    try:
        return method.indicator(indicator)
    except KeyError:
        raise NotFound(_("Unknown indicator {id} in method {method}.").format(id=indicator, method=method.id)) from None


def _sides(method: Method, ind: Indicator, period: Period,
           today: date | None) -> tuple[str, str | None, dict[str, Any], bool] | None:
    """(the listed side's SQL, the numerator's SQL when it is listed beside it, their
    parameters, whether the listed side is the denominator); None when neither side of the
    indicator is made of records. The denominator is listed when it can be, each record
    flagged by whether the numerator counts it (when both count the same kind of record);
    else the numerator's records, all counted."""
    num_ok, den_ok = listable(method, ind.numerator), listable(method, ind.denominator)
    if not (num_ok or den_ok):
        return None
    side = ind.denominator if den_ok else ind.numerator
    side_sql, params = compute.explain_sql(method, side, period, today=today)
    if num_ok and den_ok and method.measures[ind.numerator].basis == method.measures[side].basis:
        num_sql, params_num = compute.explain_sql(method, ind.numerator, period, today=today)
        return side_sql, num_sql, {**params_num, **params}, den_ok
    return side_sql, None, params, den_ok


def query(session: Session, period: Period, *, unit: str, indicator: str, method_id: str | None = None,
          now: datetime | None = None, targets: Sequence[compute.Target] | None = None) -> dict[str, Any]:
    """How to list the records behind one indicator of one unit: the ids of the
    denominator's records, each with whether the numerator counts it (or, when the
    denominator is not made of records, the numerator's ids). ``sql`` is None when neither
    side is made of records. ``targets``: :func:`chiso.index.service.targets` of the
    period, when the caller holds them already."""
    method = service.method_for(method_id)
    ind = _indicator(method, indicator)
    tgt = _target(session, period, unit, targets)
    out: dict[str, Any] = {"indicator": ind, "members": list(tgt.members), "level": tgt.level, "sql": None,
                           "params": None, "table": None, "key": None}
    today = local_now(now).date()  # a running period's open dossiers are judged now, as the index does
    sides = _sides(method, ind, period, today)
    if sides is None:
        return out
    side_sql, num_sql, params, den_ok = sides
    if num_sql is not None:
        out["sql"] = (f"SELECT d.id, (n.id IS NOT NULL) AS counted FROM ({side_sql}) d "
                      f"LEFT JOIN (SELECT DISTINCT id FROM ({num_sql})) n ON n.id = d.id")
    else:
        out["sql"] = f"SELECT d.id, {'NULL::BOOLEAN' if den_ok else 'TRUE'} AS counted FROM ({side_sql}) d"
    out["params"] = {**params, "units": list(tgt.members)}
    feedback = method.measures[ind.denominator if den_ok else ind.numerator].basis == "feedback"
    out["table"], out["key"] = ("feedback_records", "feedback_id") if feedback else ("records", "dossier_id")
    return out


def _with_unit(sql: str) -> str:
    """``compute.explain_sql``'s query, also naming each record's unit."""
    for head in ("SELECT dossier_id AS id FROM", "SELECT feedback_id AS id FROM"):
        if sql.startswith(head):
            return head.replace(" AS id ", " AS id, unit_code ") + sql[len(head):]
    raise ValueError(sql[:60])


def ids_file(session: Session, store: DossierStore, period: Period, *, indicator: str, method_id: str | None = None,
             now: datetime | None = None, targets: Sequence[compute.Target] | None = None,
             build: bool = True) -> Path | None:
    """A Parquet file of (target, id, counted) for every unit but the province, for one
    indicator and period: one scan of the store instead of one per unit, written once per
    store version into the store's cache folder (as the per-day counts are), sorted by unit
    so that reading one unit's ids skips the rest. None when the indicator is not made of
    records, or (``build`` false) when the file of this store version is not there yet."""
    method = service.method_for(method_id)
    ind = _indicator(method, indicator)
    today = local_now(now).date()
    sides = _sides(method, ind, period, today)
    if sides is None:
        return None
    side_sql, num_sql, params, den_ok = sides
    scored = [t for t in targets or service.targets(session, period) if t.level != "province"]
    pairs = [(m, t.code) for t in scored for m in t.members]
    if num_sql is not None:
        counted = "(n.id IS NOT NULL)"
        join = (f"LEFT JOIN (SELECT DISTINCT id, unit_code FROM ({_with_unit(num_sql)})) n "
                "ON n.id = d.id AND n.unit_code = d.unit_code")
    else:
        counted, join = ("NULL::BOOLEAN" if den_ok else "TRUE"), ""
    versions = tuple(store.kind_versions().values())
    digest = hashlib.sha256(repr((method.id, period.code, indicator, versions, sorted(pairs),
                                  compute.judged_until(period, today))).encode()).hexdigest()[:20]
    folder = Path(store.root) / "cache"
    path = folder / f"explain-{digest}.parquet"
    if path.exists():
        return path
    if not build:
        return None
    with kept.building(path.name):  # a reader and the server's warm-up scan once between them
        if path.exists():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{path.name}"  # unique per writer
        con = store.connect()
        try:
            compute.prepare(con)
            con.execute("CREATE TEMP TABLE members (unit VARCHAR, target VARCHAR)")
            con.executemany("INSERT INTO members VALUES (?, ?)", pairs)
            con.execute(
                f"COPY (SELECT m.target, d.id, {counted} AS counted FROM ({_with_unit(side_sql)}) d "
                f"JOIN members m ON m.unit = d.unit_code {join} "
                f"ORDER BY m.target, counted NULLS FIRST, d.id) TO '{temp}' (FORMAT parquet)",
                {**params, "units": sorted({m for m, _t in pairs})})
        finally:
            con.close()
        os.replace(temp, path)
    for old in folder.glob("explain-*.parquet"):  # earlier versions of the store
        if old != path and old.stat().st_mtime < path.stat().st_mtime - 3600:
            old.unlink(missing_ok=True)
    return path


def picked(session: Session, store: DossierStore, period: Period, *, unit: str, indicator: str, method_id: str | None = None,
           now: datetime | None = None, targets: Sequence[compute.Target] | None = None) -> dict[str, Any]:
    """The ids behind one indicator of one unit, each with whether the numerator counts it,
    ordered as pages show them (not counted first), with the totals: {"query", "ids",
    "flags", "total", "counted"}. A unit's ids come from :func:`ids_file` (every unit's at
    once) when a server has built it for this store version (its warm-up does, for the
    on-time indicator); else, and for the province, whose ids are all the store's, they are
    selected on their own: one unit's scan reads only its row groups (0.2 s at 10 million
    dossiers, where every unit's file takes 3.5 s), and both give the same list (a test
    compares them)."""
    targets = targets or service.targets(session, period)
    q = query(session, period, unit=unit, indicator=indicator, method_id=method_id, now=now, targets=targets)
    if q["sql"] is None:
        return {"query": q, "ids": [], "flags": [], "total": None, "counted": None}
    path = None if q["level"] == "province" else ids_file(session, store, period, indicator=indicator,
                                                           method_id=method_id, now=now, targets=targets,
                                                           build=False)
    if path is not None:
        with duckdb.connect() as con:
            found = con.execute("SELECT id, counted FROM read_parquet(?) WHERE target = ? "
                                "ORDER BY counted NULLS FIRST, id", [str(path), unit]).fetchall()
    else:
        con = store.connect()
        try:
            compute.prepare(con)
            found = con.execute(f"SELECT id, counted FROM ({q['sql']}) ORDER BY counted NULLS FIRST, id",
                                q["params"]).fetchall()
        finally:
            con.close()
    return {"query": q, "ids": [i for i, _c in found], "flags": [c for _i, c in found], "total": len(found),
            "counted": sum(1 for _i, c in found if c)}


def records_page(store: DossierStore, chosen: dict[str, Any], *, only: str, page_no: int, limit: int) -> dict[str, Any]:
    """One page of the records of :func:`picked` (``chosen``): only the page's records read
    in full from the store. ``only``: one of :data:`ONLY`. {"columns", "rows" (each record's
    fields and "counted"), "total", "counted", "matching" (records of ``only``)}."""
    q = chosen["query"]
    if q["sql"] is None:
        return {"columns": [], "rows": [], "total": None, "counted": None}
    pairs = list(zip(chosen["ids"], chosen["flags"]))
    if only == "late":
        pairs = [x for x in pairs if x[1] is not True]
    elif only == "counted":
        pairs = [x for x in pairs if x[1]]
    shown_pairs = pairs[page_no * limit:(page_no + 1) * limit]
    flags = dict(shown_pairs)
    con = store.connect()
    try:
        compute.prepare(con)
        cur = con.execute(f"SELECT * FROM {q['table']} WHERE unit_code IN (SELECT unnest($units)) "
                          f"AND {q['key']} IN (SELECT unnest($ids))", {"units": q["params"]["units"],
                                                                     "ids": list(flags)})
        names = [d[0] for d in cur.description]
        found: dict[Any, list[dict[str, Any]]] = {}
        for r in cur.fetchall():
            row = dict(zip(names, r))
            found.setdefault(row[q["key"]], []).append(row)
    finally:
        con.close()
    shown = [c for c in (DOSSIER_COLUMNS if q["key"] == "dossier_id" else names) if c in names]
    rows = [dict(row, counted=flags[i]) for i, _c in shown_pairs for row in found.get(i, ())]
    return {"columns": shown, "rows": rows, "total": chosen["total"], "counted": chosen["counted"],
            "matching": len(pairs)}
