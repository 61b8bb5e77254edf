"""``chiso worker``: the reminder loop (register with ``cli.add_command(worker)``)."""

from __future__ import annotations

import logging

import click

from chiso import worker as worker_mod
from chiso.clitools import DATE, FORMATS, engine_ready
from chiso.i18n import _
from chiso.output import emit_json


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--interval", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds between passes.")
@click.option("--day", type=DATE, default=None, help="Day of the digests (default: today).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def worker(once: bool, interval: float, day, fmt: str) -> None:
    """Send reminders: tasks due soon, overdue tasks (escalated to the member in charge) and
    colour flips, at most one digest per person a day, by e-mail and/or webhook."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The worker's own lines are what an operator reads; the schema check's are noise.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = engine_ready()

    def show(report: dict) -> None:
        if fmt == "json":
            emit_json(report)
        else:
            click.echo(_("{day}: sent {sent}, skipped {skipped}, failed {failed}, already sent {already}").format(
                day=report["day"], sent=len(report["sent"]), skipped=len(report["skipped"]),
                failed=len(report["failed"]), already=len(report["already"])))
            pulled = report.get("feeds") or {}
            if pulled.get("pulled") or pulled.get("failed"):
                click.echo(_("feeds: {pulled} pulled, {failed} failed").format(
                    pulled=len(pulled["pulled"]), failed=len(pulled["failed"])))

    worker_mod.run(engine, once=once, interval=interval, day=day, on_pass=show)
