"""``chiso rounds``: assessment rounds, from self-assessment to the published ranking."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

import click

from chiso import db
from chiso.assessments import published, service, surveys as survey_service
from chiso.auth.permissions import Actor, command_line
from chiso.methods.bands import band_name
from chiso.clitools import FORMATS, engine_ready
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.output import emit_json, emit_table

_engine = engine_ready


def _as(name: str | None) -> Actor:
    """The command line acting as ``--actor`` or, without one, as ``CHISO_USER`` or the
    machine's user: the name the round's log has always kept."""
    return command_line(name or _actor())


def _actor() -> str:
    try:
        return os.environ.get("CHISO_USER") or getpass.getuser()
    except Exception:  # no user name in a container without /etc/passwd entry
        return "unknown"


_by = click.option("--by", "actor", default=None, help="Who does this (default: the login name).")


def _read_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
    except json.JSONDecodeError as exc:
        raise ChisoError(_("{path}: not valid JSON: {reason}").format(path=path, reason=exc)) from None
    if not isinstance(data, dict):
        raise ChisoError(_("{path}: expected a JSON object of node id → value.").format(path=path))
    return data


def _split_input(data: dict[str, Any], text_key: str) -> tuple[dict, dict, dict]:
    """(values, texts, inputs) from either ``{"values": {...}, "notes"/"comments": {...},
    "inputs": {...}}`` or a flat ``{node: value | {"value": v, "note"/"comment": "..."}}``."""
    if isinstance(data.get("values"), dict):
        return dict(data["values"]), dict(data.get(text_key + "s") or {}), dict(data.get("inputs") or {})
    values, texts = {}, {}
    for node, item in data.items():
        if isinstance(item, dict):
            if "value" in item:
                values[node] = item["value"]
            if item.get(text_key):
                texts[node] = item[text_key]
        else:
            values[node] = item
    return values, texts, {}


@click.group()
def rounds() -> None:
    """Assessment rounds: self-assessment, evidence, appraisal, approval, surveys, results."""


@rounds.command("create")
@click.argument("code")
@click.option("--method", required=True, help="A shipped tree method id or a definition file.")
@click.option("--year", type=int, required=True)
@click.option("--name", help="Name of the round (default: the method's name and the year).")
@_by
def create_cmd(code: str, method: str, year: int, name: str | None, actor: str | None) -> None:
    """Create a round of a method version for a year."""
    with db.transaction(_engine()) as session:
        rnd = service.create_round(session, code=code, method=method, year=year, name=name, actor=_as(actor))
        click.echo(_("Round {code} created: {method} version {version}, {year}.").format(
            code=rnd.code, method=rnd.method_id, version=rnd.method_version, year=rnd.year))


@rounds.command("add-units")
@click.argument("round_code", metavar="ROUND")
@click.argument("units", nargs=-1, required=True, metavar="UNIT...")
@click.option("--group", required=True, help="The group these units are ranked in.")
@_by
def add_units_cmd(round_code: str, units: tuple[str, ...], group: str, actor: str | None) -> None:
    """Put units into a round, in one ranking group."""
    with db.transaction(_engine()) as session:
        counts = service.add_units(session, round_code=round_code, units_groups=[(u, group) for u in units],
                                   actor=_as(actor))
    click.echo(_("{inserted} added, {updated} moved to {group}, {unchanged} unchanged.").format(group=group, **counts))


@rounds.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """List the rounds."""
    with db.transaction(_engine()) as session:
        rows = service.list_rounds(session)
    if fmt == "json":
        emit_json(rows)
        return
    for row in rows:
        row["statuses"] = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
    emit_table(rows, [("code", _("round")), ("year", _("year")), ("method", _("method")), ("version", _("version")),
                      ("units", _("units")), ("statuses", _("status"))])


@rounds.command("show")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit")
def show_cmd(round_code: str, unit: str) -> None:
    """Show a unit's assessment: its values, the appraisal, the evidence (JSON)."""
    with db.transaction(_engine()) as session:
        emit_json(service.assessment_view(session, round_code=round_code, unit_code=unit))


