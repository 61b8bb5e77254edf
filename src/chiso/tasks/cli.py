"""``chiso tasks`` and ``chiso committee``: the steering committee's work programme."""

from __future__ import annotations

from datetime import date

from pathlib import Path

import click

from chiso import db
from chiso.auth.permissions import command_line
from chiso.clitools import DATE, FORMATS, engine_ready
from chiso.i18n import _
from chiso.output import emit_json, emit_table, error
from chiso.tasks import service

_engine = engine_ready

TASK_COLUMNS = lambda: [  # noqa: E731  (headings are translated when printed)
    ("id", _("id")), ("title", _("title")), ("unit", _("unit")), ("owner", _("owner")),
    ("deadline", _("deadline")), ("status", _("status")), ("progress", _("progress")),
]


@click.group()
def tasks() -> None:
    """Steering tasks: import the work programme, follow progress, see what is late."""


@tasks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="table")
def import_cmd(path: str, fmt: str) -> None:
    """Import a work programme (CSV or XLSX); a file with any bad row imports nothing."""
    with db.transaction(_engine()) as session:
        summary = service.import_tasks(session, actor=command_line(), path=path)
    data = summary.to_json()
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(_("read {read}, imported {imported}, updated {updated}, unchanged {unchanged}, rejected {rejected}")
                   .format(**data))
        if summary.rejects:
            emit_table(data["rejects"], [("line", _("line")), ("reason", _("reason"))])
    if summary.refused:
        # The summary is the answer, but the file was refused as a whole: a script must see it fail.
        error(_("{n} rows rejected, nothing imported; see {path}.").format(
            n=summary.rejected, path=summary.rejects_path))
        raise click.exceptions.Exit(1)


@tasks.command("list")
@click.option("--unit", help="Only this unit's tasks and those of the units below it.")
@click.option("--status", help="A status as of the date: not_started, in_progress, done_on_time, "
              "done_late, overdue, cancelled (or done for both kinds of done).")
@click.option("--as-of", "as_of", type=DATE, help="Statuses as of this date (default: today).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(unit: str | None, status: str | None, as_of: date | None, fmt: str) -> None:
    """List tasks with their status as of a date."""
    with db.transaction(_engine()) as session:
        rows = service.list_tasks(session, unit=unit, status=status, as_of=as_of)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, TASK_COLUMNS())


@tasks.command("show")
@click.argument("task_id")
@click.option("--as-of", "as_of", type=DATE)
@click.option("--format", "fmt", type=FORMATS, default="table")
def show_cmd(task_id: str, as_of: date | None, fmt: str) -> None:
    """Show one task, its six clear fields and its progress reports."""
    with db.transaction(_engine()) as session:
        task = service.get(session, task_id)
        row = service.to_json(task, as_of or date.today())
        row["updates"] = [{"on": p.on.isoformat(), "percent": p.percent, "note": p.note, "by": p.by}
                          for p in task.progress]
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([{"field": k, "value": v} for k, v in row.items() if k != "updates"],
                   [("field", _("field")), ("value", _("value"))])
        if row["updates"]:
            emit_table(row["updates"], [("on", _("date")), ("percent", _("percent")), ("note", _("note")),
                                        ("by", _("by"))])


def _one(fmt: str, task) -> None:
    row = service.to_json(task, date.today())
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([row], TASK_COLUMNS())


@tasks.command("update")
@click.argument("task_id")
@click.option("--progress", type=click.IntRange(0, 100), required=True, help="Percent done, 0 to 100.")
@click.option("--note")
@click.option("--by", "by", help="Who reports.")
@click.option("--on", "on", type=DATE, help="Date of the report (default: today).")
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="An evidence file.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def update_cmd(task_id: str, progress: int, note: str | None, by: str | None, on: date | None,
               evidence: Path | None, fmt: str) -> None:
    """Report progress on a task (appended, never edited)."""
    with db.transaction(_engine()) as session:
        task = service.update_progress(session, actor=command_line(by), code=task_id, percent=progress, note=note,
                                       on=on, evidence=evidence)
        _one(fmt, task)


@tasks.command("done")
@click.argument("task_id")
@click.option("--on", "on", type=DATE, help="The day it was completed (default: today).")
@click.option("--note")
@click.option("--by", "by")
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The product, as a file.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def done_cmd(task_id: str, on: date | None, note: str | None, by: str | None, evidence: Path | None, fmt: str) -> None:
    """Mark a task done."""
    with db.transaction(_engine()) as session:
        task = service.mark_done(session, actor=command_line(by), code=task_id, on=on or date.today(), note=note,
                                 evidence=evidence)
        _one(fmt, task)


@tasks.command("cancel")
@click.argument("task_id")
@click.option("--reason", required=True, help="Why it is cancelled (required).")
@click.option("--by", "by")
@click.option("--format", "fmt", type=FORMATS, default="table")
def cancel_cmd(task_id: str, reason: str, by: str | None, fmt: str) -> None:
    """Cancel a task, with a reason."""
    with db.transaction(_engine()) as session:
        task = service.cancel(session, actor=command_line(by), code=task_id, reason=reason)
        _one(fmt, task)


@tasks.command("rollup")
@click.option("--period", required=True, help="A period code: 2025, 2025-Q4, 2025-12...")
@click.option("--by", "by", type=click.Choice(["unit", "owner"]), default="unit", show_default=True)
@click.option("--as-of", "as_of", type=DATE, help="Statuses as of this date (default: end of period or today).")
@click.option("--rule", type=click.Path(exists=True, dir_okay=False), help="A score rule YAML (default: the shipped one).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def rollup_cmd(period: str, by: str, as_of: date | None, rule: str | None, fmt: str) -> None:
    """Per unit or person: tasks due in the period, done on time, late, overdue, and the score."""
    with db.transaction(_engine()) as session:
        rows = service.rollup(session, period=period, by=by, as_of=as_of,
                              rule=service.load_score_rule(rule) if rule else None)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [(by, _("unit") if by == "unit" else _("owner")), ("assigned", _("assigned")),
                          ("done_on_time", _("on time")), ("done_late", _("late")), ("overdue", _("overdue")),
                          ("open", _("open")), ("cancelled", _("cancelled")), ("score", _("score"))])


@click.group()
def committee() -> None:
    """The steering committee: members, roles and the units each is in charge of."""


@committee.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--role")
@click.option("--email")
@click.option("--unit", "unit_codes", multiple=True, help="A unit in this member's charge (repeat).")
def committee_add(code: str, name: str, role: str | None, email: str | None, unit_codes: tuple[str, ...]) -> None:
    """Add or update a committee member."""
    with db.transaction(_engine()) as session:
        service.add_member(session, actor=command_line(), code=code, name=name, role=role, email=email,
                           unit_codes=list(unit_codes))


@committee.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def committee_list(fmt: str) -> None:
    """List the committee members."""
    with db.transaction(_engine()) as session:
        rows = service.list_members(session)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([dict(r, units=", ".join(r["units"])) for r in rows],
                   [("code", _("code")), ("name", _("name")), ("role", _("role")), ("email", _("e-mail")),
                    ("units", _("units"))])
