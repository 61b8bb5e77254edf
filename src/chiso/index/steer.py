"""From monitoring to steering: what falls due soon, where a running period will end, and
what would raise a unit's score most (issue 15, points 2–4).

- :func:`due`: the dossiers open now whose due time (the on-time rule's ``open_until``:
  the appointment plus the time waited for the applicant, else the statutory time) falls
  within N working days of the calendar, or has passed (hồ sơ sắp đến hạn, quá hạn).
- :func:`forecast`: for a running period, each unit's total at its end if every open
  dossier due inside it is settled on time (``high``: the figures now, which count them on
  time) and if none is (``low``), and ``expected`` from the unit's own on-time rate over
  the dossiers that fell due in the last ``RECENT_DAYS`` days, applied to those dossiers
  and to the dossiers it will still receive at its pace so far (the range covers the
  dossiers known today only).
- :func:`advise`: the levers of :mod:`chiso.scoring.advice` built from a unit's counts,
  ranked by points per item, and the smallest set reaching the next band or a rank.

Counts come from :func:`chiso.index.service.compute_scores` (the one counting of
:mod:`chiso.index.compute`) and every score from the pure engine, so a change of the
rules or of how a unit without records is scored reaches these figures too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Sequence

import duckdb
from sqlalchemy.orm import Session

from chiso import settings
from chiso.calendar import default_calendar
from chiso.clock import local_now
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.index import compute, service
from chiso.methods.bands import band_name
from chiso.output import number
from chiso.periods import Period, period_for
from chiso.scoring import advice
from chiso.scoring.model import Method
from chiso.scoring.rules import UnitScore, score_many
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

#: The window of the unit's own recent on-time rate (days before today).
RECENT_DAYS = 90
#: Dossier statuses that end the processing (a dossier in one is not open).
ENDED = ("settled", "returned", "rejected", "stopped", "withdrawn")


def _on_time_measures(method: Method) -> dict[str, Any]:
    """The measures with an on-time rule: {name: measure}."""
    return {n: m for n, m in method.measures.items()
            if m.basis == "dossier_settlement" and m.on_time_finished is not None}


def _until(method: Method) -> str:
    """The SQL of a dossier's due moment: the ``open_until`` of the on-time rule of the
    method's on-time indicator (766: 2.1)."""
    ind_id = service.on_time_indicator(method)
    if ind_id is None:
        raise ChisoError(_("Method {method} has no on-time indicator.").format(method=method.id))
    m = method.measures[method.indicator(ind_id).numerator]
    return f"({m.on_time_open_until or 'due_at'})"


def _owners(tgts: Sequence[compute.Target]) -> dict[str, str]:
    """{member unit: the scored unit its records count for}, the province left out."""
    owner: dict[str, str] = {}
    for t in tgts:
        if t.level != "province":
            for m in t.members:
                owner.setdefault(m, t.code)
    return owner


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    try:
        con.execute(f"SELECT 1 FROM {name} LIMIT 0")
        return True
    except duckdb.Error:
        return False


# --------------------------------------------------------------------------- early warning