@rounds.command("self-assess")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='JSON: {"node": value} or {"node": {"value": v, "note": "..."}}, or {"values", "notes", "inputs"}.')
@_by
def self_assess_cmd(round_code: str, unit: str, input_file: str, actor: str | None) -> None:
    """Save a unit's self-assessment (values and notes per leaf)."""
    values, notes, inputs = _split_input(_read_json(input_file), "note")
    with db.transaction(_engine()) as session:
        service.self_assess(session, round_code=round_code, unit_code=unit, values=values, notes=notes,
                            inputs=inputs, actor=_as(actor))
    click.echo(_("{unit}: {n} values saved; status self-assessed.").format(unit=unit, n=len(values)))


@rounds.command("evidence")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit")
@click.argument("node")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="Name to keep instead of the file's own.")
@_by
def evidence_cmd(round_code: str, unit: str, node: str, file: str, name: str | None, actor: str | None) -> None:
    """Attach an evidence file to a leaf (checked, stored by checksum)."""
    with db.transaction(_engine()) as session:
        ev = service.attach_evidence(session, round_code=round_code, unit_code=unit, node_id=node, path=file,
                                     name=name, actor=_as(actor))
        click.echo(_("{name}: {size} bytes, {type}, sha256 {sha}.").format(
            name=ev.original_name, size=ev.size, type=ev.media_type, sha=ev.sha256))


def _status_cmd(name: str, doc: str, func, with_unit_optional: bool):
    @rounds.command(name, help=doc)
    @click.argument("round_code", metavar="ROUND")
    @click.argument("unit", required=not with_unit_optional)
    @_by
    def cmd(round_code: str, unit: str | None, actor: str | None) -> None:
        with db.transaction(_engine()) as session:
            done = func(session, round_code=round_code, unit_code=unit, actor=_as(actor))
            done = done if isinstance(done, list) else [done]
            for a in done:
                click.echo(f"{a.unit.code}: {service.status_name(a.status)}")

    return cmd


_status_cmd("submit", "Submit a unit's self-assessment to the appraisers.", service.submit, False)
_status_cmd("approve", "Approve a unit, or every unit of the round; approved data is locked.", service.approve, True)
_status_cmd("publish", "Publish approved results of a unit, or of the whole round.", service.publish, True)


@rounds.command("appraise")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='JSON: {"node": value} or {"node": {"value": v, "comment": "..."}}.')
@_by
def appraise_cmd(round_code: str, unit: str, input_file: str, actor: str | None) -> None:
    """Record the appraisers' value and comment per leaf."""
    values, comments, _inputs = _split_input(_read_json(input_file), "comment")
    with db.transaction(_engine()) as session:
        service.appraise(session, round_code=round_code, unit_code=unit, values=values, comments=comments,
                         actor=_as(actor))
    click.echo(_("{unit}: {n} values appraised; status appraised.").format(unit=unit, n=len(values)))


@rounds.command("reopen")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit", required=False)
@click.option("--reason", required=True, help="Why approved data is reopened (recorded).")
@click.option("--to", "to", type=click.Choice(service.REOPEN_TO), default="appraised", show_default=True)
@_by
def reopen_cmd(round_code: str, unit: str | None, reason: str, to: str, actor: str | None) -> None:
    """Reopen approved data of a unit (or of the round); recorded with who and why."""
    with db.transaction(_engine()) as session:
        for a in service.reopen(session, round_code=round_code, unit_code=unit, reason=reason, to=to,
                                actor=_as(actor)):
            click.echo(f"{a.unit.code}: {service.status_name(a.status)}")


@rounds.command("events")
@click.argument("round_code", metavar="ROUND")
@click.argument("unit", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table")
def events_cmd(round_code: str, unit: str | None, fmt: str) -> None:
    """The round's log: every change of status, by whom, when and why."""
    with db.transaction(_engine()) as session:
        rows = service.events(session, round_code=round_code, unit_code=unit)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("at", _("when")), ("unit", _("unit")), ("action", _("action")), ("to", _("status")),
                          ("actor", _("by")), ("reason", _("reason"))])


@rounds.group("surveys")
def surveys_group() -> None:
    """Survey responses and the satisfaction rates they give."""


@surveys_group.command("import")
@click.argument("round_code", metavar="ROUND")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--node", "nodes", multiple=True, metavar="FACTOR=NODE",
              help="Feed a factor into a survey leaf (default: the leaf whose id is the factor).")
