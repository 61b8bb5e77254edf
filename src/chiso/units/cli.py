"""``chiso units`` and ``chiso groups``: read and change the unit registry."""

from __future__ import annotations

from datetime import date

import click

from chiso import db
from chiso.clitools import DATE, FORMATS, engine_ready
from chiso.i18n import _
from chiso.output import emit_json, emit_table
from chiso.units import service

_engine = engine_ready


UNIT_COLUMNS = lambda: [  # noqa: E731  (headings are translated when printed)
    ("code", _("code")), ("name", _("name")), ("level", _("level")), ("kind", _("kind")), ("parent", _("parent")),
]


@click.group()
def units() -> None:
    """Administrative units: list, lineage, and changes of structure."""


@units.command("list")
@click.option("--level", type=click.Choice(service.LEVELS))
@click.option("--as-of", "as_of", type=DATE, help="Structure on this date (default: today).")
@click.option("--within", help="Only units below this unit (e.g. a province code).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(level: str | None, as_of: date | None, within: str | None, fmt: str) -> None:
    """List the units that existed on a date."""
    with db.transaction(_engine()) as session:
        rows = [u.to_json() for u in service.list_units(session, level=level, as_of=as_of, within=within)]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, UNIT_COLUMNS())


@units.command("show")
@click.argument("code")
@click.option("--as-of", "as_of", type=DATE)
@click.option("--format", "fmt", type=FORMATS, default="table")
def show_cmd(code: str, as_of: date | None, fmt: str) -> None:
    """Show one unit as it was on a date."""
    with db.transaction(_engine()) as session:
        d = as_of or date.today()
        row = service.view(service.get(session, code, on=d), d).to_json()
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([{"field": k, "value": v} for k, v in row.items()], [("field", _("field")), ("value", _("value"))])


@units.command("lineage")
@click.argument("code")
@click.option("--format", "fmt", type=FORMATS, default="table")
def lineage_cmd(code: str, fmt: str) -> None:
    """Show where a unit came from and what it became."""
    with db.transaction(_engine()) as session:
        data = service.lineage(session, code)
    if fmt == "json":
        emit_json(data)
        return
    click.echo(f"{data['code']}  {data['name']}")
    cols = [("direction", _("direction")), ("code", _("code")), ("name", _("name")), ("event", _("event")),
            ("effective_date", _("effective")), ("share", _("share"))]
    rows = [dict(p, direction=_("from")) for p in data["predecessors"]]
    rows += [dict(s, direction=_("to")) for s in data["successors"]]
    emit_table(rows, cols)


@units.command("restate")
@click.argument("pairs", nargs=-1, required=True, metavar="CODE=VALUE...")
@click.option("--on", "on", type=DATE, help="Restate onto the units of this date (default: today).")
@click.option("--how", type=click.Choice(["sum", "mean"]), default="sum", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table")
def restate_cmd(pairs: tuple[str, ...], on: date | None, how: str, fmt: str) -> None:
    """Carry values of former units onto today's units (sum or unweighted mean)."""
    values: dict[str, float] = {}
    for pair in pairs:
        code, sep, value = pair.partition("=")
        try:
            values[code] = float(value)
        except ValueError:
            raise click.BadParameter(_("{pair!r} is not CODE=NUMBER").format(pair=pair)) from None
        if not sep:
            raise click.BadParameter(_("{pair!r} is not CODE=NUMBER").format(pair=pair))
    with db.transaction(_engine()) as session:
        result = service.restate(session, values, on=on or date.today(), how=how)
    rows = [{"code": k, "value": v} for k, v in sorted(result.items())]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("code", _("code")), ("value", _("value"))])


def _event_result(event, fmt: str) -> None:
    data = {"event": event.kind, "effective_date": event.effective_date.isoformat(),
            "links": [{"from": l.from_unit.code, "to": l.to_unit.code, "share": l.share} for l in event.links]}
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("Recorded {event} on {date}.").format(event=event.kind, date=data["effective_date"]))


_effective = click.option("--effective", type=DATE, required=True, help="Date the change takes effect.")
_basis = click.option("--legal-basis", "legal_basis", help="The decision or resolution behind the change.")


@units.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "into", required=True, help="Code of the unit that results.")
@click.option("--name", help="Name of a new resulting unit (omit to merge into an existing unit).")
@click.option("--level", type=click.Choice(service.LEVELS), default="commune", show_default=True)
@click.option("--kind", default="commune", show_default=True)
@click.option("--parent", help="Parent of the new unit.")
@_effective
@_basis
@click.option("--format", "fmt", type=FORMATS, default="table")
def merge_cmd(sources, into, name, level, kind, parent, effective, legal_basis, fmt) -> None:
    """Merge units; history stays with the former units."""
    new = {"name": name, "level": level, "kind": kind, "parent": parent} if name else None
    with db.transaction(_engine()) as session:
        event = service.merge(session, sources_=list(sources), into=into, effective=effective, new=new, legal_basis=legal_basis)
        _event_result(event, fmt)


