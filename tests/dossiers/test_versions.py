"""Store-wide versions: one number across the record types, each with its commit time and
counts; the store as it stood at any retained version; retention through compaction."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from chiso.dossiers import DossierStore
from chiso.dossiers.store import VERSION_LOG, parse_moment
from chiso.errors import ChisoError
from dossier_helpers import UNITS, records, row, write_csv

PROCEDURE = {"procedure_code": "1.001234", "name": "Cấp giấy phép", "statutory_days": "5"}


def _import(store: DossierStore, path, rows, **kw):
    return store.import_files([write_csv(path, rows)], source=kw.pop("source", "s"), units=UNITS, **kw)


def _records_at(store: DossierStore, version: int) -> dict:
    con = store.connect(at_version=version)
    try:
        cur = con.execute("SELECT * FROM dossiers")
        cols = [d[0] for d in cur.description]
        return {r[cols.index("dossier_id")]: dict(zip(cols, r)) for r in cur.fetchall()}
    finally:
        con.close()


def _backdate(store: DossierStore, ages_days: dict[int, float]) -> None:
    """Move the commit times of some versions into the past, as if they were that old."""
    path = store.root / VERSION_LOG
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        if obj.get("version") in ages_days:
            then = datetime.now(timezone.utc) - timedelta(days=ages_days[obj["version"]])
            obj["committed_at"] = then.isoformat()
        lines.append(json.dumps(obj))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_versions_are_numbered_across_the_record_types(store, tmp_path):
    a = _import(store, tmp_path / "a.csv", [row("H1"), row("H2")])
    p = store.import_files([write_csv(tmp_path / "p.csv", [PROCEDURE])], source="s", units=None, kind="procedures")
    b = _import(store, tmp_path / "b.csv", [row("H1", status="settled", finished_at="2025-08-05"), row("H3")])
    assert (a.version, p.version, b.version) == (1, 2, 3)
    assert store.version() == 3
    assert (store.version("dossiers"), store.version("procedures"), store.version("feedback")) == (3, 2, 0)
    listed = store.versions()
    assert [(v.number, v.kind, v.source, v.inserted, v.updated) for v in listed] == [
        (1, "dossiers", "s", 2, 0), (2, "procedures", "s", 1, 0), (3, "dossiers", "s", 1, 1)]
    times = [v.committed_at for v in listed]
    assert all(t.tzinfo is not None for t in times) and times == sorted(times)
    assert listed[0].to_json()["committed_at"].endswith("+07:00")
    # An import that changes nothing makes no version.
    assert _import(store, tmp_path / "b.csv", [row("H3")]).version is None and store.version() == 3


def test_the_store_as_it_stood_at_each_version(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1"), row("H2")])
    first = records(store)
    store.import_files([write_csv(tmp_path / "p.csv", [PROCEDURE])], source="s", units=None, kind="procedures")
    _import(store, tmp_path / "b.csv", [row("H1", status="settled", finished_at="2025-08-05"), row("H3")])
    assert store.snapshot("dossiers", at_version=2).version == 1
    # With no base, the first segment serves as one (it holds each key once).
    at3 = store.snapshot("dossiers", at_version=3)
    assert (at3.base.seq, [s.seq for s in at3.deltas]) == (1, [3])
    assert _records_at(store, 1) == _records_at(store, 2) == first
    assert _records_at(store, 3) == records(store) != first
    con = store.connect(at_version=1)
    assert con.execute("SELECT count(*) FROM procedures").fetchone() == (0,)
    con.close()
    con = store.connect(at_version=2)
    assert con.execute("SELECT count(*) FROM procedures").fetchone() == (1,)
    con.close()


def test_a_moment_names_the_newest_version_committed_by_then(store, tmp_path):
    with pytest.raises(ChisoError, match="No records have been imported yet"):
        store.version_at(datetime.now(timezone.utc))
    _import(store, tmp_path / "a.csv", [row("H1")])
    _import(store, tmp_path / "b.csv", [row("H2")])
    v1, v2 = store.versions()
    assert store.version_at(v1.committed_at) == 1
    assert store.version_at(v2.committed_at - timedelta(microseconds=1)) == 1
    assert store.version_at(v2.committed_at) == 2
    assert store.version_at(datetime.now(timezone.utc)) == 2
    with pytest.raises(ChisoError, match="first version is 1"):
        store.version_at(v1.committed_at - timedelta(seconds=1))
    with pytest.raises(ChisoError, match="in the future"):
        store.version_at(datetime.now(timezone.utc) + timedelta(minutes=5))
    with pytest.raises(ChisoError, match="Version 3 does not exist yet"):
        store.snapshot("dossiers", at_version=3)
    with pytest.raises(ChisoError, match="Version 0 is no longer retained"):
        store.check_version(0)


def test_moments_with_and_without_an_offset():
    assert parse_moment("2026-10-15T17:00:00+07:00") == datetime(2026, 10, 15, 10, tzinfo=timezone.utc)
    assert parse_moment("2026-10-15T10:00:00Z") == datetime(2026, 10, 15, 10, tzinfo=timezone.utc)
    # Without an offset: the store's time zone (Asia/Ho_Chi_Minh, UTC+7).
    assert parse_moment("2026-10-15T17:00") == datetime(2026, 10, 15, 10, tzinfo=timezone.utc)
    with pytest.raises(ChisoError, match="Not a date and time"):
        parse_moment("15/10/2026 5pm")


def test_compaction_keeps_the_versions_retention_needs(store, tmp_path):
    folder = store.root / "dossiers"
    _import(store, tmp_path / "a.csv", [row(f"H{i}") for i in range(5)])
    at1 = _records_at(store, 1)
    _import(store, tmp_path / "b.csv", [row("H1", status="settled", finished_at="2025-08-05")])
    at2 = _records_at(store, 2)
    store.compact(retain_seconds=0)
    # Everything within the retention stays, and each version reads as it was.
    assert sorted(p.name for p in folder.glob("*.parquet")) == [
        "base-000000000002.parquet", "seg-000000000001.parquet", "seg-000000000002.parquet"]
    _import(store, tmp_path / "c.csv", [row("H2", status="withdrawn", finished_at="2025-08-06")])
    at3 = records(store)
    assert (_records_at(store, 1), _records_at(store, 2), _records_at(store, 3)) == (at1, at2, at3)

    # Versions 1 and 2 are now older than the retention (400 days): version 2 was still
    # in force at its start, so it stays, from the base of version 2; version 1 goes.
    _backdate(store, {1: 500, 2: 450})
    store.compact(retain_seconds=0)
    assert sorted(p.name for p in folder.glob("*.parquet")) == [
        "base-000000000002.parquet", "base-000000000003.parquet", "seg-000000000003.parquet"]
    assert store.retained_from() == 2
    assert [v.number for v in store.versions()] == [2, 3]
    assert _records_at(store, 2) == at2 and _records_at(store, 3) == at3
    with pytest.raises(ChisoError, match="Version 1 is no longer retained: the store keeps versions from 2 on"):
        store.snapshot("dossiers", at_version=1)
    moment = datetime.now(timezone.utc) - timedelta(days=420)
    assert store.version_at(moment) == 2
    with pytest.raises(ChisoError, match="no longer holds its records"):
        store.version_at(datetime.now(timezone.utc) - timedelta(days=460))

    # Retention 0: only the current version.
    store.compact(retain_seconds=0, retention_days=0)
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["base-000000000003.parquet"]
    with pytest.raises(ChisoError, match="no longer retained"):
        store.snapshot("dossiers", at_version=2)
    assert _records_at(store, 3) == at3


def test_bases_of_one_month_are_thinned_to_its_newest(store, tmp_path):
    """Compacting daily must not keep a base a day: within the retention one base a month
    stays (beside the current one), and the segments after the oldest kept base."""
    folder = store.root / "dossiers"
    _import(store, tmp_path / "a.csv", [row("H1")])
    at1 = _records_at(store, 1)
    store.compact(retain_seconds=0)
    _import(store, tmp_path / "b.csv", [row("H2")])
    store.compact(retain_seconds=0)
    assert sorted(p.name for p in folder.glob("*.parquet")) == [
        "base-000000000002.parquet", "seg-000000000001.parquet", "seg-000000000002.parquet"]
    assert _records_at(store, 1) == at1


def test_a_reader_of_a_replaced_base_keeps_it_for_an_hour(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1")])
    store.compact()
    _import(store, tmp_path / "b.csv", [row("H2")])
    store.compact(retention_days=0)  # base-2 replaces base-1 just now
    assert {p.name for p in (store.root / "dossiers").glob("base-*")} == {
        "base-000000000001.parquet", "base-000000000002.parquet"}


def test_a_missing_file_of_the_chain_is_refused_not_read_around(store, tmp_path):
    _import(store, tmp_path / "a.csv", [row("H1")])
    _import(store, tmp_path / "b.csv", [row("H2")])
    _import(store, tmp_path / "c.csv", [row("H3")])
    (store.root / "dossiers" / "seg-000000000002.parquet").unlink()
    with pytest.raises(ChisoError, match="records of version 2 are no longer in the store"):
        store.snapshot("dossiers", at_version=3)


def test_versions_without_the_log_come_from_the_files(store, tmp_path):
    """A crash between the rename and the log, or a store copied without its log: the
    segment's own metadata says when and what."""
    _import(store, tmp_path / "a.csv", [row("H1"), row("H2")], source="motcua")
    before = store.versions()
    (store.root / VERSION_LOG).unlink()
    after = store.versions()
    assert [(v.number, v.kind, v.source, v.inserted, v.updated, v.committed_at) for v in after] == [
        (v.number, v.kind, v.source, v.inserted, v.updated, v.committed_at) for v in before]
    assert _import(store, tmp_path / "b.csv", [row("H3")]).version == 2


def test_a_store_numbered_per_record_type_reads_on(store, tmp_path):
    """Stores written before numbered each record type on its own: seg-1 of dossiers and
    seg-1 of procedures. They read as before, and numbering goes on from the highest."""
    _import(store, tmp_path / "a.csv", [row("H1")])
    _import(store, tmp_path / "b.csv", [row("H2")])
    store.import_files([write_csv(tmp_path / "p.csv", [PROCEDURE])], source="s", units=None, kind="procedures")
    os.replace(store.root / "procedures" / "seg-000000000003.parquet",
               store.root / "procedures" / "seg-000000000001.parquet")
    (store.root / VERSION_LOG).unlink()
    assert store.version() == 2 and store.version("procedures") == 1
    assert sorted((v.number, v.kind) for v in store.versions()) == [(1, "dossiers"), (1, "procedures"),
                                                                      (2, "dossiers")]
    assert set(records(store)) == {"H1", "H2"}
    assert _import(store, tmp_path / "c.csv", [row("H3")]).version == 3
    assert set(_records_at(store, 2)) == {"H1", "H2"}
