"""The first reader after an import, at scale (a benchmark, not a test).

On an existing store (e.g. the 10-million-dossier one that benchmarks/web_load.py keeps in
/tmp/chiso-web-load), with its registry: the per-day counts are made ready, 10,000 new
dossiers of 100 communes are imported, and the next ``counting_connection`` (what a command,
a page or the worker opens) is timed: it brings the previous version's counts forward from
the imported dossiers only. A full recount of the store is timed for comparison.

    .venv/bin/python benchmarks/reader_after_import.py --store /tmp/chiso-web-load/store \\
        --registry sqlite:////tmp/chiso-web-load/registry.sqlite3
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from chiso import db
from chiso.dossiers.store import DossierStore, registry_units
from chiso.index import compute, service
from chiso.methods.loader import default_method


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--registry", required=True, help="database URL of the store's unit registry")
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    store, method = DossierStore(args.store), default_method("766")
    print(f"{platform.machine()}, {platform.python_version()}, store {store.count():,} dossiers")
    print("reader with the counts ready:", seconds(lambda: service.counting_connection(store, method).close()), "s")
    with db.transaction(db.make_engine(args.registry)) as session:
        registry = registry_units(session)
    communes = [code for code, _official, _start, end in registry if code.isdigit() and len(code) == 5 and end is None][:100]
    rng, base, stamp = random.Random(7), datetime(2026, 11, 20, 8), time.time_ns()
    rows = []
    for i in range(args.batch):
        received = base + timedelta(hours=rng.randint(0, 150))
        rows.append({"dossier_id": f"AFTER-{stamp}-{i}", "procedure_code": "1.001", "unit_code": rng.choice(communes),
                     "received_at": received, "due_at": received + timedelta(days=5),
                     "finished_at": received + timedelta(days=rng.randint(1, 8)), "status": "settled", "channel": "online"})
    print(f"import of {args.batch:,}:", seconds(lambda: store.import_rows(rows, source="bench-after", units=registry)), "s")
    print("first reader after the import (counts brought forward):",
          seconds(lambda: service.counting_connection(store, method).close()), "s")
    con = store.connect()
    compute.prepare(con)
    print("full recount of the store, for comparison:", seconds(lambda: compute.day_table(con, method)), "s")
    con.close()


if __name__ == "__main__":
    main()
