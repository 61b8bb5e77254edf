"""Steering tasks: import a work programme, derive statuses as of a date, record progress,
roll results up per unit and per person. Pages, API and CLI call these functions.

Derived status as of a day D (the rule the acceptance states):

- ``done_on_time``: done on or before D, ``completed_at`` ≤ ``deadline``;
- ``done_late``: done on or before D, after the deadline;
- ``overdue``: not done by D, not cancelled, and D > deadline;
- otherwise the stored status (``not_started``, ``in_progress``, ``cancelled``); a task
  stored as done but completed after D was not yet done on D: it is ``in_progress`` then.

A task with sub-tasks takes its completion from them: it is done when every sub-task that
is not cancelled is done, on the day the last of them was; its progress is their mean.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso import sheets
from chiso.imports import ImportSummary, Reject, write_rejects as write_rejects_file
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.periods import parse_period
from chiso.tasks.models import CommitteeMember, MemberChange, MemberUnit, Task, TaskProgress, TaskUnit
from chiso.units import service as units
from chiso.audit import service as audit
from chiso.auth.permissions import Actor

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor

STATUSES = ("not_started", "in_progress", "done", "cancelled")
DERIVED = ("not_started", "in_progress", "done_on_time", "done_late", "overdue", "cancelled")
SCORE_RULE = Path(__file__).parent / "score.yaml"

#: Canonical column → names accepted in a header (lower-cased, trimmed).
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "ma", "mã", "ma_nhiem_vu", "mã nhiệm vụ"),
    "title": ("title", "nhiem_vu", "nhiệm vụ", "ten_nhiem_vu", "tên nhiệm vụ"),
    "description": ("description", "mo_ta", "mô tả", "noi_dung", "nội dung"),
    "owner": ("owner", "nguoi_phu_trach", "người phụ trách", "nguoi_thuc_hien", "người thực hiện"),
    "unit": ("unit", "unit_code", "don_vi", "đơn vị", "don_vi_chu_tri", "đơn vị chủ trì"),
    "coordinating_units": ("coordinating_units", "don_vi_phoi_hop", "đơn vị phối hợp"),
    "deadline": ("deadline", "thoi_han", "thời hạn", "han", "hạn"),
    "product": ("product", "san_pham", "sản phẩm"),
    "authority": ("authority", "tham_quyen", "thẩm quyền", "cap_nghiem_thu", "cấp nghiệm thu"),
    "source": ("source", "van_ban", "văn bản", "nguon", "nguồn"),
    "member_in_charge": ("member_in_charge", "thanh_vien_phu_trach", "thành viên phụ trách"),
    "status": ("status", "trang_thai", "trạng thái"),
    "completed_at": ("completed_at", "ngay_hoan_thanh", "ngày hoàn thành"),
    "parent_id": ("parent_id", "parent", "nhiem_vu_cha", "nhiệm vụ cha"),
    "cancel_reason": ("cancel_reason", "ly_do_huy", "lý do hủy"),
    "target": ("target", "target_code", "chi_tieu", "chỉ tiêu"),
}
REQUIRED_COLUMNS = ("id", "title", "owner", "unit", "deadline")


# --------------------------------------------------------------------------- statuses


def derive_status(status: str, deadline: date, completed_at: date | None, as_of: date) -> str:
    """The status of a task as of ``as_of`` (see the module docstring). Pure."""
    if status == "cancelled":
        return "cancelled"
    if status == "done" and completed_at is not None and completed_at <= as_of:
        return "done_on_time" if completed_at <= deadline else "done_late"
    if as_of > deadline:
        return "overdue"
    if status == "done":  # completed after as_of: it was still being worked on
        return "in_progress"
    return status


def _active_children(task: Task) -> list[Task]:
    return [c for c in task.children if c.status != "cancelled"]


def completion(task: Task) -> date | None:
    """The day the task was done: its own for a leaf, the last sub-task's for a parent."""
    kids = _active_children(task)
    if not kids:
        return task.completed_at if task.status == "done" else None
    days = [completion(c) for c in kids]
    return None if any(d is None for d in days) else max(days)


