"""``chiso index``: the 766 service index per unit and period, and the records behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from chiso import db
from chiso.clitools import FORMATS, engine_ready, records
from chiso.i18n import _
from chiso.output import emit_json, emit_table

if TYPE_CHECKING:
    from datetime import datetime

    from chiso.dossiers.store import DossierStore
    from chiso.periods import Period


def _period(text: str) -> Period:
    from chiso.periods import parse_period

    return parse_period(text)



_method = click.option("--method", "method_id", help="Method definition id (default: the family's default version).")
_as_of = click.option("--as-of", "as_of", metavar="DATETIME",
                      help="The index as the store held its records then: an ISO date-time, with an offset "
                           "(2026-10-15T17:00:00+07:00, ...Z) or without one (in the store's time zone).")
_version = click.option("--version", "version", type=int, metavar="N",
                        help="The index as the store held its records at version N (see `chiso store info`).")


def _at_version(store: DossierStore, as_of: str | None, version: int | None) -> tuple[int | None, datetime | None]:
    """(version number or None for the current records, the moment for "now" or None)."""
    from chiso.dossiers.store import parse_moment
    from chiso.errors import ChisoError

    if as_of is not None and version is not None:
        raise ChisoError(_("Give either --as-of or --version, not both."))
    if as_of is not None:
        moment = parse_moment(as_of)
        return store.version_at(moment), moment
    if version is not None:
        store.check_version(version)
        # A running period is judged as it was when that version was the newest.
        from chiso.index.service import version_moment

        return version, version_moment(store, version)
    return None, None


_engine = click.option("--engine", "engine_name", type=click.Choice(["duckdb", "spark"]),
                       help="Count with DuckDB here or on Apache Spark (default: the setting `engine`).")


@click.group("index")
def index() -> None:
    """Official indexes computed from the records."""


@index.command("766")
@click.option("--period", "period_text", required=True, help="e.g. 2025-W49, 2025-11, 2025-Q3, 2025, 2025-YTD-11")
@click.option("--unit", help="Only this unit (registry or official code).")
@click.option("--group", help="Rank within this unit group.")
@_method
@_as_of
@_version
@_engine
@click.option("--format", "fmt", type=FORMATS, default="table")
def index_766(period_text: str, unit: str | None, group: str | None, method_id: str | None, as_of: str | None,
              version: int | None, engine_name: str | None, fmt: str) -> None:
    """Scores, bands and ranks on the real-time service index (Decision 766/QĐ-TTg)."""
    from chiso.index import service

    period = _period(period_text)
    engine = engine_ready()
    store = records(engine)
    at_version, moment = _at_version(store, as_of, version)
    with db.transaction(engine) as session:
        rows = service.index_766(session, store, period, unit=unit, group=group, method_id=method_id,
                                 at_version=at_version, now=moment, engine=engine_name)
    if fmt == "json":
        emit_json(rows)
        return
    if at_version is not None:
        info = service.version_info(store, at_version)
        click.echo(_("As the records stood at version {n} (imported {when}).").format(
            n=at_version, when=info["committed_at"] or "-"))
    label = service.until_label(period, moment)
    if label:  # a period still running: its open dossiers are judged now
        click.echo(f"{period.code}, {label}")
    table = []
    for r in rows:
        row = {k: r[k] for k in ("rank", "unit", "name", "total", "rank_change")}
        row["band"] = r.get("band_name") or r["band"]  # the band's name, as the pages print it
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
@_as_of
@_version
@_engine
@click.option("--format", "fmt", type=FORMATS, default="table")
def explain(index_name: str, period_text: str, unit: str, indicator: str, method_id: str | None, as_of: str | None,
            version: int | None, engine_name: str | None, fmt: str) -> None:
    """The dossiers counted in an indicator's numerator and denominator."""
    from chiso.index import service

    period = _period(period_text)
    engine = engine_ready()
    store = records(engine)
    at_version, moment = _at_version(store, as_of, version)
    with db.transaction(engine) as session:
        data = service.explain(session, store, period, unit=unit, indicator=indicator,
                               method_id=method_id, at_version=at_version, now=moment, engine=engine_name)
    if fmt == "json":
        emit_json(data)
        return
    label = service.until_label(period)
    if label:
        click.echo(f"{period.code}, {label}")
    for side, label in (("numerator", _("numerator")), ("denominator", _("denominator"))):
        ids = data.get(f"{side}_ids")
        click.echo(f"{label} ({data[f'{side}_measure']}): {len(ids) if ids is not None else '-'}")
        for i in (ids or [])[:50]:
            click.echo(f"  {i}")
        if ids and len(ids) > 50:
            click.echo(_("  … and {n} more (use --format json)").format(n=len(ids) - 50))


