"""Reading record files into canonical rows, fast and without losing any row.

One import (``DossierStore.import_files`` / ``import_rows``) opens a private in-memory DuckDB
connection and goes through these steps; nothing reaches the store before the last one.
Each step is a module whose part of :class:`Batch` is a mixin over the same connection;
this module puts them together and owns the connection and its temporary folder.

1. **Stage** (:mod:`~chiso.dossiers.stage`). Every column is read as text: CSV with an
   explicit dialect (delimiter sniffed from the header: ``,`` ``;`` or tab; ``"`` quotes), by
   the check's own statement (no copy of the cells is made first); JSON arrays and JSON Lines
   as one JSON object per row, into a table. XLSX goes through openpyxl (read-only) into a
   temporary CSV that carries each row's sheet row number, read into a table. Header names
   are matched to the canonical fields and their aliases (:mod:`chiso.dossiers.schema`); a
   file that lacks a required column, or names one field twice, is refused as a whole before
   anything is written.
2. **Check, in SQL** (:mod:`~chiso.dossiers.normalise`). One vectorised statement per file
   reads it, parses and types every value (ISO 8601 with or without an offset,
   ``yyyyMMddHHmmss``, day-first dates; booleans in English and Vietnamese; national codes),
   resolves unit codes against the registry on the day the record was received (a registry
   code or an official code; codes are reused across the 1 July 2025 reform, so "20194" is the
   old ward before that day and the new ward after) and gives each rejected row exactly one
   reason (code, column as written in the header, value and a detail) with its cells as
   written. The rows keep the file's order, so a row's position needs no column of its own.
   Python never touches a CSV or JSON row: two million rows take about 4.5 s of CPU (see
   ``benchmarks/cli.py``); the comments on the SQL builders say which choices keep it there
   (lazy fallbacks, trimming only where needed, a cheap pre-test before the reasons, no
   join). Then duplicates of a key within one file are rejected (all but the last
   occurrence, naming the line that wins).
3. **Rejects file** (:mod:`~chiso.dossiers.rejects`). The rejected rows, with their line
   number, the reason (translated) and the original values, go to ``<input>.rejects.csv`` next
   to the input, UTF-8 with a BOM so that Excel shows Vietnamese correctly. No rejects: no
   file (a stale one is removed).
4. **Classify and write** (:mod:`~chiso.dossiers.classify`; the store does this under its
   write lock): each accepted row is compared with the stored version of the same (source,
   key): new → inserted; ranks later → updated; ranks earlier → ignored and counted unchanged;
   same rank and same values → unchanged; same rank, different values → updated (see "Later"
   in :mod:`chiso.dossiers.schema`). Inserted and updated rows are written as one Parquet
   segment.

**Line numbers.** For CSV the line of a row is its record number counting the header as line
1, corrected for blank lines and unreadable lines DuckDB skips. It equals the line an editor
shows unless a quoted field spans several lines (each such field shifts later rows by the
extra lines; rare in exports, documented rather than paid for with a slower row-by-row
reader). XLSX rows carry their sheet row number; JSON Lines their line (blank lines aside);
JSON arrays and in-memory rows their position in the array, starting at 1. Rows whose cells
are all empty (trailing ``,,,,`` lines from spreadsheets) are skipped and not counted. Lines
are worked out only for the rejected rows, and the skipped lines counted only then.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import duckdb

from chiso import settings
from chiso.dossiers.classify import HASH_PROBE_KEY, Classifier, hash_probe, hashes_valid
from chiso.dossiers.normalise import row_hash_sql
from chiso.dossiers.duck import Progress, Tracker, lit
from chiso.dossiers.normalise import UnitRow
from chiso.dossiers.rejects import MALFORMED, REASONS, SAMPLE_LIMIT, RejectWriter
from chiso.dossiers.schema import RecordType
from chiso.dossiers.stage import FORMATS, Staged, detect_format, map_header
from chiso.imports import FileSummary, ImportSummary, Reject, rejects_path_for

__all__ = [
    "Batch", "FileSummary", "FORMATS", "HASH_PROBE_KEY", "ImportSummary", "MALFORMED", "Progress", "REASONS",
    "Reject", "SAMPLE_LIMIT", "Staged", "UnitRow", "WORKDIR_PREFIX", "detect_format", "hash_probe", "hashes_valid",
    "map_header", "pid_alive", "rejects_path_for", "row_hash_sql", "work_folder",
]


class Batch(RejectWriter, Classifier):
    """The records of one import inside a private DuckDB connection.

    Use as a context manager; ``stage_*`` then ``check`` then ``write_rejects``; the store
    then calls ``classify`` and ``write_segment`` under its lock."""

    def __init__(self, rt: RecordType, *, units: Iterable[Any] | None, progress: Progress | None = None,
                 memory_limit: str | None = None, scoped: bool = False):
        if rt.unit_field and units is None:
            raise ValueError(f"importing {rt.name} needs the unit registry (units=...)")
        self.rt = rt
        self.units = list(units or [])
        #: ``units`` is only the part of the registry the importing person may write to.
        self.unknown_unit = "outside_scope" if scoped else "unknown_unit"
        self.tracker = Tracker(progress)
        self.staged: list[Staged] = []
        self._tmp = work_folder()
        self.workdir = Path(self._tmp.name)
        self.con = duckdb.connect(config={"temp_directory": str(self.workdir / "spill")})
        # Offsets are converted to, and offset-less times read in, the province's zone.
        self.con.execute(f"SET TimeZone = {lit(settings.get('timezone'))}")
        self.con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
                         "SET progress_bar_time = 0")
        if memory_limit:
            # Beyond it DuckDB spills to the temporary folder: 10 million rows from one file
            # peak at 4.8 GB without a limit, 2.2 GB with "2GB" (and take 1.7 times as long).
            self.con.execute(f"SET memory_limit = {lit(memory_limit)}")
        self.superseded = 0

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()


#: Prefix of an import's or a compaction's temporary folder (XLSX converted to CSV, DuckDB's spill files),
#: followed by the process id so that the folder of a killed import can be recognised.
WORKDIR_PREFIX = "chiso-import-"


def work_folder() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for an import or a compaction (XLSX converted to CSV, DuckDB's
    spill files), named after this process; the folders of dead processes are removed first."""
    _remove_stale_workdirs()
    return tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-")


def _remove_stale_workdirs() -> None:
    """Remove the temporary folders of imports whose process died (killed, power cut)."""
    import shutil

    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{WORKDIR_PREFIX}*-*"):
        pid = folder.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (temporary files carry their writer's id)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours, or a platform without signal 0
        return True
    return True
