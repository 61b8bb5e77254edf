"""Counting the measures of an index for every unit, rollup and period, in one pass.

The 766 measures are counts (or sums) of records that satisfy a per-record condition,
placed in periods by a *basis* (docs/methodology/766.md#periods-and-counted-records):

- ``dossier_received``: the period that contains ``received_at``;
- ``dossier_finished``: the period that contains ``finished_at``;
- ``dossier_settlement`` (indicator 2.1): every dossier received before the period's end and
  not finished before its start; with an ``on_time`` rule, a member is on time when it
  finished within the period and ``on_time.finished`` holds, or is still open at the period's
  end and that end is no later than ``on_time.open_until`` (its appointment plus the time
  spent waiting for the applicant). A period that is still running is judged *now*: an open
  dossier is on time or late as of the start of today (:func:`judged_until`), not as of a
  period end that has not come;
- ``feedback``: the period that contains the feedback's ``received_at``;
- ``procedure``: catalogue rows, with the period's bounds as parameters (the catalogue is
  small);
- ``derived``: arithmetic over other measures of the same unit and period.

Why it is fast: every period bound is a midnight, so each of those rules reduces to counts
of records per unit and *day* and differences of their running totals:

    received in [s, e)           = R(<e) - R(<s)
    settlement population [s, e) = R(<e) - F(<s)
    on time in [s, e), judged at c = OK(<c) - OK(<s) + R(<e) - M(<c)

where R, F and OK count records by the day they were received, finished, and finished on
time, and M by the day of ``max(received_at, min(finished_at, open_until))``: a record
received before ``c`` with M ≥ ``c`` is exactly one still open at ``c`` and not yet late
(and one received in [c, e) is not late at c either). c, the moment open dossiers are judged
at, is the period's end ``e`` for a period that is over and the start of today for one still
running (:func:`judged_until`): a midnight either way, so the per-day counts serve both. One
scan of the store builds the per-day table; every unit × every period of a year is then a
small join. The same conditions, written per period, select the records of
:func:`explain_sql`, so the ids behind a number always add up to it (a test checks it).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Iterator, Sequence

import duckdb

from chiso.index import presence
from chiso.index.records import (  # the records counted; also known as compute.* to their callers
    FAR_FUTURE as FAR_FUTURE,
    NOT_RECEIVED as NOT_RECEIVED,
    PLAIN,
    feedback_records_sql as feedback_records_sql,
    judged_until as judged_until,
    prepare as prepare,
    records_sql as records_sql,
    workdays as workdays,
    workdays_fingerprint as workdays_fingerprint,
)
from chiso.scoring.model import Measure, Method
from chiso.periods import Period


@dataclass(frozen=True)
class Target:
    """What is scored: a unit with the units whose records count for it (itself and the
    former units it replaced; for a province or a group rollup, every unit in it)."""

    code: str
    level: str
    members: tuple[str, ...]


def _col(measure: str, part: str) -> str:
    return f'"{measure}::{part}"'


def _value(m: Measure) -> str:
    return f"({m.sum})" if m.sum else "1"


#: Sums (measures with ``sum:``) go into the per-day tables in millionths, rounded per
#: record: whole numbers add and subtract exactly in any order, so the counts an import
#: brings forward equal a full recount to the bit, and a version's figures come out the same
#: to the byte however they were reached (``chiso index 766 --version``). Fractions would
#: differ in the last digit (42.49999999999999 against 42.5).
SUM_SCALE = 1_000_000


def _day_value(m: Measure) -> str:
    return f"round(({m.sum}) * {SUM_SCALE})" if m.sum else "1"


def sum_sql(m: Measure) -> str:
    """The SQL aggregate of a summed measure over its records, rounded per record as the
    per-day tables keep it, so a sum over listed records equals the counted one."""
    return f"coalesce(CAST(sum({_day_value(m)}) AS DOUBLE) / {SUM_SCALE}, 0)"


def _where(m: Measure) -> str:
    return f"({m.where.strip() or 'TRUE'})"


def _parts(method: Method) -> dict[str, list[tuple[str, str, str]]]:
    """For each day-table source (received day, finished day, M day, feedback day): the
    columns it contributes as (column name, SQL aggregate input, extra condition)."""
    parts: dict[str, list[tuple[str, str, str]]] = {"received": [], "finished": [], "feedback": []}
    for name, m in method.measures.items():
        w, v = _where(m), _day_value(m)
        if m.distinct:
            continue  # counted by _distinct_measures
        if m.basis == "dossier_received":
            parts["received"].append((_col(name, "R"), v, w))
        elif m.basis == "dossier_finished":
            parts["finished"].append((_col(name, "F"), v, w))
        elif m.basis == "dossier_settlement":
            parts["received"].append((_col(name, "R"), v, w))
            parts["finished"].append((_col(name, "F"), v, w))
            if m.on_time_finished:
                parts["finished"].append((_col(name, "OK"), v, f"{w} AND ({m.on_time_finished})"))
                # The M day depends on the rule's open_until: one source per distinct rule.
                until = m.on_time_open_until or "received_at"
                parts.setdefault(f"late_day:{until}", []).append((_col(name, "M"), v, w))
        elif m.basis == "feedback":
            parts["feedback"].append((_col(name, "R"), v, w))
    return parts


def _day_sum(col: str, val: str, cond: str) -> str:
    """One column of a per-day scan: the records meeting ``cond`` counted (``count_if``: a
    fifth faster than summing ones over a scan of 2 million) or their ``val`` summed."""
    if val == "1":
        return f"count(*) AS {col}" if cond.strip("() ").upper() == "TRUE" else f"count_if({cond}) AS {col}"
    return f"sum(CASE WHEN {cond} THEN {val} ELSE 0 END) AS {col}"


def _day_sql(method: Method, unit_filter: str, *, records: str = "records",
             feedback: str | None = "feedback_records") -> str:
    """SQL of the per-unit, per-day table of every day-based measure component."""
    return " UNION ALL BY NAME ".join(_day_selects(method, unit_filter, records=records, feedback=feedback))


def _day_selects(method: Method, unit_filter: str, *, records: str = "records",
                 feedback: str | None = "feedback_records") -> list[str]:
    """One SELECT per source of :func:`_day_sql`, each with its own columns (an engine
    without ``UNION ALL BY NAME`` unites them by name itself)."""
    parts = _parts(method)
    selects = []
    for source, cols in parts.items():
        if not cols or (source == "feedback" and feedback is None):
            continue
        if source == "received":
            frm, day = records, "CAST(received_at AS DATE)"
        elif source == "finished":
            frm, day = records, "CAST(finished_at AS DATE)"
        elif source == "feedback":
            assert feedback is not None  # skipped above when there is no feedback
            frm, day = feedback, "CAST(received_at AS DATE)"
        else:
            # "late_day:<open_until>": one scan per distinct on-time rule (the 766 methods have one).
            until = source.split(":", 1)[1]
            frm = records
            day = (f"CAST(greatest(received_at, least(coalesce(finished_at, {FAR_FUTURE}), "
                   f"coalesce({until}, received_at))) AS DATE)")
        aggs = ", ".join(_day_sum(col, val, cond) for col, val, cond in cols)
        extra = " AND finished_at IS NOT NULL" if source == "finished" else ""
        selects.append(
            f"SELECT unit_code AS unit, {day} AS day, {aggs} FROM {frm} "
            f"WHERE received_at IS NOT NULL{extra}{unit_filter} GROUP BY ALL"
        )
    return selects


def day_table(con: duckdb.DuckDBPyConnection, method: Method, *, units: Iterable[str] | None = None,
              keys_to: str | None = None) -> str:
    """Build (or rebuild, for some units) the tables ``day_counts`` and ``day_keys`` and
    return the first one's name.

    Two scans of the records (:func:`_two_pass_sql`) where the method allows it, instead
    of one per day source and per key label (seven for 766): each scan paid for the
    store's view and the catalogue join again. The tables are those of :func:`_day_sql`
    and :func:`_keys_sql`, to the value (a test compares them).

    ``keys_to``: a Parquet file the key counts are written to straight from the scan, and
    ``day_keys`` a view of that file: 1.2 million rows at 2M dossiers are not made into a
    table only to be copied out (0.3 s a table, 0.3 s its copy; 0.4 s written at once)."""
    prepare(con)
    unit_filter = ""
    if units is not None:
        codes = ", ".join("'" + u.replace("'", "''") + "'" for u in units)
        unit_filter = f" AND unit_code IN ({codes or 'NULL'})"
    cols = [c for cs in _parts(method).values() for c, _v, _w in cs]
    summed = ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in cols)
    plan = _two_pass_sql(method, unit_filter)
    if plan is None:
        sql = _day_sql(method, unit_filter)
        con.execute(f"CREATE OR REPLACE TEMP TABLE day_counts AS SELECT unit, day, {summed} FROM ({sql}) GROUP BY unit, day")
        _keys_table(con, _keys_sql(method, "records", unit_filter), keys_to)
        return "day_counts"
    scans, day_parts, keys = plan
    try:
        for table, scan in scans.items():
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {scan}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE day_counts AS SELECT unit, day, {summed} "
                    f"FROM ({' UNION ALL BY NAME '.join(day_parts)}) GROUP BY unit, day")
        _keys_table(con, keys, keys_to)
    finally:
        for table in scans:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return "day_counts"


def _keys_table(con: duckdb.DuckDBPyConnection, sql: str, keys_to: str | None) -> None:
    if keys_to is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE day_keys AS {sql}")
        return
    literal = "'" + keys_to.replace("'", "''") + "'"
    con.execute(f"COPY ({sql}) TO {literal} (FORMAT parquet)")
    con.execute("DROP TABLE IF EXISTS day_keys")
    con.execute(f"CREATE OR REPLACE TEMP VIEW day_keys AS SELECT * FROM read_parquet({literal})")


def _two_pass_sql(method: Method, unit_filter: str) -> tuple[dict[str, str], list[str], str] | None:
    """({temp table: the scan of ``records`` that fills it}, the SELECTs of the day sources
    over those tables, the SELECT of ``day_keys`` over them), or None when the key counts
    do not share one key expression (each label is then counted by its own scan).

    ``day_pass_r`` groups the records by unit, received day and key, with the received
    components and every label's count; ``day_pass_f`` by unit, finished day and each M
    day, with the finished and on-time components. The day sources then sum a few hundred
    thousand groups, not the records. (One scan by grouping sets was slower in DuckDB than
    these two.) Feedback is another relation, scanned apart as before."""
    parts = _parts(method)
    sources = _key_sources(method)

    def as_text(key: str) -> str:
        return key if key.startswith("CAST(") and key.endswith(" AS VARCHAR)") else f"CAST({key} AS VARCHAR)"

    key_exprs = {as_text(k) for _l, k, _c in sources}
    if len(key_exprs) > 1:
        return None
    key = next(iter(key_exprs), "NULL::VARCHAR")
    late = [s for s in parts if s.startswith("late_day:")]
    m_days = [(f"_m{i}", f"CAST(greatest(received_at, least(coalesce(finished_at, {FAR_FUTURE}), "
                          f"coalesce({s.split(':', 1)[1]}, received_at))) AS DATE)") for i, s in enumerate(late)]

    # A component computed twice in one scan (the records received, say, are the population
    # of three measures and the key count of a fourth) is aggregated once: each aggregate
    # costs about as much as the grouping itself (2M records: 0.03 s each).
    same: dict[str, str] = {}  # column -> the column of the scan that holds its value

    def sums(cols: list[tuple[str, str, str]]) -> list[str]:
        out: list[str] = []
        seen: dict[str, str] = {}
        for col, val, cond in cols:
            expr = _day_sum(col, val, cond).rsplit(" AS ", 1)[0]
            if expr in seen:
                same[col] = seen[expr]
                continue
            seen[expr] = col
            out.append(f"{expr} AS {col}")
        return out

    labels = [f"_k{i}" for i in range(len(sources))]
    received = sums(parts["received"] + [(k, "1", cond) for k, (_l, _e, cond) in zip(labels, sources)])
    finished = sums(parts["finished"] + [c for s in late for c in parts[s]])
    where = f"FROM records WHERE received_at IS NOT NULL{unit_filter} GROUP BY ALL"
    scans = {}
    if received:
        head = f"SELECT unit_code AS unit, CAST(received_at AS DATE) AS _r, {key} AS _key, {', '.join(received)} "
        # The received day's measures rarely read the statutory deadline: then the view
        # without it serves (the same rows, 0.2 s less at 10 million).
        scans["day_pass_r"] = head + (where if "statutory_until" in head else where.replace("FROM records ",
                                                                                               f"FROM {PLAIN} ", 1))
    if finished:
        scans["day_pass_f"] = (f"SELECT unit_code AS unit, CAST(finished_at AS DATE) AS _f, "
                               f"{''.join(f'{d} AS {n}, ' for n, d in m_days)}{', '.join(finished)} {where}")
    day_parts = []
    for source, cols in parts.items():
        if not cols or source == "feedback":
            continue
        summed = ", ".join(f"sum({same.get(c, c)}) AS {c}" for c, _v, _w in cols)
        if source == "received":
            day_parts.append(f"SELECT unit, _r AS day, {summed} FROM day_pass_r GROUP BY ALL")
        elif source == "finished":
            day_parts.append(f"SELECT unit, _f AS day, {summed} FROM day_pass_f WHERE _f IS NOT NULL GROUP BY ALL")
        else:
            day_parts.append(f"SELECT unit, _m{late.index(source)} AS day, {summed} FROM day_pass_f GROUP BY ALL")
    day_parts += [s for s in _day_selects(method, unit_filter) if " FROM feedback_records " in s]
    if not day_parts:
        return None
    keys = " UNION ALL ".join(
        f"SELECT unit, _r AS day, '{label}' AS label, _key AS key, CAST({same.get(k, k)} AS BIGINT) AS n "
        f"FROM day_pass_r WHERE {same.get(k, k)} > 0"
        for k, (label, _e, _c) in zip(labels, sources)) or _keys_sql(method, "records")
    return scans, day_parts, keys


#: The label of the keys that say which procedures received an online dossier.
ONLINE = "__online_procedure__"
#: The label of the keys that say which procedures received a dossier paid online.
PAID_ONLINE = "__paid_online_procedure__"
#: Per-period flags of a catalogue row, each from the keys of one label: the column a
#: procedure measure reads, the label, and which dossiers set it.
PROCEDURE_FLAGS = (
    ("has_online_dossier", ONLINE, "channel = 'online'"),
    ("has_paid_online_dossier", PAID_ONLINE, "COALESCE(paid_online, FALSE)"),
)
FLAG_LABELS = tuple(label for _c, label, _w in PROCEDURE_FLAGS)


def _flags(method: Method) -> list[tuple[str, str, str]]:
    """The procedure flags ``method`` reads (``has_online_dossier`` whenever it has
    catalogue measures, as it always did; the others when a ``where`` names them)."""
    measures = [m for m in method.measures.values() if m.basis == "procedure"]
    if not measures:
        return []
    return [f for f in PROCEDURE_FLAGS
            if f[1] == ONLINE or any(f[0] in (m.where or "") for m in measures)]


def _key_sources(method: Method) -> list[tuple[str, str, str]]:
    """(label, key expression, condition) of every per-day key count: each distinct measure,
    and the procedures with an online dossier, or one paid online (the catalogue's per-period
    flags)."""
    out = [(n, f"CAST({m.distinct} AS VARCHAR)", _where(m)) for n, m in method.measures.items()
           if m.distinct and m.basis == "dossier_received"]
    out += [(label, "procedure_code", cond) for _c, label, cond in _flags(method)]
    return out


def _keys_sql(method: Method, records: str, unit_filter: str = "") -> str:
    """Per unit, day, label and key: how many records. Counts, not flags, so that an
    import's change can be added and subtracted like the day counts."""
    selects = [
        f"SELECT unit_code AS unit, CAST(received_at AS DATE) AS day, '{label}' AS label, {key} AS key, "
        f"count(*) AS n FROM {records} WHERE received_at IS NOT NULL AND {cond}{unit_filter} GROUP BY ALL"
        for label, key, cond in _key_sources(method)
    ]
    if not selects:
        return "SELECT NULL::VARCHAR AS unit, NULL::DATE AS day, NULL::VARCHAR AS label, NULL::VARCHAR AS key, 0::BIGINT AS n WHERE FALSE"
    return " UNION ALL ".join(selects)