@index.command("diff")
@click.option("--period", "period_text", required=True)
@click.option("--from", "from_version", type=int, required=True, metavar="N", help="The earlier version.")
@click.option("--to", "to_version", type=int, required=True, metavar="N", help="The later version.")
@_method
@click.option("--format", "fmt", type=FORMATS, default="table")
def diff(period_text: str, from_version: int, to_version: int, method_id: str | None, fmt: str) -> None:
    """Which units and indicators moved between two versions of the records, and by which dossiers."""
    from chiso.index import service

    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        data = service.diff(session, store, _period(period_text), from_version=from_version,
                            to_version=to_version, method_id=method_id)
    if fmt == "json":
        emit_json(data)
        return
    click.echo(_("From version {a} ({when_a}) to version {b} ({when_b}): {n} units moved.").format(
        a=data["from"]["version"], when_a=data["from"]["committed_at"] or "-",
        b=data["to"]["version"], when_b=data["to"]["committed_at"] or "-", n=len(data["units"])))
    for u in data["units"]:
        before, after = u["from"] or {}, u["to"] or {}
        click.echo(f"{u['unit']}  {u['name']}: {_cell(before.get('total'))} → {_cell(after.get('total'))}, "
                   + _("rank {a} → {b}").format(a=_cell(before.get("rank")), b=_cell(after.get("rank"))))
        for ind_id, ind in u["indicators"].items():
            was, now = ind["from"] or {}, ind["to"] or {}
            click.echo(f"  {ind_id}: {_cell(was.get('numerator'))}/{_cell(was.get('denominator'))} → "
                       f"{_cell(now.get('numerator'))}/{_cell(now.get('denominator'))}")
            for part, label in (("numerator", _("numerator")), ("denominator", _("denominator"))):
                entered, left = ind.get(f"{part}_entered"), ind.get(f"{part}_left")
                if entered:
                    click.echo("    " + _("{part} +: {ids}").format(part=label, ids=_ids(entered)))
                if left:
                    click.echo("    " + _("{part} −: {ids}").format(part=label, ids=_ids(left)))


def _cell(value: object) -> str:
    from chiso.output import number

    if value is None:
        return "-"
    return number(value) if isinstance(value, float) else str(value)


def _ids(ids: list[str], limit: int = 20) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (_(" … and {n} more (use --format json)").format(n=len(ids) - limit) if len(ids) > limit else "")


# --------------------------------------------------------------------------- steering


@click.command("due")
@click.option("--unit", help="One unit (registry or official code); the province or none: every unit.")
@click.option("--within", type=click.IntRange(min=0), metavar="N",
              help="Working days ahead (default: the setting due_within_days).")
@_method
@click.option("--format", "fmt", type=FORMATS, default="table")
def due_cmd(unit: str | None, within: int | None, method_id: str | None, fmt: str) -> None:
    """Open dossiers falling due within N working days, or already overdue (early warning)."""
    from chiso.index import steer

    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        rows = steer.due(session, store, unit=unit, within=within, method_id=method_id)
    if fmt == "json":
        emit_json(rows)
        return
    from datetime import datetime as moment

    emit_table([{**r, "due_at": moment.fromisoformat(r["due_at"]).strftime("%d/%m/%Y %H:%M"), "overdue_days": r["overdue_days"] or ""} for r in rows],
               [("unit", _("unit")), ("dossier_id", _("dossier")), ("procedure", _("procedure")),
                ("stage", _("stage")), ("due_at", _("due")), ("overdue_days", _("days overdue")),
                ("working_days_left", _("working days left"))])


@index.command("forecast")
@click.option("--period", "period_text", required=True, help="A period still running, e.g. 2026-Q4.")
@click.option("--backtest", is_flag=True,
              help="Try the forecast on this period, which is over: from its middle day, against its final figures.")
