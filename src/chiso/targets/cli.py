"""``chiso targets`` (targets, traffic lights, flips) and ``chiso indicators`` (manual values)."""

from __future__ import annotations

from datetime import date

import click

from chiso import db
from chiso.auth.permissions import command_line
from chiso.clitools import DATE, FORMATS, engine_ready, exit_if_refused, records
from chiso.i18n import _
from chiso.output import emit_json, emit_table
from chiso.targets import lights, service



@click.group()
def targets() -> None:
    """Targets on indicators, their traffic lights and changes of colour."""


@targets.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="table")
def import_cmd(path: str, fmt: str) -> None:
    """Import targets from CSV/XLSX (all or nothing; idempotent by code)."""
    with db.transaction(engine_ready()) as session:
        summary = service.import_targets(session, actor=command_line(), path=path)
    data = summary.to_json()
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("{read} rows read: {imported} imported ({inserted} new, {updated} updated, {unchanged} unchanged), "
                     "{rejected} rejected.").format(**data))
        if summary.rejects:
            emit_table(data["rejects"], [("line", _("line")), ("reason", _("reason"))])
            click.echo(_("Rejected rows and their reasons: {path}").format(path=summary.rejects_path))
    exit_if_refused(summary)


@targets.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """List the targets."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_targets(session)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("code", _("code")), ("indicator", _("indicator")), ("unit", _("unit")),
                          ("level", _("level")), ("direction", _("direction")), ("goal", _("goal")),
                          ("deadline", _("deadline"))])


_as_of = click.option("--as-of", "as_of", type=DATE, help="Date of the lights (default: today).")


@targets.command("status")
@_as_of
@click.option("--target", help="Only this target.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def status_cmd(as_of: date | None, target: str | None, fmt: str) -> None:
    """The traffic light of every (target, unit) on a date."""
    with db.transaction(engine_ready()) as session:
        rows = service.status(session, as_of=as_of or date.today(), store=records(session), target=target)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("target", _("target")), ("unit", _("unit")), ("colour", _("colour")),
                          ("value", _("value")), ("goal", _("goal")), ("deadline", _("deadline"))])


@targets.command("evaluate")
@_as_of
@click.option("--format", "fmt", type=FORMATS, default="table")
def evaluate_cmd(as_of: date | None, fmt: str) -> None:
    """Colour every (target, unit) and record each change of colour."""
    with db.transaction(engine_ready()) as session:
        data = service.evaluate(session, as_of=as_of or date.today(), store=records(session))
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("{evaluated} lights evaluated, {flips} changes recorded.").format(
            evaluated=data["evaluated"], flips=len(data["flips"])))
        emit_table(data["flips"], _FLIP_COLUMNS())


_FLIP_COLUMNS = lambda: [  # noqa: E731  (headings are translated when printed)
    ("at", _("date")), ("target", _("target")), ("unit", _("unit")), ("from", _("from")), ("to", _("to")),
    ("why", _("why")),
]


@targets.command("flips")
@click.option("--since", type=DATE, help="Changes on or after this date.")
@click.option("--until", type=DATE, help="Changes on or before this date.")
@click.option("--to", "to", type=click.Choice(lights.COLOURS), help="Only changes to this colour.")
@click.option("--unit", help="Only this unit.")
@click.option("--target", help="Only this target.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def flips_cmd(since, until, to, unit, target, fmt: str) -> None:
    """Recorded changes of colour (e.g. which units turned red this week)."""
    with db.transaction(engine_ready()) as session:
        rows = service.flips(session, since=since, until=until, to=to, unit=unit, target=target)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, _FLIP_COLUMNS())


@targets.command("rollup")
@_as_of
@click.option("--format", "fmt", type=FORMATS, default="table")
def rollup_cmd(as_of: date | None, fmt: str) -> None:
    """Each unit's and the province's overall colour."""
    with db.transaction(engine_ready()) as session:
        data = service.rollup(session, as_of=as_of or date.today(), store=records(session))
    if fmt == "json":
        emit_json(data)
    else:
        rows = data["units"] + [dict(data["province"], unit=_("province {code}").format(code=data["province"]["unit"]))]
        emit_table(rows, [("unit", _("unit")), ("colour", _("colour"))])


@click.group()
def indicators() -> None:
    """Indicators entered by hand per unit and period."""


@indicators.command("set")
@click.argument("indicator")
@click.argument("unit")
@click.argument("period")
@click.argument("value", type=float)
@click.option("--by", "by", required=True, help="Who enters the value.")
@click.option("--source", help="The system or document the value comes from.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def set_cmd(indicator: str, unit: str, period: str, value: float, by: str, source: str | None, fmt: str) -> None:
    """Enter (or replace) the value of a manual indicator for a unit and period."""
    with db.transaction(engine_ready()) as session:
        row = service.set_value(session, actor=command_line(by), indicator=indicator, unit=unit, period=period,
                                value=value, source=source)
    if fmt == "json":
        emit_json(row)
    else:
        click.echo(_("{indicator} = {value} for {unit}, {period}.").format(**row))


@indicators.command("values")
@click.option("--indicator")
@click.option("--unit")
@click.option("--format", "fmt", type=FORMATS, default="table")
def values_cmd(indicator: str | None, unit: str | None, fmt: str) -> None:
    """List the entered values."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_values(session, indicator=indicator, unit=unit)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("indicator", _("indicator")), ("unit", _("unit")), ("period", _("period")),
                          ("value", _("value")), ("entered_by", _("entered by")), ("entered_at", _("entered at"))])
