"""No impossible number: every indicator of every unit of a small demo province, in the
quarter still running (judged now) and in the last one (judged at its end).

- every rate within 0–100 % (2.2, in days, at least 0), every numerator within its
  denominator, points within [0, the indicator's maximum], groups and totals within theirs;
- the records behind every number add up to it, and a numerator's records are a subset of
  its denominator's (the ids of ``chiso index explain``, the same SQL, for every unit);
- in the running quarter an open dossier is late only when its due time is before now;
- the province's maximum is one number: the JSON, the CLI's demo summary and the reports say
  the same.
"""

from __future__ import annotations

import json
import pytest

from chiso import db
from chiso.cli import main
from chiso.store.service import open_records
from chiso.index import compute, service
from chiso.periods import period_for

DOSSIERS = 3000
EPS = 1e-9


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from chiso.dossiers.cli import make_demo_data

    root = tmp_path_factory.mktemp("demo766")
    url = f"sqlite:///{root}/chiso.sqlite3"
    mp = pytest.MonkeyPatch()
    mp.setenv("CHISO_DATABASE_URL", url)
    mp.setenv("CHISO_DATA_DIR", str(root / "data"))
    make_demo_data("68", n=DOSSIERS, seed=7)
    engine = db.make_engine(url)
    store = open_records(engine)
    now = service.local_now()
    running = period_for("quarter", now.date())
    periods = {"running": running, "over": running.previous()}
    with db.transaction(engine) as session:
        rows = {k: service.index_766(session, store, p, now=now) for k, p in periods.items()}
        targets = {k: {t.code: t for t in service.targets(session, p)} for k, p in periods.items()}
    yield {"engine": engine, "store": store, "now": now, "periods": periods, "rows": rows, "targets": targets}
    engine.dispose()
    mp.undo()


@pytest.mark.parametrize("which", ["running", "over"])
def test_every_number_is_possible(demo, which):
    method = service.method_for(None)
    rows = demo["rows"][which]
    assert len(rows) > 100 and {r["level"] for r in rows} == {"province", "agency", "commune"}
    assert all(r["running"] == (which == "running") for r in rows)
    checked = 0
    for r in rows:
        where = f"{r['unit']} {which}"
        for ind_id, ind in r["indicators"].items():
            spec = method.indicator(ind_id)
            if ind["rate"] is not None:
                if spec.rate_unit == "days":
                    assert ind["rate"] >= 0, (where, ind_id, ind)
                else:
                    assert -EPS <= ind["rate"] <= 1 + EPS, (where, ind_id, ind)
                    assert 0 <= ind["numerator"] <= ind["denominator"], (where, ind_id, ind)
                checked += 1
            if ind["points"] is not None:
                assert -EPS <= ind["points"] <= ind["max"] + EPS, (where, ind_id, ind)
        for gid, g in r["groups"].items():
            if g["points"] is not None:
                assert -EPS <= g["points"] <= g["max"] + EPS, (where, gid, g)
        applicable = [g for g in r["groups"].values() if g["applicable"]]
        if r["total"] is None:  # no data: no points anywhere, no rank, nothing to compare
            assert not applicable and r["rank"] is None and r["total_change"] is None, (where, r)
            continue
        assert r["max_total"] == pytest.approx(sum(g["max"] for g in applicable))
        if r["total"] is not None:
            assert -EPS <= r["total"] <= r["max_total"] + EPS, (where, r["total"], r["max_total"])
    assert checked > 1000


def _records(con, method, measure, period, today):
    """{unit: ids} (and for a sum measure {unit: sum}) of one measure, for every unit at once,
    by the SQL of ``chiso index explain``."""
    m = method.measures[measure]
    sql, params = compute.explain_sql(method, measure, period, today=today)
    table, key = ("feedback_records", "feedback_id") if m.basis == "feedback" else ("records", "dossier_id")
    # A summed value as the per-day tables keep it: whole millionths (compute.SUM_SCALE).
    value = f"round(({m.sum}) * {compute.SUM_SCALE}) / {compute.SUM_SCALE}" if m.sum else "1"
    head = f"SELECT {key} AS id FROM"
    assert sql.startswith(head)
    sql = f"SELECT {key} AS id, unit_code, {value} AS value FROM" + sql[len(head):]
    units = [u for (u,) in con.execute(f"SELECT DISTINCT unit_code FROM {table}").fetchall()]
    got = con.execute(sql, {**params, "units": units}).fetchall()
    ids: dict[str, set] = {}
    sums: dict[str, float] = {}
    for i, unit, v in got:
        ids.setdefault(unit, set()).add(i)
        sums[unit] = sums.get(unit, 0.0) + float(v)
    return ids, sums