@_method
@click.option("--format", "fmt", type=FORMATS, default="table")
def forecast(period_text: str, backtest: bool, method_id: str | None, fmt: str) -> None:
    """The score each unit will reach at the end of a running period: low, high and expected."""
    from chiso.index import steer

    period = _period(period_text)
    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        if backtest:
            data = steer.backtest(session, store, [period], method_id=method_id)
            if fmt == "json":
                emit_json(data)
            else:
                emit_table(data, [("period", _("period")), ("standing_on", _("from")), ("units", _("units")),
                                  ("mean_abs_error", _("mean error")), ("max_abs_error", _("largest error")),
                                  ("within_range", _("within the range"))])
            return
        rows = steer.forecast(session, store, period, method_id=method_id)
    if fmt == "json":
        emit_json(rows)
        return
    emit_table(rows, [("unit", _("code")), ("name", _("name")), ("current", _("now")), ("low", _("low")),
                      ("high", _("high")), ("expected", _("expected")), ("at_stake", _("dossiers due"))])


@index.command("advise")
@click.option("--unit", required=True, help="The unit (registry or official code).")
@click.option("--period", "period_text", required=True)
@click.option("--target-rank", type=click.IntRange(min=1), help="Plan for this rank among the unit's peers "
              "(default: the next band).")
@_method
@click.option("--format", "fmt", type=FORMATS, default="table")
def advise(unit: str, period_text: str, target_rank: int | None, method_id: str | None, fmt: str) -> None:
    """What would raise a unit's score most: actions ranked by points per dossier, and the fewest that reach a goal."""
    from chiso.index import steer

    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        data = steer.advise(session, store, _period(period_text), unit=unit, method_id=method_id,
                            target_rank=target_rank)
    if fmt == "json":
        emit_json(data["actions"])
        return
    click.echo(_("{name} ({unit}), {period}: total {total}").format(
        name=data["name"], unit=data["unit"], period=data["period"], total=_cell(data["total"])))
    emit_table(data["actions"], [("action", _("action")), ("indicator", _("indicator")), ("dossiers", _("items")),
                                 ("points", _("points")), ("plan", _("in the plan"))])
    if data["goal"] is None:
        click.echo(_("No goal above the unit's band."))
    elif data["plan"] is None:
        click.echo(_("Goal {goal}: not reachable by these actions.").format(goal=data["goal"]))
    else:
        click.echo(_("Goal {goal}: {n} actions.").format(goal=data["goal"], n=len(data["plan"])))


@click.command("reconcile")
@click.option("--period", "period_text", required=True, help="e.g. 2025-Q4, 2025")
@click.option("--tolerance", "limit", type=float, default=None,
              help="Points a difference may reach before it is flagged (default: the setting reconcile_tolerance).")
@click.option("--flagged", "only_flagged", is_flag=True, help="Only the differences over the tolerance.")
@_method
@click.option("--format", "fmt", type=FORMATS, default="table")
def reconcile(period_text: str, limit: float | None, only_flagged: bool, method_id: str | None, fmt: str) -> None:
    """chiso's 766 figures beside the published ones, with the likely cause of each difference."""
    from chiso.index import reconcile as rec

    period = _period(period_text)
    engine = engine_ready()
    store = records(engine)
    with db.transaction(engine) as session:
        rows = rec.reconcile(session, store, period, method_id=method_id, limit=limit)
    if only_flagged:
        rows = [r for r in rows if r["flagged"]]
    if fmt == "json":
        emit_json(rows)
        return
    if not rows:
        click.echo(_("No published figures for {period}: import them with `chiso published import`.").format(
            period=period.code))
        return
    emit_table([{**r, "flag": "!" if r["flagged"] else "",
                 "causes": "; ".join(f"{c['label']} ({c['count']}: {', '.join(c['dossier_ids'][:5])}"
                                     f"{', …' if c['count'] > 5 else ''})" for c in r["causes"])} for r in rows],
               [("flag", ""), ("unit", _("code")), ("name", _("name")), ("indicator", _("indicator")),
                ("ours", _("computed")), ("published", _("published")), ("difference", _("difference")),
                ("causes", _("likely causes"))])
