"""``chiso methods``: list, validate, document and score index methods (phương pháp tính chỉ số)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from chiso.clitools import FORMATS
from chiso.errors import ChisoError
from chiso.i18n import _, current_language
from chiso.methods import docs, loader
from chiso.scoring.model import TreeMethod
from chiso.output import emit_json, emit_table, number

#: Decimals of the numbers ``methods score`` prints: enough for any published value, and
#: no float noise (800.1750000000001).
DECIMALS = 6


@click.group()
def methods() -> None:
    """Index methods: the versioned definition files the scores are computed from."""


@methods.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """List the shipped methods of both kinds and their versions."""
    rows = [
        {
            "id": m.id,
            "kind": m.kind,
            "family": m.family,
            "version": m.version,
            "name": m.name,
            "name_en": m.name_en,
            "default": m.default,
            "effective_from": m.effective_from,
            "confidence": m.confidence.mark,
            "file": Path(m.path).name if m.path else None,
        }
        for m in loader.load_shipped(kind=None)
    ]
    if fmt == "json":
        emit_json(rows)
        return
    for row in rows:
        row["default"] = _("yes") if row["default"] else ""
        row["kind"] = _("tree") if row["kind"] == "tree" else _("flat")
    emit_table(rows, [("id", _("method")), ("kind", _("kind")), ("family", _("family")), ("version", _("version")),
                      ("default", _("default")), ("name", _("name"))])


@methods.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def validate_cmd(file: str) -> None:
    """Check a definition file of either kind; print every problem, one per line (exit 1 if any)."""
    problems = loader.validate(file)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(_("{file}: no problems").format(file=file))


@methods.command("docs")
@click.option("--out", "out", type=click.Path(file_okay=False), default="docs/methods", show_default=True,
              help="Folder to write the pages into.")
def docs_cmd(out: str) -> None:
    """Write the documentation page of every shipped method."""
    for path in docs.write(out):
        click.echo(_("wrote {path}").format(path=path))


# --- scoring a criteria tree -------------------------------------------------------------------


def _read_units(path: str) -> dict[str, dict[str, Any]]:
    """FILE: a JSON object, unit name → {node id or input name → value}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChisoError(_("{file}: not a readable JSON file: {reason}").format(file=path, reason=exc)) from None
    if not isinstance(data, dict) or not data:
        raise ChisoError(_("{file}: expected a JSON object mapping each unit's name to its values").format(file=path))
    for unit, values in data.items():
        if not isinstance(values, dict):
            raise ChisoError(_("{file}: {unit}: expected an object mapping node ids to values").format(file=path, unit=unit))
    return data


def _parse_merges(merges: tuple[str, ...], units: dict[str, Any]) -> dict[str, list[str]]:
    """``NEW=OLD1,OLD2``: the merged unit's name and its former units, each in FILE once."""
    out: dict[str, list[str]] = {}
    taken: dict[str, str] = {}
    for spec in merges:
        new, sep, olds = spec.partition("=")
        parts = [p.strip() for p in olds.split(",") if p.strip()]
        new = new.strip()
        if not sep or not new or len(parts) < 2 or len(set(parts)) != len(parts):
            raise click.BadParameter(_("{spec!r}: write NEW=OLD1,OLD2 with at least two different former units").format(
                spec=spec), param_hint="--merge")
        if new in out:
            raise click.BadParameter(_("{name} is formed twice").format(name=new), param_hint="--merge")
        for old in parts:
            if old not in units:
                raise click.BadParameter(_("{name} is not a unit of the input file").format(name=old), param_hint="--merge")
            if old in taken:
                raise click.BadParameter(_("{name} is merged into both {a} and {b}").format(
                    name=old, a=taken[old], b=new), param_hint="--merge")
            taken[old] = new
        if new in units and new not in parts:
            raise click.BadParameter(_("{name} is already a unit of the input file").format(name=new), param_hint="--merge")
        out[new] = parts
    return out


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return value
    return round(value, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _plain(part: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, float) else v for k, v in part.items()}


@methods.command("score")
@click.argument("method_id")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON: unit name → {node id → value in the node's published form (a leaf: what its rule reads)}.")
@click.option("--merge", "merges", multiple=True, metavar="NEW=OLD1,OLD2",
              help="Form a unit by the method's merge rule from units of the input file; ranked instead of them.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def score_cmd(method_id: str, input_file: str, merges: tuple[str, ...], fmt: str) -> None:
    """Score and rank units under a tree method (DTI, PAR Index, SIPAS, a template), storing nothing."""
    from chiso.scoring.tree import check_scorable, merge, rank, score_tree

    method = loader.load(method_id, kind="tree")
    assert isinstance(method, TreeMethod)
    check_scorable(method)
    units = _read_units(input_file)
    merged = _parse_merges(merges, units)

    values: dict[str, dict[str, Any]] = {}
    inputs: dict[str, dict[str, Any]] = {}
    for unit, given in units.items():
        # Input names differ from node ids (checked on load): one object carries both.
        values[unit] = {k: v for k, v in given.items() if k not in method.inputs}
        inputs[unit] = {k: v for k, v in given.items() if k in method.inputs}

    def scored(unit: str, unit_values: dict[str, Any], unit_inputs: dict[str, Any]):
        try:
            return score_tree(method, unit_values, inputs=unit_inputs)
        except ChisoError as exc:
            raise ChisoError(_("{unit}: {problem}").format(unit=unit, problem=exc)) from None

    parts = {old for olds in merged.values() for old in olds}
    scores = {unit: scored(unit, values[unit], inputs[unit]) for unit in units if unit not in parts}
    for new, olds in merged.items():
        try:
            merged_values = merge(method, {o: values[o] for o in olds}, inputs={o: inputs[o] for o in olds})
        except ChisoError as exc:
            raise ChisoError(_("{unit}: {problem}").format(unit=new, problem=exc)) from None
        scores[new] = scored(new, merged_values, {})
    ranks = rank(scores, tolerance=method.rank_tolerance)
    # Within a tie, the higher exact total first, then by name.
    order = sorted(scores, key=lambda u: (ranks[u] is None, ranks[u] or 0, -scores[u].total_points, u))

    rows = []
    for unit in order:
        s = scores[unit]
        rows.append({
            "unit": unit,
            "total_points": _round(s.total_points),
            "value": _round(s.value),
            "band": s.band,
            "rank": ranks[unit],
            "nodes": {k: _plain(v.to_dict()) for k, v in s.nodes.items()},
            "groupings": {k: _plain(v.to_dict()) for k, v in s.groupings.items()},
        })
    if fmt == "json":
        emit_json(rows)
        return
    decimals = 4 if method.publish == "ratio" else 2
    vietnamese = current_language() == "vi"
    bands = {b.id: b.name if vietnamese else b.name_en for b in method.bands}
    table = [
        {"rank": r["rank"], "unit": r["unit"], "total_points": r["total_points"],
         "value": None if r["value"] is None else number(r["value"], decimals), "band": bands.get(r["band"])}
        for r in rows
    ]
    emit_table(table, [("rank", _("rank")), ("unit", _("unit")), ("total_points", _("points")),
                       ("value", _("value")), ("band", _("band"))])
