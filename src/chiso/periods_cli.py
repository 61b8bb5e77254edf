"""``chiso periods``: the canonical period forms and the working-day calendar."""

from __future__ import annotations


import click

from chiso.clitools import DATE, FORMATS
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.output import emit_json, emit_table

def _period(text: str):
    from chiso.periods import PeriodError, parse_period

    try:
        return parse_period(text)
    except PeriodError as exc:
        raise ChisoError(str(exc)) from None


def _row(p) -> dict:
    return {"period": p.code, "kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(),
            "previous": p.previous().code}


@click.group()
def periods() -> None:
    """Reporting periods (week, month, quarter, half-year, 9 months, year, year-to-date)."""


@periods.command("show")
@click.argument("texts", nargs=-1, required=True, metavar="PERIOD...")
@click.option("--format", "fmt", type=FORMATS, default="table")
def show(texts: tuple[str, ...], fmt: str) -> None:
    """Show the first and last day of periods, e.g. 2025-W49 2025-11 2025-Q3 2025-YTD-11."""
    rows = [_row(_period(t)) for t in texts]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("period", _("period")), ("start", _("from")), ("end", _("to")), ("previous", _("previous"))])


@periods.command("containing")
@click.argument("day", type=DATE)
@click.option("--format", "fmt", type=FORMATS, default="table")
def containing(day, fmt: str) -> None:
    """List every period that contains a day."""
    from chiso.periods import periods_containing

    rows = [_row(p) for p in periods_containing(day)]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("period", _("period")), ("start", _("from")), ("end", _("to"))])


@periods.command("add-working-days")
@click.argument("start", type=DATE)
@click.argument("days", type=click.IntRange(min=0))
def add_working_days_cmd(start, days: int) -> None:
    """The date N working days after START (weekends and public holidays skipped)."""
    from chiso.calendar import CalendarError, default_calendar

    try:
        click.echo(default_calendar().add_working_days(start, days).isoformat())
    except CalendarError as exc:
        raise ChisoError(str(exc)) from None