@dataclass(frozen=True)
class Change:
    """What an import changed in the per-day counts: the units, and the earliest day whose
    counts moved. A period's measures are differences of running totals at its bounds, so
    only periods ending after that day can have moved."""

    units: frozenset[str]
    first_day: date | None

    def periods(self, periods: Sequence[Period]) -> list[Period]:
        if self.first_day is None:
            return []
        return [p for p in periods if p.end >= self.first_day]


def apply_changes(con: duckdb.DuckDBPyConnection, method: Method, *, old: str, new: str) -> Change:
    """Bring ``day_counts`` up to date after an import without rescanning the store:
    add the day counts of the new versions of the changed dossiers (relation ``new``) and
    subtract those of the versions they replaced (relation ``old``). Both relations have
    the dossier columns; ``old`` is empty for dossiers seen for the first time.

    Tables ``day_counts`` and ``day_keys`` are changed in place (MERGE). Views (over kept
    files, :func:`chiso.index.kept.counting_connection`) become views of the kept rows
    joined with the change, ``_kept`` added to the old views' names: written out once by
    the caller, that costs half of loading the files into tables and merging (at 10M
    dossiers, 0.4 s for the keys)."""
    dossier_cols = [c for source, cs in _parts(method).items() if source != "feedback" for c, _v, _w in cs]
    prepare(con, dossiers=old, name="records_old")
    prepare(con, dossiers=new, name="records_new")
    added = _day_sql(method, "", records="records_new", feedback=None)
    removed = _day_sql(method, "", records="records_old", feedback=None)
    negated = ", ".join(f"-{c} AS {c}" for c in dossier_cols)
    # The change in the column types of the table it is merged into: the kept tables come
    # back from Parquet with DOUBLE columns where the sums are HUGEINT, and DuckDB's MERGE
    # of the two took 1-2 s for 6,000 changed days (a feed's 10,000 dossiers spread over a
    # quarter) where a delta of the table's own types takes 10-40 ms (a cast in the SET
    # clause does not help). Whole numbers either way (SUM_SCALE): the cast is exact.
    types = {name: typ for name, typ, *_rest in con.execute("DESCRIBE day_counts").fetchall()}
    summed = ", ".join(f"CAST(coalesce(sum({c}), 0) AS {types[c.strip(chr(34))]}) AS {c}" for c in dossier_cols)
    # Merge the (small) change into the tables rather than rebuilding them.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE day_delta AS
        SELECT unit, day, {summed} FROM (
            ({added}) UNION ALL BY NAME SELECT unit, day, {negated} FROM ({removed})
        ) GROUP BY unit, day
    """)
    # Days new to the table have no feedback counts yet: zero, as a full count gives them.
    others = [c for source, cs in _parts(method).items() if source == "feedback" for c, _v, _w in cs]
    current = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'day_counts' AND temporary").fetchone()
    overlay = current is not None
    if current is not None and "day_counts_kept" in current[0]:
        # The views below join the kept rows with this change alone; a second change on
        # them would drop the rows the first one reads.
        raise RuntimeError("apply_changes: the previous change is not written out yet (kept._keep)")
    if overlay:
        for view in ("day_counts", "day_keys"):
            con.execute(f"DROP VIEW IF EXISTS {view}_kept; ALTER VIEW {view} RENAME TO {view}_kept")
        # The columns in the kept table's order and types, as MERGE leaves them.
        columns = [
            f"coalesce(t.{c}, 0) + coalesce(d.{c}, 0) AS {c}" if c in dossier_cols else f"coalesce(t.{c}, 0) AS {c}"
            for c in (f'"{name}"' if "::" in name else name for name in types) if c not in ("unit", "day")
        ]
        con.execute(f"CREATE TEMP VIEW day_counts AS SELECT coalesce(t.unit, d.unit) AS unit, "
                    f"coalesce(t.day, d.day) AS day, {', '.join(columns)} "
                    f"FROM day_counts_kept t FULL JOIN day_delta d ON t.unit = d.unit AND t.day = d.day")
    else:
        updates = ", ".join(f"{c} = t.{c} + d.{c}" for c in dossier_cols)
        con.execute(f"""
            MERGE INTO day_counts t USING day_delta d ON t.unit = d.unit AND t.day = d.day
            WHEN MATCHED THEN UPDATE SET {updates}
            WHEN NOT MATCHED THEN INSERT BY NAME
        """)
        if others:
            con.execute("UPDATE day_counts SET " + ", ".join(f"{c} = coalesce({c}, 0)" for c in others)
                        + " WHERE " + " OR ".join(f"{c} IS NULL" for c in others))
    n_type = next(typ for name, typ, *_rest in con.execute(
        f"DESCRIBE day_keys{'_kept' if overlay else ''}").fetchall() if name == "n")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE key_delta AS
        SELECT unit, day, label, key, CAST(sum(n) AS {n_type}) AS n FROM (
            {_keys_sql(method, "records_new")}
            UNION ALL SELECT unit, day, label, key, -n FROM ({_keys_sql(method, "records_old")})
        ) GROUP BY ALL HAVING sum(n) <> 0
    """)
    if overlay:
        con.execute("""
            CREATE TEMP VIEW day_keys AS SELECT coalesce(t.unit, d.unit) AS unit, coalesce(t.day, d.day) AS day,
                coalesce(t.label, d.label) AS label, coalesce(t.key, d.key) AS key, coalesce(t.n, 0) + coalesce(d.n, 0) AS n
            FROM day_keys_kept t FULL JOIN key_delta d
            ON t.unit = d.unit AND t.day = d.day AND t.label = d.label AND t.key = d.key
        """)
    else:
        con.execute("""
            MERGE INTO day_keys t USING key_delta d
            ON t.unit = d.unit AND t.day = d.day AND t.label = d.label AND t.key = d.key
            WHEN MATCHED THEN UPDATE SET n = t.n + d.n
            WHEN NOT MATCHED THEN INSERT BY NAME
        """)
    # A new version that counts exactly as the old one (a corrected flag no measure reads,
    # a dossier finished after a period's end) moves nothing.
    moved = " OR ".join(f"{c} <> 0" for c in dossier_cols) or "FALSE"
    units, first = one_row(con.execute(f"""
        SELECT list(DISTINCT unit), min(day) FROM (
            SELECT unit, day FROM day_delta WHERE {moved}
            UNION ALL SELECT unit, day FROM key_delta
        )
    """))
    return Change(frozenset(units or ()), first)


