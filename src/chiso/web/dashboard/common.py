"""What every dashboard page shares: periods and the period picker, the registry as a cached
map, scope filtering, cached computations keyed by what they depend on, and formatting.

Every cached result is keyed by the dossier store's versions, the registry's stamp and,
where they matter, the stamps of the tables it reads (tasks, targets, rounds), so an import
or an edit is seen by the next request and nothing stale is served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chiso.errors import NotFound
from chiso.i18n import _, current_language
from chiso.http.periods import period_label, pick_period, picker, today  # noqa: F401  (the pages call them as common.*)
from chiso.methods.bands import band_name
from chiso.periods import Period
from chiso.web import cache

if TYPE_CHECKING:
    from fastapi import FastAPI

    from chiso.auth.permissions import Actor

BANDS = ("weak", "average", "good", "excellent")


def period_title(p: Period) -> str:
    """:func:`period_label` as a page's heading says it: a running period with until when
    its figures are ("Quý 4/2026, đến 06/12/2026"), as the CLI and the reports say it."""
    from chiso.index import service

    until = service.until_label(p)
    return f"{period_label(p)}, {until}" if until else period_label(p)


def short_label(p: Period) -> str:
    """A period in a few characters, for chart axes: T11/26, Q4/26, W48/26, 2026."""
    code = p.code
    if p.kind == "week":
        return _("W{n}/{yy}").format(n=int(code.split("-W")[1]), yy=code[2:4])
    if p.kind in ("month", "ytd"):
        return f"{int(code[-2:]):02d}/{code[2:4]}"
    if p.kind == "quarter":
        return _("Q{n}/{yy}").format(n=code[-1], yy=code[2:4])
    if p.kind == "half":
        return _("H{n}/{yy}").format(n=code[-1], yy=code[2:4])
    return code[:4] if p.kind == "year" else code


def recent(p: Period, n: int) -> list[Period]:
    """``p`` and the ``n - 1`` periods of its kind before it, oldest first, not before the
    store's demo year boundary (a year-to-date trend is its months of the year)."""
    out = [p]
    for _i in range(n - 1):
        out.append(out[-1].previous())
    return list(reversed(out))


# --------------------------------------------------------------------------- formatting


def fmt_date(d: date | datetime | str | None, fmt: str = "short") -> str:
    from babel.dates import format_date, format_datetime

    if d is None or d == "":
        return ""
    if isinstance(d, str):
        d = datetime.fromisoformat(d) if len(d) > 10 else date.fromisoformat(d)
    if isinstance(d, datetime):
        if d.tzinfo is not None:  # a moment (stored in UTC) is read in the store's time zone
            from chiso.clock import local_now

            d = local_now(d)
        return format_datetime(d, "dd/MM/yyyy HH:mm", locale=current_language())
    if fmt == "short":
        return format_date(d, "dd/MM/yyyy", locale=current_language())
    return format_date(d, format=fmt, locale=current_language())


_SWAP = str.maketrans({",": ".", ".": ","})


def fnum(value, digits: int = 2) -> str:
    """``chiso.output.number`` without Babel's per-call pattern parsing (pages format
    thousands of numbers): the same half-even rounding of the decimal text, the same
    separators (Vietnamese 1.234,56; English 1,234.56)."""
    from decimal import ROUND_HALF_EVEN, Decimal

    if value is None:
        return "–"
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    text = f"{d:,.{digits}f}"
    if text.startswith("-") and d == 0:
        text = text[1:]
    return text.translate(_SWAP) if current_language() == "vi" else text


def pct(rate: float | None, digits: int = 1) -> str:
    return "–" if rate is None else fnum(100 * rate, digits) + " %"


def band_class(band: str | None) -> str:
    return f"band-{band}" if band in BANDS else "band-none"


