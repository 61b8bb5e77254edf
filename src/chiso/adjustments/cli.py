"""``chiso adjustments``: technical deductions on an index score (add, list, withdraw)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from chiso import db
from chiso.adjustments import service
from chiso.auth.permissions import command_line
from chiso.clitools import FORMATS, engine_ready
from chiso.i18n import _
from chiso.output import emit_json, emit_table

_COLUMNS = [("id", "id"), ("unit", "unit"), ("period", "period"), ("about", "about"), ("points", "points"),
            ("reason", "reason"), ("created_by", "by"), ("state", "state")]


def _headings() -> list[tuple[str, str]]:
    words = {"id": _("id"), "unit": _("unit"), "period": _("period"), "about": _("concerns"),
             "points": _("points"), "reason": _("reason"), "by": _("entered by"), "state": _("state")}
    return [(key, words[head]) for key, head in _COLUMNS]


def _table_row(a: dict[str, Any]) -> dict[str, Any]:
    return {**a, "about": a["indicator"] or a["group"] or _("total"),
            "state": _("no longer in force") if a["withdrawn"] else _("in force")}


def _emit(fmt: str, rows: list[dict[str, Any]]) -> None:
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([_table_row(a) for a in rows], _headings())


@click.group()
def adjustments() -> None:
    """Technical deductions on an index score: add, list, withdraw."""


@adjustments.command("add")
@click.option("--unit", required=True, help="The unit (registry or official code).")
@click.option("--period", required=True, help="e.g. 2025-Q3, 2025-11, 2025")
@click.option("--indicator", help="The indicator it concerns, e.g. 2.1.")
@click.option("--group", help="Or the group of indicators it concerns.")
@click.option("--points", type=float, required=True, help="Points added; negative for a deduction, e.g. -1.5.")
@click.option("--reason", required=True, help="Why (required).")
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="An evidence file.")
@click.option("--index", "index", type=click.Choice(service.INDEXES), default="766", show_default=True)
@click.option("--by", "by", help="Who decides it (default: this machine's user).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def add_cmd(unit: str, period: str, indicator: str | None, group: str | None, points: float, reason: str,
            evidence: Path | None, index: str, by: str | None, fmt: str) -> None:
    """Enter an adjustment (a technical deduction when negative) on a unit's score."""
    with db.transaction(engine_ready()) as session:
        row = service.add(session, actor=command_line(by), unit=unit, period=period, points=points, reason=reason,
                          indicator=indicator, group=group, index=index, evidence=evidence)
    if fmt == "json":
        emit_json(row)
    else:
        click.echo(_("Adjustment {id} entered: {points} points on {unit}, {period}.").format(
            id=row["id"], points=row["points"], unit=row["unit"], period=row["period"]))


@adjustments.command("list")
@click.option("--unit", help="Only this unit.")
@click.option("--period", help="Only this period.")
@click.option("--index", "index", type=click.Choice(service.INDEXES), help="Only this index.")
@click.option("--in-force", "in_force", is_flag=True, help="Leave the withdrawn ones out.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(unit: str | None, period: str | None, index: str | None, in_force: bool, fmt: str) -> None:
    """List the adjustments, withdrawn ones included (unless --in-force)."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_adjustments(session, unit=unit, period=period, index=index, withdrawn=not in_force)
    _emit(fmt, rows)


@adjustments.command("withdraw")
@click.argument("adjustment_id", type=int)
@click.option("--reason", required=True, help="Why it is withdrawn (required).")
@click.option("--by", "by", help="Who withdraws it.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def withdraw_cmd(adjustment_id: int, reason: str, by: str | None, fmt: str) -> None:
    """Withdraw an adjustment (it stays listed, marked withdrawn)."""
    with db.transaction(engine_ready()) as session:
        row = service.withdraw(session, actor=command_line(by), adjustment_id=adjustment_id, reason=reason)
    if fmt == "json":
        emit_json(row)
    else:
        click.echo(_("Adjustment {id} withdrawn.").format(id=row["id"]))