def due(session: Session, store: DossierStore, *, unit: str | None = None, within: int | None = None,
        now: datetime | None = None, method_id: str | None = None) -> list[dict[str, Any]]:
    """The dossiers open at ``now`` whose due time falls within ``within`` working days
    (default: the setting ``due_within_days``) or has passed, most urgent first, for one
    unit (a former unit's dossiers count for the unit that replaced it) or, with the
    province or no unit, for every unit. "Within N working days": due before the end of
    the N-th working day after today (N = 0: today). ``overdue_days``: calendar days from
    the due day to today, at least 1 once the due time has passed (0 before)."""
    now = local_now(now).replace(tzinfo=None)
    today = now.date()
    within = int(settings.get("due_within_days")) if within is None else within
    if within < 0:
        raise ChisoError(_("--within must be zero or more."))
    horizon = default_calendar().add_working_days(today, within) + timedelta(days=1)
    method = service.method_for(method_id)
    week = period_for("week", today)
    tgts = service.targets(session, week)
    owner = _owners(tgts)
    names = units.names_on(session, [t.code for t in tgts], today)
    members: list[str] | None = None
    if unit:
        code = units.get(session, unit, on=today).code
        found = next((t for t in tgts if t.code == code), None)
        if found is None:
            raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=week.code))
        if found.level != "province":
            members = list(found.members)
    con = store.connect()
    try:
        compute.prepare(con)
        has_names = _has_table(con, "procedures")
        cols = {r[0] for r in con.execute("DESCRIBE records").fetchall()}
        holder = "r.holder" if "holder" in cols else "NULL::VARCHAR"
        name = "p.name" if has_names else "NULL::VARCHAR"
        join = "LEFT JOIN procedures p ON p.procedure_code = r.procedure_code" if has_names else ""
        where_units = "AND r.unit_code IN (SELECT unnest($units))" if members is not None else ""
        rows = con.execute(f"""
            SELECT r.dossier_id, r.unit_code, r.procedure_code, {name}, r.status, {holder}, r.received_at,
                   r.due_at, r.due
            FROM (SELECT *, {_until(method)} AS due FROM records) r {join}
            WHERE r.finished_at IS NULL AND r.status NOT IN (SELECT unnest($ended)) AND r.received_at <= $now
              AND r.due IS NOT NULL AND r.due < $horizon {where_units}
            ORDER BY r.due, r.dossier_id
        """, {"ended": list(ENDED), "now": now, "horizon": datetime.combine(horizon, datetime.min.time()),
              **({"units": members} if members is not None else {})}).fetchall()
    finally:
        con.close()
    cal = default_calendar()
    out = []
    for dossier_id, unit_code, procedure, proc_name, status, held_by, received, _due_at, due_moment in rows:
        late = due_moment < now
        target = owner.get(unit_code, unit_code)
        try:
            left = 0 if late else max(0, cal.working_days_between(today, due_moment.date()))
        except ChisoError:
            left = None
        out.append({
            "dossier_id": dossier_id, "unit": target, "unit_name": names.get(target), "recorded_unit": unit_code,
            "procedure": procedure, "procedure_name": proc_name, "stage": status, "holder": held_by,
            "received_at": received.isoformat(), "due_at": due_moment.isoformat(),
            "overdue": late, "overdue_days": max(1, (today - due_moment.date()).days) if late else 0,
            "working_days_left": left,
        })
    return out


