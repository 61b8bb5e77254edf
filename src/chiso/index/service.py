"""The 766 service index for units and periods: what the CLI, the API and the pages call.

Steps: the registry says which units are scored on the period's last day and which former
units' dossiers count for each (a commune formed on 1 July 2025 is scored for 2025 on its
predecessors' dossiers too, so its year and its change against earlier periods mean
something); :mod:`chiso.index.compute` counts the measures in the columnar store; the pure
engine (:mod:`chiso.scoring`) turns counts into points, totals and bands; ranks are given
within a unit group (or, without one, among units of the same level).

Real time: every function takes ``now`` (default: the current time). In a period that has
not ended, an open dossier is on time or late as of now (:func:`chiso.index.compute.judged_until`),
and the rows say the period is running and until when (:func:`period_until`); a period that
is over keeps the rule of its end, whatever ``now`` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import duckdb
from sqlalchemy.orm import Session

from chiso.clock import local_now
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.index import compute
from chiso.index.kept import counting_connection, touched_records
from chiso.methods import loader
from chiso.methods.bands import band_name
from chiso.scoring.model import Indicator, Method
from chiso.periods import Period
from chiso.scoring import rules
from chiso.scoring.ranking import changes, published_rank
from chiso.scoring.rules import UnitScore, apply_adjustments, score_many
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

SCORED_LEVELS = ("commune", "agency")


@dataclass(frozen=True)
class Scored:
    target: compute.Target
    name: str
    score: UnitScore
    counts: dict[str, float]


#: What :func:`compute_scores` gives: the targets scored, and {period code: {unit: Scored}}.
Computed = tuple[list[compute.Target], dict[str, dict[str, Scored]]]


def has_records(method: Method, scored: Scored | None) -> bool:
    """Whether the unit has records in the period (:func:`chiso.scoring.rules.has_records`):
    a unit without any is "no data", with no total and no rank, and a period before the
    store's first dossier is not drawn on a trend."""
    return scored is not None and rules.has_records(method, scored.counts)


def on_time_indicator(method: Method) -> str | None:
    """The indicator that says how many dossiers were settled on time (766: 2.1), which
    the overview and ``chiso demo`` rank units by: of the indicators over the dossiers
    being settled (a ``dossier_settlement`` denominator) whose numerator judges them on time
    (an ``on_time`` rule), the one worth most points, the first in the definition on a tie.
    None for a method without one."""
    found = [i for i in method.indicators
             if method.measures[i.denominator].basis == "dossier_settlement"
             and method.measures[i.numerator].on_time_finished is not None]
    return max(found, key=lambda i: i.max).id if found else None


def is_running(period: Period, now: datetime | None = None) -> bool:
    """Whether ``period`` has begun and not ended at ``now``."""
    today = local_now(now).date()
    return period.start <= today <= period.end


def period_until(period: Period, now: datetime | None = None) -> date | None:
    """The day a running period's figures are "until" (today), or None for a period that
    is over (or has not begun)."""
    return local_now(now).date() if is_running(period, now) else None


def until_label(period: Period, now: datetime | None = None) -> str:
    """The words every front end puts after a running period's name: "đến 06/12/2026";
    empty for a period that is over."""
    day = period_until(period, now)
    return _("to {date}").format(date=day.strftime("%d/%m/%Y")) if day else ""


def method_for(method_id: str | None) -> Method:
    method = loader.load(method_id, kind="flat") if method_id else loader.default_method("766")
    assert isinstance(method, Method)  # kind="flat" loads flat methods only
    return method


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
    scored = [v for v in units.list_units(session, as_of=day, within=root.code) if v.level in SCORED_LEVELS]
    # One walk over the lineage for every unit: a query per unit made this the slowest step.
    feeders = units.feeders_of(session, [v.code for v in scored])
    for view in scored:
        members = tuple(sorted(f.code for f in feeders[view.code]))
        result.append(compute.Target(view.code, view.level, members))
    result.append(compute.Target(root.code, "province", tuple(sorted(everything))))
    return result


