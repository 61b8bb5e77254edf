"""The reminder worker (``chiso worker``): one loop, no broker (after Healthchecks).

Each pass, for a day D, it gathers per responsible person:

- the tasks due within ``reminder_days`` days (deadline in [D, D + N], not done nor cancelled);
- the tasks overdue on D (derived status ``overdue``);
- escalations: overdue tasks of the units a committee member is in charge of, or whose
  ``member_in_charge`` is that member;
- followed: the tasks due soon of the units (communes, agencies) a member follows, so the
  member following a commune hears what the commune hears (members who have left do not);
- the colour flips since the person's last digest (at most a week back) of the units a member
  is in charge of and of the targets linked to the person's tasks;
- the early warning (issue 15): per unit a member is in charge of, or the setting
  ``due_contacts`` names the person for, its open dossiers due within ``due_within_days``
  working days or overdue (:func:`chiso.index.steer.due`);

and sends each person at most one digest a day per channel (e-mail when ``smtp_host`` is
set, webhook when ``webhook_url`` is set). Each pass first pulls the feeds of the sources
whose time has come (:func:`chiso.feeds.service.run_due`, each feed claimed by
compare-and-set, so two workers never pull one source at once). A person is a committee member (key: the member's code)
when the owner's text names one by code or name, else the owner text itself. Sending is
claimed in the ``digests`` table by compare-and-set, so restarts and two workers running at
once send each digest once. A digest whose send crashed half-way stays ``sending``: it is not
sent again (at most once rather than twice).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import db, settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.notify import send
from chiso.notify.models import Digest
from chiso.targets.models import Flip, Target
from chiso.tasks import service as tasks
from chiso.tasks.models import CommitteeMember, MemberUnit, Task
from chiso.units.models import Unit

log = logging.getLogger("chiso.worker")

CHANNELS = ("email", "webhook")


@dataclass
class Person:
    key: str
    name: str
    email: str | None = None
    due_soon: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    escalated: list[dict] = field(default_factory=list)
    followed: list[dict] = field(default_factory=list)
    flips: list[dict] = field(default_factory=list)
    #: Per unit the person follows: its open dossiers falling due or overdue (early warning).
    dossiers_due: list[dict] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.due_soon or self.overdue or self.escalated or self.followed or self.flips or self.dossiers_due)


def today() -> date:
    return datetime.now(ZoneInfo(settings.get("timezone"))).date()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _person_emails() -> dict[str, str]:
    out = {}
    for part in settings.get("person_emails").split(";"):
        name, sep, addr = part.partition("=")
        if sep and name.strip() and addr.strip():
            out[name.strip()] = addr.strip()
    return out


def _task_line(t: Task, day: date) -> dict[str, Any]:
    return {"id": t.code, "title": t.title, "unit": t.unit.code, "owner": t.owner,
            "deadline": t.deadline.isoformat(), "status": tasks.status_on(t, day)}


# --------------------------------------------------------------------------- what to send


def collect(session: Session, day: date, *, days: int | None = None, store: Any = None) -> dict[str, Person]:
    """Everyone with something to hear about on ``day``, keyed by person. Reads only.
    ``store`` (the dossier records): the early warning of each unit goes to the committee
    members in charge of it and the people the setting ``due_contacts`` names for it."""
    days = int(settings.get("reminder_days")) if days is None else days
    members = list(session.scalars(select(CommitteeMember)))
    by_code = {m.code: m for m in members}
    by_name = {m.name: m for m in members}
    mapping = _person_emails()
    people: dict[str, Person] = {}

    def member_person(m: CommitteeMember) -> Person:
        if m.code not in people:
            people[m.code] = Person(key=m.code, name=m.name, email=m.email or mapping.get(m.code) or mapping.get(m.name))
        return people[m.code]

    def owner_person(owner: str) -> Person:
        m = by_code.get(owner) or by_name.get(owner)
        if m is not None:
            return member_person(m)
        if owner not in people:
            people[owner] = Person(key=owner, name=owner,
                                   email=mapping.get(owner) or (owner if "@" in owner else None))
        return people[owner]

    in_charge: dict[int, list[CommitteeMember]] = {}
    for mu in session.scalars(select(MemberUnit)):
        m = by_code_id(members, mu.member_id)
        if m.left_on is None or m.left_on > day:
            in_charge.setdefault(mu.unit_id, []).append(m)

    open_tasks = session.scalars(
        select(Task).where(Task.status.not_in(("cancelled",)), Task.deadline <= day + timedelta(days=days))
        .order_by(Task.deadline, Task.code))
    target_owners: dict[str, set[str]] = {}
    for t in open_tasks:
        status = tasks.status_on(t, day)
        if status in ("not_started", "in_progress") and t.deadline >= day:
            line = _task_line(t, day)
            owner = owner_person(t.owner)
            owner.due_soon.append(line)
            for m in in_charge.get(t.unit_id, []):
                p = member_person(m)
                if p is not owner:
                    p.followed.append(line)
        elif status == "overdue":
            line = _task_line(t, day)
            owner = owner_person(t.owner)
            owner.overdue.append(line)
            chiefs = {m.code: m for m in in_charge.get(t.unit_id, [])}
            if t.member is not None:
                chiefs[t.member.code] = t.member
            for m in chiefs.values():
                p = member_person(m)
                if p is not owner:
                    p.escalated.append(line)
    for t in session.scalars(select(Task).where(Task.target_code.is_not(None), Task.status != "cancelled")):
        target_owners.setdefault(t.target_code, set()).add(owner_person(t.owner).key)

    # Colour flips since each person's last sent digest (at most a week back).
    last_sent = dict(session.execute(
        select(Digest.person, Digest.day).where(Digest.status == "sent", Digest.day < day)
        .order_by(Digest.day)).all())
    week = day - timedelta(days=7)
    rows = session.execute(
        select(Flip, Target.code, Unit.code).join(Target, Flip.target_id == Target.id)
        .join(Unit, Flip.unit_id == Unit.id).where(Flip.at > week, Flip.at <= day).order_by(Flip.at, Flip.id)).all()
    for flip, target_code, unit_code in rows:
        line = {"target": target_code, "unit": unit_code, "at": flip.at.isoformat(), "from": flip.from_colour,
                "to": flip.to_colour, "why": flip.why}
        keys = {member_person(m).key for m in in_charge.get(flip.unit_id, [])} | target_owners.get(target_code, set())
        for key in sorted(keys):
            since = last_sent.get(key)
            if since is None or flip.at > since:
                people[key].flips.append(line)
    if store is not None:
        unit_codes = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(list(in_charge)))).all())
        followers: dict[str, list[Person]] = {}
        for unit_id, chiefs in in_charge.items():
            for m in chiefs:
                followers.setdefault(unit_codes.get(unit_id, ""), []).append(member_person(m))
        for unit_code, names in _due_contacts().items():
            followers.setdefault(unit_code, []).extend(owner_person(n) for n in names)
        for unit_code, block in _dossiers_due(session, store, day).items():
            for p in {id(p): p for p in followers.get(unit_code, [])}.values():
                p.dossiers_due.append(block)
    return {k: p for k, p in people.items() if not p.empty()}


#: Dossiers listed per unit in a digest (the counts cover them all).
DUE_LISTED = 10


def _due_contacts() -> dict[str, list[str]]:
    """The setting ``due_contacts``: ``UNIT=person,person;UNIT=person``."""
    out: dict[str, list[str]] = {}
    for part in settings.get("due_contacts").split(";"):
        unit, sep, names = part.partition("=")
        if sep and unit.strip():
            out.setdefault(unit.strip(), []).extend(n.strip() for n in names.split(",") if n.strip())
    return out


def _dossiers_due(session: Session, store: Any, day: date) -> dict[str, dict]:
    """Per unit: its open dossiers falling due within ``due_within_days`` working days or
    overdue on ``day`` (:func:`chiso.index.steer.due`)."""
    from chiso.index import steer

    moment = datetime.now(ZoneInfo(settings.get("timezone"))) if day == today() else datetime.combine(day, dtime(8))
    try:
        rows = steer.due(session, store, now=moment)
    except ChisoError as exc:  # no province, or a day the calendar does not cover: no warning today
        log.warning("early warning skipped: %s", exc)
        return {}
    out: dict[str, dict] = {}
    for r in rows:
        block = out.setdefault(r["unit"], {"unit": r["unit"], "name": r["unit_name"] or r["unit"], "overdue": 0,
                                           "due": 0, "dossiers": []})
        block["overdue" if r["overdue"] else "due"] += 1
        if len(block["dossiers"]) < DUE_LISTED:
            block["dossiers"].append({k: r[k] for k in ("dossier_id", "procedure", "procedure_name", "stage", "holder",
                                                        "due_at", "overdue", "overdue_days")})
    return out


def by_code_id(members: list[CommitteeMember], member_id: int) -> CommitteeMember:
    return next(m for m in members if m.id == member_id)


# --------------------------------------------------------------------------- the digest


def render(person: Person, day: date) -> tuple[str, str]:
    """Subject and plain-text body of one digest, in the language of the settings."""
    subject = _("chiso: reminders for {day}").format(day=day.isoformat())
    lines = [_("Dear {name},").format(name=person.name), ""]

    def task_lines(title: str, items: list[dict]) -> None:
        if items:
            lines.append(title)
            for t in items:
                lines.append(_("- [{id}] {title} (unit {unit}, owner {owner}, deadline {deadline})").format(**t))
            lines.append("")

    task_lines(_("Overdue tasks:"), person.overdue)
    task_lines(_("Tasks due within {days} days:").format(days=settings.get("reminder_days")), person.due_soon)
    task_lines(_("Overdue tasks in the units you are in charge of:"), person.escalated)
    task_lines(_("Tasks due soon in the units you follow:"), person.followed)
    if person.flips:
        lines.append(_("Traffic-light changes:"))
        for f in person.flips:
            lines.append(_("- {at}: target {target}, unit {unit}: {from_colour} → {to}").format(
                at=f["at"], target=f["target"], unit=f["unit"], from_colour=f["from"] or "-", to=f["to"]))
        lines.append("")
    if person.dossiers_due:
        lines.append(_("Dossiers due within {days} working days or overdue:").format(days=settings.get("due_within_days")))
        for block in person.dossiers_due:
            lines.append(_("- {name} ({unit}): {overdue} overdue, {due} due soon").format(**block))
            for d in block["dossiers"]:
                when = datetime.fromisoformat(d["due_at"]).strftime("%d/%m/%Y %H:%M")
                late = _(", {n} days overdue").format(n=d["overdue_days"]) if d["overdue"] else ""
                lines.append(_("  · {id} {procedure} ({stage}), due {when}{late}").format(
                    id=d["dossier_id"], procedure=d["procedure_name"] or d["procedure"], stage=d["stage"], when=when,
                    late=late) + (f" · {d['holder']}" if d["holder"] else ""))
        lines.append("")
    lines.append(_("This message was sent by chiso, at most once a day."))
    return subject, "\n".join(lines) + "\n"


def payload(person: Person, day: date) -> dict[str, Any]:
    subject, body = render(person, day)
    return {"person": person.key, "name": person.name, "day": day.isoformat(), "subject": subject, "text": body,
            "overdue": person.overdue, "due_soon": person.due_soon, "escalated": person.escalated,
            "followed": person.followed, "flips": person.flips, "dossiers_due": person.dossiers_due}


# --------------------------------------------------------------------------- claiming


def _insert_ignore(engine: Engine, values: dict) -> None:
    db.insert_ignore(engine, Digest, values, keys=["person", "day", "channel"])


def claim(engine: Engine, *, person: str, day: date, channel: str, address: str | None, worker: str,
          max_attempts: int | None = None) -> bool:
    """Insert the digest row if missing, then compare-and-set it to ``sending`` for ``worker``.
    True only for the one worker whose update changed the row."""
    max_attempts = int(settings.get("digest_max_attempts")) if max_attempts is None else max_attempts
    now = datetime.now(timezone.utc)
    _insert_ignore(engine, {"person": person, "day": day, "channel": channel, "status": "pending",
                            "attempts": 0, "created_at": now})
    with engine.begin() as conn:
        result = conn.execute(
            update(Digest)
            .where(Digest.person == person, Digest.day == day, Digest.channel == channel,
                   or_(Digest.status == "pending", and_(Digest.status == "failed", Digest.attempts < max_attempts)))
            .values(status="sending", claimed_by=worker, claimed_at=now, attempts=Digest.attempts + 1,
                    address=address, error=None))
        return result.rowcount == 1


def _finish(engine: Engine, *, person: str, day: date, channel: str, worker: str, error: str | None) -> None:
    values = ({"status": "sent", "sent_at": datetime.now(timezone.utc)} if error is None
              else {"status": "failed", "error": error[:2000]})
    with engine.begin() as conn:
        conn.execute(update(Digest).where(Digest.person == person, Digest.day == day, Digest.channel == channel,
                                          Digest.status == "sending", Digest.claimed_by == worker).values(**values))


# --------------------------------------------------------------------------- one pass, the loop


def run_pass(engine: Engine, *, day: date | None = None, worker: str | None = None,
             channels: tuple[str, ...] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One pass for ``day`` (default today in the settings' time zone). Returns what happened:
    ``sent``, ``skipped`` (with reasons), ``failed`` and ``already`` (claimed elsewhere or earlier),
    and under ``subscriptions`` what :func:`chiso.subscriptions.deliver.run_due` did at ``now``
    (default: the current time) for the period of ``day``."""
    day = day or today()
    worker = worker or worker_id()
    if channels is None:
        channels = tuple(c for c, on in (("email", send.smtp_configured()), ("webhook", send.webhook_configured()))
                         if on)
    report: dict[str, Any] = {"day": day.isoformat(), "worker": worker, "channels": list(channels),
                              "sent": [], "skipped": [], "failed": [], "already": []}
    from chiso.reports import schedule as report_schedule

    from chiso.feeds import service as feeds

    # Feeds first: what they bring is in the reports and digests of this pass.
    report["feeds"] = feeds.run_due(engine, worker=worker)
    # Reports due are written even where no channel is set (they are kept for download).
    report["reports"] = report_schedule.run_due(engine, worker=worker)
    # The watch over units keeps its history whether or not a channel is set.
    from chiso.subscriptions import deliver as subscriptions

    report["subscriptions"] = subscriptions.run_due(engine, channels=channels, worker=worker, now=now, today=day)
    report["compacted"] = _compact_due(engine)
    if not channels:
        log.warning("no channel configured (smtp_host, webhook_url): nothing sent")
        return report
    from chiso.store.service import open_records

    with Session(engine) as session:
        try:
            store = open_records(engine)
        except ChisoError as exc:  # a store without a records folder: tasks and flips only
            log.warning("no dossier records: %s", exc)
            store = None
        people = collect(session, day, store=store)
        messages = {k: (p, payload(p, day)) for k, p in people.items()}
    for key in sorted(messages):
        person, data = messages[key]
        for channel in channels:
            address = person.email if channel == "email" else settings.get("webhook_url")
            entry = {"person": key, "channel": channel, "address": address}
            if channel == "email" and not address:
                reason = _("no e-mail address for {person}: not a committee member with an address, "
                           "nor in the setting person_emails").format(person=key)
                log.info(reason)
                report["skipped"].append({**entry, "reason": reason})
                continue
            if not claim(engine, person=key, day=day, channel=channel, address=address, worker=worker):
                report["already"].append(entry)
                continue
            try:
                if channel == "email":
                    send.send_email(to=address, subject=data["subject"], body=data["text"])
                else:
                    send.post_webhook(data)
            except Exception as exc:  # any failure of the channel is recorded and retried later
                log.warning("sending the %s digest of %s failed: %s", channel, key, exc)
                _finish(engine, person=key, day=day, channel=channel, worker=worker, error=str(exc) or repr(exc))
                report["failed"].append({**entry, "error": str(exc)})
                continue
            _finish(engine, person=key, day=day, channel=channel, worker=worker, error=None)
            report["sent"].append(entry)
    return report


def _compact_due(engine: Engine) -> dict[str, int]:
    """The record types compacted in this pass (setting ``compact_after_segments``) and their
    new base versions; a failure is logged and the pass goes on."""
    from chiso.dossiers.store import compact_setting
    from chiso.store.service import open_records

    try:
        return open_records(engine).compact_due(compact_setting())
    except ChisoError as exc:  # no records folder, a bad setting, too little memory
        log.warning("records not compacted: %s", exc)
    except Exception:  # the next pass tries again
        log.exception("compacting the records failed")
    return {}


def run(engine: Engine, *, once: bool = False, interval: float = 300, day: date | None = None,
        on_pass: Callable[[dict], None] | None = None) -> None:
    """The long-running loop: a pass every ``interval`` seconds (one pass with ``once``)."""
    worker = worker_id()
    while True:
        try:
            report = run_pass(engine, day=day, worker=worker)
        except Exception:  # keep the loop alive; the next pass retries
            log.exception("worker pass failed")
            report = None
        if on_pass and report is not None:
            on_pass(report)
        if once:
            return
        time.sleep(interval)
