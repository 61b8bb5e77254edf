"""Bringing a whole store back: ``chiso restore FILE`` (the archive is described in
:mod:`chiso.store.backup`).

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

import hashlib
import json
import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Engine

from chiso import db, settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.store.backup import (BATCH, COPY_BUFFER, FORMAT, FORMAT_VERSION, MANIFEST, MANIFEST_SUM, decoder,
                                 all_tables)

def _damaged(archive: Path, why: str) -> ChisoError:
    return ChisoError(_("The archive {path} is damaged or incomplete ({why}); nothing was restored. "
                        "Use another copy of the backup, or take a new one with `chiso backup --out FILE`.").format(
        path=archive, why=why))


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(info)
    if fh is None:  # a member that is not a regular file
        raise tarfile.TarError(f"{info.name} is not a file")
    return fh.read()


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
            body = _read(tar, named[MANIFEST])
            digest = _read(tar, named[MANIFEST_SUM]).decode("ascii").strip()
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
            if Path(dirpath) == folder and name in (".lock", ".compact.lock", "STORE.json"):
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
        whole = len(manifest["tables"]) + len(manifest["files"])
        total = whole + len(manifest["tables"])
        tables = _extract(archive, manifest, stage, progress=(lambda n: progress(n, total)) if progress else None)
        db.upgrade(engine)
        rows = {}
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM store_identity"))
            for table in all_tables():
                entry = manifest["tables"].get(table.name)
                if entry is None:
                    continue
                rows[table.name] = _load_table(conn, table, entry, tables / f"{table.name}.jsonl",
                                               kept=kept, archive=archive)
                if progress is not None:
                    progress(whole + len(rows), total)
            for table in all_tables():
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
        with tarfile.open(archive, "r:", copybufsize=COPY_BUFFER) as tar:  # type: ignore[call-overload]
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
                    while chunk := source.read(COPY_BUFFER):
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
    convert = [(i, dec) for i, dec in enumerate(map(decoder, entry["types"])) if dec is not None]
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
    for table in all_tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sqltypes.Integer):
            continue
        col = pk[0].name
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:table, :col), COALESCE(MAX(\"{col}\"), 0) + 1, false) "
            f"FROM \"{table.name}\""), {"table": table.name, "col": col})


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in all_tables()}
