"""``chiso dossiers import`` and ``chiso demo-data``: records into the columnar store."""

from __future__ import annotations

from pathlib import Path

import click

from chiso import db
from chiso.clitools import FORMATS, Bar, engine_ready, progress_bar, records
from chiso.dossiers.duck import Progress
from chiso.i18n import _
from chiso.imports import ImportSummary
from chiso.output import emit_json, emit_table

KINDS = click.Choice(["dossiers", "procedures", "feedback"])


def import_into_store(paths: list[Path], *, source: str, kind: str, progress: Progress | None = None) -> ImportSummary:
    """The one import (:func:`chiso.dossiers.service.import_records`), as this machine's user."""
    from chiso.auth.permissions import command_line
    from chiso.dossiers import service

    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        return service.import_records(session, store, actor=command_line(), kind=kind, source=source,
                                      paths=paths, progress=progress)


def _print_summary(summary: ImportSummary, fmt: str) -> None:
    data = summary.to_json()
    if fmt == "json":
        emit_json(data)
        return
    labels = {"read": _("read"), "inserted": _("inserted"), "updated": _("updated"),
              "unchanged": _("unchanged"), "rejected": _("rejected")}
    emit_table(
        [{"what": label, "n": data[k]} for k, label in labels.items()],
        [("what", _("rows")), ("n", _("count"))],
    )
    if data.get("rejected"):
        for f in summary.files:
            if f.rejects_path:
                click.echo(_("Rejected rows and their reasons: {path}").format(path=f.rejects_path))


@click.group()
def dossiers() -> None:
    """Dossier records (hồ sơ TTHC), the procedure catalogue and feedback."""


@dossiers.command("compact")
@click.option("--kind", type=KINDS, help="One record type (default: all three).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def compact_cmd(kind: str | None, fmt: str) -> None:
    """Merge the files of each record type into one sorted base (the worker does it by itself:
    setting compact_after_segments); readers and imports go on meanwhile."""
    store = records(engine_ready())
    versions = store.compact(kind)
    if fmt == "json":
        emit_json(versions)
        return
    emit_table([{"kind": k, "version": v} for k, v in versions.items()],
               [("kind", _("records")), ("version", _("base version"))])


@dossiers.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="local", show_default=True, help="The system the records come from.")
@click.option("--kind", type=KINDS, default="dossiers", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table")
def import_cmd(files: tuple[Path, ...], source: str, kind: str, fmt: str) -> None:
    """Import CSV, XLSX, JSON or JSON Lines files; all or nothing, safe to run again."""
    with progress_bar(_("Importing"), fmt=fmt) as bar:
        summary = import_into_store(list(files), source=source, kind=kind, progress=bar)
    _print_summary(summary, fmt)


@dossiers.command("history")
@click.argument("key")
@click.option("--source", help="Only the records of this source (default: every source).")
@click.option("--kind", type=KINDS, default="dossiers", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table")
def history_cmd(key: str, source: str | None, kind: str, fmt: str) -> None:
    """Show every import that inserted or changed one record, with its values before and after."""
    from chiso.dossiers import service

    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        rows = service.history(session, store, key, kind=kind, source=source)
    if fmt == "json":
        emit_json(rows)
        return
    if not rows:
        click.echo(_("No change of {key} is on record.").format(key=key))
        return
    table = []
    for r in rows:
        what = _("inserted") if r["action"] == "insert" else "; ".join(
            f"{field}: {before if before is not None else '∅'} → {after if after is not None else '∅'}"
            for field, (before, after) in r.get("changes", {}).items())
        table.append({"version": r["version"], "at": r["at"] or "", "actor": r["actor"] or "",
                      "source": r["source"], "what": what})
    emit_table(table, [("version", _("version")), ("at", _("time")), ("actor", _("who")),
                       ("source", _("source")), ("what", _("change"))])


@click.command("demo-data")
@click.option("--province", required=True, help="Province code; loaded first if the store does not have it.")
@click.option("--dossiers", "n", type=click.IntRange(min=1), default=50000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--year", type=int, help="Year of the dossiers (default: this year, up to today).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write canonical CSV here (catalogue and feedback beside it) instead of importing.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def demo_data(province: str, n: int, seed: int, year: int | None, out: Path | None, fmt: str) -> None:
    """Make realistic synthetic dossiers for a province's real units."""
    with progress_bar(_("Generating dossiers"), fmt=fmt) as bar:
        summary = make_demo_data(province, n=n, seed=seed, year=year, out=out, progress=bar)
    if summary is None:
        click.echo(_("Wrote {n} dossiers to {path}.").format(n=n, path=out))
    else:
        _print_summary(summary, fmt)


def make_demo_data(province: str, *, n: int, seed: int, year: int | None = None,
                   out: Path | None = None, progress: Bar | None = None) -> ImportSummary | None:
    """The demo records (:func:`chiso.dossiers.service.make_demo_data`), as this machine's user,
    in the configured store (prepared first if it is new)."""
    from chiso.auth.permissions import command_line
    from chiso.dossiers import service

    engine = db.make_engine()
    db.upgrade(engine)
    return service.make_demo_data(engine, actor=command_line(), province=province, n=n, seed=seed, year=year,
                                  out=out, progress=progress, step=progress.step if progress else None)