def overdue(session: Session, store: DossierStore, period: Period, *, at: datetime) -> dict[str, tuple[int, Any]]:
    """Dossiers received, open and past their due time at ``at`` (local time), counted for the units
    scored in ``period`` (a former unit's dossiers count for the unit that replaced it; the
    province is not one of them): {unit: (count, oldest due time)}."""
    owner: dict[str, str] = {}
    for t in targets(session, period):
        if t.level != "province":
            for m in t.members:
                owner.setdefault(m, t.code)
    con = store.connect()
    try:
        found = con.execute(
            "SELECT unit_code, count(*), min(due_at) FROM dossiers WHERE received_at <= ? AND due_at < ? "
            "AND (finished_at IS NULL OR finished_at > ?) AND NOT list_contains(?, status) GROUP BY unit_code",
            [at, at, at, list(compute.NOT_RECEIVED)]).fetchall()
    finally:
        con.close()
    out: dict[str, tuple[int, Any]] = {}
    for unit_code, n, oldest in found:
        code = owner.get(unit_code, unit_code)
        count, first = out.get(code, (0, None))
        out[code] = (count + n, oldest if first is None or oldest < first else first)
    return out


def catch_up(store: DossierStore, method_id: str | None = None) -> None:
    """Bring the kept per-day counts of ``method_id`` (default: the 766 default method) up
    to the store's current version, so that the next reader of the index (a page, the
    CLI, the server's warm-up) finds them ready instead of paying for it. Incremental, as
    any reader's catch-up (:func:`chiso.index.kept.counting_connection`): only the dossiers imported since
    the last kept counts are read. Whoever imports calls it after committing (a feed pull
    does, :func:`chiso.feeds.service.pull`)."""
    counting_connection(store, method_for(method_id)).close()


def _names(session: Session, codes: Sequence[str], day: date) -> dict[str, str]:
    return units.names_on(session, codes, day)


def compute_scores(
    session: Session, store: DossierStore, period: Period, *, method: Method, extra_periods: Sequence[Period] = (),
    at_version: int | None = None, now: datetime | None = None, engine: str | None = None,
) -> Computed:
    """Scores of every target for ``period`` and ``extra_periods``: {period code: {unit: Scored}}.

    ``at_version``: from the records as the store held them at that version (the unit
    registry and the method are today's). ``now`` (default: the current time; for
    ``--as-of``, that moment): open dossiers of a period still running then are judged
    then. ``engine`` counts the measures with DuckDB here or on Apache Spark
    (:mod:`chiso.index.spark`); default: the setting ``engine``."""
    today = local_now(now).date()
    tgts = targets(session, period)
    periods = [period, *extra_periods]
    if _engine(engine) == "spark":
        from chiso.index import spark

        counting = spark.Counting(store, method, at_version=at_version)
        try:
            active = counting.active_units()
            tgts = [t for t in tgts if t.level != "agency" or active & set(t.members)]
            with compute.gc_paused():
                counts = counting.period_counts(tgts, periods, today=today)
        finally:
            counting.close()
    else:
        con = counting_connection(store, method, at_version=at_version)
        try:
            # An agency that never received a dossier handles no procedure: the index does not
            # score it (Party bodies, the Fatherland Front...). Communes are always scored.
            active = {r[0] for r in con.execute("SELECT DISTINCT unit FROM day_counts").fetchall()}
            tgts = [t for t in tgts if t.level != "agency" or active & set(t.members)]
            with compute.gc_paused():  # tens of thousands of small dicts, no cycles
                counts = compute.period_counts(con, method, tgts, periods, today=today)
        finally:
            con.close()
    names = _names(session, [t.code for t in tgts], period.end)
    with compute.gc_paused():
        scores = score_many(method, counts, {t.code: t.level for t in tgts})
    _adjust(session, method, scores, [p.code for p in periods])
    out: dict[str, dict[str, Scored]] = {}
    for p in periods:
        out[p.code] = {
            t.code: Scored(t, names[t.code], scores[(t.code, p.code)], counts[(t.code, p.code)]) for t in tgts
        }
    return tgts, out


