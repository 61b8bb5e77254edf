"""``chiso store``: the store as a whole (identity, records folder, sizes)."""

from __future__ import annotations

import click

from chiso.clitools import FORMATS, engine_ready, progress_bar
from chiso.i18n import _
from chiso.output import emit_json, emit_table


@click.group("store")
def store() -> None:
    """The store: its identity, where its records live, what it holds."""


@store.command("info")
@click.option("--format", "fmt", type=FORMATS, default="table")
def info_cmd(fmt: str) -> None:
    """The store's id, database, records folder, version, counts and sizes."""
    from chiso.store import service

    data = service.info(engine_ready())
    if fmt == "json":
        emit_json(data)
        return
    labels = [
        ("store_id", _("store id")), ("database", _("database")), ("records_path", _("records folder")),
        ("version", _("record version")), ("records_bytes", _("records on disk (bytes)")),
        ("database_bytes", _("database file (bytes)")), ("evidence_files", _("evidence files")),
        ("last_compaction", _("last compaction")),
    ]
    rows = [{"what": label, "value": "" if data[key] is None else str(data[key])} for key, label in labels]
    rows += [{"what": _("records: {kind}").format(kind=kind), "value": str(n)} for kind, n in data["records"].items()]
    emit_table(rows, [("what", _("what")), ("value", _("value"))])


def _megabytes(n: int) -> str:
    from chiso.output import number

    return number(n / 2**20, 1)


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The archive to write (a new file; written under a temporary name and renamed when whole).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def backup_cmd(out: str, fmt: str) -> None:
    """Write the whole store (every table and every record) to one archive, while it serves."""
    from chiso.store import backup

    with progress_bar(_("Writing the backup"), fmt=fmt) as bar:
        summary = backup.backup(engine_ready(), out, progress=bar)
    if fmt == "json":
        emit_json(summary)
        return
    click.echo(_("Backup of the store {store_id} written to {path} ({size} MB) in {seconds} s.").format(
        store_id=summary["store_id"], path=summary["path"], size=_megabytes(summary["bytes"]),
        seconds=summary["seconds"]))
    click.echo(_("{rows} rows in {tables} tables; {files} record files ({size} MB), record version {version}.").format(
        rows=sum(summary["rows"].values()), tables=len(summary["rows"]), files=summary["record_files"],
        size=_megabytes(summary["record_bytes"]), version=summary["record_version"]))


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--records", "records", type=click.Path(file_okay=False),
              help="Folder for the restored records (kept in the store). Default: beside an SQLite file "
                   "(x.sqlite3 → x.records/); for PostgreSQL a folder of the data folder named after the store.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def restore_cmd(archive: str, records: str | None, fmt: str) -> None:
    """Bring a whole store back from a backup into an empty store (SQLite or PostgreSQL)."""
    from chiso import db
    from chiso.store.restore import restore

    with progress_bar(_("Restoring"), fmt=fmt) as bar:
        result = restore(db.make_engine(), archive, records=records, progress=bar)
    if fmt == "json":
        emit_json(result)
        return
    click.echo(_("Store {store_id} restored into {url} from {path} in {seconds} s.").format(
        store_id=result["store_id"], url=result["database"], path=result["path"], seconds=result["seconds"]))
    click.echo(_("{rows} rows in {tables} tables; {files} record files in {folder}, record version {version}.").format(
        rows=sum(result["rows"].values()), tables=len(result["rows"]), files=result["record_files"],
        folder=result["records_path"], version=result["record_version"]))
