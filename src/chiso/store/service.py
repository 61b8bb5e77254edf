"""A store is the unit of data: its tables, and one records folder that belongs to it alone.

Why
---
Every number chiso shows stands on the dossier records, the evidence files and the reports
the worker wrote. Earlier these lived in one folder per operating-system user, whatever the
database, so two stores on one account mixed and overwrote each other's records. Now:

- the operational store (SQLite or PostgreSQL) holds an identity row (``store_identity``,
  made by migration 0009): a random ``store_id`` and where the records folder is;
- the records folder (the columnar dossier store, ``evidence/``, ``reports/``, the index's
  ``cache/``) holds ``STORE.json`` naming the store it belongs to. Opening a folder that names
  another store is refused with one line saying whose it is and what to do.

Where the folder is, first match wins:

1. the setting ``records_path`` (an override, e.g. a second application server that mounts
   the folder elsewhere);
2. the path kept in the store by ``chiso init --records PATH`` (PostgreSQL: kept at the
   first init, ``<data_dir>/records/<store_id>`` when no path is given);
3. for an SQLite file, a folder beside it named after it: ``lamdong.sqlite3`` →
   ``lamdong.records/``, so copying the two together moves the whole store.

The folder is made the first time the store needs it; from then on the store remembers it
had one (``records_created_at``), and a folder gone missing is an error, never silently
replaced by an empty one.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from chiso import db, settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.store.models import StoreIdentity

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

#: The file in a records folder that names the store it belongs to.
IDENTITY_FILE = "STORE.json"
#: The record types of the columnar store (sub-folders of the records folder).
RECORD_KINDS = ("dossiers", "procedures", "feedback")


@dataclass(frozen=True)
class Identity:
    store_id: str
    created_at: datetime
    #: The path kept in the store (None: beside the SQLite file, or not yet chosen).
    records_path: str | None
    records_created_at: datetime | None


def _engine_of(where: Engine | Session) -> Engine:
    if isinstance(where, Session):
        bind = where.get_bind()
        return bind if isinstance(bind, Engine) else bind.engine
    return where


def identity(where: Engine | Session) -> Identity:
    """The store's identity row (every store past migration 0009 has one)."""
    engine = _engine_of(where)
    query = select(StoreIdentity.store_id, StoreIdentity.created_at, StoreIdentity.records_path,
                   StoreIdentity.records_created_at).where(StoreIdentity.id == 1)
    try:
        if isinstance(where, Session):
            row = where.execute(query).one_or_none()
        else:
            with engine.connect() as conn:
                row = conn.execute(query).one_or_none()
    except SQLAlchemyError:
        row = None
    if row is None:
        raise ChisoError(
            _("The database {url} has no store identity; run `chiso init --province CODE` to upgrade it.").format(
                url=db.describe(engine)))
    return Identity(row.store_id, row.created_at, row.records_path, row.records_created_at)


def sqlite_file(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve()
    return None


def default_records_path(engine: Engine, store_id: str) -> Path:
    """Where the records go when nobody said: beside an SQLite file, or a folder of the
    data folder named after the store (never shared by two stores)."""
    db_file = sqlite_file(engine)
    if db_file is not None:
        return db_file.with_name(db_file.stem + ".records")
    return Path(settings.get("data_dir")).resolve() / "records" / store_id


def records_path(where: Engine | Session, ident: Identity | None = None) -> Path:
    """Where this store's records folder is (see the module docstring), unchecked."""
    engine = _engine_of(where)
    override = settings.get("records_path").strip()
    if override:
        return Path(override).expanduser().resolve()
    ident = ident or identity(engine)
    if ident.records_path:
        return Path(ident.records_path)
    return default_records_path(engine, ident.store_id)


def _has_records(folder: Path) -> bool:
    for kind in RECORD_KINDS:
        try:
            if any(e.name.endswith(".parquet") and not e.name.startswith(".") for e in os.scandir(folder / kind)):
                return True
        except (FileNotFoundError, NotADirectoryError):
            continue
    return False


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / IDENTITY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"store_id": "?", "database": "?"}


def write_marker(folder: Path, engine: Engine, ident: Identity) -> None:
    """Name the store ``ident`` in ``folder`` (made if missing), atomically."""
    db.private_folder(folder)
    body = {"store_id": ident.store_id, "database": db.describe(engine),
            "created_at": ident.created_at.isoformat() if ident.created_at else None,
            "about": "The records of one chiso store. Keep this folder with its database; never share it."}
    # Per thread too: two workers of one process making the folder at once each replace
    # their own file (with one name, the second found the first's already moved).
    temp = folder / f".{IDENTITY_FILE}.{os.getpid()}.{threading.get_ident()}"
    temp.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, folder / IDENTITY_FILE)