#: {(target, period): {measure: value}}: what the measures of a method count.
Counts = dict[tuple[str, str], dict[str, float]]


def one_row(cur: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The one row of an aggregate query (without GROUP BY there is always one)."""
    row = cur.fetchone()
    assert row is not None
    return row


def period_counts(
    con: duckdb.DuckDBPyConnection,
    method: Method,
    targets: Sequence[Target],
    periods: Sequence[Period],
    *,
    today: date | None = None,
) -> dict[tuple[str, str], dict[str, float]]:
    """Every measure for every target and period: ``{(target code, period code): {measure:
    value}}``. ``day_counts`` must exist (:func:`day_table`). ``today``: the day of "now",
    for periods still running (:func:`judged_until`); None judges every period at its end.

    The result is tens of thousands of small dicts: a caller that keeps many scores alive
    (a server) pauses the cyclic garbage collector around it (:func:`gc_paused`)."""
    return _period_counts(con, method, targets, periods, today)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many small objects that form
    no cycles (per-period counts, scores): collections would otherwise cost as much as the
    work. The switch is process-wide, so nested and concurrent blocks (server threads) count
    how many are inside, and the collector comes back, if it was on, when the last leaves."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def _period_counts(
    con: duckdb.DuckDBPyConnection,
    method: Method,
    targets: Sequence[Target],
    periods: Sequence[Period],
    today: date | None,
) -> dict[tuple[str, str], dict[str, float]]:
    result = _totals(con, method, targets, periods, today)
    presence.present(con, periods)
    _distinct_measures(con, method, periods, result)
    _procedure_measures(con, method, targets, periods, result)
    _province_rollups(method, targets, periods, result)
    _derived_measures(method, result)
    return result


def _totals(
    con: duckdb.DuckDBPyConnection,
    method: Method,
    targets: Sequence[Target],
    periods: Sequence[Period],
    today: date | None,
) -> dict[tuple[str, str], dict[str, float]]:
    """The day-based measures of every target and period, from ``day_counts``; also
    leaves the tables ``scope_members`` and ``periods`` for the steps after it."""
    bounds = sorted({p.start for p in periods} | {p.end + timedelta(days=1) for p in periods}
                    | {judged_until(p, today) for p in periods})
    parts = _parts(method)
    cols = [c for cs in parts.values() for c, _v, _w in cs]
    # One statement per table: executemany would run one INSERT per row.
    con.execute("CREATE OR REPLACE TEMP TABLE bounds AS SELECT unnest($b::DATE[]) AS b", {"b": bounds})
    members = [(t.code, m) for t in targets for m in t.members]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE scope_members AS SELECT unnest($t::VARCHAR[]) AS target, unnest($u::VARCHAR[]) AS unit",
        {"t": [t for t, _m in members], "u": [m for _t, m in members]},
    )
    summed = ", ".join(f"sum(d.{c}) AS {c}" for c in cols)
    bucket_sums = ", ".join(f"sum({c}) AS {c}" for c in cols)
    before = ", ".join(f"coalesce(sum(a.{c}), 0) AS {c}" for c in cols)
    _periods_table(con, periods, today)
    names = [n for n, m in method.measures.items() if _period_sql(n, m) is not None]
    values = ", ".join(
        f'CAST({_period_sql(n, method.measures[n])} AS DOUBLE){f" / {SUM_SCALE}" if method.measures[n].sum else ""} '
        f'AS "{n}"' for n in names)
    # Days are summed into buckets between consecutive period bounds (and one bucket for
    # everything before the first), per unit and then per target (a unit counts in several
    # targets: fewer rows fan out); a bound's total is the sum of the buckets before it,
    # and a period's measures are differences of the totals at its two bounds (a join of
    # the few buckets before each bound, not a window per column: DuckDB plans and runs
    # thirty windows slower than one small grouping). Every
    # count is a whole number (sums in millionths, ``SUM_SCALE``), so the order of the
    # additions cannot change a bit.
    rows = con.execute(f"""
        WITH edges AS (SELECT b FROM bounds UNION ALL SELECT DATE '0001-01-01'),
        per_unit AS (
            SELECT d.unit, e.b, {summed}
            FROM day_counts d ASOF JOIN edges e ON d.day >= e.b
            GROUP BY d.unit, e.b
        ), bucketed AS (
            SELECT s.target, u.b, {bucket_sums}
            FROM per_unit u JOIN scope_members s USING (unit)
            GROUP BY s.target, u.b
        ), grid AS (
            SELECT t.target, e.b FROM (SELECT DISTINCT target FROM scope_members) t CROSS JOIN edges e
        ), cum AS (
            SELECT g.target, g.b, {before}
            FROM grid g LEFT JOIN bucketed a ON a.target = g.target AND a.b < g.b
            GROUP BY g.target, g.b
        )
        SELECT s.target, p.code, {values}
        FROM periods p JOIN cum s ON s.b = p.start JOIN cum e ON e.target = s.target AND e.b = p.stop
             JOIN cum c ON c.target = s.target AND c.b = p.cut
    """).fetchall()
    result: dict[tuple[str, str], dict[str, float]] = {
        (t.code, p.code): dict.fromkeys(names, 0.0) for t in targets for p in periods
    }
    for target, period, *vals in rows:
        result[(target, period)] = dict(zip(names, vals))
    return result


def _period_sql(name: str, m: Measure) -> str | None:
    """A day-based measure over period [s, e) from the running totals at its bounds
    (aliases ``s`` and ``e``, and ``c`` where open dossiers are judged, :func:`judged_until`);
    None for measures counted otherwise."""
    if m.distinct:
        return None

    def at(side: str, part: str) -> str:
        return f'{side}."{name}::{part}"'

    if m.basis in ("dossier_received", "feedback"):
        return f"{at('e', 'R')} - {at('s', 'R')}"
    if m.basis == "dossier_finished":
        return f"{at('e', 'F')} - {at('s', 'F')}"
    if m.basis == "dossier_settlement":
        if m.on_time_finished:
            return f"{at('c', 'OK')} - {at('s', 'OK')} + {at('e', 'R')} - {at('c', 'M')}"
        return f"{at('e', 'R')} - {at('s', 'F')}"
    return None


def _periods_table(con: duckdb.DuckDBPyConnection, periods: Sequence[Period], today: date | None = None) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE periods AS "
        "SELECT unnest($c::VARCHAR[]) AS code, unnest($s::DATE[]) AS start, unnest($e::DATE[]) AS stop, "
        "unnest($j::DATE[]) AS cut",
        {"c": [p.code for p in periods], "s": [p.start for p in periods],
         "e": [p.end + timedelta(days=1) for p in periods], "j": [judged_until(p, today) for p in periods]},
    )


def _distinct_measures(con: duckdb.DuckDBPyConnection, method: Method, periods: Sequence[Period], result: Counts) -> None:
    """Distinct counts (e.g. procedures with at least one dossier paid online)."""
    measures = [n for n, m in method.measures.items() if m.distinct and m.basis == "dossier_received"]
    for key in result:
        result[key].update(dict.fromkeys(measures, 0.0))
    rows = con.execute("SELECT target, period, label, count(*) FROM present WHERE NOT list_contains($o, label) "
                       "GROUP BY ALL", {"o": list(FLAG_LABELS)}).fetchall()
    for target, period, label, n in rows:
        result.setdefault((target, period), {})[label] = float(n)


def _procedure_measures(con: duckdb.DuckDBPyConnection, method: Method, targets: Sequence[Target], periods: Sequence[Period],
                        result: Counts) -> None:
    """Catalogue measures: the procedures a target's level handles, per period.

    A catalogue row's value depends on the target only through its per-period flags
    (``has_online_dossier``, ``has_paid_online_dossier``). So each measure is evaluated once
    per level and period as if no flag held, then corrected, per target, for the few
    procedures that had a flagged dossier."""
    measures = {n: m for n, m in method.measures.items() if m.basis == "procedure"}
    if not measures:
        return
    try:
        con.execute("SELECT 1 FROM procedures LIMIT 1")
    except duckdb.Error:
        return  # no catalogue imported: the measures stay absent (indicators not applicable)
    names = list(measures)
    for t in targets:  # a target without a procedure of its level counts 0, not nothing
        for p in periods:
            result.setdefault((t.code, p.code), {}).update(dict.fromkeys(names, 0.0))
    flags = _flags(method)
    # Every flag column, whether the method reads it or not: a catalogue column of the same
    # name is overridden (the period's columns come before p.*: DuckDB renames the later
    # duplicates and these are read).
    unset = ", ".join(f"FALSE AS {col}" for col, _l, _w in PROCEDURE_FLAGS)

    def evaluated() -> str:
        return (f"SELECT per.code AS period, {unset}, "
                "CAST(per.start AS TIMESTAMP) AS period_start, CAST(per.stop AS TIMESTAMP) AS period_end, p.* "
                "FROM periods per CROSS JOIN procedures p")

    # Summed as DOUBLE, as the counts are kept: a sum of integers is a HUGEINT in DuckDB, and
    # handing 130,000 of those to Python took 0.1 s (a year's periods at 10 million).
    def agg(m: Measure) -> str:
        return f"CAST(coalesce(sum(CASE WHEN {_where(m)} THEN {_value(m)} ELSE 0 END), 0) AS DOUBLE)"

    base = ", ".join(f'{agg(m)} AS "{n}"' for n, m in measures.items())
    for cls, cond in (("commune", _COMMUNE_PROCEDURES), ("other", _OTHER_PROCEDURES)):
        rows = con.execute(f"SELECT period, {base} FROM ({evaluated()}) WHERE {cond} GROUP BY period").fetchall()
        by_period = {r[0]: dict(zip(names, (float(v) for v in r[1:]))) for r in rows}
        for t in targets:
            if (t.level == "commune") == (cls == "commune"):
                for p in periods:
                    result[(t.code, p.code)].update(by_period.get(p.code, {}))

    communes = [t.code for t in targets if t.level == "commune"]
    found = ", ".join(f"bool_or(label = '{label}') AS {col}" for col, label, _w in flags)
    # The flags each found (target, procedure, period) has, then every such row once with
    # its flags (+) and once with none (−, undoing the baseline above).
    as_found = ", ".join(
        f"CASE WHEN f.actual THEN k.{col} ELSE FALSE END AS {col}" if any(col == c for c, _l, _w in flags)
        else f"FALSE AS {col}" for col, _l, _w in PROCEDURE_FLAGS)
    rows = con.execute(f"""
        WITH keyed AS (
            SELECT target, period, key, {found} FROM present
            WHERE list_contains($labels, label) GROUP BY target, period, key
        ), flagged AS (
            SELECT k.target, k.period, {as_found},
                   CAST(per.start AS TIMESTAMP) AS period_start, CAST(per.stop AS TIMESTAMP) AS period_end,
                   p.*, CASE WHEN f.actual THEN 1 ELSE -1 END AS sign
            FROM keyed k
            JOIN periods per ON per.code = k.period
            JOIN procedures p ON p.procedure_code = k.key
            CROSS JOIN (VALUES (TRUE), (FALSE)) f(actual)
            WHERE CASE WHEN list_contains($communes, k.target) THEN {_COMMUNE_PROCEDURES} ELSE {_OTHER_PROCEDURES} END
        )
        SELECT target, period, {", ".join(
            f'CAST(coalesce(sum(CASE WHEN {_where(m)} THEN sign * {_value(m)} ELSE 0 END), 0) AS DOUBLE) AS "{n}"'
            for n, m in measures.items())}
        FROM flagged GROUP BY target, period
    """, {"communes": communes, "labels": [label for _c, label, _w in flags]}).fetchall()
    for target, period, *values in rows:
        counts = result[(target, period)]
        for name, v in zip(names, values):
            counts[name] = counts.get(name, 0.0) + float(v)


# A commune handles commune-level procedures; agencies and rollups the province's. A
# catalogue row without levels applies everywhere.
_COMMUNE_PROCEDURES = "coalesce(levels ILIKE '%commune%', TRUE)"
_OTHER_PROCEDURES = "coalesce(levels NOT ILIKE '%commune%' OR levels ILIKE '%province%', TRUE)"


def _province_rollups(method: Method, targets: Sequence[Target], periods: Sequence[Period], result: Counts) -> None:
    """Measures a province counts over its communes (``province: communes``): the number of
    the scored communes among ``targets`` whose own value is above zero. Indicator 4.2b is
    "communes offering electronic certified copies / communes" at a province, as the portal
    defines it; counted over the province's own catalogue rows it had no denominator, and
    the province was scored out of 98. Plain Python over the counts: both engines run it."""
    rolled = [n for n, m in method.measures.items() if m.province == "communes"]
    if not rolled:
        return
    communes = [t.code for t in targets if t.level == "commune"]
    for t in targets:
        if t.level != "province":
            continue
        for p in periods:
            counts = result.setdefault((t.code, p.code), {})
            for name in rolled:
                counts[name] = float(sum(1 for c in communes if result.get((c, p.code), {}).get(name, 0.0) > 0))


def _derived_measures(method: Method, result: Counts) -> None:
    from chiso.scoring.expression import compile_formula, evaluate

    derived = {n: compile_formula(m.expression or "") for n, m in method.measures.items() if m.basis == "derived"}
    # Dependency order: a derived measure may read another one defined after it (the loader
    # refuses cycles).
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for other in sorted(derived[name].names & derived.keys()):
            visit(other)
        ordered.append(name)

    for name in derived:
        visit(name)
    for counts in result.values():
        for name in ordered:
            formula = derived[name]
            if formula.names <= counts.keys():  # an input left absent leaves this absent too
                counts[name] = evaluate(formula, counts)


def explain_sql(method: Method, measure: str, period: Period, *, today: date | None = None,
                with_unit: bool = False) -> tuple[str, dict[str, Any]]:
    """SQL (with parameters ``units``, ``start``, ``end`` and, for an on-time rule, ``cut``)
    selecting the ids of the records a dossier or feedback measure counts for the given units
    and period; ``today`` as for :func:`period_counts`. ``with_unit``: each id with its
    record's unit (column ``unit`` before ``id``), to list several units' records at once."""
    m = method.measures[measure]
    select = "SELECT unit_code AS unit, " if with_unit else "SELECT "
    params = {"start": period.start, "end": period.end + timedelta(days=1)}
    base = "unit_code IN (SELECT unnest($units))"
    if m.basis == "dossier_received":
        cond = f"received_at >= $start AND received_at < $end AND {_where(m)}"
    elif m.basis == "dossier_finished":
        cond = f"finished_at >= $start AND finished_at < $end AND {_where(m)}"
    elif m.basis == "dossier_settlement":
        cond = f"received_at < $end AND (finished_at IS NULL OR finished_at >= $start) AND {_where(m)}"
        if m.on_time_finished:
            # Judged at c (the period's end, or today for a running period): finished before
            # c by the rule, or not finished before c and not yet late at c.
            until = m.on_time_open_until or "received_at"
            params["cut"] = judged_until(period, today)
            cond += (f" AND ((finished_at < $cut AND ({m.on_time_finished})) OR "
                     f"((finished_at IS NULL OR finished_at >= $cut) "
                     f"AND greatest(received_at, coalesce({until}, received_at)) >= $cut))")
    elif m.basis == "feedback":
        return (f"{select}feedback_id AS id FROM feedback_records WHERE {base} AND received_at >= $start "
                f"AND received_at < $end AND {_where(m)} ORDER BY id"), params
    else:
        raise ValueError(f"measure {measure} ({m.basis}) is not made of records")
    return f"{select}dossier_id AS id FROM records WHERE {base} AND received_at IS NOT NULL AND {cond} ORDER BY id", params


def listable(method: Method, measure: str) -> bool:
    """Whether a measure is a set of records one can list (not a count over procedures, a
    figure derived from others, or a count of distinct values)."""
    m = method.measures[measure]
    return not (m.basis in ("procedure", "derived") or m.distinct)


# The steps the Spark engine (chiso.index.spark) runs too, its SQL translated to Spark's
# dialect: public names, so that the second engine reuses them without reaching into
# this module's private ones.
parts = _parts
day_selects = _day_selects
keys_sql = _keys_sql
totals = _totals
distinct_measures = _distinct_measures
procedure_measures = _procedure_measures
province_rollups = _province_rollups
derived_measures = _derived_measures
