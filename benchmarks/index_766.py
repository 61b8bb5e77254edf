"""The 766 index at scale (a benchmark, not a test).

For N synthetic dossiers (default 1,000,000) of province 68's real units over one year
(1 January to 26 November, the day the figures were first taken):

1. *setup*, in a separate process: generate the CSV, import it (rows/s), compact;
2. *full*: every scored unit and the province × every period of the year (53 weeks,
   12 months, 4 quarters, 2 halves, 9 months, the year, 12 year-to-dates), counted and
   scored, from a cold scan of the store and from the per-day counts already built;
3. *one*: one commune's scores for one quarter on a fresh connection;
4. *batch*: 10,000 dossiers as a one-stop system sends them (5,000 received in the last
   week, 5,000 open ones now finished): time from the end of the import to every affected
   unit × period rescored, by adding the batch's change to the per-day counts; checked
   against a full recount;
5. peak memory of the computing process (DuckDB runs in it; the setup has its own).

Targets (issue 3, 2-core machine): import ≥ 300,000 rows/s; at 10 million dossiers the
full computation ≤ 3 s, the batch ≤ 0.5 s, peak memory ≤ 2 GB; at 1 million, one unit and
period ≤ 50 ms.

    .venv/bin/python benchmarks/index_766.py [--dossiers N] [--dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("CHISO_LANG", "en")

from chiso import db, settings  # noqa: E402
from chiso.dossiers import demo  # noqa: E402
from chiso.dossiers.store import DossierStore, registry_units  # noqa: E402
from chiso.index import compute, service as index_service  # noqa: E402
from chiso.methods.loader import default_method  # noqa: E402
from chiso.periods import parse_period, periods_of_year  # noqa: E402
from chiso.scoring.rules import score_many, score_unit  # noqa: E402
from chiso.units import service as units  # noqa: E402

YEAR = 2026
UNTIL = date(2026, 11, 26)


def clock() -> float:
    return time.perf_counter()


def rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def registry(work: Path):
    engine = db.make_engine(f"sqlite:///{work / 'registry.sqlite3'}")
    db.upgrade(engine)
    return engine


def setup(work: Path, n: int, phase: str) -> dict:
    """Generate (phase ``generate``) or import (phase ``import``), each in its own process
    so that each one's peak memory is its own, and neither is the index's."""
    out: dict = {}
    engine = registry(work)
    with db.transaction(engine) as session:
        units.init_province(session, "68")
        demo_units = demo.units_receiving_dossiers(session, "68", UNTIL)
        unit_rows = registry_units(session)
    gen = work / "gen"
    if phase == "generate":
        t = clock()
        demo.generate(province="68", units=demo_units, n=n, seed=1, year=YEAR, out_dir=gen, until=UNTIL)
        out["generate_s"] = round(clock() - t, 2)
        out["generate_peak_mb"] = rss_mb()
        return out
    store = DossierStore(work / "store", memory_limit=settings.get("duckdb_memory_limit"))
    store.import_files([gen / "procedures.csv"], source="bench", units=None, kind="procedures")
    t = clock()
    summary = store.import_files([gen / "dossiers.csv"], source="bench", units=unit_rows)
    took = clock() - t
    out["import_s"] = round(took, 2)
    out["import_rows_per_s"] = round(summary.read / took)
    t = clock()
    store.compact()
    out["compact_s"] = round(clock() - t, 2)
    out["import_peak_mb"] = rss_mb()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path,
                    help="work folder, kept (default: a temporary one, removed after); a store already in it "
                         "is reused, and the batch step then changes it")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--setup-only", choices=["generate", "import"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.setup_only:
        print(json.dumps(setup(args.dir, args.dossiers, args.setup_only)))
        return
    work = args.dir or Path(tempfile.mkdtemp(prefix="chiso-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"dossiers": args.dossiers, "machine": machine()}
    try:
        if (work / "store").exists() and args.dir:
            results["setup"] = "reused the store in --dir (generation and import not measured)"
        else:
            for phase in ("generate", "import"):
                if phase == "generate" and (work / "gen" / "dossiers.csv").exists():
                    results["generate"] = "reused the demo files in --dir (generation not measured)"
                    continue
                proc = subprocess.run(
                    [sys.executable, __file__, "--setup-only", phase, "--dir", str(work), "--dossiers", str(args.dossiers)],
                    capture_output=True, text=True, check=True,
                )
                results.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        run(work, results)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    results["compute_peak_mb"] = rss_mb()
    print(json.dumps(results, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in results.items()))


def score_all(method, counts, levels) -> dict:
    with compute.gc_paused():  # as the index service does
        return score_many(method, counts, levels)


def run(work: Path, results: dict) -> None:
    engine = registry(work)
    store = DossierStore(work / "store")
    method = default_method("766")
    periods = periods_of_year(YEAR)
    with db.transaction(engine) as session:
        targets = index_service.targets(session, parse_period(f"{YEAR}"), province="68")
        unit_rows = registry_units(session)
    levels = {t.code: t.level for t in targets}
    results["full_units"], results["full_periods"] = len(targets), len(periods)

    # 2. Everything, cold (scan of the store) and warm (per-day counts already built).
    con = store.connect()
    con.execute("SET memory_limit = ?", [settings.get("duckdb_memory_limit")])
    t = clock()
    compute.day_table(con, method)
    results["cold_day_counts_s"] = round(clock() - t, 3)
    t = clock()
    with compute.gc_paused():  # as the index service does
        counts_all = compute.period_counts(con, method, targets, periods)
    scores = score_all(method, counts_all, levels)
    results["warm_full_s"] = round(clock() - t, 3)
    results["cold_full_s"] = round(results["cold_day_counts_s"] + results["warm_full_s"], 3)
    results["scores"] = len(scores)

    # 3. One unit, one period: from the per-day counts a server keeps (warm), and on a
    # fresh connection that scans only that unit's records (cold).
    one = next(x for x in targets if x.level == "commune")
    q3 = parse_period(f"{YEAR}-Q3")

    def best_of(fn, n=3) -> float:
        times = []
        for _ in range(n):
            t = clock()
            fn()
            times.append((clock() - t) * 1000)
        return round(min(times), 1)

    def warm():
        with compute.gc_paused():  # as the index service does
            c1 = compute.period_counts(con, method, [one], [q3])
        score_unit(method, c1[(one.code, q3.code)], level="commune")

    def cold():
        con1 = store.connect()
        compute.day_table(con1, method, units=one.members)
        with compute.gc_paused():  # as the index service does
            c1 = compute.period_counts(con1, method, [one], [q3])
        score_unit(method, c1[(one.code, q3.code)], level="commune")
        con1.close()

    results["one_unit_period_warm_ms"] = best_of(warm)
    results["one_unit_period_cold_ms"] = best_of(cold)

    # 4. A batch as a one-stop system sends it.
    batch = work / "batch.csv"
    week_ago = UNTIL - timedelta(days=6)
    run_id = int(time.time())
    columns = ", ".join(demo.DOSSIER_COLUMNS)
    # Drawn from the store, so that the step can run again on a kept --dir.
    con.execute(f"""
        COPY (
            (SELECT {columns.replace("dossier_id", f"dossier_id || '-{run_id}' AS dossier_id", 1)}
             FROM dossiers WHERE received_at >= DATE '{week_ago.isoformat()}' ORDER BY hash(dossier_id) LIMIT 5000)
            UNION ALL
            (SELECT {columns.replace("finished_at", f"TIMESTAMP '{UNTIL.isoformat()} 16:30:00' AS finished_at", 1)
                            .replace("status", "'settled' AS status", 1)}
             FROM dossiers WHERE finished_at IS NULL ORDER BY hash(dossier_id) LIMIT 5000)
        ) TO '{batch}' (HEADER)
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE batch_keys AS SELECT dossier_id FROM read_csv(?, all_varchar=true)",
                [str(batch)])
    # What the batch replaces, as this reader saw it before the import.
    con.execute("CREATE OR REPLACE TEMP TABLE old_versions AS SELECT d.* FROM dossiers d SEMI JOIN batch_keys USING (dossier_id)")
    t = clock()
    s2 = store.import_files([batch], source="bench", units=unit_rows)
    results["batch_import_s"] = round(clock() - t, 3)
    results["batch_inserted_updated"] = [s2.inserted, s2.updated]

    t = clock()
    steps = {}
    # The import's own segment holds exactly the new versions of the changed dossiers.
    segment = store.snapshot("dossiers").deltas[-1].path
    con.execute("CREATE OR REPLACE TEMP TABLE new_versions AS SELECT * FROM read_parquet(?)", [str(segment)])
    steps["read_segment"] = clock() - t
    change = compute.apply_changes(con, method, old="old_versions", new="new_versions")
    steps["apply"] = clock() - t - sum(steps.values())
    # Only the units whose counts moved, and only the periods ending after the first day
    # that moved (each measure is a difference of running totals at the period's bounds).
    affected_periods = change.periods(periods)
    affected = [x for x in targets if change.units & set(x.members)]
    with compute.gc_paused():  # as the index service does
        counts2 = compute.period_counts(con, method, affected, affected_periods)
    steps["count"] = clock() - t - sum(steps.values())
    scores.update(score_all(method, counts2, levels))
    steps["score"] = clock() - t - sum(steps.values())
    results["batch_to_scores_s"] = round(clock() - t, 3)
    results["batch_steps_s"] = {k: round(v, 3) for k, v in steps.items()}
    results["batch_affected"] = f"{len(affected)} units x {len(affected_periods)} periods"
    store.refresh(con)

    # The incremental result must equal a full recount, for every unit and period (so
    # the ones left alone as unaffected must indeed not have moved).
    counts_all.update(counts2)
    compute.day_table(con, method)
    with compute.gc_paused():  # as the index service does
        full = compute.period_counts(con, method, targets, periods)
    results["batch_vs_recount_max_difference"] = max(
        abs(full[k].get(m, 0) - counts_all[k].get(m, 0)) for k in full for m in full[k]
    )
    con.close()


if __name__ == "__main__":
    main()