def _adjust(session: Session, method: Method, scores: dict[Any, UnitScore], periods: Sequence[str]) -> None:
    """Apply the adjustments in force (technical deductions, :mod:`chiso.adjustments`) to
    the scores, in place. A unit without a total (no group applies) keeps none."""
    from chiso.adjustments import service as adjustments

    for key, entered in adjustments.in_force(session, index=method.family, periods=periods).items():
        score = scores.get(key)
        if score is not None and score.computed_total is not None:
            scores[key] = apply_adjustments(score, entered)


def index_766(
    session: Session,
    store: DossierStore,
    period: Period,
    *,
    unit: str | None = None,
    group: str | None = None,
    method_id: str | None = None,
    at_version: int | None = None,
    now: datetime | None = None,
    engine: str | None = None,
    computed: Computed | None = None,
) -> list[dict[str, Any]]:
    """One object per unit, the shape of ``chiso index 766 --format json``. ``now``
    (default: the current time): the moment a running period is judged at; with
    ``at_version``, as the store held its records then (see :func:`compute_scores`).

    ``computed``: what :func:`compute_scores` gave for ``period`` and the one before it
    (:func:`scores_and_previous`) with the same method and moment, when the caller keeps
    it: a server ranks every group of a period from one count instead of one per group."""
    now = local_now(now)  # one moment for the whole answer
    method = method_for(method_id)
    previous = period.previous()
    tgts, scored = computed or scores_and_previous(session, store, period, method=method, at_version=at_version,
                                                   now=now, engine=engine)
    until = period_until(period, now)
    current, before = scored[period.code], scored[previous.code]

    if group:
        members = {u.code for u in units.group_members(session, group, as_of=period.end)}
        cohorts: dict[str, list[str]] = {"group": [t.code for t in tgts if t.code in members]}
    else:
        cohorts = {}
        for t in tgts:
            cohorts.setdefault(t.level, []).append(t.code)
    # The province alone has no peers here (its national rank comes from the portal).
    unranked = set(cohorts.pop("province", []))
    rows = []
    for cohort in cohorts.values():
        # Ranks compare the totals as published (two decimals): equal printed scores tie.
        ranks = published_rank({c: current[c].score.total for c in cohort}, decimals=method.ranking_precision)
        prev_ranks = published_rank({c: before[c].score.total for c in cohort}, decimals=method.ranking_precision)
        moved = changes(
            {c: (ranks[c], current[c].score.total) for c in cohort},
            {c: (prev_ranks[c], before[c].score.total) for c in cohort},
        )
        for code in cohort:
            rows.append(_row(method, period, current[code], ranks[code], prev_ranks[code], moved.get(code),
                             before[code], until))
    for code in unranked:
        # No rank, but its total moves all the same.
        moved = changes({code: (None, current[code].score.total)}, {code: (None, before[code].score.total)})
        rows.append(_row(method, period, current[code], None, None, moved.get(code), before[code], until))
    for row in rows:
        if row["level"] == "province":
            _add_national(session, row, period)
    if unit:
        target = units.get(session, unit, on=period.end).code
        rows = [r for r in rows if r["unit"] == target]
        if not rows:
            raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    rows.sort(key=lambda r: (r["level"], r["rank"] is None, r["rank"] or 0, r["unit"]))
    return rows


def scores_and_previous(
    session: Session, store: DossierStore, period: Period, *, method: Method, at_version: int | None = None,
    now: datetime | None = None, engine: str | None = None,
) -> Computed:
    """:func:`compute_scores` of ``period`` and the period before it: what a ranking with
    its change needs (:func:`index_766`)."""
    return compute_scores(session, store, period, method=method, extra_periods=[period.previous()],
                          at_version=at_version, now=now, engine=engine)


def _add_national(session: Session, row: dict[str, Any], period: Period) -> None:
    """The province's national standing as the portal published it for ``period``
    (``chiso published import``), when it is held."""
    from chiso.standing import service as standing

    got = standing.national(session, index="766", period=period.code, unit=row["unit"])
    if got is not None:
        row.update(national_total=got["total"], national_rank=got["rank"], national_of=got["of"],
                   national_rank_change=got["rank_change"])


