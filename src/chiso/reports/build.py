"""The reports' content: what the conference announces, what each unit takes home, and the
periodic 766 report. Each builder reads through the domains' services (never their tables)
and returns a :class:`~chiso.reports.document.Document`; :func:`chiso.reports.render.render`
turns it into a file.

- :func:`build_ranking`: per group of units, who is first, second, third and last, the full
  table with changes, the largest gains and losses, charts, the province's own result.
- :func:`build_scorecard` / :func:`build_scorecards`: one page per unit with its scores on
  every index, the 766 indicators where it loses most, its targets' colours and overdue tasks.
- :func:`build_periodic`: the 766 report of a week, month or quarter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso import settings
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _, current_language
from chiso.periods import Period
from chiso.reports import charts
from chiso.scoring.ranking import podium
from chiso.reports.document import (
    Bullets, Column, Document, Header, Heading, Image, PageBreak, Paragraph, Signature, Table, Title, fmt_number,
    language,
)
from chiso.units import service as units

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
#: The cohorts :func:`chiso.index.service.index_766` ranks in without a group.
LEVEL_COHORTS = ("agency", "commune")
TREND_PERIODS = 6


def local_now() -> datetime:
    return datetime.now(ZoneInfo(settings.get("timezone"))).replace(tzinfo=None)


# --------------------------------------------------------------------------- words


def period_label(period: Period) -> str:
    """A period in words: "quý III năm 2026", "tuần 49 năm 2025 (01/12–07/12/2025)"."""
    y, n = period.year, period.number
    if period.kind == "week":
        return _("week {number} of {year} ({start}–{end})").format(
            number=n, year=y, start=period.start.strftime("%d/%m"), end=period.end.strftime("%d/%m/%Y"))
    if period.kind == "month":
        return _("month {number} of {year}").format(number=n, year=y)
    if period.kind == "quarter":
        return _("quarter {roman} of {year}").format(roman=ROMAN[n - 1], year=y)
    if period.kind == "half":
        return (_("first half of {year}") if n == 1 else _("second half of {year}")).format(year=y)
    if period.kind == "nine_months":
        return _("nine months of {year}").format(year=y)
    if period.kind == "year":
        return _("year {year}").format(year=y)
    return _("from the start of {year} to the end of month {number}").format(year=y, number=n)


def period_now_label(period: Period, now: datetime | None = None) -> str:
    """:func:`period_label`, and for a period still running until when its figures are
    ("quý IV năm 2026, đến 06/12/2026"): its open dossiers are judged now."""
    from chiso.index import service

    until = service.until_label(period, now)
    return f"{period_label(period)}, {until}" if until else period_label(period)


def _names(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def _points(value: float | None, decimals: int = 2) -> str:
    return _("{value} points").format(value=fmt_number(value or 0.0, decimals))


def _signed(value: float, decimals: int = 2) -> str:
    text = fmt_number(abs(value), decimals)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def _movement(change: int | None) -> str | None:
    if change is None:
        return None
    if change > 0:
        return _("up {n} places").format(n=change)
    if change < 0:
        return _("down {n} places").format(n=-change)
    return _("same rank")


def _sections() -> Iterable[str]:
    for r in ROMAN:
        yield f"{r}."


def _place(province_name: str) -> str:
    for prefix in ("Tỉnh ", "Thành phố ", "TP. "):
        if province_name.startswith(prefix):
            return province_name[len(prefix):]
    return province_name


# --------------------------------------------------------------------------- frame


@dataclass
class Frame:
    """What every report of one store shares: the province, the issuing body, the date."""

    province: str
    province_name: str
    place: str
    issuer: tuple[str, ...]
    day: date
    lang: str

    def header(self, number: str | None = None) -> Header:
        return Header(issuer=self.issuer, place=self.place, day=self.day, number=number)

    def signature(self) -> Signature:
        return Signature(
            recipients=[_("Members of the Steering Committee"), _("Provincial departments and agencies"),
                        _("People's Committees of communes and wards"), _("Archive")],
            lines=[_("On behalf of the Steering Committee"), _("Head")])


def frame(session: Session, *, lang: str, day: date | None = None, issuer: Sequence[str] | None = None) -> Frame:
    code = units.home_province(session)
    if code is None:
        raise ChisoError(_("No province is loaded; run `chiso init --province CODE` first."))
    name = units.get(session, code).name
    issuer = tuple(s for s in (issuer or ()) if s.strip()) or (
        _("People's Committee of {province}").format(province=name), _("Steering Committee for Administrative Reform"))
    return Frame(province=code, province_name=name, place=_place(name), issuer=issuer,
                 day=day or local_now().date(), lang=lang)


def _group_name(session: Session, code: str) -> str:
    names = {"agency": _("Provincial departments and agencies"),
             "commune": _("Communes, wards and special zones")}
    if code in names:
        return names[code]
    for g in units.list_groups(session):
        if g["code"] == code:
            return (g["name_en"] or g["name"]) if current_language() == "en" else g["name"]
    return code


# --------------------------------------------------------------------------- rankings


@dataclass
class Ranked:
    unit: str
    name: str
    score: float | None
    band: str | None
    band_index: int
    rank: int | None
    rank_change: int | None
    score_change: float | None


@dataclass
class Cohort:
    code: str
    name: str
    rows: list[Ranked]

    def named(self) -> dict[str, list[Ranked]]:
        """First, second, third and last (:func:`chiso.scoring.ranking.podium`)."""
        found = podium({i: r.rank for i, r in enumerate(self.rows)})
        return {place: [self.rows[i] for i in keys] for place, keys in found.items()}


@dataclass
class Ranking:
    """What a ranking announcement says, whichever index it is of."""

    index_name: str
    when: str
    cohorts: list[Cohort]
    top: float
    decimals: int
    thresholds: list[float]
    province: str | None = None
    trend_labels: list[str] = field(default_factory=list)
    trend_values: list[float | None] = field(default_factory=list)
    previous_when: str | None = None


def _band_name(bands, band_id: str | None) -> tuple[str | None, int]:
    for i, b in enumerate(bands):
        if b.id == band_id:
            return (b.name_en if current_language() == "en" else b.name), i
    return None, -1


def _ranking_766(session: Session, store, *, period: Period, groups: Sequence[str], method_id: str | None) -> Ranking:
    from chiso.index import service

    method = service.method_for(method_id)
    cohorts: list[tuple[str, list[dict]]] = []
    if groups:
        for g in groups:
            cohorts.append((g, [r for r in service.index_766(session, store, period, group=g, method_id=method_id)
                                if r["level"] != "province"]))
    else:
        rows = service.index_766(session, store, period, method_id=method_id)
        for level in LEVEL_COHORTS:
            cohorts.append((level, [r for r in rows if r["level"] == level]))

    def ranked(r: dict) -> Ranked:
        name, idx = _band_name(method.bands, r["band"])
        return Ranked(r["unit"], r["name"], r["total"], name, idx, r["rank"], r["rank_change"], r["total_change"])

    out = Ranking(
        index_name=_("Real-time service index (Decision 766/QĐ-TTg)"), when=period_now_label(period),
        cohorts=[Cohort(code, _group_name(session, code), [ranked(r) for r in rows]) for code, rows in cohorts],
        top=100.0, decimals=2, thresholds=[b.min for b in method.bands if b.min > 0],
        previous_when=period_label(period.previous()))
    # The province's own result and its trend over the previous periods (one computation).
    series = [period.shift(-k) for k in range(TREND_PERIODS - 1, 0, -1)]
    _tg, scored = service.compute_scores(session, store, period, method=method, extra_periods=series)
    prov_code = units.home_province(session)
    # A period before the first dossier has only catalogue measures: no point on the trend.
    dossier_measures = [k for k, m in method.measures.items() if m.basis.startswith("dossier")]

    def has_data(s) -> bool:
        return s is not None and any(s.counts.get(m) for m in dossier_measures)

    now, before = scored[period.code].get(prov_code), scored[period.previous().code].get(prov_code)
    if now is not None:
        band, _i = _band_name(method.bands, now.score.band)
        text = _("{name} scored {score}/{max}, band {band}").format(
            name=now.name, score=fmt_number(now.score.total or 0.0), max=fmt_number(now.score.max_total, 0),
            band=band or "–")
        if has_data(before) and None not in (before.score.total, now.score.total):
            text += _(", {change} points against {previous}").format(
                change=_signed(now.score.total - before.score.total), previous=period_label(period.previous()))
        out.province = text + ". " + _("Its national rank on the portal is not held in chiso.")
    for p in [*series, period]:
        s = scored[p.code].get(prov_code)
        out.trend_labels.append(p.code)
        out.trend_values.append(s.score.total if has_data(s) else None)
    return out


def _ranking_round(session: Session, *, round_code: str, groups: Sequence[str]) -> Ranking:
    from chiso.assessments import service

    rnd = service.get_round(session, round_code)
    method = service.method_of(rnd)
    rows = service.results(session, round_code=round_code)
    if groups:
        rows = [r for g in groups for r in service.results(session, round_code=round_code, group=g)]
    values = [r["value"] for r in rows if r["value"] is not None]
    small = bool(values) and max(abs(v) for v in values) <= 1.0
    decimals = 4 if small else 2

    def ranked(r: dict) -> Ranked:
        name, idx = _band_name(method.bands, r["band"])
        return Ranked(r["unit"], r["name"], r["value"], name, idx, r["rank"], r["rank_change"], r["value_change"])

    order = list(groups) or sorted({r["group"] for r in rows})
    cohorts = [Cohort(g, _group_name(session, g), [ranked(r) for r in rows if r["group"] == g]) for g in order]
    prev = service.previous_round(session, rnd)
    out = Ranking(index_name=rnd.name, when=_("round {code} ({year})").format(code=rnd.code, year=rnd.year),
                  cohorts=cohorts, top=1.0 if small else max(100.0, max(values, default=0.0)), decimals=decimals,
                  thresholds=[], previous_when=(_("round {code} ({year})").format(code=prev.code, year=prev.year)
                                                if prev else None))
    home = units.home_province(session)
    all_rows = service.results(session, round_code=round_code)
    mine = next((r for r in all_rows if r["unit"] == home), None)
    if mine is not None and mine["value"] is not None:
        peers = [r for r in all_rows if r["group"] == mine["group"]]
        score = fmt_number(mine["value"], decimals)
        if mine["percent"] is not None and not math.isclose(mine["percent"], mine["value"]):
            score += " (" + fmt_number(mine["percent"]) + "/100)"
        elif mine["percent"] is not None:
            score += "/100"
        parts = [score]
        if mine["rank"] is not None:
            parts.append(_("rank {rank}/{count}").format(rank=mine["rank"], count=len(peers)))
        if _movement(mine["rank_change"]):
            parts.append(_movement(mine["rank_change"]))
        out.province = _("{name}: {result}.").format(name=mine["name"], result=", ".join(parts))
    # The province over the previous rounds of the family, oldest first.
    chain, r = [], rnd
    while r is not None and len(chain) < TREND_PERIODS:
        chain.append(r)
        r = service.previous_round(session, r)
    for r in reversed(chain):
        got = next((x for x in service.results(session, round_code=r.code) if x["unit"] == home), None)
        out.trend_labels.append(str(r.year))
        out.trend_values.append(got["value"] if got else None)
    if not any(v is not None for v in out.trend_values):
        out.trend_labels, out.trend_values = [], []
    return out


def _ranking_columns(decimals: int) -> list[Column]:
    return [Column(_("Rank"), "int", width=0.6), Column(_("Code"), "text", width=1.15),
            Column(_("Unit"), "text", width=3.0), Column(_("Score"), "number", decimals, width=0.9),
            Column(_("Band"), "text", width=1.0), Column(_("Rank change"), "signed_int", width=0.8),
            Column(_("Score change"), "signed", decimals, width=0.9)]


def _who(rows: list[Ranked], decimals: int) -> str:
    return _names([_("{name} ({score})").format(name=r.name, score=fmt_number(r.score or 0.0, decimals))
                   for r in rows])


def _announce(c: Cohort, decimals: int) -> str:
    parts = []
    named = c.named()
    for place, label in (("first", _("first")), ("second", _("second")), ("third", _("third")), ("last", _("last"))):
        if named[place]:
            parts.append(_("{position}: {units}").format(position=label, units=_who(named[place], decimals)))
    if not parts:
        return _("No unit of this group is ranked.")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _moves(c: Cohort, decimals: int) -> tuple[list[str], list[str]]:
    moved = [r for r in c.rows if r.score_change is not None]

    def line(r: Ranked) -> str:
        text = _("{name}: {change} points").format(name=r.name, change=_signed(r.score_change, decimals))
        move = _movement(r.rank_change)
        return text + (f" ({move})" if move and r.rank_change else "")

    gains = sorted((r for r in moved if r.score_change > 0), key=lambda r: (-r.score_change, r.unit))[:3]
    losses = sorted((r for r in moved if r.score_change < 0), key=lambda r: (r.score_change, r.unit))[:3]
    return [line(r) for r in gains], [line(r) for r in losses]


def _bar_colour(index: int, count: int) -> str:
    if index < 0:
        return "#7f7f7f"
    # Spread the palette over the method's bands (4 bands: red, amber, green, dark green).
    pos = round(index * (len(charts.BAND_COLOURS) - 1) / max(count - 1, 1))
    return charts.BAND_COLOURS[pos]


def build_ranking(session: Session, store, *, index: str | None = None, period: Period | None = None,
                  round_code: str | None = None, groups: Sequence[str] = (), lang: str | None = None,
                  day: date | None = None, issuer: Sequence[str] | None = None,
                  method_id: str | None = None) -> Document:
    """The ranking announcement of the 766 index for ``period`` (``index="766"``) or of an
    assessment round (``round_code``), for ``groups`` (default: the natural cohorts)."""
    with language(lang) as lang:
        if (round_code is None) == (index is None):
            raise ChisoError(_("Give either an index with a period or an assessment round."))
        if index is not None:
            if index != "766":
                raise ChisoError(_("Unknown index {index}: chiso computes 766 from the records; the other indexes "
                                   "come from assessment rounds (--round).").format(index=index))
            if period is None:
                raise ChisoError(_("The 766 index needs a period."))
            ranking = _ranking_766(session, store, period=period, groups=groups, method_id=method_id)
            slug = f"ranking-766-{period.code}"
        else:
            ranking = _ranking_round(session, round_code=round_code, groups=groups)
            slug = f"ranking-{round_code}"
        fr = frame(session, lang=lang, day=day, issuer=issuer)
        doc = Document(title=_("Ranking announcement"), lang=lang, slug=slug)
        doc.add(fr.header(), Title(_("Announcement of results and rankings"),
                                   f"{ranking.index_name}, {ranking.when}"))
        sections = _sections()
        doc.add(Paragraph(_("The Steering Committee announces the results and rankings of {index}, {when}, "
                            "for {count} groups of units, as computed by chiso from the records and assessments "
                            "held by the province.").format(index=ranking.index_name, when=ranking.when,
                                                           count=len(ranking.cohorts))))
        doc.add(Heading(next(sections), _("The province's result")))
        doc.add(Paragraph(ranking.province or _("The province's own result is not known for this index.")))
        labels, values = list(ranking.trend_labels), list(ranking.trend_values)
        while values and values[0] is None:  # periods before the first record
            labels, values = labels[1:], values[1:]
        if sum(v is not None for v in values) >= 2:
            doc.add(Image(charts.trend(labels=labels, values=values,
                                       title=_("The province over the previous periods"), ylabel=_("score"),
                                       decimals=ranking.decimals), width_mm=150,
                          caption=_("Figure: the province's score, {first} to {last}").format(
                              first=labels[0], last=labels[-1])))
        doc.add(Heading(next(sections), _("Rankings by group")))
        bands = max((r.band_index for c in ranking.cohorts for r in c.rows), default=0) + 1
        for n, c in enumerate(ranking.cohorts, start=1):
            doc.add(Heading(f"{n}.", _("{group} ({count} units)").format(group=c.name, count=len(c.rows)), level=2))
            doc.add(Paragraph(_announce(c, ranking.decimals)))
            if c.rows:
                ordered = sorted(c.rows, key=lambda r: (r.rank is None, r.rank or 0, r.unit))
                doc.add(Table(sheet=c.name, columns=_ranking_columns(ranking.decimals),
                              caption=_("Table {n}: {group}").format(n=n, group=c.name),
                              rows=[[r.rank, r.unit, r.name, r.score, r.band, r.rank_change, r.score_change]
                                    for r in ordered]))
                doc.add(Image(charts.score_bars(
                    labels=[r.name for r in ordered], values=[r.score for r in ordered],
                    colours=[_bar_colour(r.band_index, max(bands, 4)) for r in ordered],
                    title=c.name, xlabel=_("score"), thresholds=ranking.thresholds, top=ranking.top),
                    width_mm=160, caption=_("Figure: scores of {group}").format(group=c.name)))
                gains, losses = _moves(c, ranking.decimals)
                if ranking.previous_when:
                    doc.add(Paragraph(_("Largest gains against {previous}:").format(previous=ranking.previous_when),
                                      italic=True, align="left"))
                    doc.add(Bullets(gains or [_("none")]))
                    doc.add(Paragraph(_("Largest losses against {previous}:").format(
                        previous=ranking.previous_when), italic=True, align="left"))
                    doc.add(Bullets(losses or [_("none")]))
        doc.add(Heading(next(sections), _("Commendation and requests")))
        firsts = [r.name for c in ranking.cohorts for r in c.named()["first"]]
        lasts = [r.name for c in ranking.cohorts for r in c.named()["last"]]
        if firsts:
            doc.add(Paragraph(_("The Steering Committee commends {units} for leading their groups.").format(
                units=_names(firsts))))
        if lasts:
            doc.add(Paragraph(_("The Steering Committee asks {units}, last in their groups, to analyse the causes, "
                                "set out remedies and report on them before the next period.").format(
                units=_names(lasts))))
        doc.add(Paragraph(_("Every unit finds its own results and what to improve in its scorecard "
                            "(chiso report scorecard).")))
        doc.add(fr.signature())
        return doc


# --------------------------------------------------------------------------- scorecards


def _latest_rounds(session: Session, unit_id: int) -> list[tuple[Any, str]]:
    """The latest round of each method family the unit is in, with its group there."""
    from chiso.assessments.models import Assessment, AssessmentRound

    found: dict[str, tuple[Any, str]] = {}
    q = (select(AssessmentRound, Assessment.group_code).join(Assessment, Assessment.round_id == AssessmentRound.id)
         .where(Assessment.unit_id == unit_id).order_by(AssessmentRound.year, AssessmentRound.id))
    for rnd, group in session.execute(q):
        found[rnd.method_family] = (rnd, group)
    return sorted(found.values(), key=lambda x: x[0].code)


COLOURS = ("red", "amber", "green", "no_data")


def _colour_name(colour: str) -> str:
    return {"green": _("green"), "amber": _("amber"), "red": _("red"), "no_data": _("no data")}.get(colour, colour)


@dataclass
class _Shared:
    """What every scorecard of one period shares, computed once."""

    period: Period
    method: Any
    rows: dict[str, dict]
    cohort_size: dict[str, int]
    targets: list[dict]
    tasks: list[dict]
    rounds: dict[str, list[dict]] = field(default_factory=dict)


def _shared(session: Session, store, *, period: Period, as_of: date, group: str | None,
            method_id: str | None) -> _Shared:
    from chiso.index import service
    from chiso.targets import service as targets
    from chiso.tasks import service as tasks

    method = service.method_for(method_id)
    rows = service.index_766(session, store, period, group=group, method_id=method_id)
    size: dict[str, int] = {}
    for r in rows:
        if r["rank"] is not None:
            size[r["level"]] = size.get(r["level"], 0) + 1
    return _Shared(period=period, method=method, rows={r["unit"]: r for r in rows}, cohort_size=size,
                   targets=targets.status(session, as_of=as_of, store=store),
                   tasks=tasks.list_tasks(session, status="overdue", as_of=as_of))


def weakest_indicators(row: dict, method, *, limit: int = 5) -> list[dict]:
    """The 766 indicators where the unit loses most: points missing to full marks, capped by
    what its group can still give (closing an indicator cannot earn more than that)."""
    out = []
    for ind_id, ind in row["indicators"].items():
        if not ind["applicable"] or ind["points"] is None or not ind["max"]:
            continue
        indicator = method.indicator(ind_id)
        group = row["groups"].get(indicator.group, {})
        room = (group.get("max") or 0.0) - (group.get("points") or 0.0)
        worth = max(0.0, min(ind["max"] - ind["points"], room))
        if worth > 0.005:
            out.append({"id": ind_id, "name": indicator.name_en if current_language() == "en" else indicator.name,
                        "rate": ind["rate"] if ind["rate"] is not None and ind["rate"] <= 1.0 else None,
                        "points": ind["points"], "max": ind["max"], "worth": worth})
    return sorted(out, key=lambda x: (-x["worth"], x["id"]))[:limit]


def _scorecard_blocks(session: Session, sh: _Shared, fr: Frame, code: str) -> list:
    from chiso.assessments import service as assessments

    unit = units.get(session, code, on=sh.period.end)
    name = units.name_on(unit, sh.period.end)
    blocks: list = [fr.header(), Title(_("Scorecard"), _("{unit}, {period}").format(
        unit=name, period=period_now_label(sh.period)))]
    ctx = [(_("Code"), unit.code), (_("Unit"), name)]
    sections = _sections()
    # I. Scores on every index.
    blocks.append(Heading(next(sections), _("Scores and ranks")))
    score_rows = []
    row = sh.rows.get(unit.code)
    if row is not None:
        size = sh.cohort_size.get(row["level"])
        score_rows.append([_("766 service index"), sh.period.code, row["total"], row["band_name"],
                           f"{row['rank']}/{size}" if row["rank"] is not None else None, row["total_change"]])
    for rnd, group in _latest_rounds(session, unit.id):
        if rnd.code not in sh.rounds:
            sh.rounds[rnd.code] = assessments.results(session, round_code=rnd.code)
        results = sh.rounds[rnd.code]
        mine = next((r for r in results if r["unit"] == unit.code), None)
        if mine is None:
            continue
        peers = sum(1 for r in results if r["group"] == mine["group"] and r["rank"] is not None)
        band, _i = _band_name(assessments.method_of(rnd).bands, mine["band"])
        score_rows.append([rnd.name, rnd.code, mine["value"], band,
                           f"{mine['rank']}/{peers}" if mine["rank"] is not None else None, mine["value_change"]])
    if score_rows:
        blocks.append(Table(sheet=_("Scores"), context=ctx, rows=score_rows, columns=[
            Column(_("Index"), width=2.6), Column(_("Period or round"), width=1.2),
            Column(_("Score"), "number", 2, width=0.9), Column(_("Band"), width=1.0),
            Column(_("Rank in group"), width=0.9), Column(_("Change"), "signed", 2, width=0.9)]))
    else:
        blocks.append(Paragraph(_("{unit} is not scored for {period} and is in no assessment round.").format(
            unit=name, period=sh.period.code)))
    # II. Where the 766 points are lost.
    weak = weakest_indicators(row, sh.method) if row is not None else []
    blocks.append(Heading(next(sections), _("Where points are lost on the 766 index")))
    if weak:
        blocks.append(Table(sheet=_("Indicators"), context=ctx, rows=[
            [w["id"], w["name"], w["rate"], w["points"], w["max"], w["worth"]] for w in weak], columns=[
            Column(_("Indicator"), width=0.8), Column(_("Name"), width=3.4), Column(_("Rate"), "percent", 1, width=0.9),
            Column(_("Points"), "number", 2, width=0.8), Column(_("Maximum"), "number", 2, width=0.8),
            Column(_("Worth"), "number", 2, width=0.8)]))
    else:
        blocks.append(Paragraph(_("No indicator loses points.") if row is not None
                                else _("Not scored on the 766 index for this period.")))
    # III. Targets.
    mine_targets = [t for t in sh.targets if t["unit"] == unit.code]
    blocks.append(Heading(next(sections), _("Targets")))
    if mine_targets:
        order = {c: i for i, c in enumerate(COLOURS)}
        mine_targets.sort(key=lambda t: (order.get(t["colour"], 9), t["target"]))
        blocks.append(Table(sheet=_("Targets"), context=ctx, rows=[
            [t["target"], _colour_name(t["colour"]), t["value"], t["goal"], t["deadline"]] for t in mine_targets],
            columns=[Column(_("Target"), width=2.2), Column(_("Colour"), width=1.0),
                     Column(_("Value"), "number", 2, width=1.0), Column(_("Goal"), "number", 2, width=1.0),
                     Column(_("Deadline"), width=1.1)]))
    else:
        blocks.append(Paragraph(_("No target applies to this unit.")))
    # IV. Overdue tasks.
    late = [t for t in sh.tasks if t["unit"] == unit.code]
    blocks.append(Heading(next(sections), _("Overdue tasks")))
    if late:
        blocks.append(Table(sheet=_("Overdue tasks"), context=ctx, rows=[
            [t["id"], t["title"], t["owner"], t["deadline"]] for t in late], columns=[
            Column(_("Task"), width=0.9), Column(_("Title"), width=3.4), Column(_("Owner"), width=1.4),
            Column(_("Deadline"), width=1.1)]))
    else:
        blocks.append(Paragraph(_("No overdue task.")))
    # V. What to improve.
    todo = [_("Raise indicator {id} ({name}): up to {worth} points.").format(
        id=w["id"], name=w["name"], worth=fmt_number(w["worth"])) for w in weak[:3]]
    reds = [t["target"] for t in mine_targets if t["colour"] == "red"]
    if reds:
        todo.append(_("Bring the red targets back on track: {targets}.").format(targets=", ".join(reds)))
    if late:
        todo.append(_("Finish the {n} overdue tasks.").format(n=len(late)))
    blocks.append(Heading(next(sections), _("What to improve")))
    blocks.append(Bullets(todo or [_("Keep the results of this period.")]))
    return blocks


def _scorecard_docs(session: Session, store, *, period: Period, unit_codes: Sequence[str] | None, group: str | None,
                    lang: str | None, day: date | None, as_of: date | None, issuer: Sequence[str] | None,
                    method_id: str | None, split: bool) -> list[tuple[str, Document]]:
    with language(lang) as lang:
        if not unit_codes and not group:
            raise ChisoError(_("Give a unit or a group."))
        fr = frame(session, lang=lang, day=day, issuer=issuer)
        as_of = as_of or fr.day
        codes = [units.get(session, c, on=period.end).code for c in unit_codes or ()]
        if group:
            codes += [v.code for v in units.group_members(session, group, as_of=period.end) if v.code not in codes]
        if not codes:
            raise ChisoError(_("Group {group} has no unit on {day}.").format(group=group, day=period.end.isoformat()))
        sh = _shared(session, store, period=period, as_of=as_of, group=group, method_id=method_id)
        batches = [[c] for c in codes] if split else [codes]
        out = []
        for batch in batches:
            only = batch[0] if len(batch) == 1 else (group or "units")
            doc = Document(title=_("Scorecard"), lang=lang, slug=f"scorecard-{only}-{period.code}")
            for i, code in enumerate(batch):
                if i:
                    doc.add(PageBreak())
                doc.add(*_scorecard_blocks(session, sh, fr, code))
            out.append((only, doc))
        return out


def build_scorecards(session: Session, store, *, period: Period, unit_codes: Sequence[str] | None = None,
                     group: str | None = None, lang: str | None = None, day: date | None = None,
                     as_of: date | None = None, issuer: Sequence[str] | None = None,
                     method_id: str | None = None) -> Document:
    """Scorecards of ``unit_codes`` and every unit of ``group``, one per page, in one file.
    Ranks are within ``group`` where given, else among units of the same level."""
    return _scorecard_docs(session, store, period=period, unit_codes=unit_codes, group=group, lang=lang, day=day,
                           as_of=as_of, issuer=issuer, method_id=method_id, split=False)[0][1]


def build_scorecards_split(session: Session, store, *, period: Period, unit_codes: Sequence[str] | None = None,
                           group: str | None = None, lang: str | None = None, day: date | None = None,
                           as_of: date | None = None, issuer: Sequence[str] | None = None,
                           method_id: str | None = None) -> list[tuple[str, Document]]:
    """As :func:`build_scorecards`, one document per unit: [(unit code, document)]."""
    return _scorecard_docs(session, store, period=period, unit_codes=unit_codes, group=group, lang=lang, day=day,
                           as_of=as_of, issuer=issuer, method_id=method_id, split=True)


def build_scorecard(session: Session, store, *, unit: str, period: Period, **kw) -> Document:
    """The scorecard of one unit (see :func:`build_scorecards`)."""
    return build_scorecards(session, store, period=period, unit_codes=[unit], **kw)


# --------------------------------------------------------------------------- periodic 766


def overdue_dossiers(session: Session, store, *, period: Period, at: datetime) -> dict[str, tuple[int, Any]]:
    """Dossiers open and past their due time at ``at`` (local time), counted for today's units
    (a former unit's dossiers count for the unit that replaced it): {unit: (count, oldest due)}."""
    from chiso.index import service

    tgts = [t for t in service.targets(session, period) if t.level != "province"]
    owner: dict[str, str] = {}
    for t in tgts:
        for m in t.members:
            owner.setdefault(m, t.code)
    con = store.connect()
    try:
        found = con.execute(
            "SELECT unit_code, count(*), min(due_at) FROM dossiers WHERE received_at <= ? AND due_at < ? "
            "AND (finished_at IS NULL OR finished_at > ?) GROUP BY unit_code", [at, at, at]).fetchall()
    finally:
        con.close()
    out: dict[str, tuple[int, Any]] = {}
    for unit_code, n, oldest in found:
        code = owner.get(unit_code, unit_code)
        count, first = out.get(code, (0, None))
        out[code] = (count + n, oldest if first is None or oldest < first else first)
    return out


def lowest_band_boundary(method) -> float:
    """The upper bound of the method's lowest band (766: 50), or 50 without bands."""
    bands = sorted(method.bands, key=lambda b: b.min)
    return bands[0].max if bands else 50.0


def build_periodic(session: Session, store, *, period: Period, threshold: float | None = None,
                   lang: str | None = None, day: date | None = None, at: datetime | None = None,
                   issuer: Sequence[str] | None = None, method_id: str | None = None) -> Document:
    """The 766 report of a period: the province by indicator group, the cohorts, the units
    below ``threshold``, the indicators that fell, and the dossiers overdue at ``at``."""
    from chiso.index import service

    with language(lang) as lang:
        method = service.method_for(method_id)
        threshold = lowest_band_boundary(method) if threshold is None else threshold
        at = at or local_now()
        rows = service.index_766(session, store, period, method_id=method_id, now=at)
        previous = period.previous()
        _t, scored = service.compute_scores(session, store, period, method=method, extra_periods=[previous], now=at)
        fr = frame(session, lang=lang, day=day, issuer=issuer)
        now, before = scored[period.code], scored[previous.code]
        prov_now, prov_before = now.get(fr.province), before.get(fr.province)
        doc = Document(title=_("Periodic report on the 766 index"), lang=lang, slug=f"periodic-766-{period.code}")
        doc.add(fr.header(), Title(_("Report on the real-time service index"),
                                   _("Decision 766/QĐ-TTg, {period}").format(period=period_now_label(period, at))))
        sections = _sections()
        doc.add(Heading(next(sections), _("The province by indicator group")))
        if prov_now is not None:
            band, _i = _band_name(method.bands, prov_now.score.band)
            doc.add(Paragraph(_("{name}: {score}/{max}, band {band}; {previous}: {before}.").format(
                name=prov_now.name, score=fmt_number(prov_now.score.total or 0.0),
                max=fmt_number(prov_now.score.max_total, 0), band=band or "–", previous=period_label(previous),
                before=f"{fmt_number(prov_before.score.total or 0.0)}/{fmt_number(prov_before.score.max_total, 0)}"
                if prov_before else "–")))
            g_rows = []
            for g in method.groups:
                gn = prov_now.score.groups.get(g.id)
                gb = prov_before.score.groups.get(g.id) if prov_before else None
                change = gn.points - gb.points if gn and gb and None not in (gn.points, gb.points) else None
                g_rows.append([g.id, g.name_en if lang == "en" else g.name, gn.points if gn else None,
                               g.max, gb.points if gb else None, change])
            doc.add(Table(sheet=_("Province by group"), caption=_("Table 1: the province's points by indicator group"),
                          rows=g_rows, columns=[
                              Column(_("Group"), width=0.8), Column(_("Name"), width=2.8),
                              Column(_("Points"), "number", 2, width=0.9), Column(_("Maximum"), "number", 2, width=0.9),
                              Column(_("Previous"), "number", 2, width=0.9), Column(_("Change"), "signed", 2,
                                                                                     width=0.9)]))
        doc.add(Heading(next(sections), _("Units by group")))
        c_rows = []
        for level in LEVEL_COHORTS:
            cohort = [r for r in rows if r["level"] == level and r["total"] is not None]
            if not cohort:
                continue
            totals = [r["total"] for r in cohort]
            c_rows.append([_group_name(session, level), len(cohort), math.fsum(totals) / len(totals), max(totals),
                           min(totals), sum(1 for t in totals if t < threshold)])
        doc.add(Table(sheet=_("Groups"), caption=_("Table 2: scores of the units by group"), rows=c_rows, columns=[
            Column(_("Group"), width=2.6), Column(_("Units"), "int", width=0.7), Column(_("Average"), "number", 2,
                                                                                       width=0.9),
            Column(_("Highest"), "number", 2, width=0.9), Column(_("Lowest"), "number", 2, width=0.9),
            Column(_("Below {threshold}").format(threshold=fmt_number(threshold, 0)), "int", width=0.9)]))
        doc.add(Heading(next(sections), _("Units below {threshold} points").format(
            threshold=fmt_number(threshold, 0))))
        below = sorted((r for r in rows if r["level"] != "province" and r["total"] is not None
                        and r["total"] < threshold), key=lambda r: (r["total"], r["unit"]))
        if below:
            doc.add(Table(sheet=_("Below threshold"), rows=[
                [_group_name(session, r["level"]), r["rank"], r["unit"], r["name"], r["total"], r["band_name"],
                 r["total_change"]] for r in below], columns=[
                Column(_("Group"), width=1.3), Column(_("Rank"), "int", width=0.6), Column(_("Code"), width=0.9),
                Column(_("Unit"), width=2.6), Column(_("Score"), "number", 2, width=0.8), Column(_("Band"), width=0.9),
                Column(_("Score change"), "signed", 2, width=0.9)]))
        else:
            doc.add(Paragraph(_("No unit is below {threshold} points.").format(threshold=fmt_number(threshold, 0))))
        doc.add(Heading(next(sections), _("Indicators that fell against {previous}").format(
            previous=period_label(previous))))
        fell = []
        if prov_now is not None and prov_before is not None:
            for ind in method.indicators:
                a, b = prov_now.score.indicators.get(ind.id), prov_before.score.indicators.get(ind.id)
                if a is None or b is None or not (a.applicable and b.applicable):
                    continue
                units_fell = sum(
                    1 for code, s in now.items() if code != fr.province and code in before
                    and _rate(s, ind.id) is not None and _rate(before[code], ind.id) is not None
                    and _rate(s, ind.id) < _rate(before[code], ind.id) - 1e-9)
                if a.rate is not None and b.rate is not None and a.rate <= 1 and b.rate <= 1:
                    if a.rate < b.rate - 1e-9:
                        fell.append([ind.id, ind.name_en if lang == "en" else ind.name, b.rate, a.rate,
                                     (a.rate - b.rate) * 100, units_fell])
                elif None not in (a.points, b.points) and a.points < b.points - 1e-9:
                    fell.append([ind.id, ind.name_en if lang == "en" else ind.name, None, None, None, units_fell])
        if fell:
            doc.add(Table(sheet=_("Indicators that fell"), rows=fell, columns=[
                Column(_("Indicator"), width=0.8), Column(_("Name"), width=3.0),
                Column(_("Before"), "percent", 1, width=0.9), Column(_("Now"), "percent", 1, width=0.9),
                Column(_("Change (points of %)"), "signed", 1, width=1.0), Column(_("Units where it fell"), "int",
                                                                                  width=0.9)]))
        else:
            doc.add(Paragraph(_("No indicator of the province fell.")))
        doc.add(Heading(next(sections), _("Dossiers overdue now")))
        late = overdue_dossiers(session, store, period=period, at=at)
        total = sum(n for n, _o in late.values())
        doc.add(Paragraph(_("At {time}, {count} dossiers are past their due date and not settled, in {units} "
                            "units.").format(time=at.strftime("%H:%M %d/%m/%Y"), count=fmt_number(total, 0),
                                             units=len(late))))
        if late:
            names = {r["unit"]: r["name"] for r in rows}
            top = sorted(late.items(), key=lambda kv: (-kv[1][0], kv[0]))[:15]
            doc.add(Table(sheet=_("Overdue dossiers"), rows=[
                [code, names.get(code) or _unit_name(session, code, period), n,
                 oldest.strftime("%d/%m/%Y") if hasattr(oldest, "strftime") else oldest] for code, (n, oldest) in top],
                columns=[Column(_("Code"), width=0.9), Column(_("Unit"), width=3.0),
                         Column(_("Overdue dossiers"), "int", width=1.0), Column(_("Oldest due date"), width=1.1)]))
        doc.add(fr.signature())
        return doc


def _rate(s, ind_id: str) -> float | None:
    i = s.score.indicators.get(ind_id)
    if i is None or not i.applicable or i.rate is None or i.rate > 1:
        return None
    return i.rate


def _unit_name(session: Session, code: str, period: Period) -> str:
    try:
        return units.name_on(units.get(session, code), period.end)
    except NotFound:
        return code


__all__ = ["build_ranking", "build_scorecard", "build_scorecards", "build_periodic", "period_label", "period_now_label",
           "weakest_indicators", "overdue_dossiers"]
