"""The index as it stood (a benchmark, not a test): ``chiso index 766 --as-of`` at scale.

The store is made as ``benchmarks/index_766.py`` makes it (N synthetic dossiers of province
68's real units, imported and compacted; kept in ``--dir`` so that a second run starts at
once). Then:

1. the current index of one quarter is computed (what a server has: the current counts);
2. two batches of 10,000 dossiers are imported (versions V+1, V+2) and the store is
   compacted, as a day of a province goes;
3. *as of* the version after the first batch, one period, every unit: from a cold store
   (no kept counts of that version), timed in this process and as the command
   (``chiso index 766 --period P --as-of T --format json``, a fresh process); then again,
   from the counts kept in ``cache/as-of``;
4. the same after the replaced base has gone (``retain_seconds`` passed): the version is
   then read from the retained segments over the base the retention keeps;
5. ``chiso index diff`` of the quarter the first batch fell in, from the version before it
   to its own, as the command: every unit and indicator it moved, with the dossiers that
   entered or left each.

Target (issue 12, 2-core machine): as-of one period, all units, 10 million dossiers ≤ 2 s.

    .venv/bin/python benchmarks/as_of.py [--dossiers N] [--dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CHISO_LANG", "en")

sys.path.insert(0, str(Path(__file__).parent))

import index_766 as base_bench  # noqa: E402

from chiso import db  # noqa: E402
from chiso.dossiers.store import DossierStore, local_time, registry_units  # noqa: E402
from chiso.index import kept, service  # noqa: E402
from chiso.periods import parse_period  # noqa: E402

PERIOD = "2026-Q3"


def clock() -> float:
    return time.perf_counter()


def batch(con, path: Path, tag: str) -> None:
    """10,000 dossiers: 5,000 new ones of the last week, 5,000 open ones now finished."""
    from chiso.dossiers import demo

    columns = ", ".join(demo.DOSSIER_COLUMNS)
    con.execute(f"""
        COPY (
            (SELECT {columns.replace("dossier_id", f"dossier_id || '-{tag}' AS dossier_id", 1)}
             FROM dossiers WHERE received_at >= DATE '2026-11-20' ORDER BY hash(dossier_id) LIMIT 5000)
            UNION ALL
            (SELECT {columns.replace("finished_at", "TIMESTAMP '2026-11-26 16:30:00' AS finished_at", 1)
                            .replace("status", "'settled' AS status", 1)}
             FROM dossiers WHERE finished_at IS NULL ORDER BY hash(dossier_id, '{tag}') LIMIT 5000)
        ) TO '{path}' (HEADER)
    """)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, help="work folder, kept (default: a temporary one, removed after)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="chiso-asof-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"dossiers": args.dossiers, "machine": base_bench.machine(), "period": PERIOD}
    try:
        if not (work / "store").exists():
            for phase in ("generate", "import"):
                proc = subprocess.run(
                    [sys.executable, base_bench.__file__, "--setup-only", phase, "--dir", str(work),
                     "--dossiers", str(args.dossiers)], capture_output=True, text=True, check=True)
                results.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        run(work, results)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in results.items()))


def run(work: Path, results: dict) -> None:
    url = f"sqlite:///{work / 'registry.sqlite3'}"
    engine = base_bench.registry(work)
    store = DossierStore(work / "store")
    period = parse_period(PERIOD)
    with db.transaction(engine) as session:
        unit_rows = registry_units(session)
        t = clock()
        service.index_766(session, store, period)
        results["current_index_s"] = round(clock() - t, 3)
    before = store.version()
    con = store.connect()
    tag = str(int(time.time()))
    for i in (1, 2):
        batch(con, work / f"batch{i}.csv", f"{tag}-{i}")
    con.close()
    first = store.import_files([work / "batch1.csv"], source="bench", units=unit_rows)
    time.sleep(0.05)
    store.import_files([work / "batch2.csv"], source="bench", units=unit_rows)
    t = clock()
    store.compact()
    results["compact_s"] = round(clock() - t, 2)
    wanted = first.version
    moment = local_time(next(v.committed_at for v in store.versions() if v.number == wanted))
    results["as_of"] = {"version": wanted, "moment": moment.isoformat(), "store_version": store.version()}

    def as_of_in_process(label: str) -> None:
        with db.transaction(engine) as session:
            t = clock()
            rows = service.index_766(session, store, period, at_version=store.version_at(moment), now=moment)
            results[label] = round(clock() - t, 3)
        results["units"] = len(rows)

    def command(label: str, *args: str) -> str:
        from chiso.store import service as store_service

        data = work / "data"
        (data).mkdir(exist_ok=True)
        # The benchmark's records folder is the registry store's (named by its STORE.json),
        # found by the command through the setting records_path, as a second server would.
        if not (work / "store" / store_service.IDENTITY_FILE).exists():
            store_service.write_marker(work / "store", engine, store_service.identity(engine))
        env = {**os.environ, "CHISO_DATABASE_URL": url, "CHISO_DATA_DIR": str(data),
               "CHISO_RECORDS_PATH": str(work / "store")}
        t = clock()
        proc = subprocess.run([sys.executable, "-m", "chiso", *args], env=env, capture_output=True, text=True)
        results[label] = round(clock() - t, 3)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        return proc.stdout

    def as_of_command(label: str) -> None:
        command(label, "index", "766", "--period", PERIOD, "--as-of", moment.isoformat(), "--format", "json")

    def cold() -> None:
        shutil.rmtree(work / "store" / "cache" / kept.AS_OF_FOLDER, ignore_errors=True)

    files = lambda: sorted(p.name for p in (work / "store" / "dossiers").glob("*.parquet"))  # noqa: E731
    results["files_with_the_replaced_base"] = files()
    cold()
    as_of_in_process("as_of_cold_s")
    as_of_in_process("as_of_kept_counts_s")
    cold()
    as_of_command("as_of_cold_command_s")
    as_of_command("as_of_kept_counts_command_s")

    # An hour later: the base the compaction replaced is gone; the version is read from
    # the retained segments.
    store.compact(retain_seconds=0)
    results["files_after_an_hour"] = files()
    cold()
    as_of_in_process("as_of_cold_from_segments_s")
    cold()
    as_of_command("as_of_cold_from_segments_command_s")

    # What the first batch moved in the quarter it fell in, down to the dossiers, as the
    # command (`chiso index diff`): every unit and indicator it moved, with the records
    # that entered or left each.
    quarter = parse_period(f"{moment.year}-Q{(moment.month - 1) // 3 + 1}").code
    moved = json.loads(command("diff_command_s", "index", "diff", "--period", quarter, "--from", str(before),
                               "--to", str(wanted), "--format", "json"))
    results["diff"] = {"period": quarter, "from": before, "to": wanted, "units": len(moved["units"]),
                       "indicators": sum(len(u["indicators"]) for u in moved["units"]),
                       "dossiers_listed": sum(len(i.get("numerator_entered") or ()) + len(i.get("numerator_left") or ())
                                              + len(i.get("denominator_entered") or ())
                                              + len(i.get("denominator_left") or ())
                                              for u in moved["units"] for i in u["indicators"].values())}


if __name__ == "__main__":
    main()
