"""The overview (``/``): what the Party Secretary opens in the morning."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor
from chiso.http.deps import get_actor, get_db
from chiso.index import service as index_service
from chiso.periods import Period
from chiso.web.dashboard import common
from chiso.web.dashboard.page import page

router = APIRouter()


def province_code(app: FastAPI, session: Session) -> str:
    from chiso.units import service as units

    return common.cached(app, session, "home-province", (), lambda: units.home_province(session), store=False)


def year_months(p: Period) -> list[Period]:
    """The months of the year up to the period's end: the province's trend line."""
    from chiso.periods import period_for

    last = period_for("month", min(p.end, common.today()))
    months = [last]
    while months[-1].code[5:7] != "01":
        months.append(months[-1].previous())
    return list(reversed(months))


def steering_lists(app: FastAPI, session: Session) -> dict:
    """Tasks and recent flips, cached until a task, a progress report or a flip is added."""
    from chiso.targets import service as targets
    from chiso.targets.models import Flip
    from chiso.tasks import service as tasks
    from chiso.tasks.models import Task, TaskProgress

    day = common.today()

    def load():
        all_tasks = tasks.list_tasks(session, as_of=day)
        red = targets.flips(session, since=day - timedelta(days=7), to="red")
        return {"tasks": all_tasks, "red": red}

    stamp = common.table_stamp(session, Task, TaskProgress, Flip)
    return common.cached(app, session, "steering-lists", (day.isoformat(), stamp), load, store=False)


@router.get("/")
def overview(request: Request, period: str | None = None, actor: Actor = Depends(get_actor),
             session: Session = Depends(get_db, scope="function")):
    if actor.is_public:
        return RedirectResponse("/login", status_code=303)
    if actor.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    app = request.app
    p = common.pick_period(period)
    reg = common.registry(app, session)
    code = province_code(app, session)
    by_unit = common.index_by_unit(app, session, p)
    province = by_unit.get(code)
    months = year_months(p)
    trend = common.totals_over(app, session, months)
    trend_points = [(common.short_label(m), trend[m.code].get(code, {}).get("total")) for m in months]
    if province and province["total"] is not None and province["previous_total"] is not None:
        province = dict(province, total_change=province["total"] - province["previous_total"])
    names = common.group_names()
    groups = []
    if province:
        for gid, g in province["groups"].items():
            groups.append({"id": gid, "name": names.get(gid, gid), "points": g["points"], "max": g["max"]})
    rows = common.in_scope(app, session, actor, [r for r in by_unit.values() if r["level"] == "commune"])
    # A unit is under "moved up" or under "moved down", never both (a reader of a single
    # commune used to see it in both lists when fewer than five had risen).
    movers = sorted((r for r in rows if r["rank_change"]), key=lambda r: -r["rank_change"])
    risers = [r for r in movers if r["rank_change"] > 0][:5]
    fallers = [r for r in reversed(movers) if r["rank_change"] < 0][:5]
    on_time = index_service.on_time_indicator(common.method())
    rated = [r for r in rows if r["indicators"].get(on_time, {}).get("rate") is not None]
    # Ties as `chiso demo` and `chiso index 766` break them: by rank, then code.
    last_on_time = sorted(rated, key=lambda r: (r["indicators"][on_time]["rate"], r["rank"] is None, r["rank"] or 0,
                                                r["unit"]))[:3]
    # The last five by total, each with the group that lost it the most points: where to act.
    scored = [r for r in rows if r["total"] is not None]
    last_total = [dict(r, weakest=common.weakest_group(r)) for r in
                  sorted(scored, key=lambda r: (r["total"], r["rank"] is None, -(r["rank"] or 0), r["unit"]))[:5]]
    lists = steering_lists(app, session)
    mine = common.in_scope(app, session, actor, lists["tasks"])
    today = common.today()
    overdue = sorted((dict(t, days_overdue=(today - date.fromisoformat(t["deadline"])).days)
                      for t in mine if t["status"] == "overdue"), key=lambda t: -t["days_overdue"])
    upcoming = sorted((t for t in mine if t["status"] in ("not_started", "in_progress")), key=lambda t: t["deadline"])[:6]
    red = common.in_scope(app, session, actor, lists["red"])
    own = [] if actor.province_wide else [dict(r, standing=common.standing(app, session, p, r["unit"]))
                                          for r in by_unit.values() if common.visible(actor, reg.get(r["unit"]))]
    from chiso.feeds import service as feeds

    # How fresh the pulled data is (a cheap query of a few rows: not cached).
    fresh = [dict(f, last_error=f["last_error"] if actor.province_wide else None) for f in feeds.freshness(session)]
    foreseen = ""
    if province and province["running"]:
        foreseen = common.foreseen_label(p, common.forecasts(app, session, p).get(code))
    return page(request, "overview.html", feeds=fresh, period=p, foreseen=foreseen, picker=common.picker(p), province=province, trend=trend_points,
                groups=groups, risers=risers, fallers=fallers, on_time=on_time, last_on_time=last_on_time, overdue=overdue,
                last_total=last_total, group_names=names,
                upcoming=upcoming, red=red, reg=reg, own=own, live_url="/")


def warm(app: FastAPI) -> None:
    """Compute what the overview of the current quarter needs, so that the first person to
    open it after the server starts does not wait for the computation (about 2 s at 10
    million dossiers). Run in a background thread at start-up; a failure only costs time."""
    from chiso import db
    from chiso.i18n import LANGUAGES, use_language

    with db.transaction(app.state.engine) as session:
        p = common.pick_period(None)
        common.registry(app, session)
        province_code(app, session)
        for lang in LANGUAGES:
            with use_language(lang):
                common.index_by_unit(app, session, p)
        common.totals_over(app, session, year_months(p))
        steering_lists(app, session)
