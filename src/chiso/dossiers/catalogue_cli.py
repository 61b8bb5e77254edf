"""``chiso procedures``: the procedure catalogue (imported with ``chiso dossiers import
--kind procedures``) in view."""

from __future__ import annotations

import click

from chiso import db
from chiso.clitools import FORMATS, engine_ready, records
from chiso.i18n import _
from chiso.output import emit_json, emit_table
from chiso.periods import Period, parse_period


def _period(text: str | None) -> Period | None:
    return parse_period(text) if text else None


@click.group()
def procedures() -> None:
    """The procedure catalogue: online levels, handling units, dossiers, share of full online services."""


@procedures.command("list")
@click.option("--unit", help="Only procedures this unit (or a unit below it) received dossiers of.")
@click.option("--level", type=click.Choice(["full", "partial", "none"]), help="Only this online level.")
@click.option("--period", "period_text", help="Count the dossiers of this period (default: all).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(unit: str | None, level: str | None, period_text: str | None, fmt: str) -> None:
    """List the procedures with their online level, handling units and dossiers."""
    from chiso.dossiers import catalogue

    engine = engine_ready()
    with db.transaction(engine) as session:
        rows = catalogue.list_procedures(session, records(engine), unit=unit, level=level, period=_period(period_text))
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([dict(r, units=", ".join(r["units"])) for r in rows],
                   [("code", _("code")), ("name", _("name")), ("online_level", _("online level")),
                    ("statutory_days", _("statutory days")), ("units", _("units")), ("dossiers", _("dossiers"))])


@procedures.command("summary")
@click.option("--period", "period_text", help="Units that received dossiers in this period (default: all).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def summary_cmd(period_text: str | None, fmt: str) -> None:
    """Counts by online level and the share of full online services, province and units."""
    from chiso.dossiers import catalogue

    engine = engine_ready()
    with db.transaction(engine) as session:
        data = catalogue.summary(session, records(engine), period=_period(period_text))
    if fmt == "json":
        emit_json(data)
    else:
        emit_table([data["province"], *data["units"]],
                   [("unit", _("unit")), ("procedures", _("procedures")), ("full", _("full")),
                    ("partial", _("partial")), ("none", _("none")), ("full_online_rate", _("full online share"))])
