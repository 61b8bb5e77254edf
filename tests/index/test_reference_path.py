"""Every measure of every unit and every period of a year of a small demo province, as the
fast path counts it (per-day counts, running totals, buckets of presence), equals a
straightforward path that counts each period's records directly.

Optimisations of :mod:`chiso.index.compute` must keep this test green: it is the "before
and after" of issue 17, with the "before" written as plainly as the definitions read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chiso import db
from chiso.index import compute, service
from chiso.periods import periods_of_year
from chiso.store.service import open_records

DOSSIERS = 3000
KINDS = ("month", "quarter", "half", "year")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from chiso.dossiers.cli import make_demo_data

    root = tmp_path_factory.mktemp("demo-reference")
    url = f"sqlite:///{root}/chiso.sqlite3"
    mp = pytest.MonkeyPatch()
    mp.setenv("CHISO_DATABASE_URL", url)
    mp.setenv("CHISO_DATA_DIR", str(root / "data"))
    make_demo_data("68", n=DOSSIERS, seed=11)
    engine = db.make_engine(url)
    now = service.local_now()
    # The quarters, halves and year, and two months: every kind of period bound, at half
    # the cost of every month (each measure of each period is counted the plain way).
    everything = periods_of_year(now.year, KINDS)
    periods = [p for p in everything if p.kind != "month"] + [p for p in everything if p.kind == "month"][:2]
    with db.transaction(engine) as session:
        targets = service.targets(session, periods[-1])
    yield {"store": open_records(engine), "now": now, "periods": periods, "targets": targets}
    engine.dispose()
    mp.undo()


def _scoped(con, targets) -> None:
    members = [(t.code, m) for t in targets for m in t.members]
    con.execute("CREATE OR REPLACE TEMP TABLE ref_scope AS SELECT unnest($t::VARCHAR[]) AS target, "
                "unnest($u::VARCHAR[]) AS unit", {"t": [t for t, _m in members], "u": [m for _t, m in members]})


def _record_measure(con, method, name, period, today) -> dict[str, float]:
    """A dossier or feedback measure over one period: the records ``chiso index explain``
    lists (the per-period conditions), counted or summed per target."""
    m = method.measures[name]
    sql, params = compute.explain_sql(method, name, period, today=today)
    table, key = ("feedback_records", "feedback_id") if m.basis == "feedback" else ("records", "dossier_id")
    head, scope = f"SELECT {key} AS id FROM {table} WHERE ", "unit_code IN (SELECT unnest($units)) AND "
    assert sql.startswith(head + scope) and sql.endswith(" ORDER BY id")
    where = sql[len(head + scope):-len(" ORDER BY id")]
    value = compute.sum_sql(m) if m.sum else "count(*)"
    rows = con.execute(f"SELECT s.target, {value} FROM {table} JOIN ref_scope s ON s.unit = unit_code "
                       f"WHERE {where} GROUP BY s.target", params).fetchall()
    return {t: float(v) for t, v in rows}


def _distinct_measure(con, method, name, period) -> dict[str, float]:
    m = method.measures[name]
    rows = con.execute(
        f"SELECT s.target, count(DISTINCT CAST({m.distinct} AS VARCHAR)) FROM records JOIN ref_scope s "
        f"ON s.unit = unit_code WHERE received_at >= $start AND received_at < $end AND ({m.where or 'TRUE'}) "
        "GROUP BY s.target", {"start": period.start, "end": period.end + timedelta(days=1)}).fetchall()
    return {t: float(v) for t, v in rows}


def _procedure_measures(con, method, targets, period) -> dict[str, dict[str, float]]:
    """Catalogue measures: every catalogue row of the target's level, with the period's
    flags found by looking for a dossier of that procedure in the period."""
    names = [n for n, m in method.measures.items() if m.basis == "procedure"]
    sums = ", ".join(f'coalesce(sum(CASE WHEN ({method.measures[n].where}) THEN 1 ELSE 0 END), 0) AS "{n}"'
                     for n in names)
    out = {}
    for t in targets:
        level = compute._COMMUNE_PROCEDURES if t.level == "commune" else compute._OTHER_PROCEDURES
        found = ("EXISTS (SELECT 1 FROM records r WHERE r.procedure_code = p.procedure_code "
                 "AND list_contains($units, r.unit_code) AND r.received_at >= $start AND r.received_at < $end AND {})")
        row = con.execute(f"""
            SELECT {sums} FROM (
                SELECT {found.format("r.channel = 'online'")} AS has_online_dossier,
                       {found.format("coalesce(r.paid_online, FALSE)")} AS has_paid_online_dossier,
                       CAST($start AS TIMESTAMP) AS period_start, CAST($end AS TIMESTAMP) AS period_end, p.*
                FROM procedures p WHERE {level})
        """, {"units": list(t.members), "start": period.start, "end": period.end + timedelta(days=1)}).fetchone()
        out[t.code] = dict(zip(names, (float(v) for v in row)))
    return out


def test_every_measure_of_every_unit_and_period_equals_the_straightforward_path(demo):
    method = service.method_for(None)
    targets, periods, today = demo["targets"], demo["periods"], demo["now"].date()
    assert len(targets) > 100 and len(periods) == 9
    con = service.counting_connection(demo["store"], method)
    try:
        fast = compute.period_counts(con, method, targets, periods, today=today)
        compute.prepare(con)
        _scoped(con, targets)
        compared = nonzero = 0
        for p in periods:
            expected: dict[str, dict[str, float]] = {t.code: {} for t in targets}
            for name, m in method.measures.items():
                if m.basis in ("procedure", "derived"):
                    continue
                got = _distinct_measure(con, method, name, p) if m.distinct else \
                    _record_measure(con, method, name, p, today)
                for t in targets:
                    expected[t.code][name] = got.get(t.code, 0.0)
            for code, values in _procedure_measures(con, method, targets, p).items():
                expected[code].update(values)
            # At the province, a `province: communes` measure is its communes whose own value is above 0.
            communes = [t.code for t in targets if t.level == "commune"]
            for t in targets:
                if t.level == "province":
                    for name, m in method.measures.items():
                        if m.province == "communes":
                            expected[t.code][name] = float(sum(expected[c].get(name, 0.0) > 0 for c in communes))
            for t in targets:
                counts = fast[(t.code, p.code)]
                for name, value in expected[t.code].items():
                    assert counts[name] == pytest.approx(value, abs=1e-9), (t.code, p.code, name)
                    compared += 1
                    nonzero += value != 0
    finally:
        con.close()
    assert compared > 25_000 and nonzero > 5_000
