"""The dossier operations that the command line, the API and the pages call.

``chiso dossiers import`` and ``POST /api/v1/dossiers`` are one operation,
:func:`import_records`: who may import what, which units a person may write to, the audit
entry, and what an answer may say about this server's folders are decided here once; the
adapters only read their input and render the :class:`~chiso.imports.ImportSummary`.
:func:`make_demo_data` (``chiso demo-data``, ``chiso demo``) imports through it too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from chiso import db

from chiso.audit import service as audit
from chiso.clock import local_now
from chiso.auth.permissions import Actor, Forbidden
from chiso.dossiers.duck import Progress
from chiso.dossiers.normalise import UnitRow
from chiso.dossiers.store import DossierStore, registry_units
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.imports import COUNTS, ImportSummary

#: What an upload may be, by media type: the suffix the import reads it as.
UPLOAD_TYPES = {
    "application/json": ".json",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}

#: The name an upload goes by in answers: the client's file, not a temporary file here.
UPLOAD_NAME = "upload"
#: The name of records posted as a JSON array (their rejects carry it as their file).
ROWS_NAME = "rows"


@dataclass(frozen=True)
class Upload:
    """Records sent over the network: the body as received and its media type (one of
    :data:`UPLOAD_TYPES`; a JSON body is an array of records)."""

    body: bytes
    media_type: str


def writable_units(session: Session, actor: Actor) -> list[UnitRow]:
    """The registry rows of the units ``actor`` may enter records for (all for a
    province-wide actor)."""
    units = registry_units(session)
    if actor.units is None:
        return units
    from chiso.units.models import Unit

    ids = {code: uid for code, uid in session.execute(select(Unit.code, Unit.id))}
    return [u for u in units if ids.get(u[0]) in actor.units]


def import_records(session: Session, store: DossierStore, *, actor: Actor, kind: str, source: str,
                   paths: Sequence[Path] = (), upload: Upload | None = None,
                   rows: Sequence[dict[str, Any]] | None = None,
                   progress: Progress | None = None) -> ImportSummary:
    """Import dossier records (``kind`` dossiers or feedback) or the procedure catalogue
    from files on this machine (``paths``), from an ``upload`` or from ``rows`` already read
    (a page of a feed, :mod:`chiso.feeds`), as one atomic change.

    The actor needs ``dossiers:write``; only province-wide actors load the catalogue; rows
    of units outside the actor's scope are rejected with the same words whether the unit
    exists or not. An upload's answer names it ``upload`` and holds no path of this server
    (its rejects are in the answer, no rejects file is kept). Raises
    :class:`~chiso.errors.ChisoError` (nothing written) for an input that cannot be read."""
    if not actor.may("dossiers:write"):
        raise Forbidden(_("You are not allowed to do this."))
    if kind == "procedures" and not actor.province_wide:
        raise Forbidden(_("Only province-wide accounts may load the procedure catalogue."))
    source = (source or "").strip()
    if not source:
        raise ChisoError(_("Name the system the records come from (the source)."))
    check_source(session, store, actor, source)
    units = writable_units(session, actor) if kind != "procedures" else None
    scoped = actor.units is not None
    if rows is not None:
        summary = store.import_rows(list(rows), source=source, units=units, kind=kind, scoped=scoped,
                                    progress=progress)
        _scrub(summary)
    elif upload is None:
        summary = store.import_files(list(paths), source=source, units=units, kind=kind, scoped=scoped,
                                     progress=progress)
    else:
        summary = _import_upload(store, upload, source=source, units=units, kind=kind, scoped=scoped,
                                 progress=progress)
        _scrub(summary)
    after: dict[str, Any] = {"files": [Path(p).name for p in paths]} if upload is None and rows is None else {}
    after |= {k: getattr(summary, k) for k in (*COUNTS, "version")}
    after |= _changes(store, kind, summary)
    audit.record(session, actor=actor, action=f"{kind}.import", object_type=kind, object_key=source,
                 unit_id=actor.unit_id if scoped else None, after=after)
    return summary


#: Up to this many changed records are listed in the audit entry itself; every import's full
#: list is in its changes file (a million-row import must not make one huge entry).
INLINE_CHANGES = 100


def _changes(store: DossierStore, kind: str, summary: ImportSummary) -> dict[str, Any]:
    """What the audit entry says of the changed records: the changes file (relative to the
    records folder) and, for a small import, the records themselves."""
    if summary.version is None:
        return {}
    path = store.changes_file(kind, summary.version)
    out: dict[str, Any] = {"changes_file": path.relative_to(store.root).as_posix()}
    if summary.inserted + summary.updated <= INLINE_CHANGES:
        rows = store.read_changes(kind, summary.version)
        out["changes"] = {"inserted": [r["key"] for r in rows if r["action"] == "insert"],
                          "updated": {r["key"]: r["changes"] for r in rows if r["action"] == "update"}}
    return out


def history(session: Session, store: DossierStore, key: str, *, kind: str = "dossiers",
            source: str | None = None, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Every kept change of record ``key``, oldest first: the version, when, who (from the
    audit entry of that import), the source, insert or update, and for an update each
    changed field's value before and after. An actor with a limited scope reads only the
    imports it may read in the audit trail."""
    from chiso.dossiers.schema import record_type

    record_type(kind)
    changes = store.history(kind, key, source=source)
    if not changes:
        return []
    imports: dict[int, dict[str, Any]] = {}
    for logged in audit.entries(session, actor=actor, action=f"{kind}.import", limit=1000):
        version = (logged.get("after") or {}).get("version")
        if version is not None:
            imports.setdefault(version, logged)
    out = []
    for change in changes:
        entry = imports.get(change["version"])
        if actor is not None and actor.units is not None and entry is None:
            continue
        out.append({"version": change["version"], "at": entry["at"] if entry else None,
                    "actor": entry["actor"] if entry else None, "via": entry["via"] if entry else None,
                    **{k: v for k, v in change.items() if k != "version"}})
    return out


