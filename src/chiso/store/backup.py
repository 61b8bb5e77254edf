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

``restore`` reads the manifest, checks the archive's format and schema revision and that the
target store is empty, then copies every member to a hidden staging folder beside the
target records folder while checking its size and checksum. Only when every member is
whole does it write: the schema (``db.upgrade``), every table in dependency order in one
transaction (batched inserts; PostgreSQL's sequences set past the highest id), and the
records folder moved into place. A damaged or truncated archive, a non-empty target, an
archive of a newer or older schema: one line naming the cause and the fix, nothing written.

An archive from an older schema revision is refused (restore it with the chiso version
that made it, then run ``chiso init`` with this one to upgrade); one from a newer revision
is refused (upgrade chiso).
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

from sqlalchemy import Table, cast, func, inspect, null, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Engine

from chiso import __version__, db, settings
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
_COPY_BUFFER = 1 << 20
_STALE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(\.d)?$")


def _tables():
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


def _decoder(kind: str):
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
    tables = _tables()
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
        with tarfile.open(temp, "w", format=tarfile.PAX_FORMAT, copybufsize=_COPY_BUFFER) as tar:
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


# ---------------------------------------------------------------------------- restore


def _damaged(archive: Path, why: str) -> ChisoError:
    return ChisoError(_("The archive {path} is damaged or incomplete ({why}); nothing was restored. "
                        "Use another copy of the backup, or take a new one with `chiso backup --out FILE`.").format(
        path=archive, why=why))


def read_manifest(archive: Path) -> tuple[dict[str, Any], list[tarfile.TarInfo]]:
    """The archive's manifest and members, checked for shape (not yet for content)."""
    if not archive.is_file():
        raise ChisoError(_("The archive {path} does not exist.").format(path=archive))
    try:
        with tarfile.open(archive, "r:") as tar:
            members = tar.getmembers()
            named = {m.name: m for m in members}
            if MANIFEST not in named and not any(m.name.startswith(("tables/", "records/")) for m in members):
                raise ChisoError(_("The file {path} is not a chiso backup.").format(path=archive))
            if MANIFEST not in named or MANIFEST_SUM not in named:
                raise _damaged(archive, _("no manifest: the backup did not finish or the file is cut short"))
            body = tar.extractfile(named[MANIFEST]).read()
            digest = tar.extractfile(named[MANIFEST_SUM]).read().decode("ascii").strip()
    except ChisoError:
        raise
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged(archive, f"{exc.__class__.__name__}: {exc}".strip().splitlines()[0]) from None
    if hashlib.sha256(body).hexdigest() != digest:
        raise _damaged(archive, _("the checksum of {name} does not match").format(name=MANIFEST))
    try:
        manifest = json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise _damaged(archive, str(exc)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ChisoError(_("The file {path} is not a chiso backup.").format(path=archive))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ChisoError(_("The archive {path} has backup format {found}; this chiso reads format {known}. "
                           "Restore it with chiso {version}.").format(
            path=archive, found=manifest.get("format_version"), known=FORMAT_VERSION,
            version=manifest.get("chiso_version", "?")))
    expected = {t["path"]: t for t in manifest["tables"].values()} | manifest["files"]
    present = {m.name: m for m in members if m.name not in (MANIFEST, MANIFEST_SUM)}
    missing = sorted(set(expected) - set(present))
    if missing:
        raise _damaged(archive, _("{count} members missing, e.g. {name}").format(count=len(missing), name=missing[0]))
    extra = sorted(set(present) - set(expected))
    if extra:
        raise _damaged(archive, _("a member the manifest does not list: {name}").format(name=extra[0]))
    for name, entry in expected.items():
        if present[name].size != entry["size"] or not present[name].isfile():
            raise _damaged(archive, _("{name} has {found} bytes, the manifest says {size}").format(
                name=name, found=present[name].size, size=entry["size"]))
    return manifest, members


def _check_schema(archive: Path, manifest: dict[str, Any]) -> None:
    from alembic.script import ScriptDirectory

    revision, head = manifest.get("schema_revision"), db.head_revision()
    if revision == head:
        return
    known = {s.revision for s in ScriptDirectory(str(db.MIGRATIONS)).walk_revisions()}
    if revision not in known:
        raise ChisoError(_("The archive {path} was made by chiso {version} with a newer schema ({revision}) than "
                           "this chiso knows ({head}); upgrade chiso, then restore.").format(
            path=archive, version=manifest.get("chiso_version", "?"), revision=revision, head=head))
    raise ChisoError(_("The archive {path} was made by chiso {version} with an older schema ({revision}; this chiso: "
                       "{head}); restore it with that version, then run `chiso init --province CODE` with this one "
                       "to upgrade the store.").format(
        path=archive, version=manifest.get("chiso_version", "?"), revision=revision, head=head))


def _check_empty(engine: Engine) -> None:
    """Refuse a target store that holds anything (a migrated store with only its identity
    row is empty)."""
    from chiso.store.service import sqlite_file

    db_file = sqlite_file(engine)
    if db_file is not None and not db_file.exists():
        return  # a new SQLite file: empty, and not made until something is written
    try:
        names = set(inspect(engine).get_table_names())
    except Exception as exc:
        raise ChisoError(_("Cannot open the database {url}: {reason}").format(
            url=db.describe(engine), reason=str(getattr(exc, "orig", exc)).strip().splitlines()[0])) from None
    names.discard("alembic_version")
    with engine.connect() as conn:
        for name in sorted(names):
            if name == "store_identity":
                continue
            if conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None:
                raise ChisoError(_("The database {url} is not empty (table {table} has rows); restore into a new, "
                                   "empty database (a new SQLite file, or `createdb` for PostgreSQL).").format(
                    url=db.describe(engine), table=name))


def _target_folder(engine: Engine, store_id: str, records: Path | None) -> tuple[Path, str | None]:
    """Where the restored records go, and the path to keep in the identity row (as
    ``chiso init`` would: None beside an SQLite file)."""
    from chiso.store.service import sqlite_file, default_records_path

    kept: str | None = None
    if records is not None:
        kept = str(Path(records).expanduser().resolve())
    elif sqlite_file(engine) is None:
        kept = str(default_records_path(engine, store_id))
    override = settings.get("records_path").strip()
    if override:
        folder = Path(override).expanduser().resolve()
    elif kept is not None:
        folder = Path(kept)
    else:
        folder = default_records_path(engine, store_id)
    return folder, kept


def _check_folder_empty(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ChisoError(_("The records folder {path} is a file; choose another place with --records.").format(path=folder))
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if Path(dirpath) == folder and name in (".lock", "STORE.json"):
                continue
            raise ChisoError(_("The records folder {path} is not empty; restore into an empty folder "
                               "(--records PATH, or remove this one).").format(path=folder))


def restore(engine: Engine, archive: Path | str, *, records: Path | str | None = None,
            progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Bring a whole store back from ``archive`` into the empty store of ``engine``
    (see the module docstring); returns what was restored. ``progress(done, total)`` is
    told of each member checked and each table loaded."""
    from chiso.store.models import StoreIdentity
    from chiso.store.service import IDENTITY_FILE, Identity, write_marker

    started = time.perf_counter()
    archive = Path(archive).expanduser().absolute()
    manifest, members = read_manifest(archive)
    _check_schema(archive, manifest)
    _check_empty(engine)
    folder, kept = _target_folder(engine, manifest["store_id"], Path(records) if records else None)
    _check_folder_empty(folder)

    # Every member copied out and checked before anything is written.
    made = []
    parent = folder.parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    for p in reversed(made):
        p.mkdir()
    stage = folder.parent / f".{folder.name}.restore-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    placed: list[Path] = []
    try:
        members = len(manifest["tables"]) + len(manifest["files"])
        total = members + len(manifest["tables"])
        tables = _extract(archive, manifest, stage, progress=(lambda n: progress(n, total)) if progress else None)
        db.upgrade(engine)
        rows = {}
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM store_identity"))
            for table in _tables():
                entry = manifest["tables"].get(table.name)
                if entry is None:
                    continue
                rows[table.name] = _load_table(conn, table, entry, tables / f"{table.name}.jsonl",
                                               kept=kept, archive=archive)
                if progress is not None:
                    progress(members + len(rows), total)
            for table in _tables():
                found = conn.execute(select(func.count()).select_from(table)).scalar_one()
                if found != rows.get(table.name, 0):  # pragma: no cover - a bug, not bad input
                    raise ChisoError(f"restore: {table.name} holds {found} rows, the archive {rows.get(table.name, 0)}")
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
            # The records: moved into place inside the transaction, taken back if it fails.
            source = stage / "records"
            source.mkdir(exist_ok=True)
            (source / IDENTITY_FILE).unlink(missing_ok=True)
            if folder.exists():  # empty but for the marker of the empty store restored into
                for entry in source.iterdir():
                    os.replace(entry, folder / entry.name)
                    placed.append(folder / entry.name)
            else:
                os.replace(source, folder)
                placed.append(folder)
            ident_row = conn.execute(select(StoreIdentity.store_id, StoreIdentity.created_at)).one()
            write_marker(folder, engine, Identity(ident_row.store_id, ident_row.created_at, kept, None))
    except BaseException:
        for path in placed:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
        for p in made:  # the folders made for the stage, deepest first, if nothing else is in them
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {
        "store_id": manifest["store_id"], "path": str(archive), "database": db.describe(engine),
        "records_path": str(folder), "schema_revision": manifest["schema_revision"],
        "record_version": manifest.get("record_version"), "backup_created_at": manifest["created_at"],
        "source_backend": manifest["source"]["backend"], "rows": rows, "record_files": len(manifest["files"]),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _extract(archive: Path, manifest: dict[str, Any], stage: Path,
             progress: Callable[[int], None] | None = None) -> Path:
    """Copy every member into ``stage`` checking its size and checksum; returns the folder
    of the table files. Raises (stage left for the caller to remove) on any difference."""
    wanted = {t["path"]: t for t in manifest["tables"].values()} | manifest["files"]
    stage.mkdir(parents=True)
    tables = stage / "tables"
    tables.mkdir()
    seen = 0
    try:
        with tarfile.open(archive, "r:", copybufsize=_COPY_BUFFER) as tar:
            for info in tar:
                if info.name in (MANIFEST, MANIFEST_SUM):
                    continue
                entry = wanted.get(info.name)
                parts = Path(info.name).parts
                if entry is None or ".." in parts or Path(info.name).is_absolute() or not info.isfile():
                    raise _damaged(archive, _("a member the manifest does not list: {name}").format(name=info.name))
                target = stage / info.name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(info)
                sha = hashlib.sha256()
                size = 0
                with open(target, "wb") as out:
                    while chunk := source.read(_COPY_BUFFER):
                        sha.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                if size != entry["size"] or sha.hexdigest() != entry["sha256"]:
                    raise _damaged(archive, _("the checksum of {name} does not match").format(name=info.name))
                if "mtime" in entry:
                    # Kept: the store dates compactions (and old versions) by their files' times.
                    os.utime(target, (entry["mtime"], entry["mtime"]))
                if "mode" in entry:
                    os.chmod(target, entry["mode"] & 0o666)
                seen += 1
                if progress is not None:
                    progress(seen)
    except ChisoError:
        raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _damaged(archive, f"{exc.__class__.__name__}: {exc}".strip().splitlines()[0]) from None
    if seen != len(wanted):
        raise _damaged(archive, _("{count} members missing").format(count=len(wanted) - seen))
    return tables


def _load_table(conn: Connection, table: Table, entry: dict[str, Any], path: Path, *,
                kept: str | None, archive: Path) -> int:
    names = [c.name for c in table.columns]
    if entry["columns"] != names:
        raise ChisoError(_("The table {table} of the archive {path} has other columns than this chiso's; "
                           "restore it with chiso of the same version.").format(table=table.name, path=archive))
    convert = [(i, dec) for i, dec in enumerate(map(_decoder, entry["types"])) if dec is not None]
    loads = json.JSONDecoder().decode
    statement = table.insert()
    count = 0
    batch: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            values = loads(line)
            for i, dec in convert:
                values[i] = dec(values[i])
            row = dict(zip(names, values))
            if table.name == "store_identity":
                # Where the records are is the target's business (see _target_folder).
                row["records_path"] = kept
                row["records_created_at"] = row.get("records_created_at") or db.utcnow()
            batch.append(row)
            if len(batch) >= BATCH:
                conn.execute(statement, batch)
                count += len(batch)
                batch = []
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    return count


def _reset_sequences(conn: Connection) -> None:
    """After rows were written with their ids, the next id of each table comes after them."""
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sqltypes.Integer):
            continue
        col = pk[0].name
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:table, :col), COALESCE(MAX(\"{col}\"), 0) + 1, false) "
            f"FROM \"{table.name}\""), {"table": table.name, "col": col})


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables()}