def _row(method: Method, period: Period, s: Scored, rank: int | None, prev_rank: int | None, moved: Any,
         before: Scored,
         until: date | None) -> dict[str, Any]:
    score = s.score
    return {
        "unit": s.target.code,
        "name": s.name,
        "level": s.target.level,
        "period": period.code,
        # A period still running: its figures are until this day (open dossiers judged now).
        "running": until is not None,
        "until": until.isoformat() if until else None,
        "method": method.id,
        "total": score.total,
        "max_total": score.max_total,
        # The total before technical deductions, and the deductions in force.
        "computed_total": score.computed_total,
        "adjustments": [{"id": a.id, "points": a.points, "reason": a.reason, "author": a.author,
                         "indicator": a.indicator, "group": a.group} for a in score.adjustments],
        "band": score.band,
        "band_name": band_name(method.bands, score.band),
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


def explain(
    session: Session, store: DossierStore, period: Period, *, unit: str, indicator: str, method_id: str | None = None,
    at_version: int | None = None, now: datetime | None = None, engine: str | None = None,
) -> dict[str, Any]:
    """The records behind one indicator of one unit and period (a running period judged at
    ``now``, as :func:`index_766` does; as of ``at_version``; selected by ``engine``, default
    the setting ``engine``). A measure that sums a value over its records lists the records
    and gives the sum."""
    now = local_now(now)
    method = method_for(method_id)
    ind = _indicator(method, indicator)
    tgt = next((t for t in targets(session, period) if t.code == units.get(session, unit, on=period.end).code), None)
    if tgt is None:
        raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    con: Any  # a DuckDB connection, or the Spark engine's with the same calls
    if _engine(engine) == "spark":
        from chiso.index import spark

        con = spark.connect(store, at_version=at_version)
    else:
        con = store.connect(at_version=at_version)
        compute.prepare(con)
    try:
        until = period_until(period, now)
        out: dict[str, Any] = {"unit": tgt.code, "period": period.code, "indicator": ind.id, "method": method.id,
                               "running": until is not None, "until": until.isoformat() if until else None,
                               "adjustments": adjustments_about(session, method, tgt.code, period, ind.id)}
        for side, (measure, ids, value) in _record_ids(con, method, ind, period, tgt.members,
                                                         today=now.date()).items():
            out[f"{side}_measure"] = measure
            out[f"{side}_ids"] = ids
            if ids is not None:
                out[side] = value
        return out
    finally:
        con.close()


def adjustments_about(session: Session, method: Method, unit: str, period: Period, indicator: str) -> list[dict[str, Any]]:
    """The adjustments in force on ``unit``'s score for ``period`` that concern ``indicator``
    or its group (:mod:`chiso.adjustments`)."""
    from chiso.adjustments import service as adjustments

    group = next((g.id for g in method.groups if any(i.id == indicator for i in g.indicators)), None)
    return [a for a in adjustments.list_adjustments(session, unit=unit, period=period.code, index=method.family,
                                                    withdrawn=False)
            if a["indicator"] == indicator or (a["group"] is not None and a["group"] == group)]


def _indicator(method: Method, indicator: str) -> Indicator:
    try:
        return method.indicator(indicator)
    except KeyError:
        raise NotFound(_("Unknown indicator {id} in method {method}.").format(id=indicator, method=method.id)) from None


def _record_ids(con: duckdb.DuckDBPyConnection, method: Method, ind: Indicator, period: Period, members: Sequence[str], *,
                today: date | None = None) -> dict[str, tuple[str, list[Any] | None, float | None]]:
    """{"numerator" | "denominator": (measure, ids of the records it counts or None when it
    is not a set of records, its value over them: their number, or the sum of a summed
    measure)} over the views of ``con``; a running period's open records judged on
    ``today`` (see :func:`chiso.index.compute.judged_until`)."""
    out: dict[str, tuple[str, list[Any] | None, float | None]] = {}
    for side, measure in (("numerator", ind.numerator), ("denominator", ind.denominator)):
        m = method.measures[measure]
        if not compute.listable(method, measure):
            out[side] = (measure, None, None)  # not a set of records; the counts say it
            continue
        sql, params = compute.explain_sql(method, measure, period, today=today)
        params = {**params, "units": list(members)}
        ids = [r[0] for r in con.execute(sql, params).fetchall()]
        value: float = len(ids)
        if m.sum:  # the same records, their values summed
            tail = sql.split(" FROM ", 1)[1]
            total = f"SELECT {compute.sum_sql(m)} FROM {tail.removesuffix(' ORDER BY id')}"
            value = float(compute.one_row(con.execute(total, params))[0])
        out[side] = (measure, ids, value)
    return out


# ---------------------------------------------------------------------------- diff

#: What of a unit's row and of each indicator the diff compares.
_UNIT_FIELDS = ("total", "rank", "band")
_INDICATOR_FIELDS = ("numerator", "denominator", "rate", "points", "applicable")


def version_moment(store: DossierStore, number: int) -> datetime | None:
    """When version ``number`` was committed (None when the store tells no time): the
    moment a running period is judged at when shown as of that version."""
    made = [v for v in store.versions() if v.number <= number]
    return made[-1].committed_at if made else None


def version_info(store: DossierStore, number: int) -> dict[str, Any]:
    """{"version": N, "committed_at": the commit time of the newest import ≤ N}."""
    from chiso.dossiers.store import local_time

    made = [v for v in store.versions() if v.number <= number]
    return {"version": number, "committed_at": local_time(made[-1].committed_at).isoformat() if made else None}


def _changed_records_connection(store: DossierStore, at_version: int,
                                between: dict[str, list[Path]]) -> duckdb.DuckDBPyConnection:
    """A connection on the store as of ``at_version`` whose views hold only the records of
    the kinds in ``between`` that the given segment files touched.

    Those records are read once, into a table the view reads: a diff asks for the records
    of each moved unit and indicator, and through a view of the whole store each of those
    queries scanned every record (at 10 million dossiers, hours for a batch that moved
    every unit)."""
    from chiso.dossiers.schema import record_type
    from chiso.dossiers.store import DossierStore

    con = store.connect(at_version=at_version)
    try:
        for kind, paths in between.items():
            rt = record_type(kind)
            snap = store.snapshot(kind, at_version=at_version)
            keys = (f"SELECT DISTINCT source, {rt.key} FROM {DossierStore.scan_sql(paths)}" if paths else
                    f"SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS {rt.key} WHERE false")
            con.execute(f"CREATE OR REPLACE TEMP TABLE changed_{kind} AS {keys}")
            touched_records(con, rt, snap, f"changed_{kind}", f"changed_{kind}_records", {})
            con.execute(f"CREATE OR REPLACE VIEW {kind} AS SELECT * FROM changed_{kind}_records")
        compute.prepare(con)
        return con
    except BaseException:
        con.close()
        raise


def diff(
    session: Session, store: DossierStore, period: Period, *, from_version: int, to_version: int, method_id: str | None = None,
) -> dict[str, Any]:
    """What moved in the index of ``period`` between two versions of the store: every unit
    whose total, rank, band or an indicator changed, and per changed indicator the records
    that entered or left its numerator and denominator.

    Only records an import in between touched can enter or leave (an untouched record
    counts as it did), so the lists are taken over those alone; when the procedure
    catalogue changed in between, over every dossier (the catalogue fills in facts of
    dossiers that did not state them)."""
    method = method_for(method_id)
    store.check_version(from_version)
    store.check_version(to_version)
    rows = {}
    # Each side judged as it was when its version was the newest (as `--version N` is).
    moments = {side: version_moment(store, number) for side, number in (("from", from_version), ("to", to_version))}
    for side, number in (("from", from_version), ("to", to_version)):
        rows[side] = {r["unit"]: r for r in index_766(session, store, period, method_id=method_id, at_version=number,
                                                      now=moments[side])}
    low, high = sorted((from_version, to_version))
    between = {kind: [s.path for s in store.segments(kind) if s.kind == "seg" and low < s.seq <= high]
               for kind in ("dossiers", "feedback")}
    if store.kind_versions(low)["procedures"] != store.kind_versions(high)["procedures"]:
        between.pop("dossiers")
    members = {t.code: t.members for t in targets(session, period)}
    result: dict[str, Any] = {
        "period": period.code, "method": method.id,
        "from": version_info(store, from_version), "to": version_info(store, to_version), "units": [],
    }
    units: list[dict[str, Any]] = []
    wanted: dict[str, set[str]] = {}  # indicator: the units whose records are listed
    for code in sorted(rows["from"].keys() | rows["to"].keys()):
        before, after = rows["from"].get(code), rows["to"].get(code)
        moved = {}
        for ind in method.indicators:
            was = _fields((before or {}).get("indicators", {}).get(ind.id), _INDICATOR_FIELDS)
            became = _fields((after or {}).get("indicators", {}).get(ind.id), _INDICATOR_FIELDS)
            if was != became:
                moved[ind.id] = {"from": was, "to": became}
                if code in members:
                    wanted.setdefault(ind.id, set()).add(code)
        head_before, head_after = _fields(before, _UNIT_FIELDS), _fields(after, _UNIT_FIELDS)
        if head_before == head_after and not moved:
            continue
        any_row = after or before
        assert any_row is not None  # the code is in one of the two versions
        units.append({"unit": code, "name": any_row["name"], "level": any_row["level"],
                      "from": head_before, "to": head_after, "indicators": moved})
    # The records behind each moved indicator: one query per indicator, side and part for
    # every unit it moved in (a query per unit took a minute at 10 million dossiers).
    if wanted:
        ids = {side: _changed_ids(store, number, between, method, wanted, members, period,
                                  today=local_now(moments[side]).date())
               for side, number in (("from", from_version), ("to", to_version))}
        for row in units:
            for ind_id, entry in row["indicators"].items():
                if row["unit"] not in wanted.get(ind_id, ()):
                    continue
                for part in ("numerator", "denominator"):
                    old, new = (ids[side][(ind_id, part)] for side in ("from", "to"))
                    old_ids = None if old is None else old.get(row["unit"], set())
                    new_ids = None if new is None else new.get(row["unit"], set())
                    entry[f"{part}_entered"] = None if new_ids is None else sorted(new_ids - (old_ids or set()))
                    entry[f"{part}_left"] = None if old_ids is None else sorted(old_ids - (new_ids or set()))
    result["units"] = units
    return result


def _changed_ids(store: DossierStore, version: int, between: dict[str, list[Path]], method: Method,
                 wanted: dict[str, set[str]], members: Mapping[str, Sequence[str]], period: Period, *,
                 today: date) -> dict[tuple[str, str], dict[str, set[Any]] | None]:
    """{(indicator, "numerator" | "denominator"): {target: ids of the records it counts} or
    None when the measure is not a set of records}, over the records an import between the
    diff's versions touched, as they stood at ``version``; for the targets of ``wanted``."""
    out: dict[tuple[str, str], dict[str, set[Any]] | None] = {}
    con = _changed_records_connection(store, version, between)
    try:
        for ind_id, codes in wanted.items():
            ind = _indicator(method, ind_id)
            owners: dict[str, list[str]] = {}  # unit: the targets it is a member of
            for code in codes:
                for unit in members[code]:
                    owners.setdefault(unit, []).append(code)
            for part, measure in (("numerator", ind.numerator), ("denominator", ind.denominator)):
                if not compute.listable(method, measure):
                    out[(ind_id, part)] = None  # not a set of records; the counts say it
                    continue
                sql, params = compute.explain_sql(method, measure, period, today=today, with_unit=True)
                found: dict[str, set[Any]] = {}
                for unit, rid in con.execute(sql, {**params, "units": list(owners)}).fetchall():
                    for code in owners.get(unit, ()):
                        found.setdefault(code, set()).add(rid)
                out[(ind_id, part)] = found
    finally:
        con.close()
    return out


def _fields(row: dict[str, Any] | None, names: Sequence[str]) -> dict[str, Any] | None:
    return None if row is None else {n: row.get(n) for n in names}