def check_source(session: Session, store: DossierStore, actor: Actor, source: str) -> None:
    """Refuse (:class:`Forbidden`) an import under a source the actor may not write.

    Records are keyed by (source, id), so whoever writes a source may overwrite its records
    of the units in their scope. A source belongs to the province (``record_sources`` with
    no unit) once a province-wide account writes it, or when the store already holds
    records of it from before sources had owners: the province's systems are the
    province's, and a commune account may not re-send their records. Other sources are
    shared by the communes, each writing only its own units' records (the unit of the first
    writer is kept for the record). A grant on the account or the token (``chiso users
    sources``, ``chiso tokens create --source``) limits the actor to the sources named, and
    lets a commune account write a province source it was given."""
    from chiso.dossiers.models import RecordSource

    if actor.sources is not None and source not in actor.sources:
        raise Forbidden(_("This account may not write the source {source}; it may write: {granted}.").format(
            source=source, granted=", ".join(sorted(actor.sources))))
    owner = session.scalar(select(RecordSource).where(RecordSource.name == source))
    if owner is None:
        held = store.holds_source(source)
        owner = RecordSource(name=source, unit_id=None if held or actor.province_wide else actor.unit_id)
        session.add(owner)
        session.flush()
    if actor.province_wide:
        if owner.unit_id is not None:  # a commune named it first; the province's system is the province's
            owner.unit_id = None
        return
    if owner.unit_id is None and actor.sources is None:
        raise Forbidden(_("The source {source} is the province's; this account may not write it.").format(
            source=source))