def arrow(change: float | int | None) -> dict:
    """Rank or value change as an arrow, a class and a label for screen readers."""
    if change is None:
        return {"symbol": "·", "cls": "same", "label": _("no comparison")}
    if change > 0:
        return {"symbol": "▲", "cls": "up", "label": _("up")}
    if change < 0:
        return {"symbol": "▼", "cls": "down", "label": _("down")}
    return {"symbol": "=", "cls": "same", "label": _("unchanged")}


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    level: str
    kind: str | None
    lat: float | None
    lon: float | None


def registry(app: FastAPI, session: Session) -> dict[str, UnitInfo]:
    """Every unit by registry code (cached by the registry's stamp)."""
    from chiso.units.models import Unit

    key = ("registry", cache.registry_stamp(session))

    def load():
        return {u.code: UnitInfo(u.id, u.code, u.name, u.level, u.kind, u.lat, u.lon)
                for u in session.scalars(select(Unit))}

    return app.state.results.get(key, load)


def visible(actor: Actor, info: UnitInfo | None) -> bool:
    return info is not None and actor.sees(info.id)


def unit_or_404(app: FastAPI, session: Session, actor: Actor, code: str) -> UnitInfo:
    info = registry(app, session).get(code)
    if info is None or not actor.sees(info.id):
        raise NotFound(_("Unit {code} not found.").format(code=code))
    return info


def in_scope(app: FastAPI, session: Session, actor: Actor, rows: list[dict], key: str = "unit") -> list[dict]:
    """Rows of units the actor sees (province-wide actors: all)."""
    if actor.units is None:
        return rows
    reg = registry(app, session)
    return [r for r in rows if visible(actor, reg.get(r[key]))]


# --------------------------------------------------------------------------- cached results


def store_stamp(app: FastAPI) -> tuple:
    """The store's versions, and the day: a running period's open dossiers are judged as of
    today, so what was computed yesterday is not served today."""
    store = app.state.store
    return (*store.kind_versions().values(), today())


def table_stamp(session: Session, *models) -> tuple:
    """Changes whenever a row is added or changed in any of ``models`` (count, max id, and
    the newest update time where the table has one)."""
    out = []
    for m in models:
        cols = [func.count(m.id), func.max(m.id)]
        if hasattr(m, "updated_at"):
            cols.append(func.max(m.updated_at))
        out.append(tuple(session.execute(select(*cols)).one()))
    return tuple(out)


def cached(app: FastAPI, session: Session, name: str, parts: tuple, compute: Callable[[], Any], *, store: bool = True,
           registry_too: bool = True, language: bool = False) -> Any:
    """``compute()`` once per change of the store (``store``), the registry (``registry_too``)
    and, for results holding translated text, the reader's language (``language``)."""
    key = (name, parts, store_stamp(app) if store else None,
           cache.registry_stamp(session) if registry_too else None, current_language() if language else None)
    return app.state.results.get(key, compute)


def _band_names() -> dict[str, str | None]:
    bands = method().bands
    return {b.id: band_name(bands, b.id) for b in bands}


def band_names() -> dict[str, str | None]:
    """The method's band names (by band id) in the reader's language."""
    return _band_names()


def index_rows(app: FastAPI, session: Session, period: Period, group: str | None = None) -> list[dict]:
    """The 766 rows of every unit, computed once for both languages: only the band's name
    is text, and it is put in the reader's language here."""
    from chiso.i18n import use_language
    from chiso.index import service

    def compute():
        with use_language("en"):
            return service.index_766(session, app.state.store, period, group=group,
                                     computed=scores_and_previous(app, session, period))

    # The province row carries its published national standing: an import of one changes it.
    rows = cached(app, session, "766", (period.code, group, cache.standing_stamp(session)), compute)
    names = _band_names()
    return [dict(r, band_name=names.get(r["band"])) for r in rows]


def scores_and_previous(app: FastAPI, session: Session, period: Period):
    """The scores of every unit for ``period`` and the one before, counted once per change
    of the store or registry and shared by the 766 table and every group's ranking."""
    from chiso.index import service

    return cached(app, session, "766-scores", (period.code,),
                  lambda: service.scores_and_previous(session, app.state.store, period, method=method()))


