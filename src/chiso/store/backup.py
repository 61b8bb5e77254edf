"""Backups that hold everything: ``chiso backup --out FILE`` and ``chiso restore FILE``.

One archive holds a whole store: every table of the operational store (read through
SQLAlchemy, so an archive of an SQLite store restores into PostgreSQL and the other way
round) and the records folder (the columnar dossier store, ``evidence/``, ``reports/`` and
the store's own files such as ``STORE.json``), at one consistent moment, with a manifest of
checksums.

The archive
-----------
An uncompressed tar (the Parquet records are compressed already)::

    records/dossiers/base-000000000041.parquet   the records folder's files, as they are
    records/evidence/<sha256>  records/reports/<schedule>/<file>  records/STORE.json ...
    tables/units.jsonl         one JSON array a row, columns in the order the manifest gives
    ...
    manifest.json              format, chiso version, schema revision, store id, source
                               backend, record versions, row count, columns and column
                               types of each table, size and SHA-256 of every member
    manifest.sha256            last: the SHA-256 of manifest.json

The tables are read through SQLAlchemy rather than ``pg_dump``, so that every archive
restores into either backend, and ``pg_dump`` need not match the server's version.

Left out: ``cache/`` (per-day counts, rebuilt on demand), ``demo/`` (scratch), and hidden
files (``.lock``, temporary ``.tmp-*`` files of writers at work).

Values are written by column type, so that nothing changes on the way: date-times as ISO
8601 in UTC (an SQLite store keeps them naive, in UTC: they are read as UTC), dates as ISO
dates, JSON columns as their JSON text (SQL NULL stays apart from JSON ``null``), booleans,
integers and floats as JSON values, bytes in base64.

Consistency
-----------
Under the records' write lock (held by an import only to commit, so imports go on around
it) the backup lists the committed Parquet files of each record type, reads the store's own
small files, and fixes the database snapshot: one REPEATABLE READ, read-only transaction
on PostgreSQL; on SQLite a read transaction (chiso's SQLite stores are in WAL mode, so
writers go on), copied with SQLite's online backup API once the lock is released. The
lock is then released and the listed files are copied at leisure: segments are
immutable, and a file a compaction replaced is kept an hour at least. Evidence and report
files are listed after the snapshot, so that every file a row of the snapshot names is in
the archive (they are written before the row that names them).

Faults
------
The archive is written to a hidden temporary name beside ``FILE`` (``.FILE.tmp-PID``, with
a work folder ``.FILE.tmp-PID.d``) and renamed at the end, after an fsync: a backup killed on
the way leaves at most those, which have no manifest and are refused by ``restore`` (and
removed by the next backup to the same name).

Restoring is in :mod:`chiso.store.restore`.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import tarfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from sqlalchemy import Table, cast, null, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Engine

from chiso import __version__, db
from chiso.dossiers.store import fsync_file
from chiso.errors import ChisoError
from chiso.i18n import _

FORMAT = "chiso-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The last member: the SHA-256 of the manifest, so that no byte of the archive goes unchecked.
MANIFEST_SUM = "manifest.sha256"
#: Folders of the records folder that a backup leaves out (rebuilt on demand, or scratch).
SKIPPED = ("cache", "demo")
#: Rows written to the database per statement on restore.
BATCH = 5000
COPY_BUFFER = 1 << 20
_STALE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(\.d)?$")


def all_tables():
    import chiso.models_registry  # noqa: F401  (every table in the metadata)

    return list(db.Base.metadata.sorted_tables)


# ---------------------------------------------------------------------------- values


def _kind(column) -> str:
    """How a column's values are written in the archive."""
    t = column.type
    if isinstance(t, sqltypes.JSON):
        return "json"
    if isinstance(t, sqltypes.DateTime):
        return "datetime"
    if isinstance(t, sqltypes.Date):
        return "date"
    if isinstance(t, sqltypes.Boolean):
        return "boolean"
    if isinstance(t, sqltypes.Integer):
        return "integer"
    if isinstance(t, sqltypes.Float):
        return "float"
    if isinstance(t, sqltypes.Numeric):
        return "decimal"
    if isinstance(t, sqltypes.LargeBinary):
        return "bytes"
    return "text"


def _datetime_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # SQLite hands timestamps back naive; chiso stores every one in UTC. The text is the
        # same as an aware value's, so both backends write the same archive.
        return value.isoformat() + "+00:00"
    return value.astimezone(timezone.utc).isoformat()


def _encoder(kind: str):
    """How a value read through SQLAlchemy becomes JSON (None: as it is: integers, floats,
    booleans, text, and JSON columns, read as their text, see _select)."""
    if kind == "datetime":
        return _datetime_text
    if kind == "date":
        return lambda v: None if v is None else v.isoformat()
    if kind == "bytes":
        return lambda v: None if v is None else base64.b64encode(bytes(v)).decode("ascii")
    if kind == "decimal":
        return lambda v: None if v is None else str(v)
    return None


