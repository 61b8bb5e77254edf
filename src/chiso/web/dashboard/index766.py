"""The 766 pages: every unit's score (``/766``), one unit's groups and indicators
(``/766/{unit}``), and the dossiers behind one number (``/766/{unit}/{indicator}``, paged,
exportable as CSV and XLSX)."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from chiso.adjustments import service as adjustments
from chiso.assessments import evidence as evidence_store
from chiso.auth.permissions import Actor, can, require
from chiso.errors import ChisoError, NotFound
from chiso.http.uploads import clean_filename
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.index.explain import ONLY, listable
from chiso.periods import Period
from chiso.reports.render import MEDIA_TYPES
from chiso.sheets import csv_safe, xlsx_safe
from chiso.web.dashboard import common
from chiso.web.dashboard.page import fragments, page
router = APIRouter()
PAGE_SIZE = 50
EXPORT_LIMIT = 200_000
LEVELS = ("commune", "agency", "province")


def column_label(name: str) -> str:
    return {"dossier_id": _("Dossier"), "procedure_code": _("Procedure"), "received_at": _("Received"),
            "due_at": _("Due"), "finished_at": _("Finished"), "status": _("Status"), "channel": _("Channel"),
            "source": _("Source"), "feedback_id": _("Feedback"), "counted": _("In numerator")}.get(name, name)


@router.get("/766")
def table(request: Request, period: str | None = None, group: str | None = None, level: str = "commune",
          q: str = Query("", max_length=100), actor: Actor = Depends(get_user_actor),
          session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    p = common.pick_period(period)
    groups = common.unit_groups(app, session)
    if group and group not in {g["code"] for g in groups}:
        raise NotFound(_("Unknown group: {code}").format(code=group))
    level = level if level in LEVELS else "commune"
    every = common.index_rows(app, session, p, group=group or None)
    names = common.group_names()
    row_html = fragments(request, session, "766", (p.code, group), "row", every, lambda r: r["unit"], p, names)
    rows = [r for r in every if group or r["level"] == level]
    if group:
        rows = [r for r in rows if r["level"] != "province"]
    rows = common.in_scope(app, session, actor, rows)
    if q.strip():
        needle = q.strip().casefold()
        rows = [r for r in rows if needle in r["name"].casefold() or needle in r["unit"]]
    group_name = next((g["name"] for g in groups if g["code"] == group), None) if group else None
    return page(request, "index766.html", period=p, picker=common.picker(p), rows=rows, groups=groups,
                rank_label=common.cohort_label(level, group_name),
                group=group or "", level=level, q=q, group_names=names, row_html=row_html, live_url="/766")


def unit_page_data(app: FastAPI, session: Session, code: str, p: Period) -> dict:
    """One unit's row of the period and its recent trend, cached."""
    by_unit = common.index_by_unit(app, session, p)
    row = by_unit.get(code)
    if row is None:
        raise NotFound(_("Unit {code} is not scored for {period}.").format(code=code, period=p.code))
    periods = common.recent(p, 6)
    trend = common.totals_over(app, session, periods)
    return {"row": row, "periods": periods, "trend": trend}


