"""``chiso published``: the national portal's published standings (import, list, history)."""

from __future__ import annotations

import click

from chiso import db
from chiso.auth.permissions import command_line
from chiso.clitools import FORMATS, engine_ready, exit_if_refused
from chiso.i18n import _
from chiso.output import emit_json, emit_table, number
from chiso.standing import service


@click.group()
def published() -> None:
    """Scores and ranks published by the national portal: the province's national standing."""


@published.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index", default="766", show_default=True, help=_("The index the file publishes."))
@click.option("--format", "fmt", type=FORMATS, default="table")
def import_cmd(path: str, index: str, fmt: str) -> None:
    """Import published scores and ranks from CSV/XLSX/JSON (all or nothing; idempotent)."""
    with db.transaction(engine_ready()) as session:
        summary = service.import_standings(session, index=index, path=path, actor=command_line())
    data = summary.to_json()
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("{read} rows read: {inserted} new, {updated} updated, {unchanged} unchanged, "
                     "{rejected} rejected.").format(**data))
        if summary.rejects:
            emit_table(data["rejects"], [("line", _("line")), ("reason", _("reason"))])
    exit_if_refused(summary)


def _table(rows: list[dict]) -> None:
    emit_table([{**r, "total": number(r["total"]) if r["total"] is not None else "–",
                 "rank": f"{r['rank']}/{r['of']}" if r["rank"] and r["of"] else (r["rank"] or "–")} for r in rows],
               [("period", _("period")), ("unit", _("code")), ("name", _("unit")), ("total", _("score")),
                ("rank", _("rank"))])


@published.command("list")
@click.option("--index", "index", default="766", show_default=True)
@click.option("--period", default=None, help=_("Only this period."))
@click.option("--unit", default=None, help=_("Only this unit."))
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(index: str, period: str | None, unit: str | None, fmt: str) -> None:
    """List the published standings."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_standings(session, index=index, period=period, unit=unit)
    if fmt == "json":
        emit_json(rows)
    else:
        _table(rows)


@published.command("history")
@click.option("--index", "index", default="766", show_default=True)
@click.option("--unit", default=None, help=_("Another unit than the province."))
@click.option("--format", "fmt", type=FORMATS, default="table")
def history_cmd(index: str, unit: str | None, fmt: str) -> None:
    """The province's national standing over the periods published."""
    with db.transaction(engine_ready()) as session:
        rows = service.history(session, index=index, unit=unit)
    if fmt == "json":
        emit_json(rows)
    else:
        _table(rows)