def status_on(task: Task, as_of: date) -> str:
    """Derived status as of ``as_of``, with sub-tasks rolled up into their parent."""
    if task.status == "cancelled" or not _active_children(task):
        return derive_status(task.status, task.deadline, task.completed_at, as_of)
    done_on = completion(task)
    stored = "done" if done_on is not None else (
        "not_started" if all(status_on(c, as_of) == "not_started" for c in _active_children(task))
        else "in_progress")
    return derive_status(stored, task.deadline, done_on, as_of)


def progress_on(task: Task, as_of: date) -> int:
    """Percent done as of ``as_of``: 100 once done, else the latest report on or before it;
    a parent's is the mean of its sub-tasks'."""
    kids = _active_children(task)
    if kids and task.status != "cancelled":
        return round(sum(progress_on(c, as_of) for c in kids) / len(kids))
    if task.status == "done" and task.completed_at and task.completed_at <= as_of:
        return 100
    reports = [p for p in task.progress if p.on <= as_of]
    return max(reports, key=lambda p: (p.on, p.id)).percent if reports else 0


# --------------------------------------------------------------------------- views


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def to_json(task: Task, as_of: date) -> dict[str, Any]:
    return {
        "id": task.code,
        "title": task.title,
        "unit": task.unit.code,
        "owner": task.owner,
        "deadline": _iso(task.deadline),
        "status": status_on(task, as_of),
        "stored_status": task.status,
        "completed_at": _iso(completion(task)),
        "progress": progress_on(task, as_of),
        "coordinating_units": sorted(c.unit.code for c in task.coordinating),
        "product": task.product,
        "authority": task.authority,
        "source": task.source,
        "member_in_charge": task.member.code if task.member else task.member_in_charge,
        "parent_id": task.parent.code if task.parent else None,
        "target": task.target_code,
        "cancel_reason": task.cancel_reason,
        "meeting": task.meeting.code if task.meeting else None,
        "meeting_point": task.meeting_point,
    }


def get(session: Session, code: str) -> Task:
    task = session.scalar(select(Task).where(Task.code == code))
    if task is None:
        raise NotFound(_("Unknown task: {id}").format(id=code))
    return task


def list_tasks(session: Session, *, unit: str | None = None, status: str | None = None,
               as_of: date | None = None, today: date | None = None, meeting: str | None = None) -> list[dict[str, Any]]:
    """Tasks as of ``as_of`` (default today). ``unit`` keeps the unit's tasks and those of
    the units below it in today's structure; ``status`` is a derived status, or ``done``
    for both kinds of done; ``meeting`` keeps the conclusions of one meeting, by point."""
    d = as_of or date.today()
    if status is not None and status not in DERIVED + ("done",):
        raise ChisoError(_("Unknown status {status}: use one of {statuses}.").format(
            status=status, statuses=", ".join(DERIVED + ("done",))))
    query = select(Task).order_by(Task.deadline, Task.code)
    if meeting is not None:
        from chiso.tasks.models import Meeting

        found = session.scalar(select(Meeting).where(Meeting.code == meeting))
        if found is None:
            raise NotFound(_("Unknown meeting: {id}").format(id=meeting))
        query = select(Task).where(Task.meeting_id == found.id).order_by(Task.meeting_point, Task.code)
    if unit is not None:
        root = units.get(session, unit, on=today or date.today())
        codes = {root.code} | {u.code for u in units.list_units(session, within=root.code, as_of=today)}
        ids = [u.id for u in session.scalars(select(units.Unit).where(units.Unit.code.in_(codes)))]
        query = query.where(Task.unit_id.in_(ids))
    rows = [to_json(t, d) for t in session.scalars(query)]
    if status == "done":
        return [r for r in rows if r["status"] in ("done_on_time", "done_late")]
    if status is not None:
        return [r for r in rows if r["status"] == status]
    return rows


