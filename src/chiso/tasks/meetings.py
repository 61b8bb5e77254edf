"""Meetings of the steering committee (phiên họp, hội nghị) and their conclusions (kết luận).

Each conclusion point is a :class:`~chiso.tasks.models.Task` with the six clear fields
(owner, work, deadline, responsible unit, product, authority) whose ``meeting_id`` and
``meeting_point`` name the meeting and the point's number in the conclusion notice (thông
báo kết luận). A meeting's conclusions are counted with the tasks' derived statuses
(:func:`chiso.tasks.service.status_on`): done (on time or late), late, overdue, open; the
next meeting's agenda draft lists every conclusion of earlier meetings still open.
Pages, the API and the CLI call these functions.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chiso.audit import service as audit
from chiso.auth.permissions import Actor
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _, use_language
from chiso.tasks import service as tasks
from chiso.tasks.models import CommitteeMember, Meeting, MeetingAttendee, Task, TaskUnit
from chiso.units import service as units

KINDS = ("regular", "thematic", "conference")


def kind_name(kind: str) -> str:
    """A kind of meeting as a reader names it."""
    return {"regular": _("regular meeting"), "thematic": _("thematic meeting"),
            "conference": _("conference")}.get(kind, kind)


def dmy(day: date | None) -> str:
    """dd/mm/yyyy, the way dates are written on screens and documents."""
    return day.strftime("%d/%m/%Y") if day else ""


def get(session: Session, code: str) -> Meeting:
    meeting = session.scalar(select(Meeting).where(Meeting.code == code))
    if meeting is None:
        raise NotFound(_("Unknown meeting: {id}").format(id=code))
    return meeting


def _new_code(session: Session, held_on: date) -> str:
    base = f"HOP-{held_on:%Y%m%d}"
    taken = set(session.scalars(select(Meeting.code).where(Meeting.code.like(base + "%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _members(session: Session, codes: Iterable[str]) -> list[CommitteeMember]:
    out = []
    for code in dict.fromkeys(c.strip() for c in codes if c and c.strip()):
        m = session.scalar(select(CommitteeMember).where(CommitteeMember.code == code)) or session.scalar(
            select(CommitteeMember).where(CommitteeMember.name == code))
        if m is None:
            raise ChisoError(_("Unknown committee member: {code}").format(code=code))
        out.append(m)
    return out


def add_meeting(session: Session, *, actor: Actor, held_on: date, kind: str, chair: str, title: str | None = None,
                place: str | None = None, attendees: Iterable[str] = (), minutes: Path | None = None,
                minutes_name: str | None = None, code: str | None = None) -> Meeting:
    """Record a meeting: its day, kind, chair, attendees (committee members, by code or
    name) and the minutes (biên bản) as an evidence file, kept by its checksum."""
    if kind not in KINDS:
        raise ChisoError(_("Unknown kind of meeting {kind}: use one of {kinds}.").format(kind=kind, kinds=", ".join(KINDS)))
    if not chair or not chair.strip():
        raise ChisoError(_("A meeting needs a chair."))
    code = (code or "").strip() or _new_code(session, held_on)
    if session.scalar(select(Meeting).where(Meeting.code == code)) is not None:
        raise ChisoError(_("Meeting {id} exists already.").format(id=code))
    people = _members(session, attendees)
    meeting = Meeting(code=code, held_on=held_on, kind=kind, chair=chair.strip(), title=(title or "").strip() or None,
                      place=(place or "").strip() or None)
    meeting.attendees = [MeetingAttendee(member_id=m.id) for m in people]
    session.add(meeting)
    if minutes is not None:
        _keep_minutes(session, meeting, minutes, minutes_name)
    session.flush()
    view = meeting_json(session, meeting, held_on)
    view.pop("conclusions")
    audit.record(session, actor=actor, action="meeting.add", object_type="meeting", object_key=code, after=view)
    return meeting


def _keep_minutes(session: Session, meeting: Meeting, path: Path, name: str | None) -> None:
    from chiso.assessments import evidence as store

    kept = store.store(Path(path), name, where=session)
    meeting.minutes_name, meeting.minutes_sha256 = kept.name, kept.sha256
    meeting.minutes_size, meeting.minutes_type = kept.size, kept.media_type


def attach_minutes(session: Session, *, actor: Actor, code: str, path: Path, name: str | None = None) -> Meeting:
    meeting = get(session, code)
    _keep_minutes(session, meeting, path, name)
    session.flush()
    audit.record(session, actor=actor, action="meeting.minutes", object_type="meeting", object_key=code,
                 after={"name": meeting.minutes_name, "sha256": meeting.minutes_sha256})
    return meeting


def conclude(session: Session, *, actor: Actor, meeting: str, owner: str, unit: str, deadline: date, title: str,
             product: str | None, authority: str | None, description: str | None = None,
             coordinating: Iterable[str] = (), member_in_charge: str | None = None, point: int | None = None,
             code: str | None = None) -> Task:
    """One conclusion point of ``meeting`` as a task with the six clear fields: who
    (``owner``), what (``title``, ``description``), by when (``deadline``), the responsible
    ``unit`` and the ``coordinating`` units, the ``product`` and the ``authority`` that
    accepts it. ``point`` is its number in the notice (default: the next one)."""
    m = get(session, meeting)
    missing = [name for name, value in (("owner", owner), ("title", title), ("product", product),
                                        ("authority", authority)) if not (value or "").strip()]
    if missing:
        raise ChisoError(_("A conclusion needs the six clear fields; missing: {fields}.").format(fields=", ".join(missing)))
    if deadline < m.held_on:
        raise ChisoError(_("The deadline {deadline} is before the meeting ({day}).").format(
            deadline=dmy(deadline), day=dmy(m.held_on)))
    used = set(session.scalars(select(Task.meeting_point).where(Task.meeting_id == m.id)))
    if point is None:
        point = max((p for p in used if p is not None), default=0) + 1
    elif point < 1 or point in used:
        raise ChisoError(_("Point {n} of meeting {id} is taken or not a positive number.").format(n=point, id=m.code))
    code = (code or "").strip() or f"{m.code}-KL{point:02d}"
    if session.scalar(select(Task).where(Task.code == code)) is not None:
        raise ChisoError(_("Task {id} exists already.").format(id=code))
    responsible = units.get(session, unit)
    member = tasks.find_member(session, member_in_charge) if member_in_charge else None
    with use_language("vi"):  # the source names the state's document, in its language
        source = _("Conclusion of the meeting of {day}, point {n}").format(day=dmy(m.held_on), n=point)
    task = Task(code=code, title=title.strip(), description=(description or "").strip() or None, owner=owner.strip(),
                unit_id=responsible.id, deadline=deadline, product=(product or "").strip(),
                authority=(authority or "").strip(),
                source=source,
                member_in_charge=member_in_charge, member_id=member.id if member else None,
                meeting_id=m.id, meeting_point=point, status="not_started")
    task.coordinating = [TaskUnit(unit_id=units.get(session, c).id) for c in dict.fromkeys(coordinating)
                         if c and c != unit]
    session.add(task)
    session.flush()
    audit.record(session, actor=actor, action="meeting.conclude", object_type="task", object_key=code,
                 unit_id=responsible.id, after=tasks.to_json(task, m.held_on))
    return task


# --------------------------------------------------------------------------- counts


def counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many conclusions are done (on time or late), late, overdue, open, cancelled. Pure."""
    c = Counter(statuses)
    return {"total": sum(c.values()), "done": c["done_on_time"] + c["done_late"], "done_on_time": c["done_on_time"],
            "late": c["done_late"], "overdue": c["overdue"], "open": c["not_started"] + c["in_progress"],
            "cancelled": c["cancelled"]}


