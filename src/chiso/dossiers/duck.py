"""What every step of a dossier import shares: SQL text and the progress of long statements.

The steps (:mod:`~chiso.dossiers.stage`, :mod:`~chiso.dossiers.normalise`,
:mod:`~chiso.dossiers.rejects`, :mod:`~chiso.dossiers.classify`) build SQL as text for one
private DuckDB connection; values never come from a user except through :func:`lit`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import duckdb

if TYPE_CHECKING:
    from chiso.dossiers.schema import RecordType

#: ``progress(done, total)``: rows processed so far (the work of every step counted in rows)
#: and the total expected (an estimate from the file sizes until the files are read), for a
#: progress bar. Called in the importing thread about ten times a second while DuckDB works
#: in a helper thread. The last call before the commit reports 98% of the total (at most
#: ``total - 1``); the call with ``done == total`` comes after it. An exception raised by the callback (or Ctrl-C)
#: interrupts the import: before that last call the store is left exactly as it was.
Progress = Callable[[int, int], None]


#: How the record files are written (an import's segment, a compaction's base): LZ4, which
#: every counting scan decompresses faster than zstd. At 10 million dossiers (2 cores) the
#: two per-day scans took 2.15 s over zstd files and 1.8 s over LZ4 ones (uncompressed:
#: 1.77 s); the files are 40% larger (230 → 320 MB). Apache Spark 3.4 and later read it.
RECORD_FILES = "FORMAT parquet, COMPRESSION lz4_raw"


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def str_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The number a ``SELECT count(...)`` returns (an aggregate always gives one row)."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])



class Tracker:
    """Turns the progress of DuckDB statements into ``progress(done, total)`` calls.

    Every long statement runs in a helper thread while this thread polls
    ``query_progress()``; an exception here (from the callback, or Ctrl-C) interrupts the
    statement and propagates, so an import can always be stopped between two polls."""

    POLL = 0.1

    def __init__(self, callback: Progress | None, total: int = 0):
        self.callback = callback
        self.total = max(total, 1)
        self.done = 0

    def report(self, fraction: float) -> None:
        if self.callback is None:
            return
        done = min(self.total, max(self.done, int(self.total * fraction)))
        if done != self.done or fraction >= 1.0:
            self.done = done
            self.callback(done, self.total)

    def before_commit(self) -> None:
        """The call just before the commit, always made: 98% (at most ``total - 1``)."""
        if self.callback is None:
            return
        self.done = max(self.done, min(self.total - 1, -(-self.total * 98 // 100)))
        self.callback(self.done, self.total)

    def execute(self, con: duckdb.DuckDBPyConnection, sql: str, lo: float = 0.0, hi: float = 0.0) -> None:
        """Run ``sql``, reporting progress between the fractions ``lo`` and ``hi``."""
        if self.callback is None:
            con.execute(sql)
            return
        failure: list[BaseException] = []

        def run() -> None:
            try:
                con.execute(sql)
            except BaseException as exc:  # handed to the polling thread
                failure.append(exc)

        worker = threading.Thread(target=run, name="chiso-import-sql", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(self.POLL)
                percent = con.query_progress()
                if percent >= 0:
                    self.report(lo + (hi - lo) * min(percent, 100.0) / 100.0)
        except BaseException:
            con.interrupt()
            worker.join()
            raise
        if failure:
            raise failure[0]
        self.report(hi)


#: The columns of each Parquet file read so far, by (path, modification time): files never
#: change once written; the time keys the cache all the same.
_COLUMNS: dict[tuple[str, int], frozenset[str]] = {}


def file_columns(paths: Sequence[Path], con: duckdb.DuckDBPyConnection | None = None) -> frozenset[str]:
    """Every column any of ``paths`` has, from their footers: the ones not seen before in
    one query, on ``con`` when given (a new connection costs 15 ms)."""
    keys = [(str(p), Path(p).stat().st_mtime_ns) for p in paths]
    if not keys:
        return frozenset()
    missing = [k for k in keys if k not in _COLUMNS]
    if missing:
        own = con is None
        reader = duckdb.connect() if con is None else con
        try:
            rows = reader.execute("SELECT file_name, name FROM parquet_schema(?)",
                                  [[path for path, _t in missing]]).fetchall()
        finally:
            if own:
                reader.close()
        found: dict[str, set[str]] = {}
        for name, column in rows:
            found.setdefault(name, set()).add(column)
        if len(_COLUMNS) > 4096:
            _COLUMNS.clear()
        for path, mtime in missing:
            _COLUMNS[(path, mtime)] = frozenset(found.get(path, ()))
    return frozenset().union(*(_COLUMNS[k] for k in keys))


def scan_sql(paths: Sequence[Path], rt: RecordType | None = None, internal: Sequence[str] = ("_seq",)) -> str:
    """SQL reading the given segment files as one relation. With ``rt``, a field that none of
    the files has (they were written before the field was added) reads as NULL; the relation
    then has the record type's columns and the ``internal`` ones."""
    listed = ", ".join(lit(str(p)) for p in paths)
    # union_by_name: segments written before a column was added read it as NULL, as long as
    # one of the files has it; the subquery adds it when none has.
    scan = f"read_parquet([{listed}], union_by_name = true)"
    if rt is None or not paths:
        return scan
    present = file_columns(paths)
    if all(n in present for n, _t in rt.columns()):
        return scan
    cols = [n if n in present else f"NULL::{t} AS {n}" for n, t in rt.columns()]
    return f"(SELECT {', '.join([*cols, *internal])} FROM {scan})"