def decoder(kind: str):
    if kind == "datetime":
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if kind == "date":
        return lambda v: None if v is None else date.fromisoformat(v)
    if kind == "json":
        # SQL NULL stays NULL; JSON null (the text "null") stays JSON null.
        return lambda v: null() if v is None else json.loads(v)
    if kind == "bytes":
        return lambda v: None if v is None else base64.b64decode(v)
    if kind == "decimal":
        from decimal import Decimal

        return lambda v: None if v is None else Decimal(v)
    return None


def _select(table: Table, kinds: list[str]):
    cols = [cast(c, sqltypes.Text()).label(c.name) if k == "json" else c for c, k in zip(table.columns, kinds)]
    query = select(*cols)
    if table.primary_key.columns:
        query = query.order_by(*table.primary_key.columns)
    return query


# ---------------------------------------------------------------------------- archive members


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it (and counts it)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer) -> int:  # pragma: no cover - tarfile calls read()
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _member(name: str, size: int, mtime: float, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = mode
    return info


@dataclass
class _File:
    """A file of the records folder to copy: where it is, its name in the archive, and
    (for the store's small mutable files) its content read under the lock."""

    path: Path
    name: str
    mtime: float
    data: bytes | None = None
    #: A file of the records version in force: it must still be there to be copied.
    live: bool = True


# ---------------------------------------------------------------------------- backup


def _record_files(root: Path) -> tuple[list[_File], dict[str, int]]:
    """Under the write lock: every committed Parquet file of each record type, and the
    store's own small files at the top of the folder (read now: some are rewritten)."""
    from chiso.dossiers.store import DossierStore
    from chiso.store.service import RECORD_KINDS

    store = DossierStore(root)
    files: list[_File] = []
    versions = {}
    for kind in RECORD_KINDS:
        snap = store.snapshot(kind)
        versions[kind] = snap.version
        live = {str(p) for p in snap.files}
        try:
            entries = sorted(os.scandir(root / kind), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(".parquet") or not entry.is_file():
                continue
            files.append(_File(Path(entry.path), f"records/{kind}/{entry.name}", entry.stat().st_mtime,
                               live=entry.path in live))
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        path = Path(entry.path)
        files.append(_File(path, f"records/{entry.name}", entry.stat().st_mtime, data=path.read_bytes()))
    return files, versions


def _other_files(root: Path) -> list[_File]:
    """After the database snapshot: evidence, reports and any other folder of the records
    folder (not the record types, not the cache, not scratch, no hidden files)."""
    from chiso.store.service import RECORD_KINDS

    found = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if (not entry.is_dir(follow_symlinks=False) or entry.name.startswith(".")
                or entry.name in SKIPPED or entry.name in RECORD_KINDS):
            continue
        for dirpath, dirs, names in os.walk(entry.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                found.append(_File(path, "records/" + path.relative_to(root).as_posix(), stat.st_mtime))
    return found


@contextmanager
def _snapshot(engine: Engine, work: Path, moment) -> Iterator[Connection]:
    """A connection that reads the store as it was inside ``moment`` (a context manager:
    the records' lock), whatever is written after; the moment lasts only as long as it takes
    to fix the snapshot."""
    if engine.dialect.name == "sqlite":
        copy = work / "snapshot.sqlite3"
        src = sqlite3.connect(Path(engine.url.database), timeout=30, isolation_level=None)
        try:
            with moment:
                # A read transaction: in WAL mode (chiso's), it sees the database as it is
                # now until it ends, and writers go on.
                src.execute("BEGIN")
                src.execute("SELECT count(*) FROM store_identity").fetchone()
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)  # copies what the open read transaction sees
            finally:
                dst.close()
        finally:
            src.close()
        snap_engine = db.make_engine(f"sqlite:///{copy}")
        try:
            with snap_engine.connect() as conn:
                yield conn
        finally:
            snap_engine.dispose()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            with moment:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                # The first query fixes the snapshot the whole transaction reads.
                conn.execute(text("SELECT count(*) FROM store_identity")).scalar()
            yield conn


def _remove_stale(out: Path) -> None:
    from chiso.dossiers.ingest import pid_alive

    for entry in out.parent.iterdir():
        match = _STALE.match(entry.name)
        if match and match.group("name") == out.name and not pid_alive(int(match.group("pid"))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def backup(engine: Engine, out: Path | str, *,
           progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write the whole store to the archive ``out`` (see the module docstring); returns
    the manifest without its list of files. ``progress(done, total)`` is told of each
    table and file written."""
    from chiso.dossiers.store import DossierStore
    from chiso.store.service import files_root, identity

    started = time.perf_counter()
    db.require_schema(engine)
    out = Path(out).expanduser().absolute()
    if out.exists():
        raise ChisoError(_("The file {path} already exists; give the backup a new name (e.g. with the date) "
                           "or remove the old file first.").format(path=out))
    if not out.parent.is_dir():
        raise ChisoError(_("The folder {path} does not exist; create it or choose another place for the backup.").format(
            path=out.parent))
    ident = identity(engine)
    root = files_root(engine)
    _remove_stale(out)
    temp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    work = out.with_name(f".{out.name}.tmp-{os.getpid()}.d")  # the SQLite snapshot, the table files
    tables = all_tables()
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "chiso_version": __version__,
        "schema_revision": db.current_revision(engine), "store_id": ident.store_id,
        "created_at": db.utcnow().isoformat(timespec="seconds"),
        "source": {"backend": engine.dialect.name, "database": db.describe(engine), "records_path": str(root)},
        "tables": {}, "files": {},
    }
    try:
        work.mkdir(mode=db.PRIVATE_FOLDER)
        db.private_file(temp)  # a backup holds every password hash and dossier of the store
        with tarfile.open(temp, "w", format=tarfile.PAX_FORMAT, copybufsize=COPY_BUFFER) as tar:
            listed: dict[str, Any] = {}

            @contextmanager
            def moment():
                # One moment for the records and the tables: no import commits meanwhile.
                with DossierStore(root)._lock():
                    listed["records"], listed["versions"] = _record_files(root)
                    yield

            with _snapshot(engine, work, moment()) as conn:
                records, versions = listed["records"], listed["versions"]
                manifest["record_versions"] = versions
                manifest["record_version"] = max(versions.values(), default=0)
                others = _other_files(root)
                total = len(tables) + len(records) + len(others)
                for done, table in enumerate(tables, 1):
                    manifest["tables"][table.name] = _write_table(tar, conn, table, work)
                    if progress is not None:
                        progress(done, total)
            for done, item in enumerate(records + others, len(tables) + 1):
                entry = _write_file(tar, item)
                if entry is not None:
                    manifest["files"][item.name] = entry
                if progress is not None:
                    progress(done, total)
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            tar.addfile(_member(MANIFEST, len(body), time.time()), io.BytesIO(body))
            digest = hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"
            tar.addfile(_member(MANIFEST_SUM, len(digest), time.time()), io.BytesIO(digest))
        fsync_file(temp)
        os.replace(temp, out)
        fsync_file(out.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {k: v for k, v in manifest.items() if k not in ("tables", "files")}
    summary.update(path=str(out), bytes=out.stat().st_size, seconds=round(time.perf_counter() - started, 2),
                   rows={name: t["rows"] for name, t in manifest["tables"].items()},
                   record_files=len(manifest["files"]),
                   record_bytes=sum(f["size"] for f in manifest["files"].values()))
    return summary


def _write_table(tar: tarfile.TarFile, conn: Connection, table: Table, work: Path) -> dict[str, Any]:
    kinds = [_kind(c) for c in table.columns]
    convert = [(i, enc) for i, enc in enumerate(map(_encoder, kinds)) if enc is not None]
    dumps = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    path = work / f"{table.name}.jsonl"
    rows = 0
    sha = hashlib.sha256()
    with open(path, "wb") as fh:
        result = conn.execution_options(yield_per=BATCH).execute(_select(table, kinds))
        for part in result.partitions():
            lines = []
            for row in part:
                values = list(row)
                for i, enc in convert:
                    values[i] = enc(values[i])
                lines.append(dumps(values))
            data = ("\n".join(lines) + "\n").encode("utf-8")
            sha.update(data)
            fh.write(data)
            rows += len(lines)
    size = path.stat().st_size
    name = f"tables/{table.name}.jsonl"
    with open(path, "rb") as fh:
        tar.addfile(_member(name, size, time.time()), fh)
    path.unlink()
    return {"path": name, "rows": rows, "size": size, "sha256": sha.hexdigest(),
            "columns": [c.name for c in table.columns], "types": kinds}


def _write_file(tar: tarfile.TarFile, item: _File) -> dict[str, Any] | None:
    if item.data is not None:
        tar.addfile(_member(item.name, len(item.data), item.mtime), io.BytesIO(item.data))
        return {"size": len(item.data), "sha256": hashlib.sha256(item.data).hexdigest(), "mtime": item.mtime}
    try:
        fh = open(item.path, "rb")
    except FileNotFoundError:
        if item.live:
            raise ChisoError(_("The record file {path} vanished during the backup; nothing was written. "
                               "Is another program deleting files in the records folder?").format(path=item.path)) from None
        return None  # replaced by a compaction over an hour ago and collected since
    with fh:
        st = os.fstat(fh.fileno())
        # Read and write bits only (evidence files are kept read-only, never executable).
        mode = stat.S_IMODE(st.st_mode) & 0o666
        reader = _Hashing(fh)
        tar.addfile(_member(item.name, st.st_size, item.mtime, mode), reader)
    return {"size": st.st_size, "sha256": reader.sha.hexdigest(), "mtime": item.mtime, "mode": mode}
