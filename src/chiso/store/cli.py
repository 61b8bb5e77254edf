"""``chiso store``: the store as a whole (identity, records folder, sizes)."""

from __future__ import annotations

import click

from chiso.clitools import FORMATS, engine_ready
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
