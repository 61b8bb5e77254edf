"""Report schedules (lịch gửi báo cáo) and the worker's part: build what is due and e-mail it.

A rule is kept simple: ``weekly:<mon|tue|wed|thu|fri|sat|sun>@HH:MM`` or
``monthly:<1..31>@HH:MM`` (a day past the month's end means its last day), in the local time
of the setting ``timezone``. Each pass of the worker calls :func:`run_due`: for every active
schedule, the latest due time not after ``now`` (and not before the schedule was created)
gets one ``report_runs`` row, inserted ignoring a conflict on (schedule, due) and claimed by
compare-and-set (``pending``, or ``failed`` with attempts left, → ``running``), exactly as
the reminder digests are; only the worker whose update changed the row builds the file into
``<data_dir>/reports/<schedule>/`` and e-mails it. A run whose worker died half-way stays
``running`` and is not retried (at most once rather than twice). A worker that was down for
a while sends only the latest due run of each schedule, not every missed one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import db, settings
from chiso.errors import ChisoError, NotFound
from chiso.i18n import LANGUAGES, _
from chiso.reports.kinds import KINDS
from chiso.reports.models import ReportRun, ReportSchedule

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

log = logging.getLogger("chiso.reports")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ATTEMPTS = 3
_RULE = re.compile(r"^(weekly|monthly):([a-z]{3}|\d{1,2})@(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Rule:
    every: str  # weekly | monthly
    day: int    # weekday 0 (Monday)–6, or day of month 1–31
    at: time

    def __str__(self) -> str:
        day = WEEKDAYS[self.day] if self.every == "weekly" else str(self.day)
        return f"{self.every}:{day}@{self.at.strftime('%H:%M')}"


def parse_rule(text: str) -> Rule:
    """``weekly:mon@08:00`` or ``monthly:1@08:00``."""
    m = _RULE.match((text or "").strip().lower())
    bad = ChisoError(_("Bad schedule rule {rule!r}: write weekly:mon@08:00 (mon … sun) or monthly:1@08:00 "
                       "(day 1–31).").format(rule=text))
    if not m:
        raise bad
    every, day_text, hh, mm = m.groups()
    if int(hh) > 23 or int(mm) > 59:
        raise bad
    if every == "weekly":
        if day_text not in WEEKDAYS:
            raise bad
        day = WEEKDAYS.index(day_text)
    else:
        if not day_text.isdigit() or not 1 <= int(day_text) <= 31:
            raise bad
        day = int(day_text)
    return Rule(every, day, time(int(hh), int(mm)))


def _month_day(year: int, month: int, day: int) -> date:
    """Day ``day`` of the month, or its last day when the month is shorter."""
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day, last))


def latest_due(rule: Rule, now: datetime, tz: str) -> datetime:
    """The latest due time not after ``now`` (aware), as an aware UTC datetime. Pure."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if rule.every == "weekly":
        d = local.date() - timedelta(days=(local.weekday() - rule.day) % 7)
        candidate = datetime.combine(d, rule.at, zone)
        if candidate > local:
            candidate = datetime.combine(d - timedelta(days=7), rule.at, zone)
    else:
        y, m = local.year, local.month
        candidate = datetime.combine(_month_day(y, m, rule.day), rule.at, zone)
        if candidate > local:
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
            candidate = datetime.combine(_month_day(y, m, rule.day), rule.at, zone)
    return candidate.astimezone(timezone.utc)


def due_times(rule: Rule, *, since: datetime, until: datetime, tz: str) -> list[datetime]:
    """Every due time in (``since``, ``until``], oldest first (UTC). Pure."""
    out = []
    t = latest_due(rule, until, tz)
    while t > since:
        out.append(t)
        t = latest_due(rule, t - timedelta(seconds=1), tz)
    return out[::-1]


