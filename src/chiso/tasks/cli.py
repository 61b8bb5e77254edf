"""``chiso tasks`` and ``chiso committee``: the steering committee's work programme."""

from __future__ import annotations

from datetime import date

from pathlib import Path

import click

from chiso import db
from chiso.auth.permissions import command_line
from chiso.clitools import DATE, FORMATS, engine_ready, exit_if_refused
from chiso.i18n import _
from chiso.output import emit_json, emit_table
from chiso.tasks import charter, service
from chiso.tasks import meetings as meetings_service

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
    exit_if_refused(summary)


@tasks.command("list")
@click.option("--unit", help="Only this unit's tasks and those of the units below it.")
@click.option("--status", help="A status as of the date: not_started, in_progress, done_on_time, "
              "done_late, overdue, cancelled (or done for both kinds of done).")
@click.option("--as-of", "as_of", type=DATE, help="Statuses as of this date (default: today).")
@click.option("--meeting", help="Only the conclusions of this meeting, by point.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(unit: str | None, status: str | None, as_of: date | None, meeting: str | None, fmt: str) -> None:
    """List tasks with their status as of a date."""
    with db.transaction(_engine()) as session:
        rows = service.list_tasks(session, unit=unit, status=status, as_of=as_of, meeting=meeting)
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
@click.option("--role", help="Role in the committee: Trưởng ban, Phó Trưởng ban, Thành viên, Tổ trưởng...")
@click.option("--email")
@click.option("--unit", "unit_codes", multiple=True, help="A commune or agency this member follows (repeat).")
@click.option("--title", help="Their office (chức vụ), e.g. Phó Chủ tịch UBND tỉnh.")
@click.option("--body", type=click.Choice(service.BODIES), help="committee (default for a new member) or support_team.")
@click.option("--field", "fields", multiple=True, help="A field they follow (repeat).")
@click.option("--joined", type=DATE, help="The day they joined.")
@click.option("--left", type=DATE, help="The day they left (they are kept, with their history).")
@click.option("--on", "on", type=DATE, help="The day of this change, for the history (default: today).")
def committee_add(code: str, name: str, role: str | None, email: str | None, unit_codes: tuple[str, ...],
                  title: str | None, body: str | None, fields: tuple[str, ...], joined: date | None,
                  left: date | None, on: date | None) -> None:
    """Add or update a committee member."""
    with db.transaction(_engine()) as session:
        service.add_member(session, actor=command_line(), code=code, name=name, role=role, email=email,
                           unit_codes=list(unit_codes), title=title, body=body, fields=list(fields) or None,
                           joined_on=joined, left_on=left, on=on)


@committee.command("list")
@click.option("--on", "on", type=DATE, help="Only the members serving on this day.")
@click.option("--body", type=click.Choice(service.BODIES), help="Only the committee or only the support team.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def committee_list(on: date | None, body: str | None, fmt: str) -> None:
    """List the committee members."""
    with db.transaction(_engine()) as session:
        rows = service.members_on(session, on, body=body) if on else [
            r for r in service.list_members(session) if body is None or r["body"] == body]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([dict(r, units=", ".join(r["units"]), fields="; ".join(r["fields"])) for r in rows],
                   [("code", _("code")), ("name", _("name")), ("title", _("title")), ("role", _("role")),
                    ("body", _("body")), ("units", _("units")), ("fields", _("fields")), ("joined_on", _("joined")),
                    ("left_on", _("left"))])


@committee.command("history")
@click.argument("code")
@click.option("--format", "fmt", type=FORMATS, default="table")
def committee_history(code: str, fmt: str) -> None:
    """Every change of one member: joined, changed, left."""
    with db.transaction(_engine()) as session:
        rows = service.member_history(session, code)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("on", _("date")), ("change", _("change")), ("by", _("by"))])


@committee.command("document")
@click.option("--kind", type=click.Choice(charter.KINDS), required=True)
@click.option("--number", required=True, help="Number and symbol, e.g. 123/QĐ-UBND.")
@click.option("--title", required=True)
@click.option("--signed-on", "signed_on", type=DATE, required=True)
@click.option("--signed-by", "signed_by")
@click.option("--effective-from", "effective_from", type=DATE)
@click.option("--summary", help="What it settles: functions, powers, working regime...")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The signed file.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def committee_document(kind: str, number: str, title: str, signed_on: date, signed_by: str | None,
                       effective_from: date | None, summary: str | None, path: Path | None, fmt: str) -> None:
    """Keep one of the committee's documents: establishment, working rules, programme."""
    with db.transaction(_engine()) as session:
        row = charter.document_json(charter.add_document(
            session, actor=command_line(), kind=kind, number=number, title=title, signed_on=signed_on,
            signed_by=signed_by, effective_from=effective_from, summary=summary, path=path))
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([row], DOC_COLUMNS())


DOC_COLUMNS = lambda: [  # noqa: E731
    ("kind", _("kind")), ("number", _("number")), ("title", _("title")), ("signed_on", _("signed on")),
    ("effective_from", _("effective from")), ("replaced_on", _("replaced on")), ("file", _("file")),
]


