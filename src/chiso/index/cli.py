"""``chiso index``: the 766 service index per unit and period, and the records behind it."""

from __future__ import annotations

import click

from chiso import db
from chiso.clitools import FORMATS, engine_ready
from chiso.i18n import _
from chiso.output import emit_json, emit_table


def _period(text: str):
    from chiso.periods import parse_period

    return parse_period(text)


def _store():
    from chiso.dossiers.store import DossierStore

    return DossierStore()


_method = click.option("--method", "method_id", help="Method definition id (default: the family's default version).")
_engine = click.option("--engine", type=click.Choice(["duckdb", "spark"]),
                       help="Count with DuckDB here or on Apache Spark (default: the setting `engine`).")


@click.group("index")
def index() -> None:
    """Official indexes computed from the records."""


@index.command("766")
@click.option("--period", "period_text", required=True, help="e.g. 2025-W49, 2025-11, 2025-Q3, 2025, 2025-YTD-11")
@click.option("--unit", help="Only this unit (registry or official code).")
@click.option("--group", help="Rank within this unit group.")
@_method
@_engine
@click.option("--format", "fmt", type=FORMATS, default="table")
def index_766(period_text: str, unit: str | None, group: str | None, method_id: str | None, engine: str | None,
              fmt: str) -> None:
    """Scores, bands and ranks on the real-time service index (Decision 766/QĐ-TTg)."""
    from chiso.index import service

    period = _period(period_text)
    with db.transaction(engine_ready()) as session:
        rows = service.index_766(session, _store(), period, unit=unit, group=group, method_id=method_id,
                                 engine=engine)
    if fmt == "json":
        emit_json(rows)
        return
    table = []
    for r in rows:
        row = {k: r[k] for k in ("rank", "unit", "name", "total", "band", "rank_change")}
        for gid, g in r["groups"].items():
            row[gid] = g["points"]
        table.append(row)
    groups = list(rows[0]["groups"]) if rows else []
    emit_table(table, [("rank", _("rank")), ("unit", _("code")), ("name", _("name")), ("total", _("total")),
                       ("band", _("band")), ("rank_change", _("change"))] + [(g, g) for g in groups])


@index.command("explain")
@click.argument("index_name", metavar="INDEX", type=click.Choice(["766"]))
@click.option("--period", "period_text", required=True)
@click.option("--unit", required=True)
@click.option("--indicator", required=True, help="Indicator id, e.g. 2.1")
@_method
@_engine
@click.option("--format", "fmt", type=FORMATS, default="table")
def explain(index_name: str, period_text: str, unit: str, indicator: str, method_id: str | None,
            engine: str | None, fmt: str) -> None:
    """The dossiers counted in an indicator's numerator and denominator."""
    from chiso.index import service

    with db.transaction(engine_ready()) as session:
        data = service.explain(session, _store(), _period(period_text), unit=unit, indicator=indicator, method_id=method_id,
                               engine=engine)
    if fmt == "json":
        emit_json(data)
        return
    for side, label in (("numerator", _("numerator")), ("denominator", _("denominator"))):
        ids = data.get(f"{side}_ids")
        click.echo(f"{label} ({data[f'{side}_measure']}): {len(ids) if ids is not None else '-'}")
        for i in (ids or [])[:50]:
            click.echo(f"  {i}")
        if ids and len(ids) > 50:
            click.echo(_("  … and {n} more (use --format json)").format(n=len(ids) - 50))
