"""The records the index counts, as views over the dossier store: which dossiers are
received (not merely submitted), their statutory deadline on the working-day calendar, the
catalogue's facts about each procedure, the feedback's two implied facts, and the day at
which a period's open dossiers are judged. :mod:`chiso.index.compute` counts over these
views; the Spark engine and ``explain`` read the same SQL."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Sequence

import duckdb

from chiso.calendar import WorkingCalendar, default_calendar
from chiso.periods import Period

FAR_FUTURE = "TIMESTAMP '9999-12-31 00:00:00'"


def judged_until(period: Period, today: date | None = None) -> date:
    """The day (exclusive, a midnight) at which the open dossiers of ``period`` are judged
    on time or late: the period's end for a period that is over, the start of ``today`` for
    one still running (a real-time index judges an open dossier now, not at a period end
    that has not come), never before the period's start. ``today`` None: the period's end.

    Today's own hours are not judged until the day is over: an open dossier due earlier
    today is still on time, one due yesterday or before is late. A day bound keeps every
    measure a difference of per-day running totals (and the ids of ``explain_sql`` equal to
    them)."""
    end = period.end + timedelta(days=1)
    if today is None:
        return end
    return max(period.start, min(end, today))


def prepare(con: duckdb.DuckDBPyConnection, *, dossiers: str = "dossiers", name: str = "records") -> None:
    """The view ``records``: each dossier with what its procedure's catalogue entry adds
    (statutory time and its deadline, online service level) and the catalogue's facts where
    the dossier did not state them (fee-bearing, paper result), less the dossiers not yet
    received (:func:`records_sql`). Measures read ``records``; the view ``feedback_records``
    likewise adds what a feedback record implies."""
    try:
        con.execute("SELECT 1 FROM procedures LIMIT 0")
        has_catalogue = True
    except duckdb.Error:
        has_catalogue = False
    if has_catalogue:
        days, counts, working = workdays()
        con.execute("CREATE TEMP TABLE IF NOT EXISTS workdays AS "
                    "SELECT unnest($1::DATE[]) AS day, unnest($2::BIGINT[]) AS n, unnest($3::BOOLEAN[]) AS working",
                    [list(days), list(counts), list(working)])
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {records_sql(dossiers, catalogue=has_catalogue)}")
    if name != "records":
        return
    # The same rows without the statutory deadline, for a scan that reads none: its two
    # joins of the working-day calendar cost a counting scan of 10 million a fifth.
    plain = records_sql(dossiers, catalogue=has_catalogue, statutory=False)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {PLAIN} AS {plain}")
    try:
        con.execute("SELECT 1 FROM feedback LIMIT 0")
        source = "feedback"
    except duckdb.Error:
        source = ("(SELECT NULL::VARCHAR AS feedback_id, NULL::VARCHAR AS unit_code, NULL::TIMESTAMP AS received_at, "
                  "NULL::TIMESTAMP AS due_at, NULL::TIMESTAMP AS handled_at, NULL::VARCHAR AS outcome, "
                  "NULL::VARCHAR AS rating, NULL::BOOLEAN AS repeated WHERE FALSE)")
    con.execute(f"CREATE OR REPLACE TEMP VIEW feedback_records AS {feedback_records_sql(source)}")


#: Dossier facts the catalogue supplies where a dossier does not state them: column → the
#: catalogue's column.
CATALOGUE_FALLBACKS = {"has_fee": "has_fee", "requires_paper_result": "paper_result"}

#: Statuses of dossiers the one-stop shop has not received (national code 1, mới đăng ký):
#: in the store, in no measure (``chiso.dossiers.schema.NOT_RECEIVED_STATUSES``).
NOT_RECEIVED = ("submitted",)

#: A gap in the calendar's years adds this to the running count of working days, so that no
#: deadline is counted across years the calendar does not know.
_GAP = 1_000_000


@lru_cache(maxsize=4)
def _workdays(cal: WorkingCalendar) -> tuple[tuple[date, ...], tuple[int, ...], tuple[bool, ...]]:
    years = sorted(cal.covered_years)
    days: list[date] = []
    counts: list[int] = []
    working: list[bool] = []
    n = 0
    for year in years:
        if days and days[-1].year != year - 1:
            n += _GAP
        d = date(year, 1, 1)
        while d.year == year:
            w = cal.is_working_day(d)
            n += w
            days.append(d)
            counts.append(n)
            working.append(w)
            d += timedelta(days=1)
    return tuple(days), tuple(counts), tuple(working)


def workdays() -> tuple[tuple[date, ...], tuple[int, ...], tuple[bool, ...]]:
    """The table ``workdays`` the view ``records`` joins: every day of the years the
    working-day calendar covers (``chiso/calendar.py``), the running count of working days
    up to and including it, and whether it is one. A statutory time of N working days from
    a day with count c ends on the working day with count c + N: counting starts the day
    after reception, as ``WorkingCalendar.add_working_days`` counts."""
    return _workdays(default_calendar())


def workdays_fingerprint() -> str:
    """Names the working-day calendar, for the keys of kept counts."""
    return _fingerprint(default_calendar())


@lru_cache(maxsize=4)
def _fingerprint(cal: WorkingCalendar) -> str:
    import hashlib

    days, counts, _working = _workdays(cal)
    digest = hashlib.sha256()
    for d, n in zip(days, counts):
        digest.update(f"{d}:{n};".encode())
    return digest.hexdigest()[:16]


#: The moment a dossier's statutory time runs out, counted from its reception: in calendar
#: days, or, where the catalogue gives the time in working days, on the working-day calendar
#: (the whole days; a fraction of a day is added as hours). Where the calendar does not
#: cover the days (a year without data), in calendar days.
STATUTORY_UNTIL = (
    "CASE WHEN p.statutory_days IS NULL THEN NULL "
    "WHEN w2.day IS NOT NULL THEN d.received_at + to_seconds(86400 * (date_diff('day', CAST(d.received_at AS DATE), w2.day) "
    "+ p.statutory_days - floor(p.statutory_days))) "
    "ELSE d.received_at + to_seconds(p.statutory_days * 86400) END"
)


#: The view of :func:`prepare` that is ``records`` without ``statutory_until``.
PLAIN = "records_plain"


def records_sql(dossiers: str, *, catalogue: bool = True, columns: Sequence[str] | None = None,
                statutory: bool = True) -> str:
    """The SELECT behind the view ``records`` (see :func:`prepare`). ``columns`` lists the
    dossier columns for an engine without ``* REPLACE`` (Spark); DuckDB's own view keeps
    whatever columns the relation has.

    A dossier not yet received (status ``submitted``) is left out: every measure counts
    received dossiers. ``statutory_until`` is :data:`STATUTORY_UNTIL`; with a catalogue the
    view also joins the table ``workdays`` (:func:`workdays`). ``statutory=False``: the same
    rows and columns but ``statutory_until``, without that join (:data:`PLAIN`)."""
    received = "status NOT IN (" + ", ".join(f"'{s}'" for s in NOT_RECEIVED) + ")"
    if not catalogue:
        until = ", CAST(NULL AS TIMESTAMP) AS statutory_until" if statutory else ""
        return (f"SELECT *, CAST(NULL AS DOUBLE) AS statutory_days, CAST(NULL AS VARCHAR) AS online_level, "
                f"CAST(NULL AS VARCHAR) AS statutory_unit{until} "
                f"FROM {dossiers} WHERE {received}")
    replaced = {c: f"coalesce(d.{c}, p.{p}) AS {c}" for c, p in CATALOGUE_FALLBACKS.items()}
    head = (f"d.* REPLACE ({', '.join(replaced.values())})" if columns is None
            else ", ".join(replaced.get(c, f"d.{c}") for c in columns))
    if not statutory:
        return (f"SELECT {head}, p.statutory_days, p.online_level, p.statutory_unit "
                f"FROM {dossiers} d LEFT JOIN procedures p ON p.procedure_code = d.procedure_code "
                f"WHERE d.{received}")
    return (f"SELECT {head}, p.statutory_days, p.online_level, p.statutory_unit, "
            f"{STATUTORY_UNTIL} AS statutory_until "
            f"FROM {dossiers} d LEFT JOIN procedures p ON p.procedure_code = d.procedure_code "
            f"LEFT JOIN workdays w1 ON p.statutory_unit = 'working_days' AND w1.day = CAST(d.received_at AS DATE) "
            f"LEFT JOIN workdays w2 ON w2.working AND w2.n = w1.n + CAST(floor(p.statutory_days) AS BIGINT) "
            f"WHERE d.{received}")


def feedback_records_sql(source: str) -> str:
    """The SELECT behind the view ``feedback_records``. The methods read two facts a
    feedback record implies: handled by its due time, and whether the applicant was
    satisfied (no rating: not counted as unsatisfied)."""
    return f"""
        SELECT f.*,
               CASE WHEN f.handled_at IS NOT NULL THEN f.handled_at <= coalesce(f.due_at, f.handled_at) END
                 AS handled_on_time,
               CASE WHEN f.rating IS NOT NULL THEN f.rating <> 'dislike' END AS satisfied
        FROM {source} f
    """
