"""Backup and restore of a whole store (a benchmark, not a test).

For N synthetic dossiers (default 1,000,000) of province 68's real units (generated as
``benchmarks/index_766.py`` does), in an SQLite store with its records beside it, plus the
demonstration's committee, tasks, targets and rounds:

1. *setup* (not timed here): generate the CSV (or reuse ``--gen FOLDER``), import it,
   compact, seed the demonstration;
2. *backup*: ``chiso backup --out FILE`` as a user runs it (a new process), wall time;
3. *restore*: ``chiso restore FILE`` into a new SQLite file, and into a new PostgreSQL
   database (when one is reachable), wall time each;
4. checks: ``chiso store info`` agrees (store id, version, record counts, segments,
   evidence files, last compaction), and ``chiso index 766`` of one quarter is the same on
   the source and the SQLite restore (floats to 1e-9: see docs/store.md).

``--audit-rows N`` adds N entries to the audit log first (a large table, to measure the
tables' path: read through SQLAlchemy, written in batches on restore).

Targets (issue 12, 2-core machine): backup of a 10M-dossier store ≤ 60 s; restore ≤ 120 s.

    .venv/bin/python benchmarks/backup.py [--dossiers N] [--dir FOLDER] [--gen FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("CHISO_LANG", "en")

from chiso import db  # noqa: E402
from chiso.dossiers import demo  # noqa: E402
from chiso.dossiers.store import registry_units  # noqa: E402
from chiso.units import service as units  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from index_766 import UNTIL, YEAR, machine  # noqa: E402

PG_ADMIN_URL = os.environ.get("CHISO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
COMPARED = ("store_id", "created_at", "version", "versions", "records", "segments", "evidence_files", "last_compaction")


def chiso(*argv: str, url: str, data_dir: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "CHISO_RECORDS_PATH"}
    env.update(CHISO_DATABASE_URL=url, CHISO_DATA_DIR=str(data_dir), CHISO_LANG="en")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "chiso", *argv], env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"chiso {' '.join(argv)} failed: {proc.stderr.strip()}")
    return took, proc.stdout


def setup(work: Path, url: str, n: int, gen: Path | None) -> dict:
    from chiso.demo import seed_demo
    from chiso.store.service import open_records

    out: dict = {}
    os.environ["CHISO_DATABASE_URL"] = url
    os.environ["CHISO_DATA_DIR"] = str(work / "data")
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.transaction(engine) as session:
        units.init_province(session, "68")
        demo_units = demo.units_receiving_dossiers(session, "68", UNTIL)
        unit_rows = registry_units(session)
    if gen is None:
        gen = work / "gen"
        t = time.perf_counter()
        demo.generate(province="68", units=demo_units, n=n, seed=1, year=YEAR, out_dir=gen, until=UNTIL)
        out["generate_s"] = round(time.perf_counter() - t, 1)
    store = open_records(engine)
    store.import_files([gen / "procedures.csv"], source="bench", units=None, kind="procedures")
    t = time.perf_counter()
    summary = store.import_files([gen / "dossiers.csv"], source="bench", units=unit_rows)
    store.import_files([gen / "feedback.csv"], source="bench", units=unit_rows, kind="feedback")
    out["import_s"] = round(time.perf_counter() - t, 1)
    out["dossiers"] = summary.read
    store.compact()
    seed_demo(engine, "68", store=store)
    engine.dispose()
    return out


def add_audit_rows(url: str, n: int) -> int:
    """Bring the audit log up to ``n`` synthetic entries (inserted directly, in batches)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from chiso.audit.models import AuditEntry

    engine = db.make_engine(url)
    with engine.begin() as conn:
        have = conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        for first in range(have, n, 10_000):
            conn.execute(AuditEntry.__table__.insert(), [
                {"at": start + timedelta(seconds=i), "actor": f"user{i % 50}", "via": "web", "address": "10.0.0.1",
                 "action": "assessment.update", "object_type": "assessment", "object_key": f"xa-2026/{i % 124}",
                 "before": '{"status": "draft", "values": {"steering.plan": 1}}',
                 "after": '{"status": "self_assessed", "values": {"steering.plan": 2}}'}
                for i in range(first, min(first + 10_000, n))])
        total = conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    engine.dispose()
    return total


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def info(url: str, data_dir: Path, records: str | None = None) -> dict:
    _t, out = chiso("store", "info", "--format", "json", url=url, data_dir=data_dir)
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, help="work folder, kept (default: a temporary one); a store in it is reused")
    ap.add_argument("--gen", type=Path, help="a folder of CSV files generated earlier (dossiers.csv, procedures.csv, "
                                             "feedback.csv), e.g. by benchmarks/index_766.py --dir")
    ap.add_argument("--no-postgres", action="store_true", help="skip the restore into PostgreSQL")
    ap.add_argument("--audit-rows", type=int, default=0, help="bring the audit log up to this many entries first")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="chiso-bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    source = f"sqlite:///{work / 'source.sqlite3'}"
    results: dict = {"machine": machine()}
    pg_name = None
    try:
        if (work / "source.sqlite3").exists():
            results["setup"] = "reused the store in --dir"
        else:
            results.update(setup(work, source, args.dossiers, args.gen))
        if args.audit_rows:
            results["audit_log_rows"] = add_audit_rows(source, args.audit_rows)
        before = info(source, data_dir)
        results["dossiers"] = before["records"]["dossiers"]
        results["records_mb"] = round(before["records_bytes"] / 2**20)
        results["database_mb"] = round((before["database_bytes"] or 0) / 2**20, 1)

        archive = work / "store.tar"
        for leftover in (archive, work / "restored.sqlite3"):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(work / "restored.records", ignore_errors=True)
        took, out = chiso("backup", "--out", str(archive), "--format", "json", url=source, data_dir=data_dir)
        results["backup_s"] = round(took, 1)
        results["archive_mb"] = round(archive.stat().st_size / 2**20)

        target = f"sqlite:///{work / 'restored.sqlite3'}"
        took, _out = chiso("restore", str(archive), url=target, data_dir=data_dir)
        results["restore_sqlite_s"] = round(took, 1)
        after = info(target, data_dir)
        results["info_agrees_sqlite"] = all(before[k] == after[k] for k in COMPARED)

        if not args.no_postgres:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            pg_name = f"chiso_bench_backup_{os.getpid()}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
            pg_url = make_url(PG_ADMIN_URL).set(database=pg_name).render_as_string(hide_password=False)
            took, _out = chiso("restore", str(archive), "--records", str(work / "pg.records"), url=pg_url,
                               data_dir=data_dir)
            results["restore_postgresql_s"] = round(took, 1)
            results["info_agrees_postgresql"] = all(before[k] == info(pg_url, data_dir)[k] for k in COMPARED)

        quarter = f"{YEAR}-Q3"
        _t, a = chiso("index", "766", "--period", quarter, "--format", "json", url=source, data_dir=data_dir)
        _t, b = chiso("index", "766", "--period", quarter, "--format", "json", url=target, data_dir=data_dir)
        results["index_766_agrees"] = close(json.loads(a), json.loads(b))
    finally:
        if pg_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            shutil.rmtree(work / "pg.records", ignore_errors=True)
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    results["date"] = date.today().isoformat()
    print(json.dumps(results, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in results.items()))


if __name__ == "__main__":
    main()
