"""The shipped measures, run by the evaluator (:mod:`chiso.index.compute`) on hand-made rows.

An in-memory DuckDB holds the tables in the store's shape (``dossiers``, ``feedback``,
``procedures``: the catalogue supplies a dossier's ``statutory_days`` and ``online_level``,
and a feedback record's ``handled_on_time`` and ``satisfied`` follow from its times and
rating); ``day_table`` and ``period_counts`` count every measure for every target and period, and
the tests check them against the settlement rules of 2.1 worked by hand, and against the
records :func:`~chiso.index.compute.explain_sql` selects for the same measure and period:
the ids behind a number must add up to it, for every dossier and feedback measure of every
shipped method and periods of every length.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from types import MappingProxyType

import pytest

from chiso.methods import loader
from chiso.methods.bases import DAY_BASES, DOSSIER_COLUMNS, PROCEDURE_COLUMNS
from chiso.scoring.model import Measure
from chiso.periods import parse_period
from chiso.scoring.rules import score_unit

duckdb = pytest.importorskip("duckdb")
compute = pytest.importorskip("chiso.index.compute")
Target = compute.Target

JULY = parse_period("2025-07")
#: A week across two months, a month, a quarter, a half, the year and a year to date.
PERIODS = [parse_period(c) for c in ("2025-W27", "2025-07", "2025-Q3", "2025-H1", "2025", "2025-YTD-08")]


def d(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"2025-{day}T{hour:02d}:00")


# 2.1 by hand for July 2025. id: (received, due, finished, supplement days, statutory days, on time?)
SETTLEMENT = {
    "before": (d("06-20"), d("06-30"), d("06-25"), 0, None, None),  # finished before the period: out
    "early": (d("06-20"), d("07-10"), d("07-05"), 0, None, True),
    "supplement_saves": (d("07-02"), d("07-15"), d("07-20"), 6, None, True),  # 07-20 − 6 d = 07-14 ≤ 07-15
    "supplement_short": (d("07-02"), d("07-15"), d("07-20"), 2, None, False),  # 07-18 > 07-15
    "open_within": (d("07-10"), d("08-15"), None, 0, None, True),  # ends 08-01 ≤ 08-15
    "open_overdue": (d("07-10"), d("07-25"), None, 0, None, False),  # ends 08-01 > 07-25
    "withdrawn": (d("07-05"), d("07-20"), d("07-06"), 0, None, True),  # terminal status, by its end time
    "after": (d("08-02"), d("08-10"), None, 0, None, None),  # received after the period: out
    "statutory_ok": (d("07-03"), None, d("07-07"), 0, 5, True),  # 4 days ≤ 5 statutory days
    "statutory_late": (d("07-03"), None, d("07-10"), 0.5, 5, False),  # 6.5 days > 5
    "no_deadline": (d("07-03"), None, d("07-04"), 0, None, False),  # [?] no due date, no statutory time
    "finished_after": (d("07-25"), d("07-30"), d("08-03"), 0, None, False),  # ends 08-01 > 07-30
}


#: Dossier columns the catalogue supplies (joined on procedure_code by the evaluator), and the
#: deadline the records view computes from them.
FROM_CATALOGUE = ("statutory_days", "online_level", "statutory_unit", "statutory_until")
TABLES = {
    "dossiers": {k: v for k, v in DOSSIER_COLUMNS.items() if k not in FROM_CATALOGUE},
    "feedback": {"feedback_id": "TEXT", "unit_code": "TEXT", "received_at": "TIMESTAMP", "due_at": "TIMESTAMP",
                 "handled_at": "TIMESTAMP", "outcome": "TEXT", "rating": "TEXT", "repeated": "BOOLEAN"},
    # With has_online_dossier, which the evaluator must override with the period's own.
    "procedures": dict(PROCEDURE_COLUMNS),
}


@pytest.fixture
def db():
    con = duckdb.connect()
    for table, columns in TABLES.items():
        cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        con.execute(f"CREATE TABLE {table} ({cols})")
    yield con
    con.close()


def insert(con, table: str, row: dict) -> None:
    cols = ", ".join(row)
    con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def add_dossier(con, dossier_id: str, **values) -> None:
    insert(con, "dossiers", {"dossier_id": dossier_id, "unit_code": "68", "procedure_code": "1.000001",
                             "status": "processing", "channel": "direct", **values})


def add_procedure(con, code: str, **values) -> None:
    insert(con, "procedures", {"procedure_code": code, "name": f"Thủ tục {code}", **values})


def add_feedback(con, feedback_id: str, received_at, handled_on_time, satisfied, unit: str = "68", outcome=None) -> None:
    """A feedback record whose times and rating imply ``handled_on_time`` and ``satisfied``
    (None: not handled, not rated)."""
    due = received_at + timedelta(days=3)
    handled = None if handled_on_time is None else received_at + timedelta(days=2 if handled_on_time else 5)
    rating = None if satisfied is None else "satisfied" if satisfied else "dislike"
    insert(con, "feedback", {"feedback_id": feedback_id, "unit_code": unit, "received_at": received_at, "due_at": due,
                             "handled_at": handled, "outcome": outcome, "rating": rating})


def add_settlement_cases(con, unit: str = "68") -> None:
    """The 2.1 cases; a statutory time comes from the catalogue entry of the procedure."""
    add_procedure(con, "S5", levels="commune", statutory_days=5)
    for key, (received, due, finished, supplement, statutory, _) in SETTLEMENT.items():
        add_dossier(con, key, unit_code=unit, received_at=received, due_at=due, finished_at=finished,
                    supplement_days=supplement, procedure_code="S5" if statutory else "1.000001")


TARGET_68 = (Target("68", "commune", ("68",)),)


def counts(con, method, targets=TARGET_68, periods=(JULY,)):
    compute.day_table(con, method)
    return compute.period_counts(con, method, list(targets), list(periods))


def july(con, method) -> dict[str, float]:
    return counts(con, method)[("68", JULY.code)]


def explained(con, method, name: str, period, units=("68",)) -> list[str]:
    sql, params = compute.explain_sql(method, name, period)
    return [r[0] for r in con.execute(sql, {**params, "units": list(units)}).fetchall()]


@pytest.fixture(scope="module")
def methods():
    return loader.load_shipped()


def test_every_measure_of_every_method_runs(db, methods):
    add_dossier(db, "x", received_at=d("07-02"), due_at=d("07-09"), finished_at=d("07-08"), synced=True)
    add_procedure(db, "1.000001", name="Chứng thực bản sao", levels="commune", online_level="full", has_fee=True)
    add_feedback(db, "f", d("07-03"), True, False)
    for method in methods:
        got = july(db, method)
        assert set(got) == set(method.measures), method.id
        for name, value in got.items():
            assert value >= 0 or method.measures[name].signed, (method.id, name, value)


def test_settlement_population_and_on_time(db, methods):
    add_settlement_cases(db)
    on_time = sorted(k for k, v in SETTLEMENT.items() if v[-1])
    population = sorted(k for k, v in SETTLEMENT.items() if v[-1] is not None)
    assert on_time == ["early", "open_within", "statutory_ok", "supplement_saves", "withdrawn"]
    for method in methods:
        got = july(db, method)
        assert got["settlement_population"] == len(population) == 10
        assert got["settled_on_time"] == len(on_time) == 5
        assert explained(db, method, "settled_on_time", JULY) == on_time
        assert explained(db, method, "settlement_population", JULY) == population
        # Finished in July: early, supplement_saves, supplement_short, withdrawn, statutory_ok,
        # statutory_late, no_deadline (7); total days 15+18+18+1+4+7+1 = 64.
        assert got["settled_in_period"] == 7
        assert got["settlement_days_total"] == pytest.approx(64)
    portal = loader.load("766-portal-2025")
    score = score_unit(portal, july(db, portal), level="commune")
    assert score.indicators["2.1"].points == pytest.approx(20 * 5 / 10)


def test_a_running_period_judges_open_dossiers_now(db, methods):
    # July 2025 seen on 20 July: an open dossier is late only when it was due before today.
    cases = {  # id: (received, due, finished, on time on 20 July, on time at the period's end)
        "overdue": (d("07-01"), d("07-10"), None, False, False),
        "not_yet_due": (d("07-05"), d("07-25"), None, True, False),
        "due_yesterday": (d("07-05"), d("07-19", 23), None, False, False),
        "due_later_today": (d("07-05"), d("07-20", 8), None, True, False),
        "finished_early": (d("07-02"), d("07-08"), d("07-07"), True, True),
        "finished_today_late": (d("07-02"), d("07-18"), d("07-20", 10), False, False),
        "received_today": (d("07-20", 8), d("07-27"), None, True, False),
    }
    for key, (received, due, finished, *_flags) in cases.items():
        add_dossier(db, key, received_at=received, due_at=due, finished_at=finished)
    now_ok = sorted(k for k, v in cases.items() if v[3])
    end_ok = sorted(k for k, v in cases.items() if v[4])
    for method in methods:
        for today, expected in ((date(2025, 7, 20), now_ok), (None, end_ok), (date(2025, 8, 5), end_ok)):
            compute.day_table(db, method)
            got = compute.period_counts(db, method, [Target("68", "commune", ("68",))], [JULY], today=today)
            sql, params = compute.explain_sql(method, "settled_on_time", JULY, today=today)
            ids = sorted(r[0] for r in db.execute(sql, {**params, "units": ["68"]}).fetchall())
            assert ids == expected, (method.id, today)
            assert got[("68", JULY.code)]["settled_on_time"] == len(expected)
            assert got[("68", JULY.code)]["settlement_population"] == len(cases)


def test_judged_until_is_the_period_end_or_the_start_of_today():
    assert compute.judged_until(JULY) == date(2025, 8, 1)
    assert compute.judged_until(JULY, date(2025, 7, 20)) == date(2025, 7, 20)
    assert compute.judged_until(JULY, date(2025, 9, 1)) == date(2025, 8, 1)  # over: its end
    assert compute.judged_until(JULY, date(2025, 6, 1)) == date(2025, 7, 1)  # not begun: its start


def test_procedure_satisfaction_subtracts_late_and_complaints_once(db):
    portal = loader.load("766-portal-2025")
    # Four dossiers in July: on time; late; on time but rated "dislike"; late with a complaint.
    add_dossier(db, "a", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-04"))
    add_dossier(db, "b", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-06"))
    add_dossier(db, "c", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-04"), rating="dislike")
    add_dossier(db, "e", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-09"), complaint=True)
    got = july(db, portal)
    # 100% − (late or complained) 3/4: only a counts; e, late and complained, is deducted once.
    assert got["settled_on_time_without_complaint"] == 1
    assert got["settlement_population"] == 4
    assert explained(db, portal, "settled_on_time_without_complaint", JULY) == ["a"]
    add_dossier(db, "g", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-09"), complaint=True)
    got = july(db, portal)
    assert got["settled_on_time_without_complaint"] == 1  # a subset of the population: never below 0
    score = score_unit(portal, got, level="commune")
    assert score.indicators["5.4"].rate == pytest.approx(1 / 5)
    assert score.indicators["5.4"].points == pytest.approx(6 * 0.2 / 0.9)


def test_derived_measures_are_arithmetic_over_the_others(db):
    portal = loader.load("766-portal-2025")
    late = Measure(name="late", basis="derived", where="", description="", description_en="",
                   expression="settlement_population - settled_on_time")
    method = replace(portal, measures=MappingProxyType({**portal.measures, "late": late}))
    add_dossier(db, "a", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-04"))
    add_dossier(db, "b", received_at=d("07-01"), due_at=d("07-05"), finished_at=d("07-06"))
    add_dossier(db, "c", received_at=d("07-01"), due_at=d("07-05"))
    assert july(db, method)["late"] == 2


def test_online_payment_and_digitisation_measures(db):
    portal = loader.load("766-portal-2025")
    add_dossier(db, "1", received_at=d("07-02"), channel="online", synced=True, has_fee=True, paid_online=True,
                requires_paper_result=True, e_result=True, digitized=True, procedure_code="P1")
    add_dossier(db, "2", received_at=d("07-02"), channel="online", synced=True, has_fee=True, paid_online=True,
                requires_paper_result=True, e_result=False, digitized=True, procedure_code="P1")
    add_dossier(db, "3", received_at=d("07-03"), channel="postal", synced=False, has_fee=True, paid_online=False,
                requires_paper_result=False, digitized=True, procedure_code="P2", population_db=True)
    add_dossier(db, "4", received_at=d("06-30"), channel="online", synced=True, has_fee=True, paid_online=True)
    got = july(db, portal)
    assert got["dossiers_received"] == 3
    assert got["dossiers_synced"] == 2
    # Online with an electronic result where the result is on paper: only dossier 1.
    assert got["dossiers_online_synced"] == 1
    assert (got["dossiers_paid_online"], got["dossiers_with_fee"]) == (2, 3)
    assert got["dossiers_digitised"] == 2  # 1 and 3 (2 lacks its e-result)
    assert got["procedures_with_dossiers"] == 2
    assert got["procedures_using_population_db"] == 1


def test_feedback_measures(db):
    portal = loader.load("766-portal-2025")
    rows = [("f1", d("07-02"), True, True), ("f2", d("07-03"), False, True), ("f3", d("07-04"), False, False),
            ("f4", d("07-05"), None, None), ("f5", d("06-05"), True, False)]
    for fid, received, on_time, satisfied in rows:
        add_feedback(db, fid, received, on_time, satisfied)
    got = july(db, portal)
    assert got["feedback_received"] == 4
    assert got["feedback_on_time"] == 1

    # Neither unsatisfied nor overdue: f1 and f4 (not handled, not rated); f3 is deducted once.
    assert got["feedback_satisfied_on_time"] == 2
    assert sorted(explained(db, portal, "feedback_satisfied_on_time", JULY)) == ["f1", "f4"]


def test_procedure_measures_per_period_and_level(db):
    portal = loader.load("766-portal-2025")
    # has_online_dossier is the period's, whatever a column of that name in the catalogue says.
    add_procedure(db, "C1", name="Chứng thực bản sao từ bản chính", levels="commune", online_level="full", has_fee=True,
                  payment_integrated=False, decision_date=date(2025, 7, 3), legal_effective_date=date(2025, 7, 20),
                  published_date=date(2025, 7, 5), complete_publication=True, has_online_dossier=True)
    add_procedure(db, "P1", name="Cấp giấy phép", levels="province", online_level="partial", has_fee=True,
                  payment_integrated=True, decision_date=date(2025, 6, 10), legal_effective_date=date(2025, 6, 12),
                  published_date=date(2025, 6, 30), complete_publication=False, has_online_dossier=True)
    add_dossier(db, "o1", received_at=d("07-04"), channel="online", procedure_code="C1", unit_code="X1")
    add_dossier(db, "o2", received_at=d("06-04"), channel="online", procedure_code="P1", unit_code="DEP")
    targets = [Target("X1", "commune", ("X1",)), Target("DEP", "agency", ("DEP",)), Target("X2", "commune", ("X2",))]
    got = counts(db, portal, targets, [JULY, parse_period("2025-06")])
    commune, agency, idle = got[("X1", "2025-07")], got[("DEP", "2025-07")], got[("X2", "2025-07")]
    assert (commune["procedures_all"], commune["certified_copy_procedures"], commune["certified_copy_procedures_active"]) == (1, 1, 1)
    assert (commune["procedures_published_in_period"], commune["procedures_published_on_time"]) == (1, 1)
    assert commune["procedures_made_public_on_time"] == 1
    assert (agency["procedures_all"], agency["online_services_with_dossier"]) == (1, 0)  # P1's dossier was in June
    assert got[("DEP", "2025-06")]["online_services_with_dossier"] == 1
    assert got[("DEP", "2025-06")]["procedures_published_on_time"] == 0  # 06-10 is not 7 days before 06-12
    assert idle["certified_copy_procedures_active"] == 0  # no online dossier of its own
    assert got[("X1", "2025-06")]["online_services_with_dossier"] == 0


def test_fee_procedures_paid_online_are_the_catalogue_rows_of_the_denominator(db):
    portal = loader.load("766-portal-2025")
    # C1 and C2 are the commune's fee procedures; P9 is the province's; X is not in the catalogue.
    add_procedure(db, "C1", levels="commune", has_fee=True, has_paid_online_dossier=False)
    add_procedure(db, "C2", levels="commune", has_fee=True)
    add_procedure(db, "C3", levels="commune", has_fee=False)
    add_procedure(db, "P9", levels="province", has_fee=True)
    for i, code in enumerate(("C1", "C1", "C3", "P9", "X")):  # every one paid online, and said fee-bearing
        add_dossier(db, f"p{i}", received_at=d("07-02"), has_fee=True, paid_online=True, procedure_code=code)
    add_dossier(db, "q", received_at=d("07-02"), has_fee=True, paid_online=False, procedure_code="C2")
    add_dossier(db, "r", received_at=d("06-02"), has_fee=True, paid_online=True, procedure_code="C2")
    got = july(db, portal)
    # Only C1 (twice, counted once): C3 is not fee-bearing in the catalogue, P9 is not the
    # commune's, X is not in the catalogue, C2's payment online was in June.
    assert (got["fee_procedures_paid_online"], got["fee_procedures"]) == (1, 2)
    assert counts(db, portal, periods=(parse_period("2025-06"),))[("68", "2025-06")]["fee_procedures_paid_online"] == 1
    rate = score_unit(portal, got, level="commune").indicators["3.5b"].rate
    assert rate == pytest.approx(0.5)


# --- every measure against the records behind it ------------------------------------------

UNITS = ("U1", "U2", "U3")
TARGETS = [Target("U1", "commune", ("U1",)), Target("U2", "agency", ("U2",)),
           Target("P", "province", UNITS), Target("U3", "commune", ("U3",))]


def _populate(con) -> None:
    """A year of hand-shaped records: the 2.1 cases for U1, and seeded variations of every
    column that a measure reads, with times at midnight on period bounds among them."""
    add_settlement_cases(con, unit="U1")
    rng = random.Random(766)
    # P5 has no catalogue entry: no statutory time, no online level, no catalogue facts.
    for code, statutory, level, fee, paper in (("P1", 1, "full", True, False), ("P2", 5, "partial", None, True),
                                               ("P3", None, "none", False, None), ("P4", 10, None, True, True)):
        add_procedure(con, code, levels="commune;province", statutory_days=statutory, online_level=level,
                      has_fee=fee, paper_result=paper)
    bounds = [datetime(2025, 6, 30), datetime(2025, 7, 1), datetime(2025, 7, 7), datetime(2025, 8, 1),
              datetime(2025, 9, 1), datetime(2025, 10, 1), datetime(2026, 1, 1)]
    for i in range(400):
        if i % 10 == 0:
            received = rng.choice(bounds)
        else:
            received = datetime(2024, 11, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 450))
        due = received + timedelta(days=rng.choice([1, 3, 7, 15, 30])) if rng.random() < 0.7 else None
        finished = None
        if rng.random() < 0.75:
            finished = received + timedelta(hours=rng.randrange(0, 24 * 40))
            if i % 7 == 0:
                finished = max(received, rng.choice(bounds))
        fee = rng.choice([None, True, False])
        add_dossier(
            con, f"g{i:03d}", unit_code=rng.choice(UNITS), procedure_code=rng.choice(["P1", "P2", "P3", "P4", "P5"]),
            received_at=received, due_at=due, finished_at=finished,
            channel=rng.choice(["online", "direct", "postal"]), has_fee=fee,
            paid_online=bool(fee) and rng.random() < 0.6, digitized=rng.random() < 0.6, e_result=rng.random() < 0.5,
            requires_paper_result=rng.choice([None, True, False]), synced=rng.random() < 0.8,
            supplement_days=rng.choice([None, 0, 0.5, 2, 6]), reused=rng.choice([None, True, False]),
            population_db=rng.choice([None, True, False]), rating=rng.choice([None, "satisfied", "dislike"]),
            complaint=rng.choice([None, True, False]),
        )
    for i in range(120):
        received = datetime(2024, 12, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 420))
        if i % 9 == 0:
            received = rng.choice(bounds)
        insert(con, "feedback", {
            "feedback_id": f"f{i:03d}", "unit_code": rng.choice(UNITS), "received_at": received,
            "due_at": rng.choice([None, received + timedelta(days=15)]),
            "handled_at": rng.choice([None, received + timedelta(days=rng.randrange(0, 30))]),
            "outcome": rng.choice([None, "pending", "handled", "refused"]),
            "rating": rng.choice([None, "satisfied", "neutral", "dislike"]),
        })


def _expected(con, method, name: str, period, units) -> float:
    """The value of a measure computed from the records explain_sql selects."""
    m = method.measures[name]
    sql, params = compute.explain_sql(method, name, period)
    params = {**params, "units": list(units)}
    ids = [r[0] for r in con.execute(sql, params).fetchall()]
    assert len(ids) == len(set(ids))
    if not m.sum and not m.distinct:
        return float(len(ids))
    table, key = re.match(r"SELECT (\w+) AS id FROM (\w+) ", sql).group(2, 1)
    what = f"coalesce(sum({m.sum}), 0)" if m.sum else f"count(DISTINCT {m.distinct})"
    return float(con.execute(f"SELECT {what} FROM {table} WHERE {key} IN (SELECT id FROM ({sql}))", params).fetchone()[0])


@pytest.mark.parametrize("method", loader.load_shipped(), ids=lambda m: m.id)
def test_every_record_measure_adds_up_to_its_records(db, method):
    _populate(db)
    got = counts(db, method, TARGETS, PERIODS)
    names = [n for n, m in method.measures.items() if m.basis in DAY_BASES]
    assert {method.measures[n].basis for n in names} == set(DAY_BASES)
    assert any(method.measures[n].sum for n in names) and any(method.measures[n].distinct for n in names)
    assert any(method.measures[n].on_time_finished for n in names)
    checked = 0
    for target in TARGETS:
        for period in PERIODS:
            values = got[(target.code, period.code)]
            for name in names:
                want = _expected(db, method, name, period, target.members)
                assert values[name] == pytest.approx(want), (target.code, period.code, name)
                checked += bool(want)
    assert checked > len(TARGETS) * len(PERIODS) * len(names) // 2  # mostly non-zero numbers


def _with_measures(method, extra: dict[str, Measure]):
    # Extra measures first, so that a derived measure comes before the ones it reads.
    return replace(method, measures=MappingProxyType({**extra, **method.measures}))


def test_derived_measures_follow_their_inputs_and_on_time_rules_are_separate(db):
    portal = loader.load("766-portal-2025")
    strict = Measure(
        name="on_time_strict", basis="dossier_settlement", where="TRUE", description="d", description_en="d",
        on_time_finished="finished_at <= due_at", on_time_open_until="due_at",
    )
    twice = Measure(name="twice", basis="derived", where="", description="d", description_en="d",
                    expression="strict_plus_one * 2")
    plus_one = Measure(name="strict_plus_one", basis="derived", where="", description="d", description_en="d",
                       expression="on_time_strict + 1")
    method = _with_measures(portal, {"twice": twice, "strict_plus_one": plus_one, "on_time_strict": strict})
    _populate(db)
    got = counts(db, method, TARGETS, PERIODS)
    for target in TARGETS:
        for period in PERIODS:
            values = got[(target.code, period.code)]
            for name in ("on_time_strict", "settled_on_time"):
                assert values[name] == _expected(db, method, name, period, target.members), (name, period.code)
            assert values["strict_plus_one"] == values["on_time_strict"] + 1
            assert values["twice"] == 2 * values["strict_plus_one"]
