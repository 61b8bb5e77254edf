"""The committee's working cycle in pages: its meetings (record one, add its conclusion
points, download the conclusion notice, see how many points are done, late or overdue and
the next meeting's agenda draft), the committee itself (documents, members and support
team) and the procedure catalogue (online levels, handling units, the share of full online
services per unit)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import ChisoError, NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page

router = APIRouter()
MAX_MINUTES = 20 * 1024 * 1024


def _back(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


def _date(text: object) -> date:
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise ChisoError(_("{value!r} is not a date in the form YYYY-MM-DD").format(value=text)) from None


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip()[:2000] if isinstance(value, str) else ""


def _visible_agenda(actor: Actor, reg: dict, agenda: dict) -> dict:
    """The agenda draft with only the points of units the reader sees."""
    return dict(agenda, open=[a for a in agenda["open"] if common.visible(actor, reg.get(a["unit"]))])


@router.get("/meetings")
def meetings_page(request: Request, error: str = Query("", max_length=300), actor: Actor = Depends(get_user_actor),
                  session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import meetings, service as tasks

    require(actor, "read")
    day = common.today()
    rows = meetings.list_meetings(session, as_of=day)
    reg = common.registry(request.app, session)
    return page(request, "meetings.html", meetings=rows, agenda=_visible_agenda(actor, reg, meetings.agenda(session, as_of=day)),
                kinds=meetings.KINDS, kind_name=meetings.kind_name, members=tasks.members_on(session, day),
                reg=reg, may_manage=actor.may("manage") and actor.province_wide,
                error=error)


@router.post("/meetings")
async def add_meeting(request: Request, actor: Actor = Depends(get_user_actor),
                      session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import meetings

    require(actor, "manage")
    form = await request.form()
    upload = form.get("minutes")
    with tempfile.TemporaryDirectory(prefix="chiso-minutes-") as tmp:
        try:
            minutes = await _saved(upload, Path(tmp) / "minutes")
            m = meetings.add_meeting(session, actor=actor, held_on=_date(form.get("date")), kind=_text(form, "kind"),
                                     chair=_text(form, "chair"), title=_text(form, "title") or None,
                                     place=_text(form, "place") or None,
                                     attendees=[a for a in form.getlist("attendee") if isinstance(a, str)],
                                     minutes=minutes, minutes_name=getattr(upload, "filename", None) if minutes else None)
        except ChisoError as exc:
            return _back("/meetings", error=str(exc)[:300])
    return _back(f"/meetings/{m.code}")


async def _saved(upload: object, path: Path) -> Path | None:
    """An uploaded file written to ``path`` (None: no file chosen), refused above 20 MB."""
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
        return None
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(1 << 20):  # type: ignore[attr-defined]
            size += len(chunk)
            if size > MAX_MINUTES:
                raise ChisoError(_("The file is larger than 20 MB."))
            out.write(chunk)
    return path


@router.get("/meetings/{code}")
def meeting_page(request: Request, code: str, error: str = Query("", max_length=300),
                 actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import meetings

    require(actor, "read")
    day = common.today()
    try:
        m, points = meetings.conclusion_rows(session, code, as_of=day)
    except NotFound:
        raise NotFound(_("Unknown meeting: {id}").format(id=code)) from None
    view = meetings.meeting_json(session, m, day)
    reg = common.registry(request.app, session)
    visible = [p for p in points if common.visible(actor, reg.get(p["unit"]))]
    return page(request, "meeting.html", meeting=view, points=visible, kind_name=meetings.kind_name, reg=reg,
                agenda=_visible_agenda(actor, reg, meetings.agenda(session, meeting=m.code)), units=sorted(reg.values(), key=lambda u: u.name)
                if actor.may("manage") else [], may_manage=actor.may("manage") and actor.province_wide,
                error=error, attendee_names={a.member.code: a.member.name for a in m.attendees if a.member})


@router.post("/meetings/{code}/conclusions")
async def add_conclusion(request: Request, code: str, actor: Actor = Depends(get_user_actor),
                         session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import meetings

    require(actor, "manage")
    form = await request.form()
    try:
        meetings.get(session, code)
    except NotFound:
        raise NotFound(_("Unknown meeting: {id}").format(id=code)) from None
    try:
        meetings.conclude(session, actor=actor, meeting=code, owner=_text(form, "owner"), unit=_text(form, "unit"),
                          deadline=_date(form.get("deadline")), title=_text(form, "title"),
                          product=_text(form, "product"), authority=_text(form, "authority"),
                          description=_text(form, "description") or None)
    except ChisoError as exc:
        return _back(f"/meetings/{code}", error=str(exc)[:300])
    return _back(f"/meetings/{code}")


@router.get("/meetings/{code}/notice.{fmt}")
def notice(request: Request, code: str, fmt: str, actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")):
    """The conclusion notice as DOCX or PDF (province-wide readers: it names every unit)."""
    from chiso.http.downloads import attachment
    from chiso.reports.build import build_conclusion
    from chiso.reports.render import MEDIA_TYPES, render

    require(actor, "read")
    if fmt not in ("docx", "pdf"):
        raise NotFound(_("Unknown report format {format}: use one of {formats}.").format(format=fmt, formats="docx, pdf"))
    if not actor.province_wide:
        raise NotFound(_("Unknown meeting: {id}").format(id=code))
    doc = build_conclusion(session, meeting=code)
    return attachment(render(doc, fmt), f"{doc.slug}.{fmt}", MEDIA_TYPES[fmt])


@router.get("/meetings/{code}/minutes")
def minutes(request: Request, code: str, actor: Actor = Depends(get_user_actor),
            session: Session = Depends(get_db, scope="function")):
    """The minutes of a meeting, for any logged-in reader (a meeting is province-wide);
    each download is in the audit trail."""
    from chiso.audit import service as audit
    from chiso.http.downloads import attachment
    from chiso.tasks import meetings
    from chiso.web.dashboard.steering import read_evidence

    require(actor, "read")
    m = meetings.get(session, code)
    if not m.minutes_sha256:
        raise NotFound(_("Meeting {id} has no minutes.").format(id=code))
    data = read_evidence(session, m.minutes_sha256)
    audit.record(session, actor=actor, action="evidence.download", object_type="meeting", object_key=m.code,
                 after={"name": m.minutes_name, "sha256": m.minutes_sha256})
    return attachment(data, m.minutes_name or m.minutes_sha256, m.minutes_type or "application/octet-stream")


@router.get("/committee")
def committee_page(request: Request, actor: Actor = Depends(get_user_actor),
                   session: Session = Depends(get_db, scope="function")):
    from chiso.tasks import charter, service as tasks

    require(actor, "read")
    members = tasks.list_members(session)
    return page(request, "committee.html", documents=charter.list_documents(session), doc_kind=charter.kind_name,
                committee=[m for m in members if m["body"] == "committee"],
                support=[m for m in members if m["body"] == "support_team"], reg=common.registry(request.app, session),
                today=common.today().isoformat())


@router.get("/procedures")
def procedures_page(request: Request, level: str = Query("", max_length=8), unit: str = Query("", max_length=64),
                    actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.dossiers import catalogue
    from chiso.periods import period_for

    require(actor, "read")
    store = request.app.state.store
    year = period_for("year", common.today())
    reg = common.registry(request.app, session)
    try:
        rows = catalogue.list_procedures(session, store, level=level or None, unit=unit or None, period=year)
    except (ChisoError, NotFound):
        rows = []
    if not actor.province_wide:
        rows = [dict(r, units=[u for u in r["units"] if common.visible(actor, reg.get(u))]) for r in rows]
    data = catalogue.summary(session, store, period=year)
    shares = [r for r in data["units"] if common.visible(actor, reg.get(r["unit"]))]
    shares.sort(key=lambda r: (r["full_online_rate"] if r["full_online_rate"] is not None else 2, r["unit"]))
    return page(request, "procedures.html", procedures=rows, province=data["province"], shares=shares, reg=reg,
                level=level, unit=unit, levels=catalogue.LEVELS, period=year)
