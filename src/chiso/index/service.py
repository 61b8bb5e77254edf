"""The 766 service index for units and periods: what the CLI, the API and the pages call.

Steps: the registry says which units are scored on the period's last day and which former
units' dossiers count for each (a commune formed on 1 July 2025 is scored for 2025 on its
predecessors' dossiers too, so its year and its change against earlier periods mean
something); :mod:`chiso.index.compute` counts the measures in the columnar store; the pure
engine (:mod:`chiso.scoring`) turns counts into points, totals and bands; ranks are given
within a unit group (or, without one, among units of the same level).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy.orm import Session

from chiso import settings
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.index import compute
from chiso.methods import loader
from chiso.methods.model import Method
from chiso.periods import Period
from chiso.scoring.ranking import changes, competition_rank
from chiso.scoring.rules import UnitScore, score_many
from chiso.units import service as units

SCORED_LEVELS = ("commune", "agency")


@dataclass(frozen=True)
class Scored:
    target: compute.Target
    name: str
    score: UnitScore
    counts: dict[str, float]


def method_for(method_id: str | None) -> Method:
    return loader.load(method_id, kind="flat") if method_id else loader.default_method("766")


def targets(session: Session, period: Period, *, province: str | None = None) -> list[compute.Target]:
    """The province and every commune and agency that exists on the period's last day,
    each with the units whose dossiers count for it."""
    province = province or units.home_province(session)
    if province is None:
        raise ChisoError(_("No province is loaded; run `chiso init --province CODE` first."))
    day = period.end
    root = units.get(session, province)
    result = []
    everything: set[str] = set()
    for u in units.units_ever_within(session, root.code):
        if u.level in SCORED_LEVELS:
            everything.add(u.code)
    for view in units.list_units(session, as_of=day, within=root.code):
        if view.level not in SCORED_LEVELS:
            continue
        unit = units.get(session, view.code)
        members = tuple(sorted(f.code for f in units.feeders(session, unit)))
        result.append(compute.Target(view.code, view.level, members))
    result.append(compute.Target(root.code, "province", tuple(sorted(everything))))
    return result


KINDS = ("dossiers", "procedures", "feedback")
#: How many dossier imports back the counts of an earlier version are brought forward from.
INCREMENTAL_DEPTH = 50


def _cache_key(store, method: Method, versions: dict[str, int] | None = None) -> str:
    """Names the per-day counts of one method over one version of the store: the method's
    definition (its file's bytes) and the versions of the three record types."""
    versions = versions or {kind: store.version(kind) for kind in KINDS}
    digest = hashlib.sha256()
    digest.update(Path(method.path).read_bytes() if method.path else method.id.encode())
    for kind in KINDS:
        digest.update(f"{kind}:{versions[kind]};".encode())
    return f"{method.id}-{digest.hexdigest()[:16]}"


def _cache_files(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"{key}.days.parquet", folder / f"{key}.keys.parquet"


def _bring_forward(con, store, method: Method, folder: Path, versions: dict[str, int]) -> bool:
    """Build the counts of the current version from those of an earlier dossier version
    (same catalogue and feedback) by :func:`compute.apply_changes`: only the dossiers
    imported since are read, instead of the whole store. False when no earlier counts can
    be used (none kept, or a compaction has since dropped the versions they counted)."""
    from chiso.dossiers.schema import record_type
    from chiso.dossiers.store import DossierStore, Snapshot

    snap = store.snapshot("dossiers")
    floor = snap.base.seq if snap.base else 0
    current = versions["dossiers"]
    for earlier in range(current - 1, max(floor, current - INCREMENTAL_DEPTH) - 1, -1):
        counts, keys = _cache_files(folder, _cache_key(store, method, {**versions, "dossiers": earlier}))
        if counts.exists() and keys.exists():
            break
    else:
        return False
    rt = record_type("dossiers")
    then = Snapshot("dossiers", snap.base, tuple(s for s in snap.deltas if s.seq <= earlier))
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_new AS SELECT * EXCLUDE (_seq) "
                f"FROM ({DossierStore.view_sql(rt, snap, with_seq=True)}) WHERE _seq > {int(earlier)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_old AS SELECT o.* FROM ({DossierStore.view_sql(rt, then)}) o "
                f"SEMI JOIN changed_new n ON o.source = n.source AND o.{rt.key} = n.{rt.key}")
    con.execute("CREATE OR REPLACE TEMP TABLE day_counts AS SELECT * FROM read_parquet(?)", [str(counts)])
    con.execute("CREATE OR REPLACE TEMP TABLE day_keys AS SELECT * FROM read_parquet(?)", [str(keys)])
    compute.apply_changes(con, method, old="changed_old", new="changed_new")
    con.execute("DROP TABLE changed_new; DROP TABLE changed_old")
    return True


def counting_connection(store, method: Method):
    """A connection to the store with the per-day counts of ``method`` ready.

    The counts are kept in the store's ``cache`` folder as Parquet, one file per method and
    store version, so that every command and page after an import reads them instead of
    rescanning the dossiers. An import makes a new version; the next reader brings the
    previous version's counts forward with the imported dossiers only, or rebuilds them
    when it cannot (after a compaction, or a change of catalogue or feedback)."""
    con = store.connect()
    try:
        con.execute("SET memory_limit = ?", [settings.get("duckdb_memory_limit")])
        compute.prepare(con)
        folder = Path(store.root) / "cache"
        versions = {kind: store.version(kind) for kind in KINDS}
        key = _cache_key(store, method, versions)
        counts, keys = _cache_files(folder, key)
        with _building(key):  # one thread of this process builds; the others then read
            if counts.exists() and keys.exists():
                con.execute("CREATE OR REPLACE TEMP TABLE day_counts AS SELECT * FROM read_parquet(?)", [str(counts)])
                con.execute("CREATE OR REPLACE TEMP TABLE day_keys AS SELECT * FROM read_parquet(?)", [str(keys)])
                return con
            if not _bring_forward(con, store, method, folder, versions):
                compute.day_table(con, method)
            _keep(con, method, folder, key, counts, keys)
        return con
    except BaseException:
        con.close()
        raise


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _building(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        if len(_LOCKS) > 256:
            _LOCKS.clear()
        return _LOCKS.setdefault(key, threading.Lock())


def _keep(con, method: Method, folder: Path, key: str, counts: Path, keys: Path) -> None:
    """Write the counts of this version to the cache folder and drop older versions'."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, path in (("day_counts", counts), ("day_keys", keys)):
        # Unique per writer: another process may build the same counts at the same time.
        temp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{path.name}")
        con.execute(f"COPY {table} TO '{temp}' (FORMAT parquet)")
        os.replace(temp, path)  # readers see the whole file or none
    for old in folder.glob(f"{method.id}-*.parquet"):
        if not old.name.startswith(key):
            old.unlink(missing_ok=True)


def _names(session: Session, codes: Sequence[str], day) -> dict[str, str]:
    out = {}
    for code in codes:
        unit = units.get(session, code)
        out[code] = units.name_on(unit, day)
    return out


def compute_scores(
    session: Session, store, period: Period, *, method: Method, extra_periods: Sequence[Period] = (),
    engine: str | None = None,
) -> tuple[list[compute.Target], dict[str, dict[str, Scored]]]:
    """Scores of every target for ``period`` and ``extra_periods``: {period code: {unit: Scored}}.

    ``engine`` counts the measures with DuckDB here or on Apache Spark
    (:mod:`chiso.index.spark`); default: the setting ``engine``."""
    tgts = targets(session, period)
    periods = [period, *extra_periods]
    if _engine(engine) == "spark":
        from chiso.index import spark

        counting = spark.Counting(store, method)
        try:
            active = counting.active_units()
            tgts = [t for t in tgts if t.level != "agency" or active & set(t.members)]
            counts = counting.period_counts(tgts, periods)
        finally:
            counting.close()
    else:
        con = counting_connection(store, method)
        try:
            # An agency that never received a dossier handles no procedure: the index does not
            # score it (Party bodies, the Fatherland Front...). Communes are always scored.
            active = {r[0] for r in con.execute("SELECT DISTINCT unit FROM day_counts").fetchall()}
            tgts = [t for t in tgts if t.level != "agency" or active & set(t.members)]
            counts = compute.period_counts(con, method, tgts, periods)
        finally:
            con.close()
    names = _names(session, [t.code for t in tgts], period.end)
    scores = score_many(method, counts, {t.code: t.level for t in tgts})
    out: dict[str, dict[str, Scored]] = {}
    for p in periods:
        out[p.code] = {
            t.code: Scored(t, names[t.code], scores[(t.code, p.code)], counts[(t.code, p.code)]) for t in tgts
        }
    return tgts, out


def index_766(
    session: Session,
    store,
    period: Period,
    *,
    unit: str | None = None,
    group: str | None = None,
    method_id: str | None = None,
    engine: str | None = None,
) -> list[dict[str, Any]]:
    """One object per unit, the shape of ``chiso index 766 --format json``."""
    method = method_for(method_id)
    previous = period.previous()
    tgts, scored = compute_scores(session, store, period, method=method, extra_periods=[previous], engine=engine)
    now, before = scored[period.code], scored[previous.code]

    if group:
        members = {u.code for u in units.group_members(session, group, as_of=period.end)}
        cohorts = {"group": [t.code for t in tgts if t.code in members]}
    else:
        cohorts: dict[str, list[str]] = {}
        for t in tgts:
            cohorts.setdefault(t.level, []).append(t.code)
    # The province alone has no peers here (its national rank comes from the portal).
    unranked = set(cohorts.pop("province", []))
    rows = []
    for cohort in cohorts.values():
        ranks = competition_rank({c: now[c].score.total for c in cohort})
        prev_ranks = competition_rank({c: before[c].score.total for c in cohort})
        moved = changes(
            {c: (ranks[c], now[c].score.total) for c in cohort},
            {c: (prev_ranks[c], before[c].score.total) for c in cohort},
        )
        for code in cohort:
            rows.append(_row(method, period, now[code], ranks[code], prev_ranks[code], moved.get(code), before[code]))
    for code in unranked:
        rows.append(_row(method, period, now[code], None, None, None, before[code]))
    if unit:
        target = units.get(session, unit, on=period.end).code
        rows = [r for r in rows if r["unit"] == target]
        if not rows:
            raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    rows.sort(key=lambda r: (r["level"], r["rank"] is None, r["rank"] or 0, r["unit"]))
    return rows


def _row(method: Method, period: Period, s: Scored, rank, prev_rank, moved, before: Scored) -> dict[str, Any]:
    score = s.score
    return {
        "unit": s.target.code,
        "name": s.name,
        "level": s.target.level,
        "period": period.code,
        "method": method.id,
        "total": score.total,
        "max_total": score.max_total,
        "band": score.band,
        "band_name": _band_name(method, score.band),
        "rank": rank,
        "previous_total": before.score.total,
        "previous_rank": prev_rank,
        "rank_change": (moved or {}).get("rank_change"),
        "total_change": (moved or {}).get("value_change"),
        "groups": {
            g.id: {"points": g.points, "max": g.max, "applicable": g.applicable} for g in score.groups.values()
        },
        "indicators": {
            i.id: {
                "numerator": i.numerator, "denominator": i.denominator, "rate": i.rate,
                "points": i.points, "max": i.max, "applicable": i.applicable,
            }
            for i in score.indicators.values()
        },
    }


def _engine(engine: str | None) -> str:
    from chiso.index.spark import engine_name

    return engine_name(engine)


def _band_name(method: Method, band: str | None) -> str | None:
    from chiso.i18n import current_language

    for b in method.bands:
        if b.id == band:
            return b.name if current_language() == "vi" else b.name_en
    return None


def explain(
    session: Session, store, period: Period, *, unit: str, indicator: str, method_id: str | None = None,
    engine: str | None = None,
) -> dict[str, Any]:
    """The records behind one indicator of one unit and period (selected by ``engine``,
    default the setting ``engine``)."""
    method = method_for(method_id)
    try:
        ind = method.indicator(indicator)
    except KeyError:
        raise NotFound(_("Unknown indicator {id} in method {method}.").format(id=indicator, method=method.id)) from None
    tgt = next((t for t in targets(session, period) if t.code == units.get(session, unit, on=period.end).code), None)
    if tgt is None:
        raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    if _engine(engine) == "spark":
        from chiso.index import spark

        con = spark.connect(store)
    else:
        con = store.connect()
        compute.prepare(con)
    try:
        out: dict[str, Any] = {"unit": tgt.code, "period": period.code, "indicator": ind.id, "method": method.id}
        for side, measure in (("numerator", ind.numerator), ("denominator", ind.denominator)):
            m = method.measures[measure]
            out[f"{side}_measure"] = measure
            if m.basis in ("procedure", "derived") or m.distinct:
                out[f"{side}_ids"] = None  # not a set of records; the counts say it
                continue
            sql, params = compute.explain_sql(method, measure, period)
            ids = [r[0] for r in con.execute(sql, {**params, "units": list(tgt.members)}).fetchall()]
            out[f"{side}_ids"] = ids
            out[side] = len(ids)
        return out
    finally:
        con.close()