@pytest.mark.parametrize("which", ["running", "over"])
def test_the_records_behind_every_number_add_up_to_it(demo, which):
    method = service.method_for(None)
    period, today = demo["periods"][which], demo["now"].date()
    rows = {r["unit"]: r for r in demo["rows"][which]}
    targets = demo["targets"][which]
    con = demo["store"].connect()
    try:
        compute.prepare(con)
        cache: dict[str, tuple] = {}
        walked = 0
        for ind in method.indicators:
            sides = {}
            for side, measure in (("numerator", ind.numerator), ("denominator", ind.denominator)):
                m = method.measures[measure]
                if m.basis in ("procedure", "derived") or m.distinct:
                    continue  # not a set of records: the counts are all there is
                if measure not in cache:
                    cache[measure] = _records(con, method, measure, period, today)
                sides[side] = (m, cache[measure])
            for code, r in rows.items():
                got = r["indicators"][ind.id]
                if got["numerator"] is None:  # outside the unit's scope
                    continue
                members = targets[code].members
                mine = {}
                for side, (m, (ids, sums)) in sides.items():
                    mine[side] = set().union(*(ids.get(u, set()) for u in members))
                    value = sum(sums.get(u, 0.0) for u in members) if m.sum else len(mine[side])
                    assert value == pytest.approx(got[side]), (code, ind.id, side)
                    walked += 1
                if len(mine) == 2 and not method.measures[ind.numerator].sum:
                    assert mine["numerator"] <= mine["denominator"], (code, ind.id)
        assert walked > 1000
        # The same through the service, for the province and the units with most late dossiers.
        late = sorted((r for r in rows.values() if r["indicators"]["2.1"]["denominator"]),
                      key=lambda r: r["indicators"]["2.1"]["numerator"] - r["indicators"]["2.1"]["denominator"])
        with db.transaction(demo["engine"]) as session:
            for r in [rows["68"], *late[:2]]:
                for ind_id in ("2.1", "2.2", "5.3", "5.4"):
                    got = service.explain(session, demo["store"], period, unit=r["unit"], indicator=ind_id,
                                          now=demo["now"])
                    want = r["indicators"][ind_id]
                    assert got["numerator"] == pytest.approx(want["numerator"]), (r["unit"], ind_id)
                    assert got["denominator"] == want["denominator"], (r["unit"], ind_id)
    finally:
        con.close()


def test_in_the_running_quarter_only_dossiers_due_before_now_are_late(demo):
    method = service.method_for(None)
    period, now = demo["periods"]["running"], demo["now"]
    con = demo["store"].connect()
    try:
        compute.prepare(con)
        (population, _s), (on_time, _t) = (_records(con, method, m, period, now.date())
                                            for m in ("settlement_population", "settled_on_time"))
        late = set().union(*population.values()) - set().union(*on_time.values())
        rows = con.execute("SELECT dossier_id, due_at, finished_at FROM records WHERE dossier_id IN "
                           "(SELECT unnest($ids))", {"ids": sorted(late)}).fetchall()
        open_late = [(i, due) for i, due, finished in rows if finished is None]
        assert open_late, "the demo has overdue open dossiers"
        assert all(due is not None and due < now for _i, due in open_late), open_late[:5]
        # And the open ones not yet due are on time.
        not_due = con.execute("SELECT count(*) FROM records WHERE finished_at IS NULL AND due_at >= $now "
                              "AND received_at < $now", {"now": now}).fetchone()[0]
        assert not_due > 0
    finally:
        con.close()


def test_the_province_has_one_maximum_everywhere(demo, capsys):
    from chiso.reports.build import build_periodic

    period = demo["periods"]["running"]
    prov = next(r for r in demo["rows"]["running"] if r["level"] == "province")
    assert main(["index", "766", "--period", period.code, "--unit", "68", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["max_total"] == prov["max_total"] and row["running"] and row["until"] == demo["now"].date().isoformat()
    assert row["total_change"] is not None  # the province moves too, though it has no rank
    with db.transaction(demo["engine"]) as session:
        doc = build_periodic(session, demo["store"], period=period, lang="vi", at=demo["now"])
    text = doc.text()
    assert f"/{prov['max_total']:.0f} điểm" in text
    assert f"đến {demo['now'].date():%d/%m/%Y}" in text
    assert main(["index", "766", "--period", period.code]) == 0
    assert f"{period.code}, đến {demo['now'].date():%d/%m/%Y}" in capsys.readouterr().out