@units.command("split")
@click.argument("source")
@click.argument("targets", nargs=-1, required=True, metavar="CODE=SHARE...")
@_effective
@_basis
@click.option("--format", "fmt", type=FORMATS, default="table")
def split_cmd(source, targets, effective, legal_basis, fmt) -> None:
    """Split a unit among existing units, with the share of its data each receives."""
    into: dict[str, float] = {}
    for t in targets:
        code, _sep, share = t.partition("=")
        try:
            into[code] = float(share)
        except ValueError:
            raise click.BadParameter(_("{pair!r} is not CODE=NUMBER").format(pair=t)) from None
    with db.transaction(_engine()) as session:
        _event_result(service.split(session, source=source, into=into, effective=effective, legal_basis=legal_basis), fmt)


@units.command("rename")
@click.argument("code")
@click.argument("name")
@_effective
@_basis
@click.option("--format", "fmt", type=FORMATS, default="table")
def rename_cmd(code, name, effective, legal_basis, fmt) -> None:
    """Rename a unit from a date; the former name stays in its history."""
    with db.transaction(_engine()) as session:
        _event_result(service.rename(session, code=code, name=name, effective=effective, legal_basis=legal_basis), fmt)


@units.command("move")
@click.argument("code")
@click.option("--parent", required=True)
@_effective
@_basis
@click.option("--format", "fmt", type=FORMATS, default="table")
def move_cmd(code, parent, effective, legal_basis, fmt) -> None:
    """Place a unit under another parent from a date."""
    with db.transaction(_engine()) as session:
        _event_result(service.reparent(session, code=code, parent=parent, effective=effective, legal_basis=legal_basis), fmt)


@units.group("geometry")
def geometry() -> None:
    """Unit boundaries for the map."""


@geometry.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--code-field", help="The property holding the unit code (default: the first of "
              "code, unit_code, ma, ma_xa, maxa, ma_dvhc, madvhc, ma_phuong, id).")
@click.option("--era", type=click.Choice(["auto", "old"]), default="auto",
              help="old: bare codes are communes of the structure before 1 July 2025.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def geometry_import_cmd(path: str, code_field: str | None, era: str, fmt: str) -> None:
    """Import commune boundaries (GeoJSON or shapefile in longitude/latitude), keyed by unit code."""
    from chiso.units.geometry import import_geometry

    with db.transaction(_engine()) as session:
        summary = import_geometry(session, path, code_field=code_field, era=era)
    data = summary.to_json()
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("{read} boundaries read: {inserted} new, {updated} updated, {unchanged} unchanged, "
                     "{rejected} rejected.").format(**data))
        if summary.rejects:
            emit_table(data["rejects"], [("line", _("feature")), ("reason", _("reason"))])
            click.echo(_("Rejected rows and their reasons: {path}").format(path=summary.rejects_path))


@click.group()
def groups() -> None:
    """Groups of units that are ranked separately."""


@groups.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def groups_list(fmt: str) -> None:
    """List the unit groups."""
    with db.transaction(_engine()) as session:
        rows = service.list_groups(session)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("code", _("code")), ("name", _("name")), ("set", _("group set"))])


@groups.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Vietnamese name of the group.")
@click.option("--name-en", "name_en", help="English name.")
@click.option("--set", "group_set", required=True, help="Group set it belongs to (created if new).")
def groups_create(code: str, name: str, name_en: str | None, group_set: str) -> None:
    """Create a group of units ranked together."""
    with db.transaction(_engine()) as session:
        service.create_group(session, code=code, name=name, name_en=name_en, group_set=group_set)
    click.echo(_("Group {code} created.").format(code=code))


@groups.command("members")
@click.argument("group")
@click.option("--as-of", "as_of", type=DATE)
@click.option("--format", "fmt", type=FORMATS, default="table")
def groups_members(group: str, as_of: date | None, fmt: str) -> None:
    """List the members of a group on a date."""
    with db.transaction(_engine()) as session:
        rows = [u.to_json() for u in service.group_members(session, group, as_of=as_of)]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, UNIT_COLUMNS())


@groups.command("add")
@click.argument("group")
@click.argument("codes", nargs=-1, required=True)
@click.option("--from", "valid_from", type=DATE, help="Member from this date.")
def groups_add(group: str, codes: tuple[str, ...], valid_from: date | None) -> None:
    """Add units to a group."""
    with db.transaction(_engine()) as session:
        n = service.add_to_group(session, group, list(codes), valid_from=valid_from)
    click.echo(_("{n} unit(s) added to {group}.").format(n=n, group=group))


@groups.command("remove")
@click.argument("group")
@click.argument("codes", nargs=-1, required=True)
@_effective
def groups_remove(group: str, codes: tuple[str, ...], effective: date) -> None:
    """End units' membership of a group from a date (history is kept)."""
    with db.transaction(_engine()) as session:
        n = service.remove_from_group(session, group, list(codes), effective=effective)
    click.echo(_("{n} membership(s) ended in {group}.").format(n=n, group=group))