# --------------------------------------------------------------------------- committee


def _member_json(session: Session, m: CommitteeMember) -> dict[str, Any]:
    return {"code": m.code, "name": m.name, "role": m.role, "email": m.email, "title": m.title,
            "body": m.body or "committee", "fields": split_list(m.fields),
            "joined_on": _iso(m.joined_on), "left_on": _iso(m.left_on),
            "units": sorted(session.get(units.Unit, mu.unit_id).code for mu in m.units)}


def split_list(text: str | None) -> list[str]:
    """A semicolon-separated list as typed ("Cải cách TTHC; Chuyển đổi số") as a list."""
    return [p.strip() for p in (text or "").split(";") if p.strip()]


BODIES = ("committee", "support_team")


def add_member(session: Session, *, actor: Actor, code: str, name: str, role: str | None = None,
               email: str | None = None, unit_codes: list[str] | tuple[str, ...] = (), title: str | None = None,
               body: str | None = None, fields: list[str] | tuple[str, ...] | None = None,
               joined_on: date | None = None, left_on: date | None = None, on: date | None = None) -> CommitteeMember:
    """Add or update a committee member (or a member of the support team, ``body``
    ``support_team``); ``unit_codes`` replaces the units (communes, agencies) they follow.
    ``title``, ``body``, ``fields`` and the dates keep their stored value when not given.
    Every change is appended to the member's history, dated ``on`` (default today)."""
    code = code.strip()
    if not code or not name.strip():
        raise ChisoError(_("A committee member needs a code and a name."))
    if body is not None and body not in BODIES:
        raise ChisoError(_("Unknown body {body}: use one of {bodies}.").format(body=body, bodies=", ".join(BODIES)))
    member = session.scalar(select(CommitteeMember).where(CommitteeMember.code == code))
    before = _member_json(session, member) if member is not None else None
    if member is None:
        member = CommitteeMember(code=code, name=name.strip(), body=body or "committee")
        session.add(member)
    member.name, member.role, member.email = name.strip(), role, email
    if title is not None:
        member.title = title.strip() or None
    if body is not None:
        member.body = body
    if fields is not None:
        member.fields = "; ".join(f.strip() for f in fields if f.strip()) or None
    if joined_on is not None:
        member.joined_on = joined_on
    if left_on is not None:
        member.left_on = left_on
    if member.joined_on and member.left_on and member.left_on < member.joined_on:
        raise ChisoError(_("A member cannot leave before joining."))
    wanted = {units.get(session, c).id: c for c in unit_codes}
    member.units = [mu for mu in member.units if mu.unit_id in wanted]
    have = {mu.unit_id for mu in member.units}
    for uid in wanted:
        if uid not in have:
            member.units.append(MemberUnit(unit_id=uid))
    session.flush()
    after = _member_json(session, member)
    if after != before:
        change = "joined" if before is None else ("left" if left_on is not None and not before["left_on"] else "changed")
        session.add(MemberChange(member_id=member.id, on=on or left_on or joined_on or date.today(), change=change,
                                 before=before, after=after, by=actor.name))
    audit.record(session, actor=actor, action="committee.member", object_type="member", object_key=member.code,
                 before=before, after=after)
    return member


def member_history(session: Session, code: str) -> list[dict[str, Any]]:
    """Every change of one member, oldest first: what they were before and after."""
    member = session.scalar(select(CommitteeMember).where(CommitteeMember.code == code))
    if member is None:
        raise NotFound(_("Unknown committee member: {code}").format(code=code))
    rows = session.scalars(select(MemberChange).where(MemberChange.member_id == member.id)
                           .order_by(MemberChange.on, MemberChange.id))
    return [{"member": code, "on": r.on.isoformat(), "change": r.change, "by": r.by, "before": r.before,
             "after": r.after} for r in rows]