def check_folder(engine: Engine, folder: Path, ident: Identity, *, session: Session | None = None) -> Path:
    """Refuse a records folder that is not this store's; make it the first time."""
    marker = _read_marker(folder)
    if marker is not None:
        if marker.get("store_id") != ident.store_id:
            raise ChisoError(
                _("The records folder {path} belongs to another store ({other}, id {other_id}), not to {url} "
                  "(id {store_id}); give this store its own folder with `chiso init --province CODE --records FOLDER` "
                  "or unset CHISO_RECORDS_PATH.").format(
                    path=folder, other=marker.get("database", "?"), other_id=marker.get("store_id", "?"),
                    url=db.describe(engine), store_id=ident.store_id))
        return folder
    if folder.exists() and _has_records(folder):
        raise ChisoError(
            _("The records folder {path} holds records but no {marker}: they belong to no known store; "
              "choose another folder with `chiso init --province CODE --records FOLDER`, or bring them in "
              "with `chiso init --province CODE --adopt-records {path}`.").format(path=folder, marker=IDENTITY_FILE))
    if ident.records_created_at is not None:
        raise ChisoError(
            _("The records folder {path} of the store {url} is missing; restore it with `chiso restore`, "
              "or set CHISO_RECORDS_PATH to where it was moved.").format(path=folder, url=db.describe(engine)))
    write_marker(folder, engine, ident)
    mark = update(StoreIdentity).where(StoreIdentity.id == 1).values(records_created_at=db.utcnow())
    if session is not None:
        # Inside the caller's transaction: a second connection would wait for its lock
        # (SQLite). Rolled back with it, the mark is simply made again next time.
        session.execute(mark)
    else:
        with engine.begin() as conn:
            conn.execute(mark)
    return folder


def files_root(where: Engine | Session) -> Path:
    """The store's records folder, checked to be its own (made the first time)."""
    engine = _engine_of(where)
    ident = identity(where)
    return check_folder(engine, records_path(engine, ident), ident,
                        session=where if isinstance(where, Session) else None)


def open_records(where: Engine | Session, *, memory_limit: str | None = None) -> DossierStore:
    """The store's columnar dossier store, in its own checked records folder."""
    from chiso.dossiers.store import DossierStore

    if memory_limit is None:
        memory_limit = settings.get("duckdb_memory_limit")
    return DossierStore(files_root(where), memory_limit=memory_limit)


def evidence_dir(where: Engine | Session) -> Path:
    return files_root(where) / "evidence"


def reports_dir(where: Engine | Session) -> Path:
    return files_root(where) / "reports"


# ---------------------------------------------------------------------------- chiso init


def legacy_folder() -> Path:
    """Where chiso kept every store's records before they belonged to a store."""
    return Path(settings.get("data_dir")).resolve() / "dossiers"


def prepare(engine: Engine, *, records: str | Path | None = None, adopt: str | Path | None = None) -> list[str]:
    """What ``chiso init`` does for the store's files after the schema is up to date:
    keep ``--records``, make and check the folder, bring in an earlier chiso's records.
    Returns notes for the user."""
    notes: list[str] = []
    ident = identity(engine)
    if records is not None:
        wanted = Path(records).expanduser().resolve()
        current = records_path(engine, ident)
        if str(wanted) != str(current) and _has_records(current) and _read_marker(current):
            raise ChisoError(
                _("The store {url} keeps its records in {current}; move that folder to {wanted} first, "
                  "then run `chiso init --province CODE --records {wanted}` again.").format(
                    url=db.describe(engine), current=current, wanted=wanted))
        with engine.begin() as conn:
            conn.execute(update(StoreIdentity).where(StoreIdentity.id == 1).values(records_path=str(wanted)))
        ident = identity(engine)
    elif ident.records_path is None and sqlite_file(engine) is None:
        # PostgreSQL: the location is chosen once and kept, so every server finds it.
        chosen = default_records_path(engine, ident.store_id)
        with engine.begin() as conn:
            conn.execute(update(StoreIdentity).where(StoreIdentity.id == 1).values(records_path=str(chosen)))
        ident = identity(engine)
    folder = records_path(engine, ident)
    if ident.records_created_at is not None and not folder.exists() and records is not None:
        # A new place was given for a store that had a folder: start it (the old one is kept).
        ident = Identity(ident.store_id, ident.created_at, ident.records_path, None)
    folder = check_folder(engine, folder, ident)

    if adopt is not None:
        moved = adopt_records(Path(adopt).expanduser().resolve(), folder)
        notes.append(_("Moved {count} record files from {source} into {folder}.").format(
            count=moved, source=adopt, folder=folder))
    else:
        legacy = legacy_folder()
        if legacy != folder and _has_records(legacy) and _read_marker(legacy) is None and not _has_records(folder):
            if _is_default_store(engine):
                moved = adopt_records(legacy, folder)
                notes.append(_("Moved {count} record files of an earlier chiso from {source} into {folder}.").format(
                    count=moved, source=legacy, folder=folder))
            else:
                notes.append(_("Records of an earlier chiso, shared by every store of this account, are in {source}; "
                               "if they are this store's, run `chiso init --province CODE --adopt-records {source}`.").format(
                    source=legacy))
    copied = _bring_evidence(engine, folder)
    if copied:
        notes.append(_("Copied {count} evidence files of this store into {folder}.").format(
            count=copied, folder=folder / "evidence"))
    return notes