def index_by_unit(app: FastAPI, session: Session, period: Period) -> dict[str, dict]:
    rows = cached(app, session, "766-by-unit", (period.code, cache.standing_stamp(session)),
                  lambda: {r["unit"]: r for r in index_rows(app, session, period)})
    names = _band_names()
    return {u: dict(r, band_name=names.get(r["band"])) for u, r in rows.items()}


def totals_over(app: FastAPI, session: Session, periods: list[Period]) -> dict[str, dict[str, dict]]:
    """{period code: {unit: {total, band, groups, rates}}} for several periods in one count."""
    from chiso.index import service

    def compute():
        method = globals()["method"]()
        _t, scored = service.compute_scores(session, app.state.store, periods[-1], method=method,
                                            extra_periods=periods[:-1])
        out: dict[str, dict[str, dict]] = {}
        for code, by_unit in scored.items():
            # A period before the store's first dossier has no score worth drawing.
            out[code] = {u: {"total": s.score.total if service.has_records(method, s) else None, "band": s.score.band,
                             "rates": {i.id: i.rate for i in s.score.indicators.values()},
                             "points": {i.id: i.points for i in s.score.indicators.values()}}
                         for u, s in by_unit.items()}
        return out

    return cached(app, session, "totals-over", tuple(p.code for p in periods), compute)


def method():
    """The default 766 method (the loader keeps parsed definitions until their files change)."""
    from chiso.index import service

    return service.method_for(None)


def group_names() -> dict[str, str]:
    m = method()
    en = current_language() == "en"
    return {g.id: (g.name_en if en else g.name) for g in m.groups}


def indicator_names() -> dict[str, str]:
    m = method()
    en = current_language() == "en"
    return {i.id: (i.name_en if en else i.name) for i in m.indicators}


def unit_groups(app: FastAPI, session: Session) -> list[dict]:
    """Ranking groups a reader can filter the 766 table by (those with scored members)."""
    from chiso.units import service as units

    def load():
        en = current_language() == "en"
        wanted = ("communes", "wards", "agencies_with_procedures")
        return [{"code": g["code"], "name": (g["name_en"] or g["name"]) if en else g["name"]}
                for g in units.list_groups(session) if g["code"] in wanted]

    return cached(app, session, "groups", (), load, store=False, language=True)


def group_codes(app: FastAPI, session: Session, group: str, day: date) -> set[str]:
    from chiso.units import service as units

    return cached(app, session, "group-members", (group, day.isoformat()),
                  lambda: {u.code for u in units.group_members(session, group, as_of=day)}, store=False)


def week_ago() -> date:
    return today() - timedelta(days=7)



def number_or_dash(value, digits: int = 2) -> str:
    return fnum(value, digits)


# --------------------------------------------------------------------------- shares of the maximum


def sorted_bands() -> list:
    """The default method's bands, lowest first."""
    return sorted(method().bands, key=lambda b: b.min)


def share_band(points: float | None, maximum: float | None, bands: list | None = None) -> str | None:
    """The band a part of the score would have if its share of its own maximum were the
    whole score: the method's bands (data, e.g. 0–50–70–90–100) applied to the share scaled
    to the bands' top, so a group at 5,35/18 reads as weak however small its maximum.
    ``bands``: :func:`sorted_bands`, when the caller colours many cells (looked up here
    otherwise)."""
    if points is None or not maximum:
        return None
    if bands is None:
        bands = sorted_bands()
    if not bands:
        return None
    value = max(b.max for b in bands) * points / maximum
    for b in bands:
        if value < b.max:
            return b.id
    return bands[-1].id


def share_bander() -> Callable[[float | None, float | None], str | None]:
    """:func:`share_band` with the method's bands looked up once: for a page or a table
    that colours hundreds of cells (looking the method up costs more than the colouring)."""
    bands = sorted_bands()
    return lambda points, maximum: share_band(points, maximum, bands)


