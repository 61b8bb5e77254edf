"""The steering committee's pages: the targets heat map (units × targets in green, amber,
red) and the task board (by status, unit, member in charge and deadline), and one task's
page with its six "clear" fields, progress history and evidence."""

from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.web.dashboard import common
from chiso.web.dashboard.overview import steering_lists
from chiso.web.dashboard.page import fragments, page

router = APIRouter()
BOARD = ("overdue", "in_progress", "not_started", "done_on_time", "done_late", "cancelled")


def heat(app: FastAPI, session: Session) -> dict:
    """Every (target, unit) light today, as plain data, cached until the store, a target, a
    manual value or the day changes."""
    from chiso.targets import lights
    from chiso.targets import service as targets
    from chiso.targets.models import ManualValue, Target

    day = common.today()

    def load():
        items = targets.items(session, as_of=day, store=app.state.store)
        cols = [{"code": t["code"], "name": t["name"] or t["code"], "indicator": t["indicator"], "goal": t["goal"],
                 "deadline": t["deadline"], "direction": t["direction"]} for t in targets.list_targets(session)]
        cells: dict[str, dict[str, dict]] = {}
        for i in items:
            cells.setdefault(i.unit.code, {})[i.target.code] = {"colour": i.light.colour, "value": i.value,
                                                                "why": i.light.why}
        rollup = {u: lights.roll_up([c["colour"] for c in by_t.values()]) for u, by_t in cells.items()}
        return {"cols": cols, "cells": cells, "rollup": rollup,
                "province": lights.roll_up([i.light.colour for i in items]) if items else "no_data"}

    stamp = common.table_stamp(session, Target, ManualValue)
    return common.cached(app, session, "heat", (day.isoformat(), stamp), load, language=True)