@router.get("/766/{code}")
def unit_page(request: Request, code: str, period: str | None = None, actor: Actor = Depends(get_user_actor),
              session: Session = Depends(get_db, scope="function")):
    app = request.app
    info = common.unit_or_404(app, session, actor, code)
    p = common.pick_period(period)
    data = unit_page_data(app, session, info.code, p)
    row, periods, trend = data["row"], data["periods"], data["trend"]
    m = common.method()
    names, ind_names = common.group_names(), common.indicator_names()
    groups = []
    for g in m.groups:
        gr = row["groups"].get(g.id, {})
        inds = []
        for ind in g.indicators:
            r = row["indicators"].get(ind.id)
            if r is None:
                continue
            series = [trend[x.code].get(info.code, {}).get("rates", {}).get(ind.id) for x in periods]
            inds.append({"id": ind.id, "name": ind_names.get(ind.id, ind.id), **r, "series": series,
                         "unit": ind.rate_unit, "listable": listable(m, ind.numerator) or listable(m, ind.denominator)})
        groups.append({"id": g.id, "name": names.get(g.id, g.id), "points": gr.get("points"), "max": gr.get("max"),
                       "indicators": inds})
    total_trend = [(common.short_label(x), trend[x.code].get(info.code, {}).get("total")) for x in periods]
    if row["level"] != "province":
        _lists_soon(app, p, info.code)
    foreseen = common.forecasts(app, session, p).get(info.code) if row["running"] else None
    advised = common.advice(app, session, p, info.code) if row["level"] != "province" else None
    entered = adjustments.list_adjustments(session, actor=actor, unit=info.code, period=p.code, index=m.family)
    concerns = [(i.id, f"{i.id} {ind_names.get(i.id, i.id)}") for g in m.groups for i in g.indicators]
    concerns += [(f"group:{g.id}", names.get(g.id, g.id)) for g in m.groups]
    return page(request, "unit766.html", period=p, picker=common.picker(p), unit=info, row=row, groups=groups,
                foreseen=foreseen, advised=advised, foreseen_label=common.foreseen_label,
                catalogue=catalogue_share(app, session, p, info.code),
                total_trend=total_trend, standing=common.standing(app, session, p, info.code),
                cohort_label=common.cohort_label, live_url=f"/766/{info.code}",
                adjustments=entered, adjusted=adjustments.by_indicator(entered), concerns=concerns,
                may_adjust=can(actor, "manage"), saved=request.query_params.get("saved"),
                error=request.query_params.get("error"))


def _back(code: str, period: str, **params: str) -> RedirectResponse:
    from urllib.parse import urlencode

    query = urlencode({"period": period, **{k: v for k, v in params.items() if v}})
    return RedirectResponse(f"/766/{code}?{query}#adjustments", status_code=303)


@router.post("/766/{code}/adjustments")
async def add_adjustment(request: Request, code: str, actor: Actor = Depends(get_user_actor),
                         session: Session = Depends(get_db, scope="function")):
    """Enter a technical deduction from the unit page (province-wide managers)."""
    require(actor, "read")
    info = common.unit_or_404(request.app, session, actor, code)
    require(actor, "manage")
    form = await request.form()
    period = str(form.get("period") or "")
    concern = str(form.get("concerns") or "")
    upload = form.get("file")
    try:
        points = float(str(form.get("points") or "").replace(",", "."))
    except ValueError:
        return _back(info.code, period, error=_("Points must be a number, e.g. -1,5."))
    fields = dict(actor=actor, unit=info.code, period=period, points=points, reason=str(form.get("reason") or ""),
                  indicator=None if concern.startswith("group:") else concern or None,
                  group=concern[len("group:"):] if concern.startswith("group:") else None)
    try:
        if isinstance(upload, StarletteUpload) and upload.filename:
            with tempfile.TemporaryDirectory(prefix="chiso-upload-") as tmp:
                path = Path(tmp) / "upload"
                size = 0
                with path.open("wb") as out:
                    while chunk := await upload.read(1 << 20):
                        size += len(chunk)
                        if size > evidence_store.MAX_BYTES:
                            return _back(info.code, period, error=_("The file is larger than 20 MB."))
                        out.write(chunk)
                adjustments.add(session, **fields, evidence=path, evidence_name=clean_filename(upload.filename, "evidence"))
        else:
            adjustments.add(session, **fields)
    except ChisoError as exc:
        return _back(info.code, period, error=str(exc)[:300])
    return _back(info.code, period, saved="added")


@router.get("/766/{code}/adjustments/{adjustment_id}/evidence")
def adjustment_evidence(request: Request, code: str, adjustment_id: int, actor: Actor = Depends(get_user_actor),
                        session: Session = Depends(get_db, scope="function")):
    """The evidence file of an adjustment, for whoever sees the unit; each download is in
    the audit trail."""
    from chiso.audit import service as audit
    from chiso.http.downloads import attachment

    info = common.unit_or_404(request.app, session, actor, code)
    require(actor, "read", unit_id=info.id)
    row = adjustments.get(session, adjustment_id)
    if row.unit_id != info.id or not row.evidence_sha256:
        raise NotFound(_("Unknown adjustment: {id}").format(id=adjustment_id))
    if not evidence_store.blob_path(row.evidence_sha256, where=session).exists():
        raise NotFound(_("Evidence file {sha} is missing from the store.").format(sha=row.evidence_sha256))
    data = evidence_store.read(row.evidence_sha256, where=session)
    audit.record(session, actor=actor, action="evidence.download", object_type="adjustment", object_key=str(row.id),
                 unit_id=row.unit_id, after={"name": row.evidence_name, "sha256": row.evidence_sha256})
    return attachment(data, row.evidence_name or row.evidence_sha256, row.evidence_type or "application/octet-stream")


