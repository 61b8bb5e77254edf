"""The store: idempotent imports, the later version wins, units across the reform, atomic
commits, concurrent writers and consistent readers."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from chiso.dossiers import DossierStore
from chiso.errors import ChisoError
from dossier_helpers import UNITS, records, row, write_csv


def _import(store: DossierStore, path: Path, rows, **kw):
    return store.import_files([write_csv(path, rows)], source=kw.pop("source", "s"), units=UNITS, **kw)


# --------------------------------------------------------------------------- idempotence, later wins


def test_reimport_is_idempotent(store, tmp_path):
    rows = [row(f"H{i}") for i in range(50)]
    first = _import(store, tmp_path / "a.csv", rows)
    assert (first.inserted, first.updated, first.unchanged, first.version) == (50, 0, 0, 1)
    again = _import(store, tmp_path / "a.csv", rows)
    assert (again.read, again.inserted, again.updated, again.unchanged, again.version) == (50, 0, 0, 50, None)
    assert store.version() == 1 and store.count() == 50


def test_keyed_by_source_and_dossier_id(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1")], source="hcc")
    summary = _import(store, tmp_path / "a.csv", [row("H1")], source="dvc")
    assert summary.inserted == 1 and store.count() == 2


def test_a_later_status_wins(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1", status="received"), row("H2", status="processing")])
    summary = _import(store, tmp_path / "b.csv", [
        row("H1", status="processing"),
        row("H2", status="settled", finished_at="2025-08-06 09:00"),
    ])
    assert (summary.updated, summary.unchanged) == (2, 0)
    summary = _import(store, tmp_path / "c.csv", [row("H2", status="returned", finished_at="2025-08-06 09:00")])
    assert summary.updated == 1
    got = records(store)
    assert (got["H1"]["status"], got["H2"]["status"]) == ("processing", "returned")


def test_an_older_version_never_overwrites_a_newer_one(store, tmp_path):
    _import(store, tmp_path / "a.csv", [
        row("H1", status="settled", finished_at="2025-08-06 09:00"),
        row("H2", status="withdrawn", finished_at="2025-08-07 09:00"),
    ])
    before = records(store)
    # A stale export: still processing, or an earlier end.
    summary = _import(store, tmp_path / "old.csv", [
        row("H1", status="processing", digitized="0"),
        row("H2", status="stopped", finished_at="2025-08-05 09:00"),
    ])
    assert (summary.inserted, summary.updated, summary.unchanged, summary.version) == (0, 0, 2, None)
    assert records(store) == before


def test_same_stage_with_other_values_is_a_correction(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1", status="processing", digitized="0")])
    summary = _import(store, tmp_path / "b.csv", [row("H1", status="supplement_requested", digitized="1")])
    assert summary.updated == 1
    # Back from waiting for the applicant: the same rank, so the newer import wins.
    summary = _import(store, tmp_path / "c.csv", [row("H1", status="processing", digitized="1", supplement_days="3")])
    assert summary.updated == 1
    got = records(store)["H1"]
    assert (got["status"], got["digitized"], got["supplement_days"]) == ("processing", True, 3.0)


def test_later_version_wins_between_files_of_one_import(store, tmp_path):
    a = write_csv(tmp_path / "a.csv", [row("H1", status="settled", finished_at="2025-08-06 09:00")])
    b = write_csv(tmp_path / "b.csv", [row("H1", status="processing"), row("H2")])
    summary = store.import_files([a, b], source="s", units=UNITS)
    assert (summary.read, summary.inserted, summary.unchanged) == (3, 2, 1)
    assert records(store)["H1"]["status"] == "settled"


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize("given, received, expected", [
    ("20194", "2025-06-30T23:59:00", "old:20194"),  # official code before the reform: the old ward
    ("20194", "2025-07-01T00:00:00", "20194"),  # the same code from 1 July 2025: the new ward
    ("old:20194", "2025-06-01T08:00:00", "old:20194"),  # registry code
    ("24781", "2024-01-02T08:00:00", "24781"),  # unchanged by the reform
    ("24781", "2026-01-02T08:00:00", "24781"),
    ("68.SNV", "2025-08-04T08:00:00", "68.SNV"),  # an agency
    ("68.snv", "2025-08-04T08:00:00", "68.SNV"),
    ("20200", "2025-06-30T08:00:00", "old:20200"),
])
def test_unit_resolution_across_the_reform(store, tmp_path, given, received, expected):
    summary = _import(store, tmp_path / "u.csv", [row("U1", unit_code=given, received_at=received, due_at="")])
    assert summary.inserted == 1, summary.rejects
    assert records(store)["U1"]["unit_code"] == expected


@pytest.mark.parametrize("given, received", [
    ("20200", "2025-07-01T08:00:00"),  # merged away on 1 July 2025
    ("old:20194", "2025-07-02T08:00:00"),
])
def test_unit_not_existing_on_the_received_date(store, tmp_path, given, received):
    summary = _import(store, tmp_path / "u.csv", [row("U1", unit_code=given, received_at=received, due_at="")])
    assert summary.rejects[0].code == "unit_not_on_date"


def test_units_from_the_registry(loaded, tmp_path):
    """``registry_units`` reads the registry; a real commune code resolves through it."""
    from chiso.dossiers import registry_units
    from chiso.units.models import Unit
    from sqlalchemy import select

    units = registry_units(loaded)
    commune = loaded.scalars(select(Unit).where(Unit.level == "commune", Unit.valid_to.is_(None))).first()
    store = DossierStore(tmp_path / "store")
    summary = store.import_files(
        [write_csv(tmp_path / "r.csv", [row("R1", unit_code=commune.official_code, received_at="2025-09-01")])],
        source="s", units=units,
    )
    assert summary.inserted == 1, summary.rejects
    assert records(store)["R1"]["unit_code"] == commune.code


# --------------------------------------------------------------------------- segments, compaction


def test_compaction_keeps_the_view_and_collects_old_files(tmp_path):
    store = DossierStore(tmp_path / "store", retain_seconds=3600)
    _import(store, tmp_path / "a.csv", [row(f"H{i}") for i in range(10)])
    _import(store, tmp_path / "b.csv", [row(f"H{i}", status="settled", finished_at="2025-08-05") for i in range(5)])
    _import(store, tmp_path / "c.csv", [row("H99")])
    before = records(store)
    con = store.connect()  # a reader on the pre-compaction files
    assert store.compact("dossiers") == {"dossiers": 3}
    snap = store.snapshot()
    assert snap.base.seq == 3 and snap.deltas == ()
    assert records(store) == before
    # The replaced segments stay for readers that listed them...
    assert len(list((tmp_path / "store" / "dossiers").glob("seg-*.parquet"))) == 3
    assert con.execute("SELECT count(*) FROM dossiers").fetchone()[0] == 11
    # ...and, with versions kept for `--as-of` (records_retention_days), for that long:
    store.compact(retain_seconds=0)
    assert len(list((tmp_path / "store" / "dossiers").glob("seg-*.parquet"))) == 3
    # ...then they go.
    store.compact(retain_seconds=0, retention_days=0)
    assert [p.name for p in (tmp_path / "store" / "dossiers").iterdir() if not p.name.startswith(".")] == [
        "base-000000000003.parquet"]
    # Imports after a compaction are deltas over the base.
    summary = _import(store, tmp_path / "d.csv", [row("H1", status="returned", finished_at="2025-08-05")])
    assert (summary.updated, summary.version) == (1, 4)
    assert records(store)["H1"]["status"] == "returned" and store.count() == 11


def test_the_worker_compacts_when_enough_segments_pile_up_and_one_process_at_a_time(tmp_path):
    import fcntl

    store = DossierStore(tmp_path / "store")
    for k in range(3):
        _import(store, tmp_path / f"{k}.csv", [row(f"H{k}-{i}") for i in range(3)] + [row("H9", supplement_days=k)])
    before = records(store)
    assert store.compact_due(4) == {} and store.compact_due(0) == {}
    assert len(store.snapshot().deltas) == 3
    # Another process compacting (its lock on the file): this one leaves it alone.
    held = os.open(tmp_path / "store" / ".compact.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert store.compact_due(3) == {}
    finally:
        os.close(held)
    assert store.compact_due(3) == {"dossiers": 3}
    assert store.snapshot().deltas == () and records(store) == before
    assert store.compact_due(1) == {}  # nothing after the base


def test_the_compaction_setting_is_a_whole_number(monkeypatch):
    from chiso.dossiers.store import compact_setting

    assert compact_setting() == 24
    monkeypatch.setenv("CHISO_COMPACT_AFTER_SEGMENTS", "often")
    with pytest.raises(ChisoError, match="compact_after_segments"):
        compact_setting()


def test_the_compacted_base_is_sorted_by_unit_and_received_at(store, tmp_path):
    _import(store, tmp_path / "a.csv", [
        row("A", unit_code="24781", received_at="2025-08-05"),
        row("B", unit_code="20194", received_at="2025-08-06"),
    ])
    _import(store, tmp_path / "b.csv", [row("C", unit_code="20194", received_at="2025-08-04")])
    store.compact()
    con = store.connect()
    path = store.snapshot().base.path
    order = [r[0] for r in con.execute(f"SELECT dossier_id FROM read_parquet('{path}')").fetchall()]
    assert order == ["C", "B", "A"]


# --------------------------------------------------------------------------- crash safety


def _visible_files(store: DossierStore) -> list[str]:
    return sorted(p.name for p in (store.root / "dossiers").iterdir()) if (store.root / "dossiers").exists() else []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("when", ["first call", "before commit"])
def test_an_interrupted_import_leaves_the_store_as_before(store, tmp_path, exc, when):
    _import(store, tmp_path / "a.csv", [row("H1")])
    before_files, before = _visible_files(store), records(store)

    def progress(done, total):
        # The call at 98% is the last before the commit (the rename); 100% comes after it.
        if when == "first call" or (done >= 0.98 * total and done < total):
            raise exc("stop")

    rows = [row("H1", status="settled", finished_at="2025-08-05")] + [row(f"N{i}") for i in range(199)]
    with pytest.raises(exc):
        _import(store, tmp_path / "b.csv", rows, progress=progress)
    assert _visible_files(store) == before_files  # no segment, no temporary file
    assert records(store) == before


def _die_before_commit(root: str, csv_path: str) -> None:
    store = DossierStore(root)

    def progress(done, total):
        if done >= 0.98 * total and done < total:
            os._exit(3)  # as if killed just before the commit: no cleanup runs

    store.import_files([csv_path], source="s", units=UNITS, progress=progress)


def test_a_killed_import_leaves_only_a_hidden_temp_that_the_next_writer_removes(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1")])
    path = write_csv(tmp_path / "b.csv", [row(f"N{i}") for i in range(200)])
    proc = multiprocessing.get_context("spawn").Process(target=_die_before_commit, args=(str(store.root), str(path)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    leftovers = [n for n in _visible_files(store) if n.startswith(".tmp-")]
    assert len(leftovers) == 1  # the dead writer's file...
    assert store.count() == 1 and set(records(store)) == {"H1"}  # ...which readers ignore
    _import(store, tmp_path / "c.csv", [row("H3")])
    assert not [n for n in _visible_files(store) if n.startswith(".tmp-")]
    # Its temporary work folder is gone too.
    import tempfile

    assert not list(Path(tempfile.gettempdir()).glob(f"chiso-import-{proc.pid}-*"))
    assert set(records(store)) == {"H1", "H3"}
    assert store.version() == 2


# --------------------------------------------------------------------------- concurrency


def _import_worker(root: str, csv_path: str, source: str, start, hold: float) -> dict:
    store = DossierStore(root)

    def progress(done, total):
        if hold and done >= 0.98 * total:
            time.sleep(hold)  # keep the write lock a while, so the other import must wait

    start.wait(30)
    summary = store.import_files([csv_path], source=source, units=UNITS, progress=progress)
    return summary.to_json()


def test_two_imports_at_once_in_two_processes_both_land(store, tmp_path):
    a = write_csv(tmp_path / "a.csv", [row(f"A{i}") for i in range(300)])
    b = write_csv(tmp_path / "b.csv", [row(f"B{i}") for i in range(200)] + [row("A1", status="received")])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Event()
        with ctx.Pool(2) as pool:
            first = pool.apply_async(_import_worker, (str(store.root), str(a), "s", start, 0.5))
            second = pool.apply_async(_import_worker, (str(store.root), str(b), "s", start, 0.5))
            time.sleep(0.5)
            start.set()
            results = [first.get(120), second.get(120)]
    assert sorted(r["version"] for r in results) == [1, 2]
    assert sum(r["inserted"] for r in results) == 501 - 1  # A1 is in both
    assert store.count() == 500
    # Whichever came second, A1 ended processing-or-later, never rolled back to received.
    assert records(store)["A1"]["status"] == "processing"


def test_a_reader_sees_one_consistent_version_during_an_import(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row(f"H{i}") for i in range(100)])
    reader = store.connect()
    seen = []

    def progress(done, total):
        seen.append((done, total, store.count()))

    summary = _import(store, tmp_path / "b.csv",
                      [row(f"H{i}", status="settled", finished_at="2025-08-05") for i in range(100)]
                      + [row(f"N{i}") for i in range(50)], progress=progress)
    assert summary.version == 2
    # Until the commit, including just before it, a fresh reader sees the old version; the
    # final call (done == total) comes after the commit.
    before_commit = [count for done, total, count in seen if done < total]
    assert set(before_commit) == {100} and any(done >= 0.98 * total for done, total, _c in seen[:-1])
    assert seen[-1] == (150, 150, 150)
    # The old connection keeps its snapshot, whole: no half of the import.
    assert reader.execute("SELECT count(*), count(*) FILTER (status = 'settled') FROM dossiers").fetchone() == (100, 0)
    store.refresh(reader)
    assert reader.execute("SELECT count(*), count(*) FILTER (status = 'settled') FROM dossiers").fetchone() == (150, 100)


def test_progress_reports_rows_up_to_the_total(store, tmp_path):
    calls = []
    _import(store, tmp_path / "p.csv", [row(f"H{i}") for i in range(2000)], progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (2000, 2000)
    dones = [d for d, _t in calls]
    assert dones == sorted(dones) and all(d <= t for d, t in calls)


def test_an_empty_store_has_typed_empty_views(store):
    con = store.connect()
    assert con.execute("SELECT count(*) FROM dossiers").fetchone() == (0,)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'dossiers'").fetchall())
    assert types["received_at"] == "TIMESTAMP" and types["supplement_days"] == "DOUBLE"
    assert types["has_fee"] == "BOOLEAN" and types["imported_at"] == "TIMESTAMP WITH TIME ZONE"
    assert con.execute("SELECT count(*) FROM procedures").fetchone() == (0,)
    assert store.version() == 0


def test_hashes_from_another_duckdb_fall_back_to_comparing_columns(store, tmp_path):
    """``_hash`` decides "unchanged" only when the files were hashed by a DuckDB that hashes
    like the running one; otherwise every column is compared, and compaction rehashes."""
    import duckdb

    from chiso.dossiers.classify import HASH_PROBE_KEY, hashes_valid

    rows = [row(f"H{i}") for i in range(20)]
    _import(store, tmp_path / "a.csv", rows)
    con = duckdb.connect()
    assert hashes_valid(con, store.snapshot().files)
    # Make the segment look hashed by another version: wrong hashes, another probe.
    [seg] = store.snapshot().deltas
    forged = seg.path.with_name(".forged.parquet")
    con.execute(f"COPY (SELECT * REPLACE (_hash + 1 AS _hash) FROM read_parquet('{seg.path}')) TO '{forged}' "
                f"(FORMAT parquet, KV_METADATA {{{HASH_PROBE_KEY}: 'another duckdb'}})")
    os.replace(forged, seg.path)
    assert not hashes_valid(con, store.snapshot().files)

    again = _import(store, tmp_path / "a.csv", rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 20)
    changed = _import(store, tmp_path / "b.csv", [row("H1", digitized="0")])
    assert changed.updated == 1

    store.compact(retain_seconds=0)
    assert hashes_valid(con, store.snapshot().files)
    assert _import(store, tmp_path / "a.csv", rows).unchanged == 19
    assert records(store)["H2"]["digitized"] is True


def _watch(root: str, stop, seen) -> None:
    store = DossierStore(root)
    while not stop.is_set():
        con = store.connect()
        seen.append(con.execute("SELECT count(*), count(*) FILTER (status = 'settled') FROM dossiers").fetchone())
        con.close()


def test_a_reader_in_another_process_never_sees_half_an_import(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row(f"H{i}") for i in range(100)])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        stop, seen = manager.Event(), manager.list()
        reader = ctx.Process(target=_watch, args=(str(store.root), stop, seen))
        reader.start()
        while not seen:
            time.sleep(0.05)
        _import(store, tmp_path / "b.csv",
                [row(f"H{i}", status="settled", finished_at="2025-08-05") for i in range(100)]
                + [row(f"N{i}") for i in range(50)],
                progress=lambda done, total: time.sleep(0.02))
        time.sleep(0.3)
        stop.set()
        reader.join(30)
        observed = set(seen)
    assert observed <= {(100, 0), (150, 100)}
    assert observed == {(100, 0), (150, 100)}


def test_a_memory_limit_for_imports(tmp_path):
    store = DossierStore(tmp_path / "store", memory_limit="256MB")
    assert _import(store, tmp_path / "a.csv", [row(f"H{i}") for i in range(100)]).inserted == 100


def _work_folders() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob(f"chiso-import-{os.getpid()}-*")}


def test_compaction_keeps_within_the_memory_limit_or_leaves_the_store_as_it_was(tmp_path):
    """Compaction sorts every record of a type, the store's largest working set: it runs
    under the store's memory limit (ten million dossiers peaked at 3.3 GB without it), and
    spills to a folder of its own, removed afterwards."""
    writer = DossierStore(tmp_path / "store")
    for k in range(2):
        rows = [row(f"{k}-{i:06d}-{'x' * 40}", unit_code="24781" if i % 2 else "68.SNV") for i in range(30000)]
        _import(writer, tmp_path / f"{k}.csv", rows)
    before, folders = records(writer), _work_folders()
    files = sorted(p.name for p in (tmp_path / "store" / "dossiers").iterdir())
    # Too little memory to sort 60,000 rows: refused, the store as it was.
    with pytest.raises(ChisoError, match="duckdb_memory_limit"):
        DossierStore(tmp_path / "store", memory_limit="8MB").compact("dossiers")
    assert sorted(p.name for p in (tmp_path / "store" / "dossiers").iterdir()) == files
    assert records(writer) == before and _work_folders() == folders
    # Enough to sort them in pieces: the same records, in one base.
    assert DossierStore(tmp_path / "store", memory_limit="64MB").compact("dossiers") == {"dossiers": 2}
    assert writer.snapshot().deltas == () and records(writer) == before
    assert _work_folders() == folders