@committee.command("documents")
@click.option("--format", "fmt", type=FORMATS, default="table")
def committee_documents(fmt: str) -> None:
    """List the committee's documents, in force and replaced."""
    with db.transaction(_engine()) as session:
        rows = charter.list_documents(session)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, DOC_COLUMNS())


# --------------------------------------------------------------------------- meetings


@click.group()
def meetings() -> None:
    """Meetings of the steering committee and their conclusions, each point a task."""


MEETING_COLUMNS = lambda: [  # noqa: E731
    ("id", _("id")), ("date", _("date")), ("kind", _("kind")), ("chair", _("chair")), ("total", _("conclusions")),
    ("done", _("done")), ("late", _("late")), ("overdue", _("overdue")), ("open", _("open")),
]


def _meeting_row(row: dict) -> dict:
    return dict(row, **row["conclusions"])


@meetings.command("add")
@click.option("--date", "held_on", type=DATE, required=True, help="The day it was held.")
@click.option("--kind", type=click.Choice(meetings_service.KINDS), required=True)
@click.option("--chair", required=True, help="Who chaired it.")
@click.option("--title")
@click.option("--place")
@click.option("--attendee", "attendees", multiple=True, help="A committee member who attended, by code (repeat).")
@click.option("--minutes", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The minutes, as a file.")
@click.option("--id", "code", help="Its id (default: HOP-<yyyymmdd>).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def meetings_add(held_on: date, kind: str, chair: str, title: str | None, place: str | None,
                 attendees: tuple[str, ...], minutes: Path | None, code: str | None, fmt: str) -> None:
    """Record a meeting: day, kind, chair, attendees and minutes."""
    with db.transaction(_engine()) as session:
        m = meetings_service.add_meeting(session, actor=command_line(), held_on=held_on, kind=kind, chair=chair,
                                         title=title, place=place, attendees=attendees, minutes=minutes, code=code)
        row = meetings_service.meeting_json(session, m, date.today())
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([_meeting_row(row)], MEETING_COLUMNS())


@meetings.command("conclude")
@click.argument("meeting_id")
@click.option("--owner", required=True, help="Who does it (rõ người).")
@click.option("--unit", required=True, help="The responsible unit (rõ trách nhiệm).")
@click.option("--deadline", type=DATE, required=True, help="By when (rõ thời gian).")
@click.option("--title", required=True, help="What is to be done (rõ việc).")
@click.option("--product", required=True, help="What it yields (rõ sản phẩm).")
@click.option("--authority", required=True, help="Who accepts it (rõ thẩm quyền).")
@click.option("--description")
@click.option("--coordinating", "coordinating", multiple=True, help="A coordinating unit (repeat).")
@click.option("--member", "member_in_charge", help="The committee member who follows it.")
@click.option("--point", type=int, help="Its number in the notice (default: the next).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def meetings_conclude(meeting_id: str, owner: str, unit: str, deadline: date, title: str, product: str,
                      authority: str, description: str | None, coordinating: tuple[str, ...],
                      member_in_charge: str | None, point: int | None, fmt: str) -> None:
    """Add a conclusion point to a meeting: a task with the six clear fields."""
    with db.transaction(_engine()) as session:
        task = meetings_service.conclude(session, actor=command_line(), meeting=meeting_id, owner=owner, unit=unit,
                                         deadline=deadline, title=title, product=product, authority=authority,
                                         description=description, coordinating=coordinating,
                                         member_in_charge=member_in_charge, point=point)
        row = {"id": task.code, "task": task.code, "meeting": meeting_id, "point": task.meeting_point}
    if fmt == "json":
        emit_json(row)
    else:
        emit_table([row], [("task", _("task")), ("meeting", _("meeting")), ("point", _("point"))])


@meetings.command("list")
@click.option("--as-of", "as_of", type=DATE, help="Count the conclusions as of this date (default: today).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def meetings_list(as_of: date | None, fmt: str) -> None:
    """List meetings with how many of their conclusions are done, late, overdue."""
    with db.transaction(_engine()) as session:
        rows = meetings_service.list_meetings(session, as_of=as_of)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table([_meeting_row(r) for r in rows], MEETING_COLUMNS())


@meetings.command("agenda")
@click.option("--meeting", help="The next meeting, already recorded (default: as of --as-of).")
@click.option("--as-of", "as_of", type=DATE, help="The day (default: today).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def meetings_agenda(meeting: str | None, as_of: date | None, fmt: str) -> None:
    """The next meeting's agenda draft: conclusions of earlier meetings still open."""
    with db.transaction(_engine()) as session:
        data = meetings_service.agenda(session, meeting=meeting, as_of=as_of)
    if fmt == "json":
        emit_json(data)
    else:
        emit_table(data["open"], [("meeting", _("meeting")), ("point", _("point")), ("task", _("task")),
                                  ("title", _("title")), ("owner", _("owner")), ("deadline", _("deadline")),
                                  ("status", _("status"))])


@meetings.command("minutes")
@click.argument("meeting_id")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def meetings_minutes(meeting_id: str, path: Path) -> None:
    """Keep a meeting's minutes (biên bản) as evidence."""
    with db.transaction(_engine()) as session:
        meetings_service.attach_minutes(session, actor=command_line(), code=meeting_id, path=path)
