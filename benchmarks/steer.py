"""Steering at the demo size (a benchmark, not a test): the period's end foreseen and the
advice, for every unit of the province and one period, beside the 766 index itself.

On a demonstration store (``chiso demo``'s: province 68's real units, N dossiers of this
year; made here with ``--dossiers``, or an existing one with ``--data-dir``), for the
quarter running today, in this process:

1. *yardstick*: the 766 index of every unit (``chiso index 766``'s work);
2. *forecast*: low, high and expected for every unit (``chiso index forecast``);
3. *advice*: ranked actions and the smallest set to the next band for every commune and
   agency (``chiso index advise`` for each);
4. *due*: the open dossiers falling due within 2 working days, every unit.

Each is timed twice: first (the per-day counts of the store version may have to be built)
and again (read from the store's cache, as a running server does); the best of ``--repeat``
runs after the first. The two commands are also timed as fresh processes.

Target (issue 15, 2-core machine): advice for every unit of one period ≤ 1 s; forecast
likewise.

    .venv/bin/python benchmarks/steer.py [--dossiers N] [--data-dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def clock() -> float:
    return time.perf_counter()


def timed(fn, repeat: int) -> tuple[float, dict, object]:
    """(first wall time, {"best": wall, "cpu": this process's CPU time of that run}, result):
    on a shared machine the CPU time says what the work costs, the wall time what one waits."""
    t, c = clock(), time.process_time()
    out = fn()
    first = clock() - t
    best, cpu = first, time.process_time() - c
    for _ in range(repeat):
        t, c = clock(), time.process_time()
        out = fn()
        d = clock() - t
        if d <= best:
            best, cpu = d, time.process_time() - c
    return round(first, 3), {"best": round(best, 3), "cpu": round(cpu, 3)}, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=200_000, help="demo dossiers to make (chiso demo's default)")
    ap.add_argument("--data-dir", type=Path, help="an existing demo's data folder (CHISO_DATA_DIR)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    temp = None
    data = args.data_dir
    if data is None:
        temp = Path(tempfile.mkdtemp(prefix="chiso-steer-"))
        data = temp
    os.environ["CHISO_DATA_DIR"] = str(data)
    os.environ.setdefault("CHISO_LANG", "en")
    os.environ.pop("CHISO_DATABASE_URL", None)
    os.environ.pop("CHISO_RECORDS_PATH", None)
    try:
        results = run(data, args)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in results.items()))


def run(data: Path, args: argparse.Namespace) -> dict:
    from chiso import db
    from chiso.auth.permissions import command_line
    from chiso.clock import local_now
    from chiso.index import service, steer
    from chiso.periods import period_for
    from chiso.store.service import open_records

    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    engine = db.make_engine()
    if not (data / "chiso.sqlite3").exists() or args.data_dir is None:
        from chiso.dossiers import service as dossiers

        db.upgrade(engine)
        t = clock()
        dossiers.make_demo_data(engine, actor=command_line(), province="68", n=args.dossiers, seed=1)
        results["setup_s"] = round(clock() - t, 1)
    store = open_records(engine)
    period = period_for("quarter", local_now().date())
    results["period"] = period.code
    with db.transaction(engine) as session:
        con = store.connect()
        results["dossiers"] = con.execute("SELECT count(*) FROM dossiers").fetchone()[0]
        con.close()
        first, best, rows = timed(lambda: service.index_766(session, store, period), args.repeat)
        results["units"] = len(rows)
        results["yardstick_index_766_s"] = {"first": first, **best}
        first, best, rows = timed(lambda: steer.forecast(session, store, period), args.repeat)
        results["forecast_all_units_s"] = {"first": first, **best}
        first, best, got = timed(lambda: steer.advise_many(session, store, period), args.repeat)
        results["advice_all_units_s"] = {"first": first, **best, "units": len(got),  # type: ignore[arg-type]
                                         "actions": sum(len(a["actions"]) for a in got.values())}  # type: ignore[union-attr]
        first, best, due = timed(lambda: steer.due(session, store), args.repeat)
        results["due_all_units_s"] = {"first": first, **best, "dossiers": len(due)}  # type: ignore[arg-type]
    for label, argv in (("command_index_766_s", ["index", "766", "--period", period.code]),
                        ("command_forecast_s", ["index", "forecast", "--period", period.code])):
        t = clock()
        proc = subprocess.run([sys.executable, "-m", "chiso", *argv, "--format", "json"], capture_output=True,
                              text=True, env=os.environ.copy())
        results[label] = round(clock() - t, 3) if proc.returncode == 0 else proc.stderr[-300:]
    return results


if __name__ == "__main__":
    main()
