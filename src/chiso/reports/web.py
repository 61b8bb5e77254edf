"""The reports page: generate, preview and download any report for the units in one's scope.

Ranking announcements and periodic reports speak of every unit, so they are for
province-wide readers; a scorecard is for anyone who sees its unit. Files made by the
worker's schedules are listed for province-wide readers, to download again."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.audit import service as audit
from chiso.auth.permissions import Actor, Forbidden, require
from chiso.errors import ChisoError, NotFound
from chiso.http.deps import check_csrf, get_db, get_user_actor
from chiso.http.periods import pick_period, picker
from chiso.http.render import render as render_page
from chiso.http.scope import unit_ids
from chiso.i18n import LANGUAGES, _, current_language
from chiso.reports import document as doc
from chiso.reports.kinds import KINDS
from chiso.reports.render import FORMATS, MEDIA_TYPES, render

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)



def _kind_label(kind: str) -> str:
    return {"ranking": _("Ranking announcement"), "scorecard": _("Unit scorecard"),
            "periodic": _("Periodic 766 report")}[kind]


def authorise(session: Session, actor: Actor, *, kind: str, unit: str | None) -> None:
    """Refuse a report the actor may not read (an unknown kind: 404)."""
    from chiso.units import service as units

    if kind not in KINDS:
        raise NotFound(_("Unknown report kind {kind}: use one of {kinds}.").format(kind=kind, kinds=", ".join(KINDS)))
    if kind == "scorecard" and unit:
        target = units.get(session, unit)
        require(actor, "read", unit_id=target.id, what=_("Unknown unit code: {code}").format(code=unit))
    elif not actor.province_wide:
        raise Forbidden(_("This report covers every unit of the province; ask for your unit's scorecard instead."))


#: A preview is kept for this many minutes at most, even if nothing it reads changed: the
#: periodic report lists the dossiers overdue *now*, which time alone changes.
PREVIEW_MINUTES = 10


def preview_stamp(session: Session, store) -> tuple:
    """What a report's content depends on: the store's versions, the tables the reports
    read (registry, targets, tasks, assessment rounds: rows added, and the newest change
    where a table keeps one, in one query) and the time, in steps of ``PREVIEW_MINUTES``."""
    from sqlalchemy import func

    from chiso.assessments.models import (
        Assessment,
        AssessmentRound,
        LeafValue,
        RoundEvent,
        SurveyRate,
    )
    from chiso.clock import local_now
    from chiso.targets.models import Flip, ManualValue, Target
    from chiso.tasks.models import (
        CommitteeMember,
        MemberUnit,
        Task,
        TaskProgress,
        TaskUnit,
    )
    from chiso.units.models import (
        GroupMember,
        LineageEvent,
        LineageLink,
        Unit,
        UnitGroup,
        UnitName,
        UnitParent,
    )

    columns = []
    for m in (Unit, UnitParent, UnitName, LineageEvent, LineageLink, UnitGroup, GroupMember, Target, ManualValue,
              Flip, CommitteeMember, MemberUnit, Task, TaskUnit, TaskProgress, AssessmentRound, Assessment,
              LeafValue, SurveyRate, RoundEvent):
        columns += [select(func.count(m.id)).scalar_subquery(), select(func.max(m.id)).scalar_subquery()]
        if hasattr(m, "updated_at"):
            columns.append(select(func.max(m.updated_at)).scalar_subquery())
    now = local_now()
    return (*store.kind_versions().values(), tuple(session.execute(select(*columns)).one()),
            now.date(), (now.hour * 60 + now.minute) // PREVIEW_MINUTES)


def build(session: Session, store: DossierStore, actor: Actor, *, kind: str, period: str | None, round_code: str | None,
          group: str | None, unit: str | None, lang: str | None) -> doc.Document:
    """The document asked for, after the permission check."""
    from chiso.periods import parse_period
    from chiso.reports import build as b

    authorise(session, actor, kind=kind, unit=unit)
    lang = lang if lang in LANGUAGES else current_language()
    if kind == "ranking" and round_code:
        return b.build_ranking(session, store, round_code=round_code, groups=[group] if group else [], lang=lang)
    if not period:
        raise ChisoError(_("The 766 index needs a period."))
    p = parse_period(period)
    if kind == "ranking":
        return b.build_ranking(session, store, index="766", period=p, groups=[group] if group else [], lang=lang)
    if kind == "periodic":
        return b.build_periodic(session, store, period=p, lang=lang)
    if not unit and not group:
        raise ChisoError(_("Give a unit or a group."))
    return b.build_scorecards(session, store, period=p, unit_codes=[unit] if unit else None, group=group, lang=lang)


def _form_context(session: Session, actor: Actor, request: Request) -> dict:
    from chiso.assessments.service import list_rounds
    from chiso.units import service as units

    q = request.query_params
    period = pick_period(q.get("period"))
    communes = [u for u in units.list_units(session) if u.level in ("agency", "commune")]
    ids = unit_ids(session)
    visible = [u for u in communes if actor.sees(ids.get(u.code))]
    return {
        "kinds": [(k, _kind_label(k)) for k in KINDS], "formats": FORMATS, "picker": picker(period),
        "period": period, "rounds": list_rounds(session) if actor.province_wide else [],
        "groups": units.list_groups(session) if actor.province_wide else [], "units": visible,
        "chosen": {k: q.get(k, "") for k in ("kind", "round", "group", "unit", "lang")},
    }


@router.get("/reports")
def reports_page(request: Request, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    runs = _runs(session) if actor.province_wide else []
    return render_page(request, "reports/reports.html", runs=runs, **_form_context(session, actor, request))


@router.get("/reports/preview")
def preview(request: Request, kind: str = Query("scorecard", max_length=16), period: str | None = Query(None, max_length=32),
            round: str | None = Query(None, max_length=64), group: str | None = Query(None, max_length=64),
            unit: str | None = Query(None, max_length=64), lang: str | None = Query(None, max_length=2),
            actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    store = request.app.state.store
    authorise(session, actor, kind=kind, unit=unit or None)  # every time, cached or not

    def compute():
        document = build(session, store, actor, kind=kind, period=period or None, round_code=round or None,
                         group=group or None, unit=unit or None, lang=lang)
        return document, _html_blocks(document)

    # Building a document takes seconds at a province's size; the same one is kept until
    # something it reads changes.
    key = ("report-preview", kind, period or None, round or None, group or None, unit or None,
           lang if lang in LANGUAGES else current_language(), preview_stamp(session, store))
    document, blocks = request.app.state.results.get(key, compute)
    return render_page(request, "reports/preview.html", document=document, blocks=blocks,
                       query=request.url.query, formats=FORMATS)


@router.get("/reports/file")
def download(request: Request, kind: str = Query("scorecard", max_length=16), format: str = Query("pdf", max_length=8),
             period: str | None = Query(None, max_length=32), round: str | None = Query(None, max_length=64),
             group: str | None = Query(None, max_length=64), unit: str | None = Query(None, max_length=64),
             lang: str | None = Query(None, max_length=2),
             actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    if format not in FORMATS:
        raise ChisoError(_("Unknown report format {format}: use one of {formats}.").format(format=format, formats=", ".join(FORMATS)))
    document = build(session, request.app.state.store, actor, kind=kind, period=period or None, round_code=round or None,
                     group=group or None, unit=unit or None, lang=lang)
    data = render(document, format)
    audit.record(session, actor=actor, action="report.download", object_type="report",
                 object_key=f"{kind}:{document.slug}.{format}")
    return _file(data, f"{document.slug}.{format}", format)


def _file(data: bytes, name: str, fmt: str) -> Response:
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{name.encode('ascii', 'replace').decode()}\"; "
                               f"filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})


def _runs(session: Session) -> list[dict]:
    from chiso.reports.models import ReportRun, ReportSchedule

    rows = session.execute(
        select(ReportRun, ReportSchedule.code).join(ReportSchedule, ReportSchedule.id == ReportRun.schedule_id)
        .order_by(ReportRun.id.desc()).limit(30))
    return [{"id": r.id, "schedule": code, "due": r.due, "status": r.status,
             "file": Path(r.file_path).name if r.file_path else None} for r, code in rows]


@router.get("/reports/runs/{run_id}")
def run_file(run_id: int, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.reports.models import ReportRun

    if not actor.province_wide:
        raise NotFound(_("Not found."))
    from chiso.store.service import reports_dir

    run = session.get(ReportRun, run_id) if run_id < 2**62 else None
    folder = reports_dir(session).resolve()
    # Found by schedule and name in this store's folder, wherever the store was when the
    # file was written (a restored store keeps its runs); only files in it are served.
    kept = Path(run.file_path) if run is not None and run.file_path else None
    path = (folder / kept.parent.name / kept.name).resolve() if kept is not None else None
    if path is None or not path.is_relative_to(folder) or not path.is_file():
        raise NotFound(_("Not found."))
    fmt = path.suffix.lstrip(".")
    if fmt not in MEDIA_TYPES:
        raise NotFound(_("Not found."))
    return _file(path.read_bytes(), path.name, fmt)


def _html_blocks(document: doc.Document) -> list[dict]:
    """The document's blocks as plain data for the preview template (images as data: URIs,
    which the page's content security policy allows for images only)."""
    out = []
    for block in document.blocks:
        kind = type(block).__name__.lower()
        item = {"kind": kind, "block": block}
        if isinstance(block, doc.Image):
            item["src"] = "data:image/png;base64," + base64.b64encode(block.png).decode()
        if isinstance(block, doc.Table):
            item["rows"] = [[(doc.cell_text(v, c), c.kind != "text") for v, c in zip(row, block.columns)]
                            for row in block.rows]
        out.append(item)
    return out


