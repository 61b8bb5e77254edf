"""The per-day counts a store keeps, per method and version, in its ``cache`` folder: what
every reader of the 766 index opens instead of scanning the dossiers
(:func:`counting_connection`). An import makes a new version; the next reader brings the
kept counts forward by the imported dossiers alone, or back to an earlier version
(``--as-of``), and keeps the result."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import duckdb

from chiso import settings
from chiso.errors import ChisoError
from chiso.index import compute

if TYPE_CHECKING:
    from chiso.dossiers.schema import RecordType
    from chiso.dossiers.store import DossierStore, Snapshot
    from chiso.scoring.model import Method


KINDS = ("dossiers", "procedures", "feedback")
#: How many dossier imports back the counts of an earlier version are brought forward from.
INCREMENTAL_DEPTH = 50


#: Changes when the kept counts' layout does (2: sums in millionths, ``compute.SUM_SCALE``;
#: 3: dossiers not yet received left out, statutory times in working days), so that counts
#: written by an earlier chiso are not read as this one's.
COUNTS_FORMAT = b"counts:3;"


def _cache_key(store: DossierStore, method: Method, versions: dict[str, int] | None = None) -> str:
    """Names the per-day counts of one method over one state of the store: the method's
    definition (its file's bytes) and the versions of the three record types. The key of
    an earlier version (``--as-of``) is the key the counts had when it was current, so
    either kind of reader can use what the other built."""
    versions = versions or store.kind_versions()
    digest = hashlib.sha256()
    digest.update(COUNTS_FORMAT)
    digest.update(compute.workdays_fingerprint().encode())
    digest.update(Path(method.path).read_bytes() if method.path else method.id.encode())
    for kind in KINDS:
        digest.update(f"{kind}:{versions[kind]};".encode())
    return f"{method.id}-{digest.hexdigest()[:16]}"


def _cache_files(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"{key}.days.parquet", folder / f"{key}.keys.parquet"


#: Where the counts of earlier versions (``--as-of``) are kept, apart from the current
#: ones so that neither evicts the other; the ones used last are kept.
AS_OF_FOLDER = "as-of"
AS_OF_KEPT = 8


def _bring_forward(con: duckdb.DuckDBPyConnection, store: DossierStore, method: Method, folder: Path, versions: dict[str, int]) -> bool:
    """Build the counts of the current version from those of an earlier dossier version
    (same catalogue and feedback) by :func:`compute.apply_changes`: only the dossiers
    imported since are read, instead of the whole store. False when no earlier counts can
    be used (none kept, or a compaction has since dropped the versions they counted)."""
    from chiso.dossiers.schema import record_type
    from chiso.dossiers.store import DossierStore, Snapshot

    snap = store.snapshot("dossiers")
    floor = snap.base.seq if snap.base else 0
    current = versions["dossiers"]
    # Versions are numbered across the record types: the dossiers' own, newest first.
    earlier_ones = sorted({floor} | {s.seq for s in snap.deltas if s.seq < current}, reverse=True)
    for earlier in earlier_ones[:INCREMENTAL_DEPTH]:
        counts, keys = _cache_files(folder, _cache_key(store, method, {**versions, "dossiers": earlier}))
        if counts.exists() and keys.exists():
            break
    else:
        return False
    rt = record_type("dossiers")
    then = Snapshot("dossiers", snap.base, tuple(s for s in snap.deltas if s.seq <= earlier))
    # The current version of every dossier imported since: the latest of it in the segments
    # after ``earlier`` alone (they are newer than anything else), not the whole store's view.
    since = Snapshot("dossiers", None, tuple(s for s in snap.deltas if s.seq > earlier))
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_new AS {DossierStore.view_sql(rt, since)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_old AS SELECT o.* FROM ({DossierStore.view_sql(rt, then)}) o "
                f"SEMI JOIN changed_new n ON o.source = n.source AND o.{rt.key} = n.{rt.key}")
    _read_kept(con, counts, keys)
    compute.apply_changes(con, method, old="changed_old", new="changed_new")
    con.execute("DROP TABLE changed_new; DROP TABLE changed_old")
    return True


#: How many imports apart the kept counts an earlier version is brought to may be.
AS_OF_DEPTH = 200


def _bring_to(con: duckdb.DuckDBPyConnection, store: DossierStore, method: Method, folders: Sequence[Path], versions: dict[str, int],
              at_version: int) -> bool:
    """The counts of the store as of ``at_version`` from the kept counts of the nearest
    other dossier version with the same catalogue and feedback (the current counts, which
    a running server always has, or another earlier version's): the records the imports
    in between touched are taken out as they were there and put in as they were at
    ``at_version``, by :func:`compute.apply_changes`, going back or forward alike. False
    when no such counts are kept within ``AS_OF_DEPTH`` imports."""
    from chiso.dossiers.schema import record_type
    from chiso.dossiers.store import DossierStore

    want = versions["dossiers"]
    files = [s for s in store.segments("dossiers") if s.seq >= store.retained_from()]
    segs = sorted({s.seq for s in files if s.kind == "seg"})

    def apart(n: int) -> int:
        return sum(1 for q in segs if min(n, want) < q <= max(n, want))

    numbers = {s.seq for s in files} | {store.version("dossiers")}
    candidates = sorted((n for n in numbers if n != want and apart(n) <= AS_OF_DEPTH), key=apart)
    found = None
    for other in candidates:
        for folder in folders:
            counts, keys = _cache_files(folder, _cache_key(store, method, {**versions, "dossiers": other}))
            if counts.exists() and keys.exists():
                found = other, counts, keys
                break
        if found:
            break
    if not found:
        return False
    other, counts, keys = found
    low, high = sorted((other, want))
    between = [s.path for s in files if s.kind == "seg" and low < s.seq <= high]
    rt = record_type("dossiers")
    try:
        there = store.snapshot("dossiers", at_version=other)
        here = store.snapshot("dossiers", at_version=at_version)
        con.execute(f"CREATE OR REPLACE TEMP TABLE changed_keys AS SELECT DISTINCT source, {rt.key} "
                    f"FROM {DossierStore.scan_sql(between)}")
        bases: dict[Path, str] = {}  # both versions usually stand on one base: read once
        for name, snap in (("changed_old", there), ("changed_new", here)):
            touched_records(con, rt, snap, "changed_keys", name, bases)
        for table in bases.values():
            con.execute(f"DROP TABLE {table}")
        _read_kept(con, counts, keys)
    except (ChisoError, duckdb.Error):
        return False  # a file collected meanwhile: count in full
    compute.apply_changes(con, method, old="changed_old", new="changed_new")
    con.execute("DROP TABLE changed_new; DROP TABLE changed_old; DROP TABLE changed_keys")
    return True


def counting_connection(store: DossierStore, method: Method, *,
                        at_version: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the store with the per-day counts of ``method`` ready.

    The counts are kept in the store's ``cache`` folder as Parquet, one file per method and
    store version, so that every command and page after an import reads them instead of
    rescanning the dossiers. An import makes a new version; the next reader brings the
    previous version's counts forward with the imported dossiers only, or rebuilds them
    when it cannot (after a compaction, or a change of catalogue or feedback).

    With ``at_version``, the connection's views and counts are the store's as of that
    version (:meth:`DossierStore.snapshot`). When that is the current state the current
    counts serve; else they are brought back (or forward) from the kept counts of the
    nearest version, the current one included (:func:`_bring_to`), or counted in full, and
    kept in ``cache/as-of`` (the ``AS_OF_KEPT`` used last), apart from the current counts
    so that neither evicts the other. Either way the figures are the same to the byte
    (``compute.SUM_SCALE``)."""
    con = store.connect(at_version=at_version)
    try:
        con.execute("SET memory_limit = ?", [settings.get("duckdb_memory_limit")])
        compute.prepare(con)
        folder = Path(store.root) / "cache"
        versions = store.kind_versions()
        earlier = False
        if at_version is not None:
            wanted = store.kind_versions(at_version)
            earlier, versions = wanted != versions, wanted
        key = _cache_key(store, method, versions)
        home = folder / AS_OF_FOLDER if earlier else folder
        counts, keys = _cache_files(home, key)
        with building(key):  # one thread of this process builds; the others then read
            if counts.exists() and keys.exists():
                _read_kept(con, counts, keys)
                if earlier:
                    os.utime(counts)  # used: kept longer
                return con
            if earlier:
                assert at_version is not None  # only a past version is earlier
                if not _bring_to(con, store, method, [folder, home], versions, at_version):
                    compute.day_table(con, method)
                _keep(con, method, home, key, counts, keys, prune=False)
                _prune_as_of(home)
                return con
            written = None
            try:
                if not _bring_forward(con, store, method, folder, versions):
                    # The key counts go straight to a file (see compute.day_table).
                    folder.mkdir(parents=True, exist_ok=True)
                    written = _temp_for(keys)
                    compute.day_table(con, method, keys_to=str(written))
                _keep(con, method, folder, key, counts, keys, keys_written=written)
            finally:
                if written is not None:
                    written.unlink(missing_ok=True)  # moved in place, or left by a failure
        return con
    except BaseException:
        con.close()
        raise


def _prune_as_of(folder: Path) -> None:
    """Keep the counts of the ``AS_OF_KEPT`` earlier states used last."""
    days = sorted(folder.glob("*.days.parquet"), key=_mtime, reverse=True)
    for old in days[AS_OF_KEPT:]:
        old.unlink(missing_ok=True)
        old.with_name(old.name.replace(".days.parquet", ".keys.parquet")).unlink(missing_ok=True)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def building(key: str) -> threading.Lock:
    """The lock of one result kept in the cache folder (``key``, its file's name or key):
    one thread of this process builds it, the others wait and then read it."""
    with _LOCKS_GUARD:
        if len(_LOCKS) > 256:
            _LOCKS.clear()
        return _LOCKS.setdefault(key, threading.Lock())


def _temp_for(path: Path) -> Path:
    """A name beside ``path`` for writing it, unique per writer (another process may build
    the same counts at the same time)."""
    return path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{path.name}")


def _read_kept(con: duckdb.DuckDBPyConnection, counts: Path, keys: Path) -> None:
    """Views ``day_counts`` and ``day_keys`` over kept files, not copies: a reader asks for
    a period or two and DuckDB reads only what those need (2M dossiers: 0.03 s against
    0.2 s for loading both tables); an import's change is joined to them and written out
    in one pass (:func:`compute.apply_changes`). :func:`_keep` leaves the files of the
    version before in place, so a connection opened just before an import still reads."""
    for table, path in (("day_counts", counts), ("day_keys", keys)):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet({_quoted(path)})")


def _keep(con: duckdb.DuckDBPyConnection, method: Method, folder: Path, key: str, counts: Path, keys: Path, *,
          prune: bool = True, keys_written: Path | None = None) -> None:
    """Write the counts of this version to the cache folder and (``prune``) drop older
    versions'. ``keys_written``: the key counts already written there (to a temporary
    name), moved in place. Afterwards ``day_counts`` and ``day_keys`` are views of the files
    written, whichever way the counts came (tables of a full count, views of another
    version's joined with a change): one state of the connection for every later reader
    and for :func:`compute.apply_changes`."""
    folder.mkdir(parents=True, exist_ok=True)
    views = {name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name IN ('day_counts', 'day_keys')").fetchall()}
    for table, path in (("day_counts", counts), ("day_keys", keys)):
        if table == "day_keys" and keys_written is not None:
            os.replace(keys_written, path)
            continue
        temp = _temp_for(path)
        con.execute(f"COPY {table} TO '{temp}' (FORMAT parquet)")
        os.replace(temp, path)  # readers see the whole file or none
    for name in ("day_counts", "day_keys"):
        if name not in views:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    _read_kept(con, counts, keys)
    if not prune:
        return
    # The newest earlier version's files stay: readers opened on them read them through
    # views (:func:`counting_connection`) until they close.
    others = sorted((p for p in folder.glob(f"{method.id}-*.days.parquet") if not p.name.startswith(key)),
                    key=_mtime, reverse=True)
    for old in others[1:]:
        old.unlink(missing_ok=True)
        old.with_name(old.name.replace(".days.parquet", ".keys.parquet")).unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process meanwhile
        return 0.0


def _quoted(path: Path) -> str:
    """A path as a DuckDB string literal (a view's text cannot take a bound parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


def touched_records(con: duckdb.DuckDBPyConnection, rt: RecordType, snap: Snapshot, keys: str, table: str,
                     bases: dict[Path, str]) -> None:
    """Table ``table``: the records of ``snap`` whose (source, key) is in table ``keys``.

    The base's rows of those keys are read first, into a table kept in ``bases`` (by the
    base's file) for the next snapshot standing on the same base; the snapshot's view is
    then taken over them alone. Read through the whole store's view instead, the base (the
    store's largest file) was scanned in full for each snapshot: 0.55 s at 10M dossiers."""
    from chiso.dossiers.store import DossierStore

    touched = f"SEMI JOIN {keys} k ON r.source = k.source AND r.{rt.key} = k.{rt.key}"
    base = None
    if snap.base is not None:
        base = bases.get(snap.base.path)
        if base is None:
            bases[snap.base.path] = base = f"{table}_base"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {base} AS SELECT r.* FROM "
                        f"{DossierStore.scan_sql([snap.base.path], rt)} r {touched}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT r.* FROM "
                f"({DossierStore.view_sql(rt, snap, base=base)}) r {touched}")
