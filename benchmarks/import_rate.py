"""Import rate of the dossier store (a benchmark, not a test).

Generates N synthetic canonical dossier rows (default 1,000,000) as CSV, imports them into a
fresh store and reports rows per second, then times a re-import of the same file (nothing
changes), a batch of 10,000 new or updated dossiers into the filled store, and a compaction.
The target (issue 3) is ≥ 300,000 rows/s from CSV on a 2-core machine.

    .venv/bin/python benchmarks/import_rate.py [--rows N] [--dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from chiso.dossiers import DossierStore

HEADER = (
    "dossier_id,procedure_code,unit_code,received_at,due_at,finished_at,status,channel,has_fee,"
    "paid_online,digitized,e_result,requires_paper_result,synced,supplement_days"
)
REFORM = date(2025, 7, 1)
UNIT_CODES = [str(20000 + i) for i in range(300)]


def units() -> list[tuple]:
    """300 communes; the first 100 codes were reused by new wards on 1 July 2025, so those
    rows resolve by received date like real data."""
    rows = []
    for k, code in enumerate(UNIT_CODES):
        if k < 100:
            rows.append((f"old:{code}", code, None, REFORM))
            rows.append((code, code, REFORM, None))
        else:
            rows.append((code, code, None, None))
    return rows


def generate(path: Path, n: int, *, offset: int = 0, seed: int = 1) -> None:
    """Write ``n`` rows with DuckDB (deterministic hashes of the row number), so generating
    a million rows takes a second rather than the import's own time."""
    units_sql = "[" + ", ".join(f"'{c}'" for c in UNIT_CODES) + "]"
    statuses = "['received', 'processing', 'supplement_requested', 'settled', 'returned', 'rejected', 'stopped', 'withdrawn']"
    con = duckdb.connect()
    con.execute(f"""
        COPY (
          WITH base AS (
            SELECT i,
                   TIMESTAMP '2025-01-01' + to_minutes((hash(i, {seed}, 3) % 525600)::BIGINT) AS received,
                   {statuses}[(hash(i, {seed}, 4) % 8)::INT + 1] AS status
            FROM range({offset}, {offset + n}) t(i)
          )
          SELECT 'H' || lpad(i::VARCHAR, 10, '0') AS dossier_id,
                 '1.' || lpad((1000 + hash(i, {seed}, 1) % 2000)::VARCHAR, 6, '0') AS procedure_code,
                 {units_sql}[(hash(i, {seed}, 2) % 300)::INT + 1] AS unit_code,
                 strftime(received, '%Y-%m-%dT%H:%M:%S') AS received_at,
                 strftime(received + to_days((1 + hash(i, {seed}, 5) % 14)::INT), '%Y-%m-%dT%H:%M:%S') AS due_at,
                 CASE WHEN status IN ('received', 'processing', 'supplement_requested') THEN ''
                      ELSE strftime(received + to_minutes((hash(i, {seed}, 6) % 28800)::BIGINT), '%Y-%m-%dT%H:%M:%S')
                 END AS finished_at,
                 status,
                 ['direct', 'online', 'postal'][(hash(i, {seed}, 7) % 3)::INT + 1] AS channel,
                 (hash(i, {seed}, 8) % 2)::VARCHAR AS has_fee,
                 ['true', 'false'][(hash(i, {seed}, 9) % 2)::INT + 1] AS paid_online,
                 (hash(i, {seed}, 10) % 2)::VARCHAR AS digitized,
                 (hash(i, {seed}, 11) % 2)::VARCHAR AS e_result,
                 (hash(i, {seed}, 12) % 2)::VARCHAR AS requires_paper_result,
                 ['1', ''][(hash(i, {seed}, 13) % 2)::INT + 1] AS synced,
                 ['', '0', '1.5'][(hash(i, {seed}, 14) % 3)::INT + 1] AS supplement_days
          FROM base
        ) TO '{path}' (FORMAT csv, HEADER true)
    """)
    con.close()


def machine() -> dict:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "memory": mem, "cpu": cpu, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "os": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    work = args.dir or Path(tempfile.mkdtemp(prefix="chiso-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results: dict = {"rows": args.rows, "machine": machine()}
        csv_path = work / "dossiers.csv"
        t = time.perf_counter()
        generate(csv_path, args.rows)
        results["generate_s"] = round(time.perf_counter() - t, 2)
        results["csv_mb"] = round(csv_path.stat().st_size / 1e6, 1)

        store_dir = work / "store"
        shutil.rmtree(store_dir, ignore_errors=True)
        store = DossierStore(store_dir)
        registry = units()

        t = time.perf_counter()
        summary = store.import_files([csv_path], source="bench", units=registry)
        elapsed = time.perf_counter() - t
        assert summary.inserted == args.rows, summary.to_json()
        results["import_s"] = round(elapsed, 2)
        results["import_rows_per_s"] = round(args.rows / elapsed)

        t = time.perf_counter()
        summary = store.import_files([csv_path], source="bench", units=registry)
        elapsed = time.perf_counter() - t
        assert summary.unchanged == args.rows, summary.to_json()
        results["reimport_unchanged_s"] = round(elapsed, 2)
        results["reimport_rows_per_s"] = round(args.rows / elapsed)

        # 10,000 dossiers: half new, half the existing ones moved on (a different seed).
        batch = work / "batch.csv"
        generate(batch, 10_000, offset=args.rows - 5_000, seed=2)
        t = time.perf_counter()
        summary = store.import_files([batch], source="bench", units=registry)
        results["batch_10k_s"] = round(time.perf_counter() - t, 3)
        results["batch_10k"] = {k: summary.to_json()[k] for k in ("inserted", "updated", "unchanged", "rejected")}

        t = time.perf_counter()
        store.compact()
        results["compact_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        results["count"] = store.count()
        results["count_s"] = round(time.perf_counter() - t, 3)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        m = results["machine"]
        print(f"machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}, DuckDB {m['duckdb']}")
        print(f"generated {results['rows']:,} rows ({results['csv_mb']} MB CSV) in {results['generate_s']} s")
        print(f"import:              {results['import_s']} s  = {results['import_rows_per_s']:,} rows/s")
        print(f"re-import unchanged: {results['reimport_unchanged_s']} s  = {results['reimport_rows_per_s']:,} rows/s")
        print(f"10,000-row batch:    {results['batch_10k_s']} s  {results['batch_10k']}")
        print(f"compaction:          {results['compact_s']} s; count {results['count']:,} in {results['count_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