def weakest_group(row: dict) -> str | None:
    """The group of a unit's row that lost the most points against its maximum (the lower
    share breaks a tie): the group that pulled the total down."""
    shares = [(g["points"] - g["max"], g["points"] / g["max"], gid) for gid, g in row.get("groups", {}).items()
              if g.get("points") is not None and g.get("max") and g.get("applicable", True) is not False]
    return min(shares)[2] if shares else None


# --------------------------------------------------------------------------- where a unit stands


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def place_words(rank: int, of: int) -> str:
    """Where rank ``rank`` of ``of`` is, in words."""
    if rank <= 3:
        return _("among the first three")
    if rank > of - 3:
        return _("among the last three")
    if rank <= (of + 1) / 2:
        return _("in the top half")
    return _("in the bottom half")


def standing(app, session: Session, period: Period, code: str) -> dict | None:
    """Where unit ``code`` stands in its ranking group (the one the announcements use:
    communes, wards, agencies): rank, of how many, the group's name and a word on where that
    is. Every page says a unit's rank this way, so a reader never meets two ranks without
    knowing which group each is in. None: the unit is in no ranked group."""
    for g in unit_groups(app, session):
        rows = [r for r in index_rows(app, session, period, group=g["code"]) if r["level"] != "province"]
        mine = next((r for r in rows if r["unit"] == code), None)
        if mine is None or mine["rank"] is None:
            continue
        of = sum(1 for r in rows if r["rank"] is not None)
        rank = mine["rank"]
        where = place_words(rank, of)
        return {"rank": rank, "of": of, "group": g["code"], "group_name": g["name"], "where": where,
                "previous_rank": mine["previous_rank"], "rank_change": mine["rank_change"],
                "label": _("{rank}/{of} in the group {group}").format(rank=rank, of=of, group=lower_first(g["name"]))}
    return None


def cohort_label(level: str | None = None, group_name: str | None = None) -> str:
    """What a rank column ranks among, said the same way on every page."""
    if group_name:
        return _("Rank in the group {group}").format(group=lower_first(group_name))
    return {"commune": _("Rank among communes and wards"), "agency": _("Rank among agencies")}.get(level or "", _("Rank"))


def forecasts(app: FastAPI, session: Session, p: Period) -> dict[str, dict]:
    """{unit: the forecast row} of a period (:func:`chiso.index.steer.forecast`), cached."""
    from chiso.index import steer

    return cached(app, session, "forecast", (p.code,),
                  lambda: {r["unit"]: r for r in steer.forecast(session, app.state.store, p,
                                                                 computed=scores_and_previous(app, session, p),
                                                                 scans=record_scans(app, session, p))})


def advice(app: FastAPI, session: Session, p: Period, code: str) -> dict | None:
    """What would raise ``code``'s score most (:func:`chiso.index.steer.advise`), every unit's
    computed at once and cached; None for a unit that is not scored."""
    from chiso.index import steer

    every = cached(app, session, "advise", (p.code,),
                   lambda: steer.advise_many(session, app.state.store, p, computed=scores_and_previous(app, session, p),
                                             scans=record_scans(app, session, p)), language=True)
    return every.get(code)


def record_scans(app: FastAPI, session: Session, p: Period):
    """What the forecast and the advice of a running period read from the records
    (:func:`chiso.index.steer.scans_for`): scanned once a day and store version for both,
    and for every language, instead of once by each (1.8 s at 10 million dossiers)."""
    from chiso.index import steer

    return cached(app, session, "steer-scans", (p.code,), lambda: steer.scans_for(app.state.store, p),
                  registry_too=False)


def foreseen_label(p: Period, row: dict | None) -> str:
    """"dự kiến cuối quý: 78–84" of a forecast row; empty without a range."""
    if not row or row.get("low") is None or row.get("high") is None:
        return ""
    words = {"quarter": _("expected at the quarter's end: {low}–{high}"),
             "month": _("expected at the month's end: {low}–{high}"),
             "year": _("expected at the year's end: {low}–{high}")}.get(
        p.kind, _("expected at the period's end: {low}–{high}"))
    return words.format(low=fnum(row["low"]), high=fnum(row["high"]))
