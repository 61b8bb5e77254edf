"""The columnar dossier store: a folder of immutable Parquet segments, read through DuckDB.

Why this design
---------------
The web server reads while a CLI import and the worker write, and two imports may run at
once. A DuckDB database file admits one read-write process at a time (and readers cannot open
it while a writer has it), so a single ``.duckdb`` file would make the dashboard wait for
every import. Instead the store is a folder, the records folder of its store (see :mod:`chiso.store.service`)::

    .lock                         write lock (flock), held only to commit
    dossiers/base-000000000041.parquet   every record as of version 41, one row per key,
                                         sorted by unit and received_at
    dossiers/seg-000000000042.parquet    what import 42 inserted or updated
    dossiers/seg-000000000043.parquet
    procedures/...  feedback/...         the other record types, same layout

- **Readers** take no lock. ``connect()`` lists the folder once (a *snapshot*) and creates,
  in a private in-memory DuckDB connection, a view per record type over exactly those files:
  the latest base, minus the keys the later segments touch, plus the latest version of each
  of those keys. A connection therefore keeps one consistent version however many imports
  land meanwhile; ``refresh(con)`` moves it to the newest.
- **An import** reads and checks its files with no lock (the expensive part), then takes the
  lock, compares its rows with the current version, writes the changed rows to a hidden
  temporary file, fsyncs it and renames it to the next ``seg-`` number. The rename is the
  commit: a crash or Ctrl-C before it leaves the store as it was (the temporary file is
  removed, or ignored by readers and removed by the next writer if the process died), after it
  the import is whole. Two imports serialise on the lock; both land. Each row carries two
  internal columns the views leave out: ``_seq``, the import that wrote it (the latest wins),
  and ``_hash``, a hash of its fields that lets the next import tell "unchanged" from the key
  and the hash alone (see ``ingest.row_hash_sql``).
- **Compaction** (``compact()``, run by the worker when segments pile up) merges the base and
  the segments into a new base without holding the lock, then renames it in under the lock.
  Files a newer base has replaced are deleted only after ``retain_seconds`` (an hour), so a
  reader that listed them a moment earlier still finds them.

What this gives the index engine: at 10 million dossiers the base is one sorted file whose
row groups DuckDB skips by unit and date (zone maps); the view over base + small segments
costs one anti-join against the few keys the segments hold. ``snapshot()`` exposes the base,
the segments and a monotonic ``version`` so that a cache of computed scores can tell what is
new since it was built (the segments after its version) and recompute only those units and
periods.

Limits: the lock is ``flock`` (``msvcrt`` on Windows), so the store must live on a local disk,
not a network share; stale temporary files are recognised by the process id in their name.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import duckdb

from chiso import settings
from chiso.dossiers.ingest import (
    HASH_PROBE_KEY,
    SAMPLE_LIMIT,
    Batch,
    FileSummary,
    ImportSummary,
    Progress,
    UnitRow,
    pid_alive,
    hash_probe,
    hashes_valid,
    rejects_path_for,
    row_hash_sql,
)
from chiso.dossiers.schema import RECORD_TYPES, RecordType, record_type

_SEGMENT = re.compile(r"^(base|seg)-(\d{12})\.parquet$")
_TEMP = re.compile(r"^\.tmp-(\d+)-[0-9a-f]+\.parquet$")

#: How long a file a newer base has replaced is kept for readers that listed it.
RETAIN_SECONDS = 3600.0


@dataclass(frozen=True)
class Segment:
    kind: str  # "base" or "seg"
    seq: int
    path: Path


@dataclass(frozen=True)
class Snapshot:
    """The files making up one version of one record type."""

    name: str
    base: Segment | None
    deltas: tuple[Segment, ...]

    @property
    def version(self) -> int:
        """The highest import number included; 0 for an empty store."""
        seqs = [s.seq for s in self.deltas] + ([self.base.seq] if self.base else [])
        return max(seqs, default=0)

    @property
    def files(self) -> list[Path]:
        return ([self.base.path] if self.base else []) + [s.path for s in self.deltas]


def _segments(folder: Path) -> list[Segment]:
    """The committed files of a record type's folder (temporary files are hidden)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        match = _SEGMENT.match(entry.name)
        if match:
            found.append(Segment(match.group(1), int(match.group(2)), Path(entry.path)))
    return found


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    if os.name == "posix":
        _fsync(path)