def _import_upload(store: DossierStore, upload: Upload, *, source: str, units: list[UnitRow] | None, kind: str,
                   scoped: bool, progress: Progress | None) -> ImportSummary:
    suffix = UPLOAD_TYPES.get(upload.media_type)
    if suffix is None:
        raise ChisoError(_("Send the records as JSON (an array), JSON Lines, CSV or XLSX; got {type}.").format(
            type=upload.media_type or "?"))
    if suffix == ".json":
        try:
            rows = json.loads(upload.body.decode("utf-8-sig") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ChisoError(_("The body is not valid JSON: {reason}").format(reason=str(exc)[:200])) from None
        if isinstance(rows, dict) and isinstance(rows.get("items"), list):
            rows = rows["items"]  # a page as the feeds serve it (docs/sources.md), pushed
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ChisoError(_("The body must be a JSON array of records (objects), or an object "
                               "whose \"items\" is one."))
        return store.import_rows(rows, source=source, units=units, kind=kind, scoped=scoped, progress=progress)
    # Inside the store's own folder (private, never shared with another store), not /tmp;
    # what a crash left behind there is swept by the next upload.
    spool = store.root / "cache" / "uploads"
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(spool)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=spool) as tmp:
        path = Path(tmp) / f"{UPLOAD_NAME}{suffix}"
        path.write_bytes(upload.body)
        try:
            return store.import_files([path], source=source, units=units, kind=kind, scoped=scoped,
                                      progress=progress)
        except ChisoError as exc:
            # The reason names the file: the client's upload, not this server's folders.
            raise type(exc)(str(exc).replace(str(path), path.name)) from None  # same kind: same status


#: An upload folder older than this was left by a crash (no import runs that long).
STALE_UPLOAD_SECONDS = 6 * 3600


def _sweep(spool: Path) -> None:
    import shutil
    import time

    for leftover in spool.glob("upload-*"):
        try:
            if time.time() - leftover.stat().st_mtime > STALE_UPLOAD_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _scrub(summary: ImportSummary) -> None:
    """Nothing of this server's folders in the answer to an upload: the temporary file and
    its rejects file are gone when the answer is read."""
    for f in summary.files:
        f.path, f.rejects_path = UPLOAD_NAME, None
    summary.rejects_path = None
    for r in summary.rejects:
        r.file = ROWS_NAME if r.file == ROWS_NAME else UPLOAD_NAME


def make_demo_data(engine: Engine, *, actor: Actor, province: str, n: int, seed: int, year: int | None = None,
                   out: Path | None = None, progress: Progress | None = None,
                   step: Callable[[str], None] | None = None) -> ImportSummary | None:
    """Load the province if needed, generate ``n`` demo dossiers (with the procedure catalogue
    and feedback) for its units and import them; with ``out``, write them as canonical CSV
    there instead and return None. ``step`` is told the name of each part of the work
    (generating, then each import), ``progress`` how far each import has come."""
    def _step(label: str) -> None:
        if step is not None:
            step(label)

    from chiso.dossiers import demo
    from chiso.store.service import files_root, open_records
    from chiso.units import service as units

    # Only days that are over: nothing is received later than now (``demo.generate``).
    yesterday = local_now().date() - timedelta(days=1)
    year = year or yesterday.year
    until = min(yesterday, date(year, 12, 31))
    with db.transaction(engine) as session:
        code = units.normalise_province_code(province)
        units.init_province(session, code)
        receiving = demo.units_receiving_dossiers(session, code, until)
    # Kept after the import: the generated files, and the rejects of their dirty rows, are
    # there to be looked at.
    workdir = files_root(engine) / "demo" if out is None else Path(tempfile.mkdtemp(prefix="chiso-demo-"))
    try:
        _step(_("Generating {n} demo dossiers").format(n=n))
        files = demo.generate(province=code, units=receiving, n=n, seed=seed, year=year, out_dir=workdir,
                              until=until)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.dossiers, out)
            shutil.copyfile(files.procedures, out.with_name(out.stem + ".procedures.csv"))
            shutil.copyfile(files.feedback, out.with_name(out.stem + ".feedback.csv"))
            return None
        store = open_records(engine)
        summary = None
        for kind, path in (("procedures", files.procedures), ("feedback", files.feedback),
                           ("dossiers", files.dossiers)):
            # One transaction per kind, as three imports on the command line would be.
            _step({"procedures": _("Importing the procedure catalogue"), "feedback": _("Importing feedback"),
                   "dossiers": _("Importing dossiers")}[kind])
            with db.transaction(engine) as session:
                summary = import_records(session, store, actor=actor, kind=kind, source="demo", paths=[path],
                                         progress=progress)
        return summary
    finally:
        if out is not None:
            shutil.rmtree(workdir, ignore_errors=True)