@router.post("/766/{code}/adjustments/{adjustment_id}/withdraw")
async def withdraw_adjustment(request: Request, code: str, adjustment_id: int, actor: Actor = Depends(get_user_actor),
                              session: Session = Depends(get_db, scope="function")):
    """Withdraw a technical deduction from the unit page; it stays listed as withdrawn."""
    require(actor, "read")
    info = common.unit_or_404(request.app, session, actor, code)
    require(actor, "manage")
    form = await request.form()
    period = str(form.get("period") or "")
    row = adjustments.get(session, adjustment_id)
    if row.unit_id != info.id:
        raise NotFound(_("Unknown adjustment: {id}").format(id=adjustment_id))
    try:
        adjustments.withdraw(session, actor=actor, adjustment_id=adjustment_id, reason=str(form.get("reason") or ""))
    except ChisoError as exc:
        return _back(info.code, period, error=str(exc)[:300])
    return _back(info.code, period, saved="withdrawn")


def catalogue_share(app: FastAPI, session: Session, p: Period, code: str) -> dict | None:
    """The unit's counts of full, partial and no online services over the procedures it
    received dossiers of in ``p`` (the province: the whole catalogue), shown beside
    indicator 3.1; None when the catalogue says nothing of it."""
    from chiso.dossiers import catalogue

    def load() -> dict:
        return catalogue.summary(session, app.state.store, period=p)

    data = common.cached(app, session, "catalogue-share", (p.code,), load, registry_too=False)
    if data["province"]["unit"] == code:
        row = data["province"]
    else:
        row = next((r for r in data["units"] if r["unit"] == code), None)
    return row if row and row["procedures"] else None


# --------------------------------------------------------------------------- explain


def _targets(app: FastAPI, session: Session, p: Period) -> dict:
    from chiso.index import service

    return common.cached(app, session, "targets", (p.end.isoformat(),),
                         lambda: {t.code: t for t in service.targets(session, p)}, store=False)


def picked(app: FastAPI, session: Session, p: Period, code: str, indicator: str) -> dict:
    """:func:`chiso.index.explain.picked`, kept per store version and shared by every filter,
    page and export of the explain view."""
    from chiso.index import explain as records

    return common.cached(app, session, "explain-ids", (p.code, code, indicator), lambda: records.picked(
        session, app.state.store, p, unit=code, indicator=indicator, targets=list(_targets(app, session, p).values())))


def _lists_soon(app: FastAPI, p: Period, code: str) -> None:
    """The first page of the dossiers behind the unit's on-time rate (the late ones, then
    all), computed in the background while the reader reads the unit's page: the list it
    links to first. A unit's first list cost 0.1 to 0.3 s of its reader's time (10 million
    dossiers, 20 users, benchmarks/web_load.py); once computed it is kept per store version."""
    from chiso import db
    from chiso.index import service
    from chiso.web.dashboard import warmup

    indicator = service.on_time_indicator(common.method())
    if indicator is None:
        return

    def fetch() -> None:
        with db.transaction(app.state.engine) as session:
            for only in ("late", "all"):
                explain_page(app, session, p, code, indicator, only=only, page_no=0, limit=PAGE_SIZE)

    warmup.soon(app, fetch)