def _is_default_store(engine: Engine) -> bool:
    default = make_url(settings._default_database_url())
    return sqlite_file(engine) is not None and Path(default.database).resolve() == sqlite_file(engine)


def adopt_records(source: Path, folder: Path) -> int:
    """Move the record files of an earlier chiso (or of a folder with no store) into this
    store's folder. Refused when the folder already holds records or the source is
    another store's."""
    marker = _read_marker(source)
    if marker is not None:
        raise ChisoError(_("The folder {path} belongs to the store {other}; it cannot be adopted.").format(
            path=source, other=marker.get("database", "?")))
    if not _has_records(source):
        raise ChisoError(_("The folder {path} holds no records to adopt.").format(path=source))
    if _has_records(folder):
        raise ChisoError(_("The records folder {path} already holds records; nothing was moved.").format(path=folder))
    moved = 0
    for kind in RECORD_KINDS:
        src = source / kind
        if not src.is_dir():
            continue
        dest = folder / kind
        if dest.exists():
            shutil.rmtree(dest)
        moved += sum(1 for p in src.iterdir() if p.suffix == ".parquet")
        shutil.move(str(src), str(dest))
    # Counts computed from the old folder are not carried over: they are rebuilt on demand.
    shutil.rmtree(source / "cache", ignore_errors=True)
    return moved


def _bring_evidence(engine: Engine, folder: Path) -> int:
    """Copy the evidence files this store's tables name from the per-user folder of an
    earlier chiso (content-addressed, so copying never mixes stores' files)."""
    legacy = Path(settings.get("data_dir")).resolve() / "evidence"
    if not legacy.is_dir() or legacy == folder / "evidence":
        return 0
    wanted = set()
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table, column in (("assessment_evidence", "sha256"), ("task_progress", "evidence_sha256")):
            if table in names:
                wanted |= {r[0] for r in conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))}
    target = folder / "evidence"
    copied = 0
    for sha in wanted:
        src = legacy / sha
        if src.is_file() and not (target / sha).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / sha)
            copied += 1
    return copied


# ---------------------------------------------------------------------------- store info


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                continue
    return total


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def info(engine: Engine) -> dict[str, Any]:
    """What ``chiso store info`` prints: identity, location, version, counts, sizes."""
    ident = identity(engine)
    store = open_records(engine)
    root = Path(store.root)
    snaps = {kind: store.snapshot(kind) for kind in RECORD_KINDS}
    versions = store.versions()
    bases = [s.base for s in snaps.values() if s.base is not None]
    last_compaction = None
    if bases:
        newest = max(bases, key=lambda b: b.path.stat().st_mtime)
        last_compaction = datetime.fromtimestamp(newest.path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    con = store.connect()
    try:
        counts = {kind: int(con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]) for kind in RECORD_KINDS}
    finally:
        con.close()
    db_file = sqlite_file(engine)
    database_bytes = None
    if db_file is not None and db_file.exists():
        database_bytes = sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*") if p.is_file())
    evidence = root / "evidence"
    return {
        "store_id": ident.store_id,
        # In UTC whatever the backend (SQLite hands it back naive), so that a store restored
        # into the other backend says the same.
        "created_at": _as_utc(ident.created_at).isoformat() if ident.created_at else None,
        "database": db.describe(engine),
        "backend": engine.dialect.name,
        "records_path": str(root),
        "records_path_source": ("setting" if settings.get("records_path").strip()
                                else "store" if ident.records_path else "beside the database"),
        # One number across the record types: every import that changed records is one.
        "version": store.version(),
        "versions": {kind: s.version for kind, s in snaps.items()},
        "retained_from_version": store.retained_from(),
        "retention_days": int(settings.get("records_retention_days")),
        "last_import": versions[-1].to_json() if versions else None,
        "records": counts,
        "segments": {kind: len(s.deltas) for kind, s in snaps.items()},
        "evidence_files": sum(1 for p in evidence.iterdir() if p.is_file() and not p.name.startswith(".")) if evidence.is_dir() else 0,
        "records_bytes": _size(root),
        "database_bytes": database_bytes,
        "last_compaction": last_compaction,
    }
