"""The commands people run, timed as whole processes (a benchmark, not a test).

What a person meets is the whole process: start-up, opening the store, the work, printing.
For a store of N demo dossiers of province 68 (default 2,000,000), each command runs as
``python -m chiso ...`` in its own process, ``--repeat`` times (default 5); the median wall
time, CPU time (user + system) and peak memory (resident) of each are reported beside a
yardstick measured in the same run on the same files:

- ``chiso --help``, beside a bare ``python -c pass`` and a process importing click;
- ``chiso dossiers import`` of the dossiers CSV into a fresh store, beside DuckDB's own load
  of the same file into a table;
- ``chiso index 766 --period <quarter> --format json``, warm (per-day counts kept from an
  earlier run) and cold (counts folder emptied before each run), beside a hand-written
  DuckDB query over the store's Parquet records counting on-time settlement per unit for
  the same quarter.

Each command also runs handed to a resident process (``chiso resident``, started for the
run): what a person meets where the resident runs. There CPU time and peak memory are the
caller's only (the command runs in a child of the resident, which GNU time does not see);
the command's own are those of the runs alone. A command alone, through the resident and
its yardstick take turns (``in_turns``): the machines' speed drifts by a third within
minutes, and only figures measured side by side compare.

Goals (issue 17): help ≤ 0.15 s; index warm ≤ 0.5 s at 2M and ≤ 1.0 s at 10M, cold ≤ 2 s at
2M; import ≥ 500,000 rows/s with peak memory ≤ 2 GB at 10M.

    .venv/bin/python benchmarks/cli.py [--dossiers N] [--repeat 5] [--dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).parent))
from index_766 import UNTIL, YEAR, machine  # noqa: E402

QUARTER = f"{YEAR}-Q3"
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"  # GNU time (Debian: time)


def repeat(argv: list[str], env: dict, n: int, *, before=None) -> dict:
    """Median of ``n`` runs. CPU and peak memory come from GNU time, a small process: the
    kernel's maximum resident size of a child counts the forking parent's pages too, so a
    child of this (large) Python process would be charged for them."""
    walls, cpus, peaks = [], [], []
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as report:
        for _ in range(n):
            if before:
                before()
            start = time.perf_counter()
            proc = subprocess.run([TIME, "-f", "%U %S %M", "-o", report.name, *argv], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            walls.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode().strip()}")
            report.seek(0)
            user, system, peak_kb = report.read().split()[-3:]
            cpus.append(float(user) + float(system))
            peaks.append(int(peak_kb) / 1024)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3),
            "peak_mb": round(max(peaks)), "runs": n}


def chiso(*argv: str) -> list[str]:
    return [sys.executable, "-m", "chiso", *argv]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def environment(work: Path, store: str) -> dict:
    # As a person's shell has it: no chiso settings, and Python keeps its compiled modules
    # (this workplace sets PYTHONDONTWRITEBYTECODE, which would make every run compile chiso
    # again: about 0.7 s of CPU that no installed copy pays).
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHISO_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CHISO_DATABASE_URL=f"sqlite:///{work / store}.sqlite3", CHISO_DATA_DIR=str(work / "data"),
               CHISO_LANG="en", CHISO_RESIDENT="off")
    return env


def prepare(work: Path, n: int) -> dict:
    """An initialised empty store (copied for each import run) and the demo files."""
    from chiso import db
    from chiso.dossiers import demo
    from chiso.units import service as units

    out: dict = {}
    gen = work / "gen"
    if not (gen / "dossiers.csv").exists():
        engine = db.make_engine(f"sqlite:///{work / 'registry.sqlite3'}")
        db.upgrade(engine)
        with db.transaction(engine) as session:
            units.init_province(session, "68")
            demo_units = demo.units_receiving_dossiers(session, "68", UNTIL)
        t = time.perf_counter()
        demo.generate(province="68", units=demo_units, n=n, seed=1, year=YEAR, out_dir=gen, until=UNTIL)
        out["generate_s"] = round(time.perf_counter() - t, 1)
    empty = work / "empty.sqlite3"
    if not empty.exists():
        env = environment(work, "empty")
        subprocess.run(chiso("init", "--province", "68"), env=env, check=True, capture_output=True)
    return out


def fresh_store(work: Path, name: str) -> None:
    """A copy of the initialised empty store under ``name``, with no records yet."""
    for suffix in (".sqlite3", ".records"):
        target = work / f"{name}{suffix}"
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    shutil.copy(work / "empty.sqlite3", work / f"{name}.sqlite3")
    shutil.copytree(work / "empty.records", work / f"{name}.records")  # the store's marker


def in_turns(n: int, runs: dict[str, Callable[[], dict]]) -> dict[str, dict]:
    """Each of ``runs`` (a function timing one run) ``n`` times, taking turns: the speed of
    these machines drifts by a third within minutes, so a command and its yardstick, or the
    same command alone and through the resident, are only compared when measured side by side."""
    taken: dict[str, list[dict]] = {name: [] for name in runs}
    for _ in range(n):
        for name, run in runs.items():
            taken[name].append(run())
    out = {}
    for name, results in taken.items():
        wall = statistics.median(r["wall_s"] for r in results)
        out[name] = {"wall_s": round(wall, 3), "cpu_s": round(statistics.median(r["cpu_s"] for r in results), 3),
                     "peak_mb": max(r["peak_mb"] for r in results), "runs": n,
                     "walls_s": [r["wall_s"] for r in results]}
    return out


def commands(work: Path, csv: Path, dossiers: int, n: int, envs: dict[str, Callable[[Path, str], dict]]) -> dict:
    """The commands people run, each ``n`` times in every environment of ``envs`` (name →
    ``env_of(work, store)``), in turns with each other and with the command's yardstick."""
    def once(argv: list[str], env: dict, before=None) -> Callable[[], dict]:
        return lambda: repeat(argv, env, 1, before=before)

    empty = environment(work, "empty")
    out: dict = {"help": in_turns(n, {
        **{name: once(chiso("--help"), env_of(work, "empty")) for name, env_of in envs.items()},
        "yardstick_python": once(python("pass"), empty),
        "yardstick_import_click": once(python("import click"), empty)})}

    def import_into_fresh(env_of) -> Callable[[], dict]:
        def run() -> dict:  # a fresh store each run, so each one inserts every row
            fresh_store(work, "imported")
            env = env_of(work, "imported")
            subprocess.run(chiso("dossiers", "import", str(work / "gen" / "procedures.csv"), "--kind",
                                 "procedures", "--source", "bench"), env=env, check=True, capture_output=True)
            return repeat(chiso("dossiers", "import", str(csv), "--source", "bench"), env, 1)
        return run

    out["import"] = in_turns(n, {
        **{name: import_into_fresh(env_of) for name, env_of in envs.items()},
        "yardstick_duckdb_csv_load": once(python(
            "import duckdb, sys; con = duckdb.connect(); "
            f"con.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('{csv}', header = true, all_varchar = true)\")"),
            empty)})
    for figures in out["import"].values():
        figures["rows_per_s"] = round(dossiers / figures["wall_s"])
    # The index on the last imported store: cold (no counts kept), then warm.
    cache = work / "imported.records" / "cache"
    index = chiso("index", "766", "--period", QUARTER, "--format", "json")
    out["index_cold"] = in_turns(n, {
        name: once(index, env_of(work, "imported"), before=lambda: shutil.rmtree(cache, ignore_errors=True))
        for name, env_of in envs.items()})
    subprocess.run(index, env=environment(work, "imported"), check=True, capture_output=True)
    records = work / "imported.records" / "dossiers"
    out["index_warm"] = in_turns(n, {
        **{name: once(index, env_of(work, "imported")) for name, env_of in envs.items()},
        "yardstick_duckdb_query": once(python(
            "import duckdb; con = duckdb.connect(); con.execute(\"\"\"SELECT unit_code, count(*) AS settled, "
            "count(*) FILTER (WHERE finished_at <= due_at) AS on_time "
            f"FROM read_parquet('{records}/*.parquet', union_by_name = true) "
            f"WHERE finished_at >= DATE '{YEAR}-07-01' AND finished_at < DATE '{YEAR}-10-01' "
            "GROUP BY unit_code\"\"\").fetchall()"), empty)})
    return out