@router.get("/targets")
def targets_page(request: Request, colour: str = "", actor: Actor = Depends(get_user_actor),
                 session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    reg = common.registry(app, session)
    data = heat(app, session)
    units = [c for c in data["cells"] if common.visible(actor, reg.get(c))]
    order = {"red": 0, "amber": 1, "no_data": 2, "green": 3}
    units.sort(key=lambda c: (order.get(data["rollup"][c], 9), reg[c].name if c in reg else c))
    if colour in order:
        units = [c for c in units if data["rollup"][c] == colour]
    counts = Counter(data["rollup"][c] for c in data["cells"] if common.visible(actor, reg.get(c)))
    cols = visible_targets(actor, reg, data)
    from chiso.targets.models import ManualValue, Target

    items = [{"unit": c, "name": reg[c].name if c in reg else c, "cells": data["cells"][c], "rollup": data["rollup"][c]}
             for c in data["cells"]]
    row_html = fragments(request, session, "heat", (common.today().isoformat(), tuple(t["code"] for t in cols)),
                         "heat_row", items, lambda i: i["unit"], cols,
                         stamp=common.table_stamp(session, Target, ManualValue))
    names = common.indicator_names()
    indicator_name = {t["indicator"]: names.get(t["indicator"][4:]) if t["indicator"].startswith("766.") else None
                      for t in cols}
    return page(request, "targets.html", cols=cols, indicator_name=indicator_name, cells=data["cells"], rollup=data["rollup"], units=units,
                reg=reg, counts=counts, colour=colour, today=common.today(), row_html=row_html, province=data["province"] if actor.province_wide else None,
                live_url="/targets")


def visible_targets(actor: Actor, reg: dict, data: dict) -> list[dict]:
    """The targets that apply to at least one unit the actor sees (all, province-wide)."""
    if actor.units is None:
        return data["cols"]
    seen = {t for u, by_t in data["cells"].items() if common.visible(actor, reg.get(u)) for t in by_t}
    return [t for t in data["cols"] if t["code"] in seen]


def members(app: FastAPI, session: Session) -> list[dict]:
    from chiso.tasks import service as tasks
    from chiso.tasks.models import CommitteeMember, MemberUnit

    stamp = common.table_stamp(session, CommitteeMember, MemberUnit)
    return common.cached(app, session, "members", stamp, lambda: tasks.list_members(session), store=False)


@router.get("/tasks")
def board(request: Request, status: str = "", unit: str = Query("", max_length=64),
          member: str = Query("", max_length=64), due_before: str = Query("", max_length=10),
          actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    reg = common.registry(app, session)
    rows = common.in_scope(app, session, actor, steering_lists(app, session)["tasks"])
    if status:
        rows = [t for t in rows if t["status"] == status]
    if unit:
        rows = [t for t in rows if t["unit"] == unit]
    if member:
        rows = [t for t in rows if t["member_in_charge"] == member]
    try:
        limit = date.fromisoformat(due_before) if due_before else None
    except ValueError:
        limit = None
    if limit:
        rows = [t for t in rows if t["deadline"] <= limit.isoformat()]
    day = common.today()
    rows = [dict(t, days_overdue=(day - date.fromisoformat(t["deadline"])).days) if t["status"] == "overdue" else t
            for t in rows]
    columns = [{"status": s, "tasks": [t for t in rows if t["status"] == s]} for s in BOARD]
    used_units = sorted({t["unit"] for t in common.in_scope(app, session, actor, steering_lists(app, session)["tasks"])},
                        key=lambda c: reg[c].name if c in reg else c)
    people = members(app, session)
    from chiso.tasks import meetings as meeting_service

    by_meeting = meeting_service.conclusion_counts(session, as_of=day) if actor.province_wide else []
    return page(request, "tasks.html", by_meeting=by_meeting, columns=[c for c in columns if c["tasks"] or not status], reg=reg,
                members=people, member_names={m["code"]: m["name"] for m in people}, status=status, unit=unit, member=member, due_before=due_before,
                units=used_units, statuses=BOARD, total=len(rows), live_url="/tasks")


@router.get("/tasks/{code}")
def task_page(request: Request, code: str, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import service as tasks

    require(actor, "read")
    try:
        task = tasks.get(session, code)
    except NotFound:
        raise NotFound(_("Unknown task: {id}").format(id=code)) from None
    if not actor.sees(task.unit_id):
        raise NotFound(_("Unknown task: {id}").format(id=code))
    day = common.today()
    view = tasks.to_json(task, day)
    reg = common.registry(request.app, session)
    member = task.member
    history = [{"on": p.on, "percent": p.percent, "note": p.note, "by": p.by, "evidence": p.evidence_name,
                "href": f"/tasks/{task.code}/evidence/{p.evidence_sha256}" if p.evidence_sha256 else None,
                "sha256": p.evidence_sha256, "size": p.evidence_size} for p in sorted(task.progress, key=lambda p: (p.on, p.id))]
    chart = [(common.fmt_date(h["on"]), float(h["percent"])) for h in history]
    return page(request, "task.html", task=view, t=task, reg=reg, member=member, history=history, chart=chart,
                live_url=f"/tasks/{code}")


SHA256 = Path(pattern="^[0-9a-f]{64}$")


@router.get("/tasks/{code}/evidence/{sha256}")
def task_evidence(request: Request, code: str, sha256: str = SHA256, actor: Actor = Depends(get_user_actor),
                  session: Session = Depends(get_db, scope="function")):
    """An evidence file of a task's progress report, for whoever sees the task's unit (404
    for everyone else, as the task itself); each download is in the audit trail."""
    from chiso.audit import service as audit
    from chiso.http.downloads import attachment
    from chiso.tasks import service as tasks

    require(actor, "read")
    try:
        task = tasks.get(session, code)
    except NotFound:
        raise NotFound(_("Unknown task: {id}").format(id=code)) from None
    if not actor.sees(task.unit_id):
        raise NotFound(_("Unknown task: {id}").format(id=code))
    report = next((p for p in task.progress if p.evidence_sha256 == sha256), None)
    if report is None:
        raise NotFound(_("Task {id} has no such evidence file.").format(id=task.code))
    data = read_evidence(session, sha256)
    audit.record(session, actor=actor, action="evidence.download", object_type="task", object_key=task.code,
                 unit_id=task.unit_id, after={"name": report.evidence_name, "sha256": sha256})
    return attachment(data, report.evidence_name or sha256, report.evidence_type or "application/octet-stream")


def read_evidence(session: Session, sha256: str) -> bytes:
    """The stored content; a file missing from the store is a 404 that says so."""
    from chiso.assessments import evidence

    if not evidence.blob_path(sha256, where=session).exists():
        raise NotFound(_("Evidence file {sha} is missing from the store.").format(sha=sha256))
    return evidence.read(sha256, where=session)
