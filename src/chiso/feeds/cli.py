"""``chiso sources``: the live feeds from the one-stop systems (thin shell over the service)."""

from __future__ import annotations

import sys
from typing import Any

import click

from chiso import db
from chiso.clitools import FORMATS, engine_ready, records
from chiso.i18n import _
from chiso.output import emit_json, emit_table


def _actor() -> Any:
    from chiso.auth.permissions import command_line

    return command_line()


def _files_root(engine: Any) -> Any:
    from chiso.store.service import files_root

    return files_root(engine)


@click.group()
def sources() -> None:
    """Live feeds: records pulled from the one-stop systems on a schedule."""


@sources.command("add")
@click.argument("name")
@click.option("--url", required=True, help="Where the source serves its pages (see docs/sources.md).")
@click.option("--every", default="5m", show_default=True, help="How often to pull: 30s, 5m, 1h, 1d.")
@click.option("--protocol", "protocol_name", default="chiso", show_default=True,
              help="The source's protocol (chiso: GET URL?since=..., the documented default).")
@click.option("--token-stdin", is_flag=True, help="Read the source's token from standard input; it is stored encrypted.")
@click.option("--token-env", default=None, help="Or: the environment variable that holds the token, read at each pull.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def add_cmd(name: str, url: str, every: str, protocol_name: str, token_stdin: bool, token_env: str | None,
            fmt: str) -> None:
    """Pull a source's records on a schedule."""
    from chiso.feeds import service

    token = sys.stdin.readline().strip() if token_stdin else None
    engine = engine_ready()
    with db.transaction(engine) as session:
        row = service.add(session, actor=_actor(), name=name, url=url, every=every, protocol_name=protocol_name,
                          token=token, token_env=token_env, key_folder=_files_root(engine) if token_stdin else None)
    if fmt == "json":
        emit_json(row)
    else:
        click.echo(_("Source {name} will be pulled every {every} from {url}.").format(**row))


@sources.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """The feeds: last success, lag, counts, last error."""
    from chiso.feeds import service

    engine = engine_ready()
    with db.transaction(engine) as session:
        rows = service.list_feeds(session, actor=_actor())
    if fmt == "json":
        emit_json(rows)
        return
    emit_table([dict(r, lag=("" if r["lag_minutes"] is None else r["lag_minutes"]),
                     inserted=r["totals"]["inserted"], updated=r["totals"]["updated"],
                     rejected=r["totals"]["rejected"], error=(r["last_error"] or "")[:80]) for r in rows],
               [("name", _("source")), ("every", _("every")), ("watermark", _("watermark")),
                ("last_success_at", _("last success")), ("lag", _("lag (min)")), ("inserted", _("inserted")),
                ("updated", _("updated")), ("rejected", _("rejected")), ("error", _("last error"))])


@sources.command("run")
@click.argument("name")
@click.option("--format", "fmt", type=FORMATS, default="table")
def run_cmd(name: str, fmt: str) -> None:
    """Pull one source now, page by page from its watermark."""
    from chiso.feeds import service

    engine = engine_ready()
    result = service.pull(engine, records(engine), name=name, actor=_actor())
    if fmt == "json":
        emit_json(result)
        return
    emit_table([{"what": k, "n": result[k]} for k in service.COUNTS], [("what", _("rows")), ("n", _("count"))])
    click.echo(_("Watermark: {mark}").format(mark=result["watermark"]))


@sources.command("remove")
@click.argument("name")
@click.option("--format", "fmt", type=FORMATS, default="table")
def remove_cmd(name: str, fmt: str) -> None:
    """Stop pulling a source (the records it brought stay)."""
    from chiso.feeds import service

    engine = engine_ready()
    with db.transaction(engine) as session:
        row = service.remove(session, actor=_actor(), name=name)
    if fmt == "json":
        emit_json(row)
    else:
        click.echo(_("Source {name} is no longer pulled; its records stay.").format(name=row["name"]))


@sources.command("rejects")
@click.argument("name")
@click.option("--format", "fmt", type=FORMATS, default="table")
def rejects_cmd(name: str, fmt: str) -> None:
    """The rejected rows of a source's pages, with the page each came in."""
    from chiso.feeds import service

    engine = engine_ready()
    with db.transaction(engine) as session:
        rows = service.rejects(session, actor=_actor(), name=name)
    if fmt == "json":
        emit_json(rows)
        return
    emit_table(rows, [("since", _("since")), ("page", _("page")), ("line", _("line")), ("reason", _("reason"))])