def members_on(session: Session, day: date, *, body: str | None = None) -> list[dict[str, Any]]:
    """The members serving on ``day``: joined by then (or no date) and not yet left."""
    out = []
    for m in list_members(session):
        if body is not None and m["body"] != body:
            continue
        if m["joined_on"] and m["joined_on"] > day.isoformat():
            continue
        if m["left_on"] and m["left_on"] <= day.isoformat():
            continue
        out.append(m)
    return out


def list_members(session: Session) -> list[dict[str, Any]]:
    return [_member_json(session, m) for m in session.scalars(select(CommitteeMember).order_by(CommitteeMember.code))]


def _member(session: Session, text: str | None) -> CommitteeMember | None:
    return find_member(session, text)


def find_member(session: Session, text: str | None) -> CommitteeMember | None:
    """The member a text names, by code or by name (None: nobody)."""
    if not text:
        return None
    return session.scalar(select(CommitteeMember).where(CommitteeMember.code == text)) or session.scalar(
        select(CommitteeMember).where(CommitteeMember.name == text))


# --------------------------------------------------------------------------- changes


def _touch(task: Task) -> None:
    task.updated_at = datetime.now(timezone.utc)


def _state(task: Task) -> dict[str, Any]:
    today = date.today()
    return {"status": task.status, "progress": progress_on(task, today),
            "completed_at": _iso(task.completed_at), "cancel_reason": task.cancel_reason}


def _audit(session: Session, actor: Actor, action: str, task: Task, before: dict, extra: dict | None = None) -> None:
    session.flush()
    audit.record(session, actor=actor, action=action, object_type="task", object_key=task.code, unit_id=task.unit_id,
                 before=before, after={**_state(task), **(extra or {})})


def update_progress(session: Session, *, actor: Actor, code: str, percent: int, note: str | None = None,
                    on: date | None = None, evidence: Path | None = None,
                    evidence_name: str | None = None) -> Task:
    """Append a progress report by ``actor`` (the report keeps their name), with an optional
    evidence file; a task not started is in progress from then on."""
    task = get(session, code)
    if not 0 <= percent <= 100:
        raise ChisoError(_("Progress must be a whole number from 0 to 100, got {value}.").format(value=percent))
    if task.status == "cancelled":
        raise ChisoError(_("Task {id} is cancelled.").format(id=code))
    before = _state(task)
    kept = _evidence_fields(session, evidence, evidence_name)
    task.progress.append(TaskProgress(on=on or date.today(), percent=percent, note=note, by=actor.name, **kept))
    if task.status == "not_started":
        task.status = "in_progress"
    _touch(task)
    _audit(session, actor, "task.progress", task, before, {"reported": percent, "note": note, **kept})
    return task


def _evidence_fields(session: Session, path: Path | None, name: str | None = None) -> dict:
    """Check and store an evidence file with the rules of assessment evidence (size, type,
    name, checksum); nothing is stored when it is refused. ``name``: the name to keep
    instead of the file's own (an upload's)."""
    if path is None:
        return {}
    from chiso.assessments import evidence as store

    kept = store.store(Path(path), name, where=session)
    return {"evidence_name": kept.name, "evidence_sha256": kept.sha256, "evidence_size": kept.size,
            "evidence_type": kept.media_type}


def mark_done(session: Session, *, actor: Actor, code: str, on: date, note: str | None = None,
              evidence: Path | None = None, evidence_name: str | None = None) -> Task:
    task = get(session, code)
    if task.status == "cancelled":
        raise ChisoError(_("Task {id} is cancelled.").format(id=code))
    open_kids = [c.code for c in _active_children(task) if completion(c) is None]
    if open_kids:
        raise ChisoError(_("Task {id} has sub-tasks not done yet: {children}.").format(
            id=code, children=", ".join(sorted(open_kids))))
    before = _state(task)
    kept = _evidence_fields(session, evidence, evidence_name)
    task.status, task.completed_at = "done", on
    task.progress.append(TaskProgress(on=on, percent=100, note=note, by=actor.name, **kept))
    _touch(task)
    _audit(session, actor, "task.done", task, before, {"note": note, **kept})
    return task


