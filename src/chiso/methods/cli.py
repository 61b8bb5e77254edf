"""``chiso methods``: list, validate and document index methods (phương pháp tính chỉ số)."""

from __future__ import annotations

from pathlib import Path

import click

from chiso.clitools import FORMATS
from chiso.i18n import _
from chiso.methods import docs, loader
from chiso.output import emit_json, emit_table


@click.group()
def methods() -> None:
    """Index methods: the versioned definition files the scores are computed from."""


@methods.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """List the shipped methods and their versions."""
    rows = [
        {
            "id": m.id,
            "family": m.family,
            "version": m.version,
            "name": m.name,
            "name_en": m.name_en,
            "default": m.default,
            "effective_from": m.effective_from,
            "confidence": m.confidence.mark,
            "file": Path(m.path).name if m.path else None,
        }
        for m in loader.load_shipped()
    ]
    if fmt == "json":
        emit_json(rows)
        return
    for row in rows:
        row["default"] = _("yes") if row["default"] else ""
    emit_table(rows, [("id", _("method")), ("family", _("family")), ("version", _("version")),
                      ("default", _("default")), ("name", _("name"))])


@methods.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def validate_cmd(file: str) -> None:
    """Check a definition file; print every problem, one per line (exit 1 if any)."""
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