# --------------------------------------------------------------------------- schedules


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def check_params(session: Session, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Refuse a schedule that could never run: unknown kind, round, group, unit or period kind."""
    from chiso.assessments import service as assessments
    from chiso.periods import KINDS as PERIOD_KINDS, parse_period
    from chiso.units import service as units

    if kind not in KINDS:
        raise ChisoError(_("Unknown report kind {kind}: use one of {kinds}.").format(kind=kind, kinds=", ".join(KINDS)))
    p = {k: v for k, v in params.items() if v not in (None, "", [], ())}
    if kind == "ranking" and ("round" in p) == ("index" in p):
        raise ChisoError(_("A ranking schedule needs either an index or a round."))
    if "round" in p:
        assessments.get_round(session, p["round"])
    if kind != "ranking" or "index" in p:
        if "period" in p:
            parse_period(p["period"])
        else:
            p.setdefault("period_kind", "week" if kind == "periodic" else "quarter")
            if p["period_kind"] not in PERIOD_KINDS:
                raise ChisoError(_("Unknown period kind {kind}: use one of {kinds}.").format(
                    kind=p["period_kind"], kinds=", ".join(PERIOD_KINDS)))
    for g in p.get("groups", []):
        units.group_members(session, g)
    if kind == "scorecard":
        if not p.get("units") and not p.get("groups"):
            raise ChisoError(_("A scorecard schedule needs a unit or a group."))
        for u in p.get("units", []):
            units.get(session, u)
    return p


def add_schedule(session: Session, *, code: str, kind: str, rule: str, fmt: str, recipients: Sequence[str],
                 params: dict[str, Any], lang: str | None = None) -> ReportSchedule:
    from chiso.reports.render import check_format

    code = (code or "").strip()
    if not code:
        raise ChisoError(_("A schedule needs a code."))
    if session.scalar(select(ReportSchedule).where(ReportSchedule.code == code)) is not None:
        raise ChisoError(_("Report schedule {code} already exists.").format(code=code))
    if lang is not None and lang not in LANGUAGES:
        raise ChisoError(_("Unknown language {lang}: use one of {langs}.").format(lang=lang, langs=", ".join(LANGUAGES)))
    bad = [r for r in recipients if "@" not in r]
    if bad:
        raise ChisoError(_("Not an e-mail address: {address}").format(address=bad[0]))
    sched = ReportSchedule(code=code, kind=kind, params=check_params(session, kind, params), format=check_format(fmt),
                           lang=lang, rule=str(parse_rule(rule)), recipients=list(recipients), active=True,
                           created_at=datetime.now(timezone.utc))
    session.add(sched)
    session.flush()
    return sched


def get_schedule(session: Session, code: str) -> ReportSchedule:
    s = session.scalar(select(ReportSchedule).where(ReportSchedule.code == code))
    if s is None:
        raise NotFound(_("Unknown report schedule: {code}").format(code=code))
    return s


def remove_schedule(session: Session, *, code: str) -> None:
    """Delete the schedule and the record of its runs (the files stay)."""
    session.delete(get_schedule(session, code))
    session.flush()


def schedule_json(s: ReportSchedule) -> dict[str, Any]:
    return {"code": s.code, "kind": s.kind, "params": s.params, "format": s.format, "lang": s.lang, "rule": s.rule,
            "recipients": s.recipients, "active": s.active, "created_at": _aware(s.created_at).isoformat()}


def list_schedules(session: Session) -> list[dict[str, Any]]:
    return [schedule_json(s) for s in session.scalars(select(ReportSchedule).order_by(ReportSchedule.code))]


def list_runs(session: Session, *, schedule: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    q = select(ReportRun, ReportSchedule.code).join(ReportSchedule).order_by(ReportRun.due.desc(), ReportRun.id.desc())
    if schedule is not None:
        q = q.where(ReportSchedule.id == get_schedule(session, schedule).id)
    out = []
    for run, code in session.execute(q.limit(limit)):
        out.append({"schedule": code, "due": _aware(run.due).isoformat(), "status": run.status,
                    "attempts": run.attempts, "claimed_by": run.claimed_by,
                    "finished_at": _aware(run.finished_at).isoformat() if run.finished_at else None,
                    "file": run.file_path, "sha256": run.sha256, "error": run.error})
    return out


# --------------------------------------------------------------------------- building one


def period_of(params: dict[str, Any], due_local: date):
    """The period a scheduled report covers: ``period`` as given, else the last complete
    period of ``period_kind`` before the due day (Monday's weekly report: the week before)."""
    from chiso.periods import parse_period, period_for

    if params.get("period"):
        return parse_period(params["period"])
    return period_for(params.get("period_kind", "week"), due_local).previous()


def build_document(session: Session, store: DossierStore, *, kind: str, params: dict[str, Any], lang: str | None,
                   day: date | None = None, period=None):
    """The document of one report described as a schedule describes it."""
    from chiso.reports import build

    issuer = params.get("issuer") or None
    if kind == "ranking":
        return build.build_ranking(session, store, index=params.get("index"), round_code=params.get("round"),
                                   period=period if params.get("index") else None, groups=params.get("groups", ()),
                                   lang=lang, day=day, issuer=issuer)
    if kind == "scorecard":
        groups = params.get("groups") or [None]
        return build.build_scorecards(session, store, period=period, unit_codes=params.get("units"), group=groups[0],
                                      lang=lang, day=day, issuer=issuer)
    if kind == "periodic":
        return build.build_periodic(session, store, period=period, threshold=params.get("threshold"), lang=lang,
                                    day=day, issuer=issuer)
    raise ChisoError(_("Unknown report kind {kind}: use one of {kinds}.").format(kind=kind, kinds=", ".join(KINDS)))


# --------------------------------------------------------------------------- claiming


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _insert_ignore(engine: Engine, values: dict) -> None:
    db.insert_ignore(engine, ReportRun, values, keys=["schedule_id", "due"])


def claim(engine: Engine, *, schedule_id: int, due: datetime, worker: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Insert the run if missing, then compare-and-set it to ``running`` for ``worker``: True
    only for the one worker whose update changed the row."""
    now = datetime.now(timezone.utc)
    _insert_ignore(engine, {"schedule_id": schedule_id, "due": due, "status": "pending", "attempts": 0,
                            "created_at": now})
    with engine.begin() as conn:
        result = conn.execute(
            update(ReportRun)
            .where(ReportRun.schedule_id == schedule_id, ReportRun.due == due,
                   or_(ReportRun.status == "pending",
                       and_(ReportRun.status == "failed", ReportRun.attempts < max_attempts)))
            .values(status="running", claimed_by=worker, claimed_at=now, attempts=ReportRun.attempts + 1, error=None))
        return result.rowcount == 1


def _finish(engine: Engine, *, schedule_id: int, due: datetime, worker: str, status: str, error: str | None = None,
            path: str | None = None, sha256: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(ReportRun).where(
            ReportRun.schedule_id == schedule_id, ReportRun.due == due, ReportRun.status == "running",
            ReportRun.claimed_by == worker).values(
            status=status, error=(error or None) and error[:2000], file_path=path, sha256=sha256,
            finished_at=datetime.now(timezone.utc)))


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temp = folder / f".tmp-{os.getpid()}-{name}"
    temp.write_bytes(data)
    os.replace(temp, path)
    return path


def execute(engine: Engine, sched: dict[str, Any], due: datetime, *, store: DossierStore | None = None) -> tuple[Path, str, bool]:
    """Build the run's file, write it and e-mail it: (path, sha256, e-mailed)."""
    from chiso.reports.document import language
    from chiso.store.service import files_root, open_records
    from chiso.reports.mail import send_with_attachments
    from chiso.reports.render import MEDIA_TYPES, render

    store = store or open_records(engine)
    tz = settings.get("timezone")
    due_local = due.astimezone(ZoneInfo(tz))
    with language(sched["lang"]) as lang:
        with db.transaction(engine) as session:
            period = None
            if sched["kind"] != "ranking" or sched["params"].get("index"):
                period = period_of(sched["params"], due_local.date())
            doc = build_document(session, store, kind=sched["kind"], params=sched["params"], lang=lang,
                                 day=due_local.date(), period=period)
        data = render(doc, sched["format"])
        name = f"{doc.slug}-{due_local.strftime('%Y%m%d-%H%M')}.{sched['format']}"
        root = files_root(engine)
        path = _write(root / "reports" / sched["code"], name, data)
        digest = hashlib.sha256(data).hexdigest()
        if not sched["recipients"]:
            return path, digest, False
        subject = _("chiso: {title} ({schedule})").format(title=doc.title, schedule=sched["code"])
        body = _("The report {name} is attached: {title}, made on {time} for the schedule {schedule}.\n\n"
                 "This message was sent by chiso.").format(
            name=name, title=doc.title, time=due_local.strftime("%H:%M %d/%m/%Y"), schedule=sched["code"])
        send_with_attachments(to=sched["recipients"], subject=subject, body=body,
                              attachments=[(name, data, MEDIA_TYPES[sched["format"]])])
        return path, digest, True


def run_due(engine: Engine, *, now: datetime | None = None, worker: str | None = None, store: DossierStore | None = None) -> dict[str, Any]:
    """One pass: every active schedule's latest due run that no worker has taken is built,
    written and e-mailed. Returns ``sent``, ``written`` (no recipients), ``failed`` and
    ``already`` (claimed elsewhere or earlier), each a list of {schedule, due}."""
    now = _aware(now or datetime.now(timezone.utc))
    worker = worker or worker_id()
    tz = settings.get("timezone")
    report: dict[str, Any] = {"now": now.isoformat(), "worker": worker, "sent": [], "written": [], "failed": [],
                              "already": []}
    with Session(engine) as session:
        schedules = [(s.id, schedule_json(s)) for s in
                     session.scalars(select(ReportSchedule).where(ReportSchedule.active.is_(True))
                                     .order_by(ReportSchedule.code))]
    for sid, sched in schedules:
        due = latest_due(parse_rule(sched["rule"]), now, tz)
        if due < datetime.fromisoformat(sched["created_at"]):
            continue  # nothing was due since the schedule was made
        entry = {"schedule": sched["code"], "due": due.isoformat()}
        if not claim(engine, schedule_id=sid, due=due, worker=worker):
            report["already"].append(entry)
            continue
        try:
            path, digest, mailed = execute(engine, sched, due, store=store)
        except Exception as exc:  # any failure is recorded on the run and retried on a later pass
            log.warning("report schedule %s (due %s) failed: %s", sched["code"], due.isoformat(), exc)
            _finish(engine, schedule_id=sid, due=due, worker=worker, status="failed", error=str(exc) or repr(exc))
            report["failed"].append({**entry, "error": str(exc)})
            continue
        _finish(engine, schedule_id=sid, due=due, worker=worker, status="sent" if mailed else "written",
                path=str(path), sha256=digest)
        report["sent" if mailed else "written"].append({**entry, "file": str(path)})
    return report