def _duckdb() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection: no file lock, so any number of processes read at once."""
    con = duckdb.connect()
    # TIMESTAMPTZ values (imported_at) show in the province's time zone; a library prints
    # no progress bar of its own.
    con.execute(f"SET TimeZone = {_lit(settings.get('timezone'))}; SET enable_progress_bar = false")
    return con


def registry_units(session: Any) -> list[UnitRow]:
    """The unit rows ``import_*`` needs, from the registry (``chiso.units.models.Unit``)."""
    from sqlalchemy import select

    from chiso.units.models import Unit

    rows = session.execute(select(Unit.code, Unit.official_code, Unit.valid_from, Unit.valid_to))
    return [(code, official, vf, vt) for code, official, vf, vt in rows]


class DossierStore:
    """The store of dossiers, the procedure catalogue and feedback (see the module docstring).

    ``path`` is the store's records folder: :func:`chiso.store.service.open_records` finds
    it from the store (and refuses another store's); tests pass a temporary folder.
    ``memory_limit`` (a DuckDB size such as ``"2GB"``) caps what one import holds in memory;
    by default DuckDB's own limit applies (80% of the machine's memory)."""

    def __init__(self, path: Path | str, *, retain_seconds: float = RETAIN_SECONDS,
                 memory_limit: str | None = None):
        self.root = Path(path)
        self.retain_seconds = retain_seconds
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"DossierStore({str(self.root)!r})"

    # ------------------------------------------------------------------ reading

    def snapshot(self, kind: str = "dossiers") -> Snapshot:
        """The current files of ``kind``: the latest base and the segments after it."""
        record_type(kind)
        segments = _segments(self.root / kind)
        bases = [s for s in segments if s.kind == "base"]
        base = max(bases, key=lambda s: s.seq, default=None)
        floor = base.seq if base else 0
        deltas = tuple(sorted((s for s in segments if s.kind == "seg" and s.seq > floor), key=lambda s: s.seq))
        return Snapshot(kind, base, deltas)

    def version(self, kind: str = "dossiers") -> int:
        return self.snapshot(kind).version

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A private DuckDB connection with one view per record type (``dossiers``,
        ``procedures``, ``feedback``) over the current snapshot.

        Columns: ``source``, the canonical fields (``unit_code`` is the registry code),
        ``imported_at``. The connection is in memory, so any number of processes read at
        once; open one per request or job, or call :meth:`refresh` to see later imports."""
        con = _duckdb()
        self.refresh(con)
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Point the views of ``con`` at the newest version; returns the versions."""
        versions = {}
        for rt in RECORD_TYPES.values():
            snap = self.snapshot(rt.name)
            con.execute(f"CREATE OR REPLACE VIEW {rt.name} AS {self.view_sql(rt, snap)}")
            versions[rt.name] = snap.version
        return versions

    def count(self, kind: str = "dossiers") -> int:
        con = self.connect()
        try:
            return int(con.execute(f"SELECT count(*) FROM {record_type(kind).name}").fetchone()[0])
        finally:
            con.close()

    @staticmethod
    def scan_sql(paths: Sequence[Path]) -> str:
        """SQL reading the given segment files as one relation."""
        listed = ", ".join(_lit(str(p)) for p in paths)
        # union_by_name: segments written before a column was added read it as NULL.
        return f"read_parquet([{listed}], union_by_name = true)"

    @staticmethod
    def view_sql(rt: RecordType, snap: Snapshot, *, with_seq: bool = False) -> str:
        """SELECT giving the current record of each (source, key) in ``snap``.

        Only segments can hold several versions of a key (a base holds one), so the base is
        read as is minus the keys the segments hold, and only the small segments are ranked
        by import number."""
        cols = [name for name, _type in rt.columns()] + (["_seq"] if with_seq else [])
        select = ", ".join(cols)
        if not snap.files:
            typed = [f"NULL::{t} AS {n}" for n, t in rt.columns()] + (["NULL::BIGINT AS _seq"] if with_seq else [])
            return f"SELECT {', '.join(typed)} WHERE false"

        if not snap.deltas:
            return f"SELECT {select} FROM {DossierStore.scan_sql([snap.base.path])}"
        key = rt.key
        if len(snap.deltas) == 1:
            # One segment holds each key once: nothing to rank (saves a window over it).
            latest = f"SELECT * FROM {DossierStore.scan_sql([snap.deltas[0].path])}"
        else:
            latest = (
                f"SELECT * FROM {DossierStore.scan_sql([s.path for s in snap.deltas])} "
                f"QUALIFY row_number() OVER (PARTITION BY source, {key} ORDER BY _seq DESC) = 1"
            )
        if snap.base is None:
            return f"SELECT {select} FROM ({latest})"
        return (
            f"WITH latest AS ({latest}) "
            f"SELECT {', '.join('b.' + c for c in cols)} FROM {DossierStore.scan_sql([snap.base.path])} b "
            f"ANTI JOIN latest d ON b.source = d.source AND b.{key} = d.{key} "
            f"UNION ALL SELECT {select} FROM latest"
        )

    # ------------------------------------------------------------------ writing

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """The write lock: exclusive between processes, released by the OS if one dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.name == "nt":  # pragma: no cover - exercised on Windows only
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        continue
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _temp_path(self, folder: Path) -> Path:
        return folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}.parquet"

    def _remove_stale_temps(self, folder: Path) -> None:
        """Temporary files of processes that died mid-write (they are invisible to readers)."""
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            match = _TEMP.match(entry.name)
            if match and int(match.group(1)) != os.getpid() and not pid_alive(int(match.group(1))):
                Path(entry.path).unlink(missing_ok=True)

    def _collect_garbage(self, kind: str, retain_seconds: float | None = None) -> int:
        """Delete files that a base replaced more than ``retain_seconds`` ago."""
        retain = self.retain_seconds if retain_seconds is None else retain_seconds
        folder = self.root / kind
        snap = self.snapshot(kind)
        if snap.base is None:
            return 0
        live = {snap.base.path} | {s.path for s in snap.deltas}
        everything = _segments(folder)
        bases = sorted((s for s in everything if s.kind == "base"), key=lambda s: s.seq)
        now = time.time()
        removed = 0
        for seg in everything:
            if seg.path in live:
                continue
            # The base that made it obsolete: the first one covering its number.
            replacing = next(
                b for b in bases if b.seq > seg.seq or (b.seq == seg.seq and seg.kind == "seg")
            )
            try:
                age = now - replacing.path.stat().st_mtime
            except FileNotFoundError:
                continue
            if age >= retain:
                seg.path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _commit(self, temp: Path, final: Path) -> None:
        os.replace(temp, final)
        # The mtime marks when the file became visible (garbage collection counts from it).
        os.utime(final)
        _fsync_dir(final.parent)

    def import_files(
        self,
        paths: Iterable[Path | str],
        *,
        source: str,
        units: Iterable[Any] | None,
        progress: Progress | None = None,
        kind: str = "dossiers",
        scoped: bool = False,
    ) -> ImportSummary:
        """Import CSV, XLSX, JSON or JSON Lines files as one atomic change.

        ``units`` is the registry as (code, official_code, valid_from, valid_to) rows (see
        :func:`registry_units`); not needed for ``kind="procedures"``. Each input with
        rejected rows gets ``<input>.rejects.csv``. Raises :class:`chiso.errors.ChisoError`
        (nothing written) when a file cannot be read or its header lacks a required column."""
        paths = [Path(p) for p in paths]
        if not paths:
            return ImportSummary(source=source, kind=kind)
        return self._import(
            kind, source, units, progress, scoped=scoped,
            stage=lambda batch: batch.stage_files(paths),
            to_files=True, sample_limit=SAMPLE_LIMIT,
        )

    def import_rows(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        source: str,
        units: Iterable[Any] | None,
        progress: Progress | None = None,
        kind: str = "dossiers",
        scoped: bool = False,
    ) -> ImportSummary:
        """Import records given in memory (a JSON array posted to the API) by the same path
        as files. Line numbers are positions in ``rows`` from 1; no rejects file is written:
        every reject is in ``summary.rejects``."""
        if not rows:
            return ImportSummary(source=source, kind=kind)
        return self._import(
            kind, source, units, progress, scoped=scoped,
            stage=lambda batch: batch.stage_rows(rows),
            to_files=False, sample_limit=None,
        )

    def _import(self, kind, source, units, progress, *, stage, to_files, sample_limit, scoped=False) -> ImportSummary:
        rt = record_type(kind)
        if not source or not str(source).strip():
            raise ValueError("source must name where the records come from")
        source = str(source).strip()
        started = time.perf_counter()
        with Batch(rt, units=units, progress=progress, memory_limit=self.memory_limit, scoped=scoped) as batch:
            stage(batch)
            batch.check()
            if scoped and units is not None:
                batch.refuse_foreign(source, self.snapshot(kind).files, [batch._unit_row(u)[0] for u in batch.units])
            samples = batch.write_rejects(to_files=to_files, sample_limit=sample_limit)
            batch.drop_raw()
            batch.accept()
            folder = self.root / kind
            version = None
            with self._lock():
                folder.mkdir(parents=True, exist_ok=True)
                self._remove_stale_temps(folder)
                snap = self.snapshot(kind)
                counts = batch.classify(source, snap.files, hashes_valid=hashes_valid(batch.con, snap.files))
                if counts["insert"] or counts["update"]:
                    seq = snap.version + 1
                    temp = self._temp_path(folder)
                    try:
                        batch.write_segment(temp, source=source, seq=seq)
                        _fsync(temp)
                        # Last chance to stop (Ctrl-C, a failing callback): before the rename.
                        batch.tracker.before_commit()
                        self._commit(temp, folder / f"seg-{seq:012d}.parquet")
                        version = seq
                    finally:
                        temp.unlink(missing_ok=True)
                self._collect_garbage(kind)
            batch.tracker.report(1.0)
            files = [
                FileSummary(
                    path=st.label, format=st.format, read=st.read, rejected=st.rejected,
                    rejects_path=str(rejects_path_for(st.path)) if (st.path and st.rejected and to_files) else None,
                )
                for st in batch.staged
            ]
            return ImportSummary(
                read=sum(f.read for f in files),
                inserted=counts["insert"],
                updated=counts["update"],
                unchanged=counts["same"] + counts["stale"] + batch.superseded,
                rejected=sum(f.rejected for f in files),
                rejects_path=next((f.rejects_path for f in files if f.rejects_path), None),
                source=source,
                files=files,
                kind=kind,
                version=version,
                seconds=time.perf_counter() - started,
                rejects=samples,
            )

    def compact(self, kind: str | None = None, *, retain_seconds: float | None = None) -> dict[str, int]:
        """Merge each record type's base and segments into one sorted base.

        Writes without the lock (imports go on), commits under it. Returns the version of
        the base of each record type afterwards."""
        kinds = [kind] if kind else list(RECORD_TYPES)
        result = {}
        for name in kinds:
            rt = record_type(name)
            folder = self.root / name
            snap = self.snapshot(name)
            if snap.deltas:
                temp = self._temp_path(folder)
                con = _duckdb()
                try:
                    order = ", ".join(rt.sort) or rt.key
                    # Rehashed here, so a store carried over a DuckDB upgrade gets hashes of
                    # the running version (see ``row_hash_sql``).
                    con.execute(
                        f"COPY (SELECT *, {row_hash_sql(rt)} AS _hash FROM "
                        f"({self.view_sql(rt, snap, with_seq=True)}) ORDER BY {order}) "
                        f"TO {_lit(str(temp))} (FORMAT parquet, COMPRESSION zstd, "
                        f"KV_METADATA {{{HASH_PROBE_KEY}: {_lit(hash_probe(con))}}})"
                    )
                    con.close()
                    _fsync(temp)
                    with self._lock():
                        current = self.snapshot(name)
                        if current.base is None or current.base.seq < snap.version:
                            self._commit(temp, folder / f"base-{snap.version:012d}.parquet")
                finally:
                    con.close()
                    temp.unlink(missing_ok=True)
            if folder.exists():
                with self._lock():
                    self._remove_stale_temps(folder)
                    self._collect_garbage(name, retain_seconds)
            base = self.snapshot(name).base
            result[name] = base.seq if base else 0
        return result