def cancel(session: Session, *, actor: Actor, code: str, reason: str) -> Task:
    task = get(session, code)
    if not reason or not reason.strip():
        raise ChisoError(_("Cancelling a task needs a reason."))
    before = _state(task)
    task.status, task.cancel_reason = "cancelled", reason.strip()
    task.progress.append(TaskProgress(on=date.today(), percent=progress_on(task, date.today()),
                                      note=reason.strip(), by=actor.name))
    _touch(task)
    _audit(session, actor, "task.cancel", task, before)
    return task


# --------------------------------------------------------------------------- import


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    return sheets.rows(path, unsupported=_("Cannot read {path}: a task file is CSV or XLSX.").format(path=path))


def _header(cells: list[str], path: Path) -> dict[str, int]:
    return sheets.header(cells, path, columns=COLUMNS, required=REQUIRED_COLUMNS, missing=_(
        "{path}: missing column(s): {columns} (a task file has {expected})."))


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _check_row(session: Session, v: dict[str, str], unit_cache: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Every reason the row is bad (empty when good), and its parsed fields."""
    reasons: list[str] = []
    parsed: dict[str, Any] = {}

    def unit(code: str):
        if code not in unit_cache:
            try:
                unit_cache[code] = units.get(session, code)
            except NotFound:
                unit_cache[code] = None
        return unit_cache[code]

    for column in REQUIRED_COLUMNS:
        if not v.get(column):
            reasons.append(_("{column} is empty").format(column=column))
    if v.get("unit"):
        parsed["unit"] = unit(v["unit"])
        if parsed["unit"] is None:
            reasons.append(_("unknown unit {unit}").format(unit=v["unit"]))
    parsed["coordinating"] = []
    for code in [c.strip() for c in v.get("coordinating_units", "").split(";") if c.strip()]:
        u = unit(code)
        if u is None:
            reasons.append(_("unknown coordinating unit {unit}").format(unit=code))
        elif u not in parsed["coordinating"]:
            parsed["coordinating"].append(u)
    if v.get("deadline"):
        parsed["deadline"] = _date(v["deadline"])
        if parsed["deadline"] is None:
            reasons.append(_("deadline {value!r} is not a date in the form YYYY-MM-DD").format(value=v["deadline"]))
    parsed["completed_at"] = None
    if v.get("completed_at"):
        parsed["completed_at"] = _date(v["completed_at"])
        if parsed["completed_at"] is None:
            reasons.append(_("completed_at {value!r} is not a date in the form YYYY-MM-DD").format(
                value=v["completed_at"]))
    status = v.get("status") or "not_started"
    parsed["status"] = status
    if status not in STATUSES:
        reasons.append(_("unknown status {status}: use one of {statuses}").format(
            status=status, statuses=", ".join(STATUSES)))
    elif status == "done" and not v.get("completed_at"):
        reasons.append(_("status is done but completed_at is empty"))
    elif status != "done" and v.get("completed_at"):
        reasons.append(_("completed_at is given but status is {status}, not done").format(status=status))
    if status == "cancelled" and not v.get("cancel_reason"):
        reasons.append(_("status is cancelled but cancel_reason is empty"))
    return reasons, parsed


def import_tasks(session: Session, *, actor: Actor, path: str | Path, write_rejects: bool = True) -> ImportSummary:
    """Import a work programme (chương trình công tác). Atomic: a file with any bad row
    imports nothing and every bad row is reported with its line and reasons. Idempotent by
    ``id``: running it again updates the tasks that changed and counts the rest unchanged.
    The summary's ``imported`` is the name earlier versions gave ``inserted`` (new tasks)."""
    path = Path(path)
    summary = ImportSummary(kind="tasks", extra={"imported": 0})
    rows = _rows(path)
    try:
        _line, head = next(rows)
    except StopIteration:
        raise ChisoError(_("{path} is empty.").format(path=path)) from None
    cols = _header(head, path)

    unit_cache: dict[str, Any] = {}
    good: dict[str, tuple[int, dict[str, str], dict[str, Any]]] = {}
    seen: dict[str, int] = {}
    all_values: list[tuple[int, dict[str, str]]] = []
    for line, cells in rows:
        summary.read += 1
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in cols.items()}
        all_values.append((line, values))
        reasons, parsed = _check_row(session, values, unit_cache)
        code = values.get("id", "")
        if code:
            if code in seen:
                reasons.append(_("id {id} is given twice (first at line {line})").format(id=code, line=seen[code]))
            else:
                seen[code] = line
        if reasons:
            summary.rejects.append(Reject(line=line, reason="; ".join(reasons), values=values))
        else:
            good[code] = (line, values, parsed)

    # Parents: a parent is in this file or already stored, and no chain of parents loops.
    stored_parent = {t.code: (t.parent.code if t.parent else None) for t in session.scalars(select(Task))}
    file_parent = {code: values.get("parent_id") or None for _l, values in all_values if (code := values.get("id"))}
    parent_of = stored_parent | file_parent
    bad_lines: dict[int, list[str]] = defaultdict(list)
    for line, values in all_values:
        parent = values.get("parent_id")
        code = values.get("id")
        if not parent or not code:
            continue
        if parent not in parent_of:
            bad_lines[line].append(_("unknown parent {parent}").format(parent=parent))
            continue
        chain, cur = [code], parent
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = parent_of.get(cur)
        if cur is not None:
            bad_lines[line].append(_("parents form a cycle: {chain}").format(chain=" → ".join(chain + [cur])))
    if bad_lines:
        by_line = {r.line: r for r in summary.rejects}
        for line, values in all_values:
            if line in bad_lines:
                if line in by_line:
                    by_line[line].reason = "; ".join([by_line[line].reason, *bad_lines[line]])
                else:
                    summary.rejects.append(Reject(line=line, reason="; ".join(bad_lines[line]), values=values))
                    good.pop(values["id"], None)
        summary.rejects.sort(key=lambda r: r.line)
    summary.rejected = len(summary.rejects)

    if write_rejects:
        summary.rejects_path = write_rejects_file(path, summary.rejects, cols)
    if summary.rejects:
        summary.refused = True
        return summary  # atomic: a file with any rejected row imports nothing

    existing = {t.code: t for t in session.scalars(select(Task))}
    changed: dict[str, bool] = {}
    for code, (_line, values, parsed) in good.items():
        task = existing.get(code)
        member = _member(session, values.get("member_in_charge"))
        fields = {
            "title": values["title"], "description": values.get("description") or None,
            "owner": values["owner"], "unit_id": parsed["unit"].id, "deadline": parsed["deadline"],
            "product": values.get("product") or None, "authority": values.get("authority") or None,
            "source": values.get("source") or None, "member_in_charge": values.get("member_in_charge") or None,
            "member_id": member.id if member else None, "target_code": values.get("target") or None,
            "status": parsed["status"], "completed_at": parsed["completed_at"],
            "cancel_reason": values.get("cancel_reason") or None,
        }
        if task is None:
            task = Task(code=code, **fields)
            session.add(task)
            existing[code] = task
            changed[code] = True
            summary.inserted += 1
        else:
            diff = any(getattr(task, k) != val for k, val in fields.items())
            for k, val in fields.items():
                setattr(task, k, val)
            changed[code] = diff
        wanted = [u.id for u in parsed["coordinating"]]
        if sorted(c.unit_id for c in task.coordinating) != sorted(wanted):
            task.coordinating = [c for c in task.coordinating if c.unit_id in wanted]
            have = {c.unit_id for c in task.coordinating}
            task.coordinating += [TaskUnit(unit_id=uid) for uid in wanted if uid not in have]
            changed[code] = True
    session.flush()
    for code, (_line, values, _parsed) in good.items():
        task = existing[code]
        parent = existing.get(values.get("parent_id") or "") if values.get("parent_id") else None
        if task.parent_id != (parent.id if parent else None):
            task.parent = parent
            changed[code] = True
    for code, was_new in changed.items():
        if was_new:
            _touch(existing[code])
    fresh = {c for c in good if c not in stored_parent}
    summary.updated = sum(1 for c, ch in changed.items() if ch and c not in fresh)
    summary.unchanged = len(good) - summary.inserted - summary.updated
    summary.extra["imported"] = summary.inserted
    session.flush()
    audit.record(session, actor=actor, action="tasks.import", object_type="tasks", object_key=path.name,
                 after={"read": summary.read, "imported": summary.inserted, "updated": summary.updated,
                        "unchanged": summary.unchanged, "tasks": sorted(c for c, ch in changed.items() if ch)})
    return summary


