"""The columnar dossier store: a folder of immutable Parquet segments, read through DuckDB.

Why this design
---------------
The web server reads while a CLI import and the worker write, and two imports may run at
once. A DuckDB database file admits one read-write process at a time (and readers cannot open
it while a writer has it), so a single ``.duckdb`` file would make the dashboard wait for
every import. Instead the store is a folder, the records folder of its store (see :mod:`chiso.store.service`)::

    .lock                         write lock (flock), held only to commit
    .compact.lock                 held by the process compacting (``compact_due``)
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
  and the hash alone (see ``normalise.row_hash_sql``).
- **Compaction** (``compact()``, run by the worker when segments pile up) merges the base and
  the segments into a new base without holding the lock, then renames it in under the lock.
  Files a newer base has replaced are deleted only after ``retain_seconds`` (an hour), so a
  reader that listed them a moment earlier still finds them.
- **Versions are store-wide.** Every import that changes something is one version, numbered
  under the one write lock across the record types (dossiers 41, procedures 42, dossiers
  43...), so "version N" names a whole state of the store: for each record type, the newest
  base with a number ≤ N and the segments after it up to N (``snapshot(kind,
  at_version=N)``, ``connect(at_version=N)``). Stores written before numbered each type on
  its own; their files read as before and numbering goes on from the highest. The commit
  time, record type, source and counts of a version go into its segment's Parquet metadata
  (written before the rename, so they are part of the commit) and, after the rename, into
  the log ``versions.jsonl`` (one JSON object a line) that ``versions()`` lists quickly; a
  segment the log lacks (a crash between the two, an older store) is listed from its
  metadata, else its file time.
- **Retention** (setting ``records_retention_days``, 400 days): garbage collection keeps every
  version committed within the retention and the one in force at its start, so that the
  index can be computed as the store held it on any day of it. It keeps, per record type,
  the newest base at or before the oldest retained version, every segment after that base,
  the newest base of each month since (so that an old version is a base plus at most a
  month of segments) and the current base; the rest goes (still after ``retain_seconds``).
  The oldest retained version is written to the log (``retained_from``) before any file is
  deleted, and only moves forward; asking for an older version is refused with a clear
  error, never answered from an incomplete chain.

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

import json
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

import duckdb

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.dossiers.classify import HASH_PROBE_KEY, hash_probe, hashes_valid
from chiso.dossiers.normalise import row_hash_sql
from chiso.dossiers.duck import RECORD_FILES, Progress, count, file_columns, scan_sql
from chiso.dossiers.duck import lit as _lit
from chiso.dossiers.ingest import Batch, pid_alive, work_folder
from chiso.dossiers.normalise import UnitRow
from chiso.dossiers.rejects import SAMPLE_LIMIT
from chiso.imports import FileSummary, ImportSummary, rejects_path_for
from chiso.dossiers.schema import RECORD_TYPES, RecordType, record_type

_SEGMENT = re.compile(r"^(base|seg)-(\d{12})\.parquet$")
_TEMP = re.compile(r"^\.tmp-(\d+)-[0-9a-f]+\.parquet$")

#: How long a file a newer base has replaced is kept for readers that listed it.
RETAIN_SECONDS = 3600.0

#: The log of versions in the store's folder (see the module docstring).
VERSION_LOG = "versions.jsonl"
#: Keys of a segment's Parquet metadata that describe its version.
META_PREFIX = "chiso_version_"


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


@dataclass(frozen=True)
class Version:
    """One version of the store: an import that changed records of one type.

    ``committed_at`` is timezone-aware (UTC as stored); ``source``, ``inserted`` and
    ``updated`` are None for versions of an older store known only from their files."""

    number: int
    committed_at: datetime
    kind: str
    source: str | None = None
    inserted: int | None = None
    updated: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "committed_at": local_time(self.committed_at).isoformat(),
            "kind": self.kind,
            "source": self.source,
            "inserted": self.inserted,
            "updated": self.updated,
        }


def _int_or_none(meta: dict[str, str], key: str) -> int | None:
    return int(meta[key]) if key in meta else None


def store_timezone() -> ZoneInfo:
    return ZoneInfo(settings.get("timezone"))


def local_time(moment: datetime) -> datetime:
    """``moment`` in the store's time zone (setting ``timezone``)."""
    return moment.astimezone(store_timezone())


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time with an offset (``2026-10-15T17:00:00+07:00``, ``...Z``) or
    without one (then in the store's time zone, setting ``timezone``); a date alone is its
    midnight. Raises :class:`ChisoError` with the expected forms."""
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ChisoError(_("Not a date and time: “{text}” (write e.g. 2026-10-15T17:00, "
                           "2026-10-15T17:00:00+07:00 or 2026-10-15T10:00:00Z)").format(text=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=store_timezone())
    return moment


def retention_setting() -> float:
    """Setting ``records_retention_days`` as a number of days (≥ 0)."""
    raw = settings.get("records_retention_days")
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not days >= 0:
        raise ChisoError(_("Setting records_retention_days must be a number of days (0 or more), not “{value}”.").format(
            value=raw))
    return days


def compact_setting() -> int:
    """Setting ``compact_after_segments`` as a whole number (≥ 0)."""
    raw = settings.get("compact_after_segments").strip()
    if not raw.isdigit():
        raise ChisoError(_("Setting compact_after_segments must be a whole number (0 or more), not “{value}”.").format(
            value=raw))
    return int(raw)


def _days_shown() -> str:
    return settings.get("records_retention_days")


def _shown(moment: datetime) -> str:
    """A moment as messages show it: local time to the second, with its offset."""
    return local_time(moment).isoformat(timespec="seconds")


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


def fsync_file(path: Path) -> None:
    """Make a written file durable (before a rename commits it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    if os.name == "posix":
        fsync_file(path)


def _duckdb() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection: no file lock, so any number of processes read at once."""
    con = duckdb.connect()
    # TIMESTAMPTZ values (imported_at) show in the province's time zone; a library prints
    # no progress bar of its own.
    con.execute(f"SET TimeZone = {_lit(settings.get('timezone'))}; SET enable_progress_bar = false")
    return con


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of ``fd`` if no other process holds it (without waiting)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _change(key: str, action: str, changes: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "action": action}
    if action == "update":
        out["changes"] = {c["field"]: [c["before"], c["after"]] for c in changes or []}
    return out


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
    ``memory_limit`` (a DuckDB size such as ``"2GB"``) caps what one import or compaction
    holds in memory; by default DuckDB's own limit applies (80% of the machine's memory)."""

    def __init__(self, path: Path | str, *, retain_seconds: float = RETAIN_SECONDS,
                 memory_limit: str | None = None):
        self.root = Path(path)
        self.retain_seconds = retain_seconds
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"DossierStore({str(self.root)!r})"

    # ------------------------------------------------------------------ reading

    def snapshot(self, kind: str = "dossiers", *, at_version: int | None = None) -> Snapshot:
        """The current files of ``kind``: the latest base and the segments after it.

        With ``at_version=N``, the files of ``kind`` as the store held them at version N:
        the newest base numbered ≤ N and the segments after it up to N. Raises
        :class:`ChisoError` when N is not a retained version (:meth:`check_version`) or a
        file of the chain is missing."""
        record_type(kind)
        segments = _segments(self.root / kind)
        if at_version is not None:
            floor, logged = self._read_log()
            self.check_version(at_version, floor=floor)
            return self._snapshot_at(kind, segments, int(at_version), logged)
        bases = [s for s in segments if s.kind == "base"]
        base = max(bases, key=lambda s: s.seq, default=None)
        floor = base.seq if base else 0
        deltas = tuple(sorted((s for s in segments if s.kind == "seg" and s.seq > floor), key=lambda s: s.seq))
        return Snapshot(kind, base, deltas)

    def _snapshot_at(self, kind: str, segments: list[Segment], number: int, logged: dict[int, dict[str, Any]]) -> Snapshot:
        base = max((s for s in segments if s.kind == "base" and s.seq <= number), key=lambda s: s.seq, default=None)
        low = base.seq if base else 0
        deltas = tuple(sorted((s for s in segments if s.kind == "seg" and low < s.seq <= number),
                              key=lambda s: s.seq))
        present = {s.seq for s in deltas}
        missing = sorted(n for n, e in logged.items() if e.get("kind") == kind and low < n <= number
                         and n not in present)
        if missing:
            raise ChisoError(_("Version {n} cannot be shown: the records of version {missing} are no longer in "
                               "the store.").format(n=number, missing=missing[0]))
        if base is None and deltas:
            # No base of its own (retention dropped it): the first segment serves as one. A
            # segment holds each key once, as a base does, so the view reads it minus the
            # keys of the later segments instead of ranking every row of all of them (the
            # first import is usually most of the store).
            base, deltas = deltas[0], deltas[1:]
        return Snapshot(kind, base, deltas)

    def segments(self, kind: str = "dossiers") -> list[Segment]:
        """Every committed file of ``kind`` on disk, bases and segments, by number."""
        record_type(kind)
        return sorted(_segments(self.root / kind), key=lambda s: (s.seq, s.kind != "seg"))

    def version(self, kind: str | None = None) -> int:
        """The store's version: the number of its latest import (0 when empty). With
        ``kind``, the number of the latest import of that record type."""
        if kind is not None:
            return self.snapshot(kind).version
        return max((self.snapshot(k).version for k in RECORD_TYPES), default=0)

    def kind_versions(self, at_version: int | None = None) -> dict[str, int]:
        """{record type: the number of its latest import}, now or as of ``at_version``."""
        return {k: self.snapshot(k, at_version=at_version).version for k in RECORD_TYPES}

    def connect(self, *, at_version: int | None = None) -> duckdb.DuckDBPyConnection:
        """A private DuckDB connection with one view per record type (``dossiers``,
        ``procedures``, ``feedback``) over the current snapshot, or over the store as of
        version ``at_version``.

        Columns: ``source``, the canonical fields (``unit_code`` is the registry code),
        ``imported_at``. The connection is in memory, so any number of processes read at
        once; open one per request or job, or call :meth:`refresh` to see later imports."""
        con = _duckdb()
        try:
            self.refresh(con, at_version=at_version)
        except BaseException:
            con.close()
            raise
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection, *, at_version: int | None = None) -> dict[str, int]:
        """Point the views of ``con`` at the newest version (or at ``at_version``);
        returns the version of each record type."""
        versions = {}
        snaps = {rt.name: self.snapshot(rt.name, at_version=at_version) for rt in RECORD_TYPES.values()}
        file_columns([path for snap in snaps.values() for path in snap.files], con)  # every footer at once
        for rt in RECORD_TYPES.values():
            snap = snaps[rt.name]
            con.execute(f"CREATE OR REPLACE VIEW {rt.name} AS {self.view_sql(rt, snap)}")
            versions[rt.name] = snap.version
        return versions

    # ------------------------------------------------------------------ versions

    def _read_log(self) -> tuple[int | None, dict[int, dict[str, Any]]]:
        """(``retained_from`` or None when the log never set it, {number: entry})."""
        try:
            text = (self.root / VERSION_LOG).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, {}
        floor, entries = None, {}
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # a line a crash cut short
            if not isinstance(obj, dict):
                continue
            if "retained_from" in obj:
                floor = int(obj["retained_from"])
            elif "version" in obj and "committed_at" in obj:
                entries[int(obj["version"])] = obj
        return floor, entries

    def _legacy_floor(self) -> int:
        """The oldest version a store without ``retained_from`` in its log can show: per
        record type, from its oldest base (earlier segments may have been collected),
        or from the start when it has never been compacted."""
        floor = 0
        for kind in RECORD_TYPES:
            bases = [s.seq for s in _segments(self.root / kind) if s.kind == "base"]
            if bases:
                floor = max(floor, min(bases))
        return floor

    def retained_from(self) -> int:
        """The oldest version the store can still show (0: every version since the start)."""
        floor, _entries = self._read_log()
        return self._legacy_floor() if floor is None else floor

    def _version_list(self, *, read_metadata: bool) -> tuple[int, list[Version]]:
        floor, logged = self._read_log()
        if floor is None:
            floor = self._legacy_floor()
        out: dict[tuple[int, str], Version] = {}
        for n, e in logged.items():
            if n < floor:
                continue
            out[(n, e["kind"])] = Version(
                n, datetime.fromisoformat(e["committed_at"]), e["kind"], e.get("source"),
                e.get("inserted"), e.get("updated"))
        unknown: list[tuple[str, Segment]] = []
        for kind in RECORD_TYPES:
            for seg in _segments(self.root / kind):
                if (seg.seq, kind) in out or seg.seq < floor:
                    continue
                unknown.append((kind, seg))
        # Segments before bases of the same number: a segment's time is its commit's.
        unknown.sort(key=lambda ks: (ks[1].seq, ks[1].kind != "seg"))
        metadata = self._segment_metadata([seg.path for _k, seg in unknown if seg.kind == "seg"]) if read_metadata else {}
        for kind, seg in unknown:
            if (seg.seq, kind) in out:
                continue
            meta = metadata.get(str(seg.path), {})
            try:
                when = (datetime.fromisoformat(meta["committed_at"]) if "committed_at" in meta
                        else datetime.fromtimestamp(seg.path.stat().st_mtime, timezone.utc))
            except (FileNotFoundError, ValueError):
                continue
            out[(seg.seq, kind)] = Version(seg.seq, when, kind, meta.get("source"), _int_or_none(meta, "inserted"),
                                           _int_or_none(meta, "updated"))
        return floor, sorted(out.values(), key=lambda v: (v.number, v.kind))

    @staticmethod
    def _segment_metadata(paths: Sequence[Path]) -> dict[str, dict[str, str]]:
        """{path: {field: value}} of the version metadata of segment files."""
        if not paths:
            return {}
        con = duckdb.connect()
        try:
            rows = con.execute(
                "SELECT file_name, decode(key), decode(value) FROM parquet_kv_metadata(?) "
                "WHERE starts_with(decode(key), ?)", [[str(p) for p in paths], META_PREFIX]).fetchall()
        except duckdb.Error:
            return {}  # a file collected meanwhile: fall back to file times
        finally:
            con.close()
        out: dict[str, dict[str, str]] = {}
        for name, key, value in rows:
            out.setdefault(name, {})[key[len(META_PREFIX):]] = value
        return out

    def versions(self) -> list[Version]:
        """The retained versions, oldest first: number, commit time, record type, source,
        rows inserted and updated (for ``chiso store info`` and ``--as-of``)."""
        return self._version_list(read_metadata=True)[1]

    def check_version(self, number: int, *, floor: int | None = None) -> None:
        """Raise :class:`ChisoError` unless the store can show version ``number``."""
        current = self.version()
        if floor is None:
            floor = self.retained_from()
        if number > current:
            raise ChisoError(_("Version {n} does not exist yet: the store is at version {current}.").format(
                n=number, current=current))
        if number < max(floor, 1):
            raise ChisoError(_("Version {n} is no longer retained: the store keeps versions from {floor} on "
                               "(setting records_retention_days = {days}).").format(
                n=number, floor=max(floor, 1), days=_days_shown()))

    def version_at(self, moment: datetime) -> int:
        """The newest version committed at or before ``moment`` (timezone-aware).

        Raises :class:`ChisoError` when ``moment`` is in the future, before the first import,
        or before the oldest retained version."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=store_timezone())
        if moment > datetime.now(timezone.utc):
            raise ChisoError(_("{time} is in the future: the index can be shown only as it stood up to now.").format(
                time=_shown(moment)))
        floor, versions = self._version_list(read_metadata=True)
        if not versions:
            raise ChisoError(_("No records have been imported yet: there is no version to show."))
        before = [v.number for v in versions if v.committed_at <= moment]
        if not before:
            first = versions[0]
            if floor > 0:
                raise ChisoError(_("The store no longer holds its records as of {time}: the oldest retained version "
                                   "is {n}, committed {when} (setting records_retention_days = {days}).").format(
                    time=_shown(moment), n=first.number, when=_shown(first.committed_at),
                    days=_days_shown()))
            raise ChisoError(_("No records had been imported by {time}: the first version is {n}, committed "
                               "{when}.").format(time=_shown(moment), n=first.number, when=_shown(first.committed_at)))
        number = max(before)
        self.check_version(number, floor=floor)
        return number

    def count(self, kind: str = "dossiers") -> int:
        con = self.connect()
        try:
            return count(con, f"SELECT count(*) FROM {record_type(kind).name}")
        finally:
            con.close()

    @staticmethod
    def scan_sql(paths: Sequence[Path], rt: RecordType | None = None, internal: Sequence[str] = ("_seq",)) -> str:
        """SQL reading the given segment files as one relation (:func:`chiso.dossiers.duck.scan_sql`)."""
        return scan_sql(paths, rt, internal)

    @staticmethod
    def view_sql(rt: RecordType, snap: Snapshot, *, with_seq: bool = False, base: str | None = None) -> str:
        """SELECT giving the current record of each (source, key) in ``snap``.

        Only segments can hold several versions of a key (a base holds one), so the base is
        read as is minus the keys the segments hold, and only the small segments are ranked
        by import number. ``base``: a relation to read instead of the base file (its rows
        for some keys, with its columns: the view then holds those keys alone, when the
        segments are filtered alike by the caller, or their other keys too)."""
        cols = [name for name, _type in rt.columns()] + (["_seq"] if with_seq else [])
        select = ", ".join(cols)
        if not snap.files:
            typed = [f"NULL::{t} AS {n}" for n, t in rt.columns()] + (["NULL::BIGINT AS _seq"] if with_seq else [])
            return f"SELECT {', '.join(typed)} WHERE false"

        if snap.base is not None and base is None:
            base = DossierStore.scan_sql([snap.base.path], rt)
        if not snap.deltas:
            assert base is not None  # files but no deltas: the base is the one file
            return f"SELECT {select} FROM {base}"
        key = rt.key
        if len(snap.deltas) == 1:
            # One segment holds each key once: nothing to rank (saves a window over it).
            latest = f"SELECT * FROM {DossierStore.scan_sql([snap.deltas[0].path], rt)}"
        else:
            latest = (
                f"SELECT * FROM {DossierStore.scan_sql([s.path for s in snap.deltas], rt)} "
                f"QUALIFY row_number() OVER (PARTITION BY source, {key} ORDER BY _seq DESC) = 1"
            )
        if snap.base is None:
            return f"SELECT {select} FROM ({latest})"
        return (
            f"WITH latest AS ({latest}) "
            f"SELECT {', '.join('b.' + c for c in cols)} FROM {base} b "
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
            if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
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

    def _next_version(self) -> int:
        """The number of the next version, store-wide (called under the lock)."""
        _floor, logged = self._read_log()
        return max([self.version()] + list(logged)) + 1

    def _log_version(self, entry: dict[str, Any]) -> None:
        """Append a committed version to the log (under the lock, after the rename)."""
        path = self.root / VERSION_LOG
        if not path.exists():
            # The first entry of a log: the oldest version this store can show so far.
            self._write_log(self._legacy_floor(), {})
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _write_log(self, floor: int, entries: dict[int, dict[str, Any]]) -> None:
        path = self.root / VERSION_LOG
        temp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{VERSION_LOG}")
        with open(temp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"retained_from": int(floor)}) + "\n")
            for n in sorted(entries):
                fh.write(json.dumps(entries[n], ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
        _fsync_dir(self.root)

    def _advance_floor(self, retain_seconds: float, retention_days: float | None) -> tuple[int, dict[int, datetime]]:
        """Move ``retained_from`` to the version in force at the start of the retention
        (less ``retain_seconds``, for readers of the version that just left it), writing it
        to the log before any file goes (under the lock). Returns the floor and the commit
        time of each version known."""
        days = retention_setting() if retention_days is None else float(retention_days)
        stored_floor, logged = self._read_log()
        floor, versions = self._version_list(read_metadata=False)
        times = {v.number: v.committed_at for v in versions}
        horizon = time.time() - days * 86400 - retain_seconds
        passed = [v.number for v in versions if v.committed_at.timestamp() <= horizon]
        new_floor = max([floor] + passed[-1:])
        if stored_floor is None or new_floor != stored_floor:
            if (self.root / VERSION_LOG).exists() or new_floor:
                self._write_log(new_floor, {n: e for n, e in logged.items() if n >= new_floor})
        return new_floor, times

    def _collect_garbage(self, kind: str, retain_seconds: float | None = None, *,
                         retention_days: float | None = None, floor: int | None = None,
                         times: dict[int, datetime] | None = None) -> int:
        """Delete the files of ``kind`` no retained version needs (see the module
        docstring: retention), once the base that replaced each has been there
        ``retain_seconds``. Called under the lock."""
        retain = self.retain_seconds if retain_seconds is None else retain_seconds
        if floor is None or times is None:
            floor, times = self._advance_floor(retain, retention_days)
        folder = self.root / kind
        everything = _segments(folder)
        bases = sorted((s for s in everything if s.kind == "base"), key=lambda s: s.seq)
        if not bases:
            return 0
        anchor = max((b for b in bases if b.seq <= floor), key=lambda b: b.seq, default=None)
        low = anchor.seq if anchor else 0
        keep = {bases[-1].path} | ({anchor.path} if anchor else set())
        keep |= {s.path for s in everything if s.kind == "seg" and s.seq > low}
        zone = store_timezone()
        monthly: dict[tuple[int, int], Segment] = {}
        for b in bases:
            if b.seq > floor:
                when = times.get(b.seq)
                if when is None:
                    try:
                        when = datetime.fromtimestamp(b.path.stat().st_mtime, timezone.utc)
                    except FileNotFoundError:
                        continue
                local = when.astimezone(zone)
                monthly[(local.year, local.month)] = b  # ascending: the month's newest wins
        keep |= {b.path for b in monthly.values()}
        now = time.time()
        removed = 0
        for seg in everything:
            if seg.path in keep:
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

    # ------------------------------------------------------------------ what changed

    def changes_file(self, kind: str, version: int) -> Path:
        """The file listing what import ``version`` of ``kind`` inserted and updated
        (``changes/<kind>/changes-<version>.parquet``; see ``Classifier.write_changes``).
        Kept for the audit trail: compaction and retention leave it alone."""
        return self.root / "changes" / kind / f"changes-{int(version):012d}.parquet"

    def read_changes(self, kind: str, version: int, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The changed records of one version: ``key``, ``action`` (insert or update) and,
        for an update, ``changes`` as {field: [before, after]}; [] when none were kept."""
        path = self.changes_file(kind, version)
        if not path.exists():
            return []
        sql = f"SELECT key, action, changes FROM read_parquet({_lit(str(path))}) ORDER BY action, key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with _duckdb() as con:
            rows = con.execute(sql).fetchall()
        return [_change(key, action, changes) for key, action, changes in rows]

    def history(self, kind: str, key: str, *, source: str | None = None) -> list[dict[str, Any]]:
        """Every kept change of the record ``key`` (of every source, or of ``source``),
        oldest first: ``version``, ``source``, ``action`` and ``changes``."""
        files = sorted((self.root / "changes" / kind).glob("changes-*.parquet"))
        if not files:
            return []
        listed = ", ".join(_lit(str(p)) for p in files)
        where = f"key = {_lit(key)}" + (f" AND source = {_lit(source)}" if source else "")
        with _duckdb() as con:
            rows = con.execute(f"SELECT version, source, key, action, changes FROM read_parquet([{listed}]) "
                               f"WHERE {where} ORDER BY version").fetchall()
        return [{"version": v, "source": src, **_change(k, a, c)} for v, src, k, a, c in rows]

    def holds_source(self, source: str) -> bool:
        """Whether any record of any type in the store came from ``source``."""
        files = [p for kind in RECORD_TYPES for p in self.snapshot(kind).files]
        if not files:
            return False
        listed = ", ".join(_lit(str(p)) for p in files)
        with _duckdb() as con:
            return con.execute(f"SELECT 1 FROM read_parquet([{listed}], union_by_name = true) "
                               f"WHERE source = {_lit(source)} LIMIT 1").fetchone() is not None

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
        files = [Path(p) for p in paths]
        if not files:
            return ImportSummary(kind=kind, source=source, seconds=0.0)
        return self._import(
            kind, source, units, progress, scoped=scoped,
            stage=lambda batch: batch.stage_files(files),
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
            return ImportSummary(kind=kind, source=source, seconds=0.0)
        return self._import(
            kind, source, units, progress, scoped=scoped,
            stage=lambda batch: batch.stage_rows(rows),
            to_files=False, sample_limit=None,
        )

    def _import(self, kind: str, source: str, units: Iterable[Any] | None, progress: Progress | None, *,
                stage: Callable[[Batch], None], to_files: bool, sample_limit: int | None,
                scoped: bool = False) -> ImportSummary:
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
                    seq = self._next_version()
                    temp = self._temp_path(folder)
                    entry = {"version": seq, "kind": kind,
                             "committed_at": datetime.now(timezone.utc).isoformat(),
                             "source": source, "inserted": counts["insert"], "updated": counts["update"]}
                    try:
                        batch.write_segment(temp, source=source, seq=seq, metadata={
                            META_PREFIX + k: str(v) for k, v in entry.items() if k != "version"})
                        fsync_file(temp)
                        # What changed, for the audit trail: written before the commit so
                        # that a committed version always has it (an orphan left by a
                        # failure is overwritten by the next import of that number).
                        changes = self.changes_file(kind, seq)
                        changes.parent.mkdir(parents=True, exist_ok=True)
                        changes_temp = changes.with_name(f".{changes.name}.tmp")
                        batch.write_changes(changes_temp, source=source, seq=seq, files=snap.files)
                        fsync_file(changes_temp)
                        os.replace(changes_temp, changes)
                        # Last chance to stop (Ctrl-C, a failing callback): before the rename.
                        batch.tracker.before_commit()
                        self._commit(temp, folder / f"seg-{seq:012d}.parquet")
                        version = seq
                    finally:
                        temp.unlink(missing_ok=True)
                    self._log_version(entry)
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

    def compact_due(self, segments: int) -> dict[str, int]:
        """Compact each record type that has ``segments`` or more segments after its base (the
        worker's regular compaction: every scan and every import reads each segment, and a
        live feed adds one at every pull). Returns the new base version of each type
        compacted; nothing (``{}``) when none is due, ``segments`` is 0, or another process
        is compacting this store right now."""
        if segments <= 0:
            return {}
        due = [kind for kind in RECORD_TYPES if len(self.snapshot(kind).deltas) >= segments]
        if not due:
            return {}
        fd = os.open(self.root / ".compact.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                return {}
            out: dict[str, int] = {}
            for kind in due:
                out.update(self.compact(kind))
            return out
        finally:
            os.close(fd)  # closing releases the lock

    def compact(self, kind: str | None = None, *, retain_seconds: float | None = None,
                retention_days: float | None = None) -> dict[str, int]:
        """Merge each record type's base and segments into one sorted base, then delete
        what retention no longer needs (``retention_days`` overrides the setting
        ``records_retention_days``; 0 keeps only the current version).

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
                # Sorting every record of a type is the largest working set of the store:
                # within the memory limit, spilling to a folder of its own (without it, ten
                # million dossiers peaked at 3.3 GB with the limit at 1.5 GB).
                spill = work_folder()
                con = _duckdb()
                try:
                    if self.memory_limit:
                        con.execute(f"SET memory_limit = {_lit(self.memory_limit)}")
                    con.execute(f"SET temp_directory = {_lit(spill.name)}")
                    order = ", ".join(rt.sort) or rt.key
                    # Rehashed here, so a store carried over a DuckDB upgrade gets hashes of
                    # the running version (see ``row_hash_sql``).
                    try:
                        con.execute(
                            f"COPY (SELECT *, {row_hash_sql(rt)} AS _hash FROM "
                            f"({self.view_sql(rt, snap, with_seq=True)}) ORDER BY {order}) "
                            f"TO {_lit(str(temp))} ({RECORD_FILES}, "
                            f"KV_METADATA {{{HASH_PROBE_KEY}: {_lit(hash_probe(con))}}})"
                        )
                    except duckdb.OutOfMemoryException:
                        raise ChisoError(_(
                            "Compacting the {kind} records needs more memory than duckdb_memory_limit "
                            "({limit}) allows, even spilling to disk: raise the setting; the store is as it was").format(
                                kind=name, limit=self.memory_limit or "80%")) from None
                    con.close()
                    fsync_file(temp)
                    with self._lock():
                        current = self.snapshot(name)
                        if current.base is None or current.base.seq < snap.version:
                            self._commit(temp, folder / f"base-{snap.version:012d}.parquet")
                finally:
                    con.close()
                    spill.cleanup()
                    temp.unlink(missing_ok=True)
            if folder.exists():
                with self._lock():
                    self._remove_stale_temps(folder)
                    self._collect_garbage(name, retain_seconds, retention_days=retention_days)
            base = self.snapshot(name).base
            result[name] = base.seq if base else 0
        return result