def _conclusions(session: Session, meeting_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.meeting_id == meeting_id)
                                .order_by(Task.meeting_point, Task.code)))


def meeting_json(session: Session, m: Meeting, as_of: date) -> dict[str, Any]:
    statuses = [tasks.status_on(t, as_of) for t in _conclusions(session, m.id)] if m.id else []
    return {"id": m.code, "date": m.held_on.isoformat(), "kind": m.kind, "chair": m.chair, "title": m.title,
            "place": m.place, "attendees": sorted(a.member.code for a in m.attendees if a.member is not None),
            "minutes": m.minutes_name, "minutes_sha256": m.minutes_sha256, "notice_number": m.notice_number,
            "conclusions": counts(statuses)}


def list_meetings(session: Session, *, as_of: date | None = None) -> list[dict[str, Any]]:
    d = as_of or date.today()
    return [meeting_json(session, m, d) for m in session.scalars(select(Meeting).order_by(Meeting.held_on.desc(),
                                                                                           Meeting.code))]


def conclusion_counts(session: Session, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Per meeting with conclusions (newest first): its code, date and counts. The task
    board shows these."""
    d = as_of or date.today()
    ids = set(session.scalars(select(Task.meeting_id).where(Task.meeting_id.is_not(None))))
    rows = []
    for m in session.scalars(select(Meeting).where(Meeting.id.in_(ids)).order_by(Meeting.held_on.desc())):
        rows.append({"id": m.code, "date": m.held_on.isoformat(), "kind": m.kind,
                     **counts(tasks.status_on(t, d) for t in _conclusions(session, m.id))})
    return rows


OPEN = ("not_started", "in_progress", "overdue")


def agenda(session: Session, *, meeting: str | None = None, as_of: date | None = None) -> dict[str, Any]:
    """The next meeting's agenda draft: every conclusion of earlier meetings still open
    (not started, in progress or overdue) on the day, oldest meeting first. ``meeting``:
    the next meeting already recorded (its day is the day; its own conclusions are left
    out); otherwise as of ``as_of`` (default today)."""
    if meeting is not None:
        nxt = get(session, meeting)
        day, before = nxt.held_on, (Meeting.held_on < nxt.held_on)
    else:
        nxt, day = None, as_of or date.today()
        before = Meeting.held_on <= day
    items = []
    for m in session.scalars(select(Meeting).where(before).order_by(Meeting.held_on, Meeting.code)):
        for t in _conclusions(session, m.id):
            status = tasks.status_on(t, day)
            if status in OPEN:
                items.append({"meeting": m.code, "meeting_date": m.held_on.isoformat(), "point": t.meeting_point,
                              "task": t.code, "title": t.title, "owner": t.owner, "unit": t.unit.code,
                              "deadline": t.deadline.isoformat(), "status": status,
                              "progress": tasks.progress_on(t, day)})
    return {"meeting": nxt.code if nxt else None, "as_of": day.isoformat(), "open": items}


def conclusion_rows(session: Session, code: str, *, as_of: date | None = None) -> tuple[Meeting, list[dict[str, Any]]]:
    """A meeting and its conclusions as task objects (:func:`chiso.tasks.service.to_json`)."""
    m = get(session, code)
    d = as_of or date.today()
    return m, [tasks.to_json(t, d) for t in _conclusions(session, m.id)]


def count_meetings(session: Session) -> int:
    return session.scalar(select(func.count(Meeting.id))) or 0