def due_counts(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{unit: {"overdue": n, "due": m}} of :func:`due`'s rows."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        c = out.setdefault(r["unit"], {"overdue": 0, "due": 0})
        c["overdue" if r["overdue"] else "due"] += 1
    return out


# --------------------------------------------------------------------------- the period's end


@dataclass(frozen=True)
class RecordScans:
    """What the scenarios of a running period read from the records, per unit code (the
    records' own, before they are given to the scored units): three scans of the view
    ``records``, each 0.3–1.1 s at 10 million dossiers. :func:`forecast` and
    :func:`advise_many` each make them unless given them: a server makes them once a day
    and store version for both (and for every language)."""

    #: The dossiers the on-time measures count on time now (open, not yet late at the start
    #: of today) that fall due before the period's end: late at the end unless settled on
    #: time. (count, then one count per on-time measure.)
    due: dict[str, tuple[int, ...]]
    #: The dossiers that fell due in the last ``RECENT_DAYS`` days: (count, settled on time
    #: by the method's rule).
    recent: dict[str, tuple[int, int]]
    #: The dossiers received since the period began (none counted before a week has passed).
    received: dict[str, int]


def scan_records(con: duckdb.DuckDBPyConnection, method: Method, period: Period, now: datetime) -> RecordScans:
    """:class:`RecordScans` of ``period`` judged at ``now`` (naive, in the store's time),
    from the view ``records`` of ``con``."""
    until = _until(method)
    moment = f"greatest(received_at, coalesce({until}, received_at))"
    cut = compute.judged_until(period, now.date())
    end = period.end + timedelta(days=1)
    due: dict[str, tuple[int, ...]] = {}
    measures = _on_time_measures(method)
    if measures and cut < end:
        aggs = ", ".join(f'count(*) FILTER (WHERE {m.where.strip() or "TRUE"}) AS "{n}"' for n, m in measures.items())
        due = {unit_code: tuple(values) for unit_code, *values in con.execute(f"""
            SELECT unit_code, count(*), {aggs} FROM records
            WHERE received_at IS NOT NULL AND received_at < $end AND (finished_at IS NULL OR finished_at >= $now)
              AND {moment} >= $cut AND {moment} < $end
            GROUP BY unit_code
        """, {"end": end, "cut": cut, "now": now}).fetchall()}
    recent: dict[str, tuple[int, int]] = {}
    ind_id = service.on_time_indicator(method)
    if ind_id is not None:
        m = method.measures[method.indicator(ind_id).numerator]
        today = datetime.combine(now.date(), datetime.min.time())
        recent = {unit_code: (n, ok) for unit_code, n, ok in con.execute(f"""
            SELECT unit_code, count(*),
                   count(*) FILTER (WHERE finished_at IS NOT NULL AND finished_at < $cut AND ({m.on_time_finished}))
            FROM records WHERE received_at IS NOT NULL AND {moment} >= $since AND {moment} < $cut
            GROUP BY unit_code
        """, {"cut": today, "since": today - timedelta(days=RECENT_DAYS)}).fetchall()}
    received: dict[str, int] = {}
    elapsed, left = (cut - period.start).days, (period.end - cut).days + 1
    if elapsed >= 7 and left > 0:
        received = dict(con.execute("SELECT unit_code, count(*) FROM records WHERE received_at >= $start "
                                    "AND received_at < $cut GROUP BY unit_code",
                                    {"start": period.start, "cut": cut}).fetchall())
    return RecordScans(due, recent, received)


def scans_for(store: DossierStore, period: Period, *, now: datetime | None = None,
              method_id: str | None = None) -> RecordScans | None:
    """:class:`RecordScans` of a running ``period`` at ``now`` (default: the current time)
    for :func:`forecast` and :func:`advise_many`; None when the period is not running."""
    now = local_now(now).replace(tzinfo=None)
    if not service.is_running(period, now):
        return None
    con = store.connect()
    try:
        compute.prepare(con)
        return scan_records(con, service.method_for(method_id), period, now)
    finally:
        con.close()


def _open_due(method: Method, owner: dict[str, str], due: dict[str, tuple[int, ...]]) -> dict[str, dict[str, float]]:
    """Per scored unit and on-time measure, the dossiers at stake (:attr:`RecordScans.due`);
    also ``__all__``: any of them."""
    measures = _on_time_measures(method)
    out: dict[str, dict[str, float]] = {}
    for unit_code, (n, *values) in due.items():
        target = owner.get(unit_code)
        if target is None:
            continue
        got = out.setdefault(target, dict.fromkeys(["__all__", *measures], 0.0))
        got["__all__"] += n
        for name, v in zip(measures, values):
            got[name] += v
    return out


def _recent_rates(owner: dict[str, str], recent: dict[str, tuple[int, int]]) -> tuple[dict[str, float], float | None]:
    """Each unit's share of the dossiers that fell due in the last ``RECENT_DAYS`` days
    which were settled on time (:attr:`RecordScans.recent`), and the province's."""
    seen: dict[str, list[int]] = {}
    for unit_code, (n, ok) in recent.items():
        target = owner.get(unit_code)
        if target is not None:
            s = seen.setdefault(target, [0, 0])
            s[0] += n
            s[1] += ok
    everyone = [sum(s[0] for s in seen.values()), sum(s[1] for s in seen.values())]
    return ({t: ok / n for t, (n, ok) in seen.items() if n},
            everyone[1] / everyone[0] if everyone[0] else None)


def _future(owner: dict[str, str], period: Period, now: datetime, received: dict[str, int]) -> dict[str, float]:
    """Per scored unit: the dossiers it will receive before the period ends at the pace it
    received them since the period began (:attr:`RecordScans.received`)."""
    cut = compute.judged_until(period, now.date())
    elapsed, left = (cut - period.start).days, (period.end - cut).days + 1
    out: dict[str, float] = {}
    for unit_code, n in received.items():
        target = owner.get(unit_code)
        if target is not None:
            out[target] = out.get(target, 0.0) + n * left / elapsed
    return out


@dataclass(frozen=True)
class Projection:
    """One unit's counts now and the scenarios of the period's end."""

    target: compute.Target
    counts: dict[str, float]
    low_counts: dict[str, float]
    expected_counts: dict[str, float]
    at_stake: int
    rate: float | None
    #: Per on-time measure, the dossiers of ``at_stake`` it counts on time now.
    stake: dict[str, float]


def _accumulating(method: Method) -> list[str]:
    """Measures that only grow as a period goes on and do not scale with the dossiers: the
    distinct procedures with a dossier of some kind, and catalogue rows flagged by one."""
    flags = [col for col, _label, _where in compute.PROCEDURE_FLAGS]
    return [n for n, m in method.measures.items()
            if m.distinct or (m.basis == "procedure" and any(f in (m.where or "") for f in flags))]


def project(con: duckdb.DuckDBPyConnection, method: Method, tgts: Sequence[compute.Target], period: Period,
            counts: dict[str, dict[str, float]], *, now: datetime,
            previous: dict[str, dict[str, float]] | None = None,
            scans: RecordScans | None = None) -> dict[str, Projection]:
    """The scenarios of every scored unit of ``tgts`` from its counts now (``counts``, judged
    at ``now`` as the index does) and the records of ``con`` (its view ``records``). The
    province is the sum of its units' dossiers at stake. ``previous``: the counts of the
    period before, whose distinct procedures with a dossier (online, paid online...) the
    expected figure does not fall below (half a quarter has seen fewer than a whole one)."""
    owner = _owners(tgts)
    scans = scans or scan_records(con, method, period, now)
    at_stake = _open_due(method, owner, scans.due)
    rates, everyone = _recent_rates(owner, scans.recent)
    future = _future(owner, period, now, scans.received)
    settlement = [n for n, m in method.measures.items() if m.basis == "dossier_settlement"]
    on_time = _on_time_measures(method)
    growing = _accumulating(method)
    # Each on-time measure's population: the denominator of an indicator it is the numerator of.
    shares = {i.numerator: i.denominator for i in method.indicators if i.numerator in on_time}
    province = [t.code for t in tgts if t.level == "province"]
    if province:  # the province's dossiers are every unit's
        total: dict[str, float] = {}
        for got in at_stake.values():
            for k, v in got.items():
                total[k] = total.get(k, 0.0) + v
        at_stake[province[0]] = total
        if everyone is not None:
            rates[province[0]] = everyone
    key_period = "_"
    low: dict[tuple[str, str], dict[str, float]] = {}
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for t in tgts:
        base = counts[t.code]
        stake = at_stake.get(t.code, {})
        rate = rates.get(t.code, everyone)
        lost = 1.0 - (rate if rate is not None else 0.5)
        low[(t.code, key_period)] = {k: v - stake.get(k, 0.0) if k in stake else v for k, v in base.items()}
        exp = {k: v - lost * stake.get(k, 0.0) if k in stake else v for k, v in base.items()}
        # The dossiers still to come join the dossiers being settled, on time as the unit's
        # are now (many will be due after the period's end: on time at it whatever happens).
        coming = future.get(t.code, 0.0) if t.level != "province" else sum(future.values())
        for name in settlement:
            if name in exp and name not in on_time:
                exp[name] += coming
        for name, den in shares.items():
            if name in exp and base.get(den):
                exp[name] += coming * base[name] / base[den]
        before = (previous or {}).get(t.code, {})
        for name in growing:
            if name in exp and name in before:
                exp[name] = max(exp[name], before[name])
        expected[(t.code, key_period)] = exp
    compute.derived_measures(method, low)
    compute.derived_measures(method, expected)
    return {t.code: Projection(t, counts[t.code], low[(t.code, key_period)], expected[(t.code, key_period)],
                               int(at_stake.get(t.code, {}).get("__all__", 0)), rates.get(t.code, everyone),
                               at_stake.get(t.code, {}))
            for t in tgts}


def forecast(session: Session, store: DossierStore, period: Period, *, now: datetime | None = None,
             method_id: str | None = None, computed: service.Computed | None = None,
             scans: RecordScans | None = None) -> list[dict[str, Any]]:
    """Per scored unit: ``{unit, name, level, current, low, high, expected, at_stake,
    on_time_rate, running}``. A period that is over has its final figures (low = high =
    expected = current); one not begun, none.

    ``computed`` (:func:`chiso.index.service.scores_and_previous`) and ``scans``
    (:func:`scans_for`), made with the same method and moment, save counting again when
    the caller keeps them."""
    now = local_now(now).replace(tzinfo=None)
    method = service.method_for(method_id)
    tgts, scored = computed or service.scores_and_previous(session, store, period, method=method, now=now)
    current, before = scored[period.code], scored[period.previous().code]
    running = service.is_running(period, now)
    rows = []
    if running:
        con = store.connect()
        try:
            compute.prepare(con)
            proj = project(con, method, tgts, period, {c: s.counts for c, s in current.items()}, now=now,
                           previous={c: s.counts for c, s in before.items()}, scans=scans)
        finally:
            con.close()
        levels = {t.code: t.level for t in tgts}
        lows = score_many(method, {c: p.low_counts for c, p in proj.items()}, levels)
        exps = score_many(method, {c: p.expected_counts for c, p in proj.items()}, levels)
    for t in tgts:
        s = current[t.code]
        row: dict[str, Any] = {"unit": t.code, "name": s.name, "level": t.level, "period": period.code,
                               "running": running, "current": s.score.total}
        if running:
            row.update(low=lows[t.code].total, high=s.score.total, expected=exps[t.code].total,
                       at_stake=proj[t.code].at_stake, on_time_rate=proj[t.code].rate)
        elif period.end < now.date():
            row.update(low=s.score.total, high=s.score.total, expected=s.score.total, at_stake=0, on_time_rate=None)
        else:
            row.update(low=None, high=None, expected=None, at_stake=0, on_time_rate=None)
        rows.append(row)
    rows.sort(key=lambda r: (r["level"], r["unit"]))
    return rows


# --------------------------------------------------------------------------- what raises it


#: How the action on a measure reads, for the measures of the shipped 766 methods; any
#: other measure gets a sentence naming its indicator. Texts, translated when used.
_PHRASES = {
    "dossiers_synced": lambda: _("Synchronise {n} dossiers to the national portal"),
    "dossiers_online_synced": lambda: _("Receive {n} more dossiers online (synchronised, with an electronic result)"),
    "dossiers_paid_online": lambda: _("Have {n} more fee-bearing dossiers paid online"),
    "dossiers_e_result": lambda: _("Issue electronic results for {n} paper-result dossiers"),
    "dossiers_digitised": lambda: _("Digitise the components (and results) of {n} dossiers"),
    "dossiers_reused": lambda: _("Reuse digitised data in {n} more dossiers"),
    "dossiers_digitised_shared": lambda: _("Share {n} digitised dossiers with the national portal"),
    "dossiers_population_db": lambda: _("Use the population database in {n} more dossiers"),
    "feedback_on_time": lambda: _("Answer {n} pending feedback items on time"),
    "online_services_with_dossier": lambda: _("Receive an online dossier for {n} more online services"),
    "fee_procedures_paid_online": lambda: _("Have a dossier paid online for {n} more fee-bearing procedures"),
    "procedures_using_population_db": lambda: _("Use the population database for {n} more procedures"),
    "certified_copy_procedures_active": lambda: _("Receive online copy-certification dossiers ({n} procedures)"),
    "procedures_online": lambda: _("Offer {n} more procedures online"),
    "fee_procedures_integrated": lambda: _("Integrate online payment for {n} more fee-bearing procedures"),
    "procedures_complete": lambda: _("Publish all parts of {n} more procedures"),
}


def _phrase(measure: str, n: int) -> str | None:
    text = _PHRASES.get(measure)
    return text().format(n=n) if text else None


SETTLE = "settle_due"


def _pending_feedback(con: duckdb.DuckDBPyConnection, method: Method, owner: dict[str, str],
                      period: Period) -> dict[str, dict[str, float]]:
    """Per scored unit and feedback measure: the items received in the period, not yet
    handled, that the measure does not count now (answering them may make it count them)."""
    measures = {n: m for n, m in method.measures.items() if m.basis == "feedback"}
    if not measures or not _has_table(con, "feedback_records"):
        return {}
    aggs = ", ".join(f'count(*) FILTER (WHERE NOT coalesce({m.where.strip() or "TRUE"}, FALSE)) AS "{n}"'
                     for n, m in measures.items())
    rows = con.execute(f"""
        SELECT unit_code, {aggs} FROM feedback_records
        WHERE handled_at IS NULL AND received_at >= $start AND received_at < $end GROUP BY unit_code
    """, {"start": period.start, "end": period.end + timedelta(days=1)}).fetchall()
    out: dict[str, dict[str, float]] = {}
    for unit_code, *values in rows:
        target = owner.get(unit_code)
        if target is not None:
            got = out.setdefault(target, dict.fromkeys(measures, 0.0))
            for name, v in zip(measures, values):
                got[name] += v
    return out


def levers(method: Method, level: str, counts: dict[str, float], stake: dict[str, float],
           pending: dict[str, float]) -> list[advice.Lever]:
    """What a unit at ``level`` can act on, from its counts: the open dossiers due in the
    period (settled on time), and for each indicator in scope the records or catalogue
    rows its denominator has and its numerator lacks (feedback: only items still open)."""
    out: list[advice.Lever] = []
    on_time = service.on_time_indicator(method)
    if on_time is not None and stake.get("__all__"):
        k = stake["__all__"]
        out.append(advice.Lever(SETTLE, on_time, "dossiers", int(k),
                                {n: v / k for n, v in stake.items() if n != "__all__"}))
    seen: set[str] = set()
    for ind in method.indicators:
        num = method.measures[ind.numerator]
        if (level not in ind.scope or not ind.max or ind.rule.type == "info" or ind.numerator in seen
                or num.basis in ("derived", "dossier_settlement", "dossier_finished") or num.sum
                or "period_start" in (num.where or "")):
            continue
        if ind.numerator not in counts or ind.denominator not in counts:
            continue
        gap = counts[ind.denominator] - counts[ind.numerator]
        if num.basis == "feedback":
            gap = min(gap, pending.get(ind.numerator, 0.0))
        if gap < 1:
            continue
        kind = ("feedback" if num.basis == "feedback" else
                "procedures" if num.basis == "procedure" or num.distinct else "dossiers")
        seen.add(ind.numerator)
        out.append(advice.Lever(f"raise:{ind.numerator}", ind.id, kind, int(gap), {ind.numerator: 1.0},
                                {"measure": ind.numerator}))
    return out


def _action_text(method: Method, lever: advice.Lever, n: int) -> str:
    if lever.id == SETTLE:
        return _("Settle on time the {n} open dossiers due before the period ends").format(n=n)
    text = _phrase(lever.info.get("measure", ""), n)
    if text:
        return text
    return _("{n} more {kind} counted in indicator {id}").format(n=n, kind=lever.kind, id=lever.indicator)


def _action_row(method: Method, action: advice.Action, planned: int | None) -> dict[str, Any]:
    ind = method.indicator(action.lever.indicator)
    return {"action": _action_text(method, action.lever, action.items), "lever": action.lever.id,
            "indicator": ind.id, "indicator_name": ind.name, "kind": action.lever.kind,
            "dossiers": action.items, "available": action.lever.available, "points": round(action.points, 6),
            "per_dossier": round(action.per_item, 6), "plan": planned}


def advise_many(session: Session, store: DossierStore, period: Period, *, only: Sequence[str] | None = None,
                now: datetime | None = None, method_id: str | None = None,
                target_rank: int | None = None, computed: service.Computed | None = None,
                scans: RecordScans | None = None) -> dict[str, dict[str, Any]]:
    """:func:`advise` for every scored unit (or those in ``only``), counted once
    (``computed`` and ``scans``: as for :func:`forecast`)."""
    now = local_now(now).replace(tzinfo=None)
    method = service.method_for(method_id)
    tgts, scored = computed or service.compute_scores(session, store, period, method=method, now=now)
    current = scored[period.code]
    con = store.connect()
    try:
        compute.prepare(con)
        owner = _owners(tgts)
        running = service.is_running(period, now)
        proj = (project(con, method, tgts, period, {c: s.counts for c, s in current.items()}, now=now, scans=scans)
                if running else None)
        stakes = {c: p.stake for c, p in proj.items()} if proj is not None else {}
        pending = _pending_feedback(con, method, owner, period)
    finally:
        con.close()
    cohorts: dict[str, list[float]] = {}
    for t in tgts:
        total = current[t.code].score.total
        if t.level != "province" and total is not None:
            cohorts.setdefault(t.level, []).append(total)
    bands = sorted(method.bands, key=lambda b: b.min)
    out = {}
    for t in tgts:
        if t.level == "province" or (only is not None and t.code not in only):
            continue
        now_score = current[t.code].score
        base_counts = proj[t.code].low_counts if proj is not None else current[t.code].counts
        result: dict[str, Any] = {"unit": t.code, "name": current[t.code].name, "level": t.level,
                                  "period": period.code, "running": running, "total": now_score.total,
                                  "band": now_score.band, "baseline": None, "actions": [], "goal": None,
                                  "plan": None}
        if now_score.total is None:
            out[t.code] = result
            continue
        lv = levers(method, t.level, base_counts, stakes.get(t.code, {}), pending.get(t.code, {}))
        scorer = advice.Scorer(method, base_counts, t.level)
        actions = advice.rank_actions(scorer, lv)
        result["baseline"] = scorer.base.total
        goal = _goal(method, bands, now_score, sorted(cohorts.get(t.level, []), reverse=True), target_rank)
        plan = None
        if goal is not None:
            result["goal"] = goal["label"]
            plan = advice.smallest_set(scorer, actions, goal["reached"])
        planned = {a.lever.id: a.items for a in plan or []}
        result["plan"] = None if plan is None else [_action_row(method, a, a.items) for a in plan]
        result["actions"] = [_action_row(method, a, planned.get(a.lever.id)) for a in actions]
        out[t.code] = result
    return out


def _goal(method: Method, bands: list[Any], score: UnitScore, totals: list[float],
          target_rank: int | None) -> dict[str, Any] | None:
    """What to reach: the total of the unit ranked ``target_rank`` now (an equal total shares
    its rank), else the next band above the unit's; None at the top band."""
    if target_rank is not None:
        if target_rank < 1:
            raise ChisoError(_("--target-rank must be 1 or more."))
        if not totals:
            return None
        needed = totals[min(target_rank, len(totals)) - 1]
        return {"label": _("rank {n}: a total of {total} or more").format(n=target_rank, total=number(needed)),
                "reached": lambda s: s.total is not None and s.total >= needed - advice.EPSILON}
    above = [b for b in bands if score.normalised is not None and b.min > score.normalised]
    if not above:
        return None
    band = above[0]
    return {"label": _("band {name} ({min} or more)").format(name=band_name(method.bands, band.id),
                                                             min=number(band.min, 0)),
            "reached": lambda s: s.normalised is not None and s.normalised >= band.min - advice.EPSILON}


def advise(session: Session, store: DossierStore, period: Period, *, unit: str, now: datetime | None = None,
           method_id: str | None = None, target_rank: int | None = None) -> dict[str, Any]:
    """What would raise one unit's score most in ``period``: ``{unit, name, period, total,
    baseline, actions, goal, plan}``. ``actions``: ``{action, indicator, dossiers, points,
    per_dossier, kind, plan}``, best points per item first, each with the fewest items that
    earn all it can (a capped group or a target rule earns nothing beyond). In a running
    period the points are counted from ``baseline``, the total at the period's end if no
    open dossier due in it is settled on time, so settling them is an action too (the
    points it keeps). ``plan``: the fewest actions, in that order, that reach the next band
    (or ``target_rank``), each with what it adds; None when they cannot."""
    code = units.get(session, unit, on=period.end).code
    found = advise_many(session, store, period, only=[code], now=now, method_id=method_id,
                        target_rank=target_rank).get(code)
    if found is None:
        raise NotFound(_("Unit {code} is not scored for {period}.").format(code=unit, period=period.code))
    return found


# --------------------------------------------------------------------------- backtest


def backtest(session: Session, store: DossierStore, periods: Sequence[Period], *,
             method_id: str | None = None) -> list[dict[str, Any]]:
    """The forecast tried on periods that are over: standing on the middle day of each, with
    only what the records said then (dossiers received before it; finished before it, else
    open; feedback likewise), against the final figures. Per period: the units compared,
    the mean and largest absolute error of ``expected``, the mean error of the figure the
    index showed on the middle day (what one would say without a forecast), and the share
    of units whose final
    total fell within ``low``–``high`` (dossiers received after the middle day are not
    foreseen, so some fall outside)."""
    method = service.method_for(method_id)
    out = []
    for period in periods:
        cut = period.start + (period.end - period.start) / 2
        now = datetime.combine(cut, datetime.min.time()) + timedelta(hours=8)
        after = datetime.combine(period.end + timedelta(days=2), datetime.min.time())
        tgts, scored = service.compute_scores(session, store, period, method=method, now=after)
        final = scored[period.code]
        con = store.connect()
        try:
            _as_known_at(con, now)
            compute.day_table(con, method)
            counts = compute.period_counts(con, method, tgts, [period, period.previous()], today=cut)
            proj = project(con, method, tgts, period, {t.code: counts[(t.code, period.code)] for t in tgts},
                           now=now, previous={t.code: counts[(t.code, period.previous().code)] for t in tgts})
        finally:
            con.close()
        levels = {t.code: t.level for t in tgts}
        lows = score_many(method, {c: p.low_counts for c, p in proj.items()}, levels)
        highs = score_many(method, {c: p.counts for c, p in proj.items()}, levels)
        exps = score_many(method, {c: p.expected_counts for c, p in proj.items()}, levels)
        errors, naive, inside = [], [], 0
        for t in tgts:
            actual, exp = final[t.code].score.total, exps[t.code].total
            low, high = lows[t.code].total, highs[t.code].total
            if t.level == "province" or actual is None or exp is None or low is None or high is None:
                continue
            errors.append(abs(exp - actual))
            naive.append(abs(high - actual))  # the figure of the middle day itself, as the index shows it
            inside += low - 0.005 <= actual <= high + 0.005
        out.append({"period": period.code, "standing_on": cut.isoformat(), "units": len(errors),
                    "mean_abs_error": round(sum(errors) / len(errors), 3) if errors else None,
                    "max_abs_error": round(max(errors), 3) if errors else None,
                    "mean_abs_error_of_now": round(sum(naive) / len(naive), 3) if naive else None,
                    "within_range": round(inside / len(errors), 3) if errors else None})
    return out


def _as_known_at(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Point the views ``dossiers`` and ``feedback`` of ``con`` at what was known at ``now``."""
    con.execute("""CREATE OR REPLACE TEMP TABLE known_dossiers AS SELECT * REPLACE (
                       CASE WHEN finished_at < $now THEN finished_at END AS finished_at,
                       CASE WHEN finished_at IS NULL OR finished_at < $now THEN status ELSE 'processing' END AS status)
                   FROM dossiers WHERE received_at < $now""", {"now": now})
    con.execute("""CREATE OR REPLACE TEMP TABLE known_feedback AS SELECT * REPLACE (
                       CASE WHEN handled_at < $now THEN handled_at END AS handled_at,
                       CASE WHEN handled_at IS NULL OR handled_at < $now THEN outcome ELSE 'pending' END AS outcome)
                   FROM feedback WHERE received_at < $now""", {"now": now})
    con.execute("CREATE OR REPLACE VIEW dossiers AS SELECT * FROM known_dossiers")
    con.execute("CREATE OR REPLACE VIEW feedback AS SELECT * FROM known_feedback")