def start_resident(sock: Path) -> subprocess.Popen:
    """``chiso resident`` listening at ``sock``; returns once it listens. Its own peak
    memory is not the commands': each command's figures are its caller's and its child's."""
    sock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHISO_") and k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(chiso("resident", "--socket", str(sock)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("chiso resident did not start")
        time.sleep(0.05)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="work folder, kept (default: a temporary one, removed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="chiso-cli-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"dossiers": args.dossiers, "machine": machine(), "repeat": args.repeat}
    try:
        results.update(prepare(work, args.dossiers))
        csv = work / "gen" / "dossiers.csv"
        # Every command alone and handed to a resident process (`chiso resident`), in turns.
        sock = work / "run" / "resident.sock"
        resident = start_resident(sock)
        try:
            def through(w: Path, store: str) -> dict:
                return {**environment(w, store), "CHISO_RESIDENT": "on", "CHISO_RESIDENT_SOCKET": str(sock)}

            measured = commands(work, csv, args.dossiers, args.repeat, {"alone": environment, "resident": through})
        finally:
            resident.terminate()
            resident.wait(timeout=60)
        # The shape of earlier runs: each command alone under its name, through the resident
        # under "resident", the yardsticks apart.
        results["resident"] = {}
        for command, figures in measured.items():
            for name, value in figures.items():
                if name == "alone":
                    results[command] = value
                elif name == "resident":
                    results["resident"][command] = value
                else:
                    results[name] = value
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