# --------------------------------------------------------------------------- roll-up


def load_score_rule(path: str | Path | None = None) -> dict[str, Any]:
    """The completion-score rule (see ``score.yaml``): weights per status, statuses counted."""
    path = Path(path) if path else SCORE_RULE
    try:
        rule = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ChisoError(_("Cannot read {path}: {reason}").format(path=path, reason=exc)) from None
    weights = rule.get("weights") or {}
    counted = rule.get("counted") or list(weights)
    unknown = [s for s in list(weights) + list(counted) if s not in DERIVED]
    if unknown or any(s not in weights for s in counted):
        raise ChisoError(_("{path}: a score rule gives weights to statuses among {statuses}, and counts only weighted ones.")
                         .format(path=path, statuses=", ".join(DERIVED)))
    return {"weights": {k: float(v) for k, v in weights.items()}, "counted": list(counted)}


def score(statuses: list[str], rule: dict[str, Any]) -> float | None:
    """Mean weight of the counted statuses (percent); None when none counts. Pure."""
    counted = [s for s in statuses if s in rule["counted"]]
    if not counted:
        return None
    return round(sum(rule["weights"][s] for s in counted) / len(counted), 2)


def rollup(session: Session, *, period: str, by: str = "unit", as_of: date | None = None,
           rule: dict[str, Any] | None = None, today: date | None = None) -> list[dict[str, Any]]:
    """Per responsible unit (or person), the leaf tasks due in ``period``: assigned (not
    cancelled), done on time, done late, overdue, still open, cancelled, and the score.
    Statuses are taken as of ``as_of``, by default the period's last day or today if
    earlier. Only leaf tasks count, so a parent and its sub-tasks are not counted twice."""
    if by not in ("unit", "owner"):
        raise ChisoError(_("Roll up by unit or owner, not {by}.").format(by=by))
    p = parse_period(period)
    d = as_of or min(p.end, today or date.today())
    rule = rule or load_score_rule()
    groups: dict[str, list[str]] = defaultdict(list)
    tasks = session.scalars(select(Task).where(Task.deadline >= p.start, Task.deadline <= p.end))
    for t in tasks:
        if _active_children(t):
            continue
        groups[t.unit.code if by == "unit" else t.owner].append(status_on(t, d))
    out = []
    for key in sorted(groups):
        s = groups[key]
        out.append({
            by: key, "period": p.code, "as_of": d.isoformat(),
            "assigned": sum(1 for x in s if x != "cancelled"),
            "done_on_time": s.count("done_on_time"), "done_late": s.count("done_late"),
            "overdue": s.count("overdue"),
            "open": s.count("not_started") + s.count("in_progress"),
            "cancelled": s.count("cancelled"),
            "score": score(s, rule),
        })
    return out