@click.option("--format", "fmt", type=FORMATS, default="table")
@_by
def surveys_import_cmd(round_code: str, file: str, nodes: tuple[str, ...], fmt: str, actor: str | None) -> None:
    """Import survey responses (CSV or XLSX, answers 1–5); all or nothing."""
    mapping = {}
    for pair in nodes:
        factor, sep, node = pair.partition("=")
        if not sep or not factor or not node:
            raise click.BadParameter(_("{pair!r} is not FACTOR=NODE").format(pair=pair))
        mapping[factor] = node
    with db.transaction(_engine()) as session:
        summary = survey_service.import_responses(session, round_code=round_code, path=file, nodes=mapping,
                                                  actor=_as(actor))
    if fmt == "json":
        emit_json(summary.to_json())
    else:
        click.echo(_("{read} read, {inserted} rates new, {updated} updated, {unchanged} unchanged, {rejected} rejected.").format(
            read=summary.read, inserted=summary.inserted, updated=summary.updated, unchanged=summary.unchanged,
            rejected=summary.rejected))
        if summary.extra["rates"]:
            emit_table(summary.extra["rates"], [("unit", _("unit")), ("factor", _("factor")), ("node", _("node")),
                                       ("answers", _("answers")), ("rate", _("rate"))])
    if summary.refused:
        raise ChisoError(_("{n} rows rejected, nothing imported; see {path}.").format(
            n=summary.rejected, path=summary.rejects_path))


@rounds.command("import-published")
@click.argument("round_code", metavar="ROUND")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--group", default="published", show_default=True,
              help="The ranking group of units added to the round by this file.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@_by
def import_published_cmd(round_code: str, file: str, group: str, fmt: str, actor: str | None) -> None:
    """Import results published elsewhere (unit, node, value; CSV, XLSX or JSON); all or nothing."""
    with db.transaction(_engine()) as session:
        summary = published.import_published(session=session, round_code=round_code, path=file, group=group,
                                             actor=_as(actor))
    if fmt == "json":
        emit_json(summary.to_json())
    else:
        click.echo(_("{read} read, {added} units added, {inserted} values new, {updated} updated, {unchanged} "
                     "unchanged, {rejected} rejected.").format(
            read=summary.read, added=summary.extra["units_added"], inserted=summary.inserted, updated=summary.updated,
            unchanged=summary.unchanged, rejected=summary.rejected))
    if summary.refused:
        first = summary.rejects[0]
        raise ChisoError(_("{n} rows rejected, nothing imported (line {line}: {reason}); see {path}.").format(
            n=summary.rejected, line=first.line, reason=first.reason, path=summary.rejects_path))


RESULT_KEYS = ("unit", "name", "group", "status", "source", "total_points", "max", "value", "band", "rank", "rank_change",
               "value_change", "previous_value", "missing", "nodes")


@rounds.command("results")
@click.argument("round_code", metavar="ROUND")
@click.option("--group", help="Only this ranking group.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def results_cmd(round_code: str, group: str | None, fmt: str) -> None:
    """Scores, ranks per group and change against the previous round; the announcement first."""
    with db.transaction(_engine()) as session:
        rows = service.results(session, round_code=round_code, group=group)
        bands = service.method_of(service.get_round(session, round_code)).bands
    if fmt == "json":
        emit_json([{k: r[k] for k in RESULT_KEYS} for r in rows])
        return
    for r in rows:  # the band's name, as the pages and reports print it, not its id
        r["band"] = band_name(bands, r["band"]) or r["band"]
    for g in service.announcement(rows):
        click.echo(_("Group {group}").format(group=g["group"]))
        for label, key in ((_("1st"), "first"), (_("2nd"), "second"), (_("3rd"), "third"), (_("last"), "last")):
            if g[key]:
                click.echo(f"  {label}: {', '.join(g[key])}")
        emit_table(g["table"], [("rank", _("rank")), ("unit", _("code")), ("name", _("name")),
                                ("total_points", _("points")), ("band", _("band")), ("rank_change", _("rank change")),
                                ("value_change", _("change")), ("status", _("status"))])
        click.echo("")


@click.command("assign")
@click.argument("name")
@click.option("--round", "round_code", required=True, help="Assessment round code.")
@click.option("--unit", help="One unit of the round (none: all its units).")
def assign_cmd(name: str, round_code: str, unit: str | None) -> None:
    """Assign an appraiser to a round, or to one unit of it."""
    with db.transaction(engine_ready()) as session:
        service.assign_appraiser(session, user=name, round_code=round_code, unit=unit, actor=command_line())
    click.echo(_("{name} assigned to {round}.").format(name=name, round=round_code + (f" / {unit}" if unit else "")))

