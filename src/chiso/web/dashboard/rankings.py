"""Rankings (``/rankings``): per index and per group, the announcement as a conference reads
it (1st, 2nd, 3rd ... last), then the table with rank-change arrows, compared with the
previous period or the same period a year earlier."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.orm import Session

from chiso.auth.permissions import Actor, require
from chiso.errors import ChisoError, NotFound
from chiso.http.deps import get_db, get_user_actor
from chiso.i18n import _
from chiso.periods import Period, parse_period
from chiso.scoring.ranking import podium
from chiso.web.dashboard import common
from chiso.web.dashboard.page import fragments, page

router = APIRouter()


def year_before(p: Period) -> Period:
    """The same span a year earlier (a week: the same ISO week number, or the last one)."""
    if p.kind == "year":
        return parse_period(str(int(p.code) - 1))
    year, rest = p.code[:4], p.code[4:]
    try:
        return parse_period(f"{int(year) - 1}{rest}")
    except Exception:
        return p.shift(-52)


def announcement(rows: list[dict], key: str = "rank") -> dict:
    """The rows a section names first, second, third and last (:func:`chiso.scoring.ranking.podium`)."""
    named = podium({i: r.get(key) for i, r in enumerate(rows)})
    return {place: [rows[i] for i in found] for place, found in named.items()}


def rounds_list(app: FastAPI, session: Session) -> list[dict]:
    from chiso.assessments import service as rounds
    from chiso.assessments.models import Assessment, AssessmentRound

    stamp = common.table_stamp(session, AssessmentRound, Assessment)
    return common.cached(app, session, "rounds", stamp, lambda: rounds.list_rounds(session), store=False)


def round_results(app: FastAPI, session: Session, code: str) -> list[dict]:
    from chiso.assessments import service as rounds
    from chiso.assessments.models import Assessment, AssessmentRound, LeafValue, RoundEvent

    stamp = common.table_stamp(session, AssessmentRound, Assessment, LeafValue, RoundEvent)

    def load():
        try:
            return rounds.results(session, round_code=code)
        except ChisoError as exc:  # e.g. a unit without a formula's input: no results yet
            return ResultsUnavailable(str(exc))

    out = common.cached(app, session, "round-results", (code, stamp), load, store=False)
    if isinstance(out, ResultsUnavailable):
        raise out
    return out


class ResultsUnavailable(ChisoError):
    """The round cannot be scored yet; the page says why."""


@router.get("/rankings")
def rankings(request: Request, index: str = "766", group: str | None = None, period: str | None = None,
             compare: str = "previous", actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    app = request.app
    reg = common.registry(app, session)
    rounds = rounds_list(app, session)
    indexes = [{"code": "766", "name": _("766 service index")}] + [{"code": r["code"], "name": r["name"]} for r in rounds]
    compare = compare if compare in ("previous", "year") else "previous"
    p = common.pick_period(period)
    sections, problem = [], None
    if index == "766":
        groups = common.unit_groups(app, session)
        chosen = [g for g in groups if not group or g["code"] == group]
        if group and not chosen:
            raise NotFound(_("Unknown group: {code}").format(code=group))
        for g in chosen:
            rows = [r for r in common.index_rows(app, session, p, group=g["code"]) if r["level"] != "province"]
            if compare == "year":
                before = {r["unit"]: r for r in common.index_rows(app, session, year_before(p), group=g["code"])}
                rows = [dict(r, rank_change=(before[r["unit"]]["rank"] - r["rank"]) if r["unit"] in before and
                             before[r["unit"]]["rank"] and r["rank"] else None,
                             total_change=(r["total"] - before[r["unit"]]["total"]) if r["unit"] in before and
                             None not in (r["total"], before[r["unit"]]["total"]) else None,
                             previous_total=before.get(r["unit"], {}).get("total"))
                        for r in rows]
            table = [{"unit": r["unit"], "name": r["name"], "rank": r["rank"], "value": r["total"], "band": r["band"],
                      "band_name": r["band_name"], "rank_change": r["rank_change"], "change": r["total_change"],
                      "previous": r["previous_total"], "href": f"/766/{r['unit']}?period={p.code}"} for r in rows]
            sections.append({"group": g["code"], "name": g["name"], "table": table, "top": announcement(table)})
        against = common.period_label(year_before(p) if compare == "year" else p.previous())
    else:
        if index not in {r["code"] for r in rounds}:
            raise NotFound(_("Unknown assessment round: {code}").format(code=index))
        try:
            rows = round_results(app, session, index)
        except ResultsUnavailable as exc:
            rows, problem = [], str(exc)
        for g in sorted({r["group"] for r in rows}):
            if group and g != group:
                continue
            table = [{"unit": r["unit"], "name": r["name"], "rank": r["rank"], "value": r["value"], "band": None,
                      "band_name": r["band"], "rank_change": r.get("rank_change"), "change": r.get("value_change"),
                      "previous": r.get("previous_value"), "href": f"/assessments/{index}/{r['unit']}",
                      "status": r["status"]} for r in rows if r["group"] == g]
            sections.append({"group": g, "name": group_name(app, session, g), "table": table,
                             "top": announcement(table)})
        against = (rows[0].get("previous_round") if rows else None) or "–"
    every = [dict(r, key=f"{sec['group']}/{r['unit']}") for sec in sections for r in sec["table"]]
    row_html = fragments(request, session, "rankings", (index, p.code, compare, group or ""),
                         "rank_row", every, lambda r: r["key"], stamp=_round_stamp(session) if index != "766" else ())
    if actor.units is not None:
        # A unit's reader sees its own units only. An announcement made among them alone
        # would name its one commune both first and last: it is told instead where each of
        # its units stands in the whole group ("101/104 in the group communes").
        for sec in sections:
            of = sum(1 for r in sec["table"] if r["rank"] is not None)
            sec["table"] = common.in_scope(app, session, actor, sec["table"])
            sec["top"] = None
            sec["standing"] = [dict(r, of=of, where=common.place_words(r["rank"], of),
                                    label=_("{rank}/{of} in the group {group}").format(
                                        rank=r["rank"], of=of, group=common.lower_first(sec["name"])))
                               for r in sec["table"] if r["rank"] is not None]
        sections = [sec for sec in sections if sec["table"]]
    return page(request, "rankings.html", row_html=row_html, indexes=indexes, index=index, group=group or "", period=p,
                picker=common.picker(p), compare=compare, sections=sections, against=against, reg=reg, problem=problem,
                live_url="/rankings")


def group_name(app: FastAPI, session: Session, code: str) -> str:
    for g in common.unit_groups(app, session):
        if g["code"] == code:
            return g["name"]
    return code


def _round_stamp(session: Session) -> tuple:
    from chiso.assessments.models import Assessment, AssessmentRound, LeafValue, RoundEvent

    return common.table_stamp(session, AssessmentRound, Assessment, LeafValue, RoundEvent)