def explain_page(app: FastAPI, session: Session, p: Period, code: str, indicator: str, *, only: str, page_no: int,
                 limit: int, use_cache: bool = True) -> dict:
    """One page of the records (:func:`chiso.index.explain.records_page`)."""
    from chiso.index import explain as records

    ids = picked(app, session, p, code, indicator)

    def compute_page():
        return records.records_page(app.state.store, ids, only=only, page_no=page_no, limit=limit)

    if not use_cache:
        return compute_page()
    return common.cached(app, session, "explain", (p.code, code, indicator, only, page_no, limit), compute_page)


def value_label(column: str, value) -> str | None:
    """The words a reader knows for a stored code (status, channel); None: not a code."""
    if column == "status":
        return {"submitted": _("submitted, not yet received"), "received": _("received"), "processing": _("processing"),
                "supplement_requested": _("supplement requested"), "settled": _("settled"),
                "returned": _("result returned"), "rejected": _("rejected"), "stopped": _("stopped"),
                "withdrawn": _("withdrawn")}.get(value, value)
    if column == "channel":
        return {"direct": _("in person"), "online": _("online"), "postal": _("by post")}.get(value, value)
    return None


def late_days(row: dict, period_end: date, now: datetime | None = None) -> int | None:
    """Whole days past the due time: at the end for a finished dossier; for one still open,
    at the period's end or, in a period still running, now (a real-time index counts the
    days late to now). None when it was not late (or has no due time), and for a record the
    numerator counts (on time: waiting for a supplement, or due later today)."""
    if row.get("counted") is True:
        return None
    due = row.get("due_at")
    if not isinstance(due, datetime):
        return None
    end = row.get("finished_at")
    if end is None:
        end = datetime.combine(period_end, datetime.max.time())
        if now is not None:
            end = min(end, now)
    if not isinstance(end, datetime) or end <= due:
        return None
    return max(1, (end - due).days)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def show_cell(column: str, value) -> str:
    """A value as the page shows it: dates the Vietnamese way, codes in words."""
    if isinstance(value, (datetime, date)):
        return common.fmt_date(value)
    word = value_label(column, value)
    return word if word is not None else _cell(value)


@router.get("/766/{code}/{indicator}")
def explain(request: Request, code: str, indicator: str, period: str | None = None, only: str = "all",
            page_no: int = Query(0, alias="page", ge=0, le=100_000), format: str = "html",
            actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    from chiso.index import service

    app = request.app
    info = common.unit_or_404(app, session, actor, code)
    p = common.pick_period(period)
    only = only if only in ONLY else "all"
    row = common.index_by_unit(app, session, p).get(info.code)
    if row is None or indicator not in row["indicators"]:
        raise NotFound(_("Unknown indicator {id} in method {method}.").format(id=indicator, method=common.method().id))
    if format in ("csv", "xlsx"):
        data = explain_page(app, session, p, info.code, indicator, only=only, page_no=0, limit=EXPORT_LIMIT,
                            use_cache=False)
        return export(data, format, f"{info.code}-{indicator}-{p.code}-{only}", p.end, service.local_now())
    data = explain_page(app, session, p, info.code, indicator, only=only, page_no=page_no, limit=PAGE_SIZE)
    ind = common.method().indicator(indicator)
    now = service.local_now()
    pages = 0 if not data.get("matching") else (data["matching"] - 1) // PAGE_SIZE + 1
    return page(request, "explain.html", period=p, unit=info, row=row, ind=ind, r=row["indicators"][indicator],
                name=common.indicator_names().get(indicator, indicator), data=data, only=only, page_no=page_no,
                pages=pages, label=column_label, cell=show_cell, late=lambda r: late_days(r, p.end, now))


def export(data: dict, fmt: str, stem: str, end: date, now: datetime | None = None) -> Response:
    header = [column_label(c) for c in data["columns"]] + [column_label("counted"), _("Days late")]
    body = [[_cell(r.get(c)) for c in data["columns"]] + [_cell(r.get("counted")), _cell(late_days(r, end, now))]
            for r in data["rows"]]
    disposition = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows([csv_safe(v) for v in line] for line in body)  # no cell becomes a formula
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(stem[:31])
    ws.append(header)
    for line in body:
        ws.append([xlsx_safe(ws, v) for v in line])  # a dossier id "=HYPERLINK(...)" stays text
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), headers=disposition, media_type=MEDIA_TYPES["xlsx"])
