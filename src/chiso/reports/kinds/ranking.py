"""The ranking announcement: per group of units, who is first, second, third and last
(:func:`chiso.scoring.ranking.podium`), the full table with changes, the largest gains and
losses, charts, and the province's own result; of the 766 index for a period or of an
assessment round."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Sequence

from sqlalchemy.orm import Session

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.methods.bands import band_name, band_position
from chiso.periods import Period
from chiso.reports import charts
from chiso.reports.document import Bullets, Column, Document, Heading, Image, Paragraph, Table, Title, fmt_number, language
from chiso.reports.kinds.common import (
    LEVEL_COHORTS, NOTICE, TREND_PERIODS, Signing, adjustment_text, frame, group_name, join_names, movement,
    national_sentence, numbered_sections, period_label, period_now_label, period_short, signed,
)
from chiso.scoring.ranking import podium
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

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
    #: Points by indicator group (766: CKMB … MDHL), in the order of :attr:`Ranking.groups`.
    groups: dict[str, float | None] = field(default_factory=dict)
    #: Technical deductions in force on the score (``chiso adjustments``).
    adjustments: list[dict] = field(default_factory=list)


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
    #: The indicator groups shown per unit: (id, maximum).
    groups: list[tuple[str, float]] = field(default_factory=list)
    #: Scores published in percent (PAR Index, SIPAS): written "84,53 %".
    percent: bool = False

    @property
    def title(self) -> str:
        """The index and its period, once: "DTI 2026" is not followed by ", năm 2026"."""
        year = re.search(r"\b(19|20)\d\d\b", self.when)
        if year and year.group(0) in self.index_name and self.when.strip() == _("year {year}").format(
                year=year.group(0)):
            return self.index_name
        return f"{self.index_name}, {self.when}"


def ranking_766(session: Session, store: DossierStore, *, period: Period, groups: Sequence[str], method_id: str | None,
                 trend: bool = True) -> Ranking:
    from chiso.index import service

    method = service.method_for(method_id)
    cohorts: list[tuple[str, list[dict]]] = []
    if groups:
        computed = service.scores_and_previous(session, store, period, method=method)  # one count for every group
        for g in groups:
            cohorts.append((g, [r for r in service.index_766(session, store, period, group=g, method_id=method_id,
                                                             computed=computed)
                                if r["level"] != "province"]))
    else:
        rows = service.index_766(session, store, period, method_id=method_id)
        for level in LEVEL_COHORTS:
            cohorts.append((level, [r for r in rows if r["level"] == level]))

    def ranked(r: dict) -> Ranked:
        name, idx = band_name(method.bands, r["band"]), band_position(method.bands, r["band"])
        return Ranked(r["unit"], r["name"], r["total"], name, idx, r["rank"], r["rank_change"], r["total_change"],
                      {gid: g["points"] for gid, g in r["groups"].items()},
                      list(r.get("adjustments") or []))

    out = Ranking(
        index_name=_("Real-time service index (Decision 766/QĐ-TTg)"), when=period_now_label(period),
        cohorts=[Cohort(code, group_name(session, code), [ranked(r) for r in rows]) for code, rows in cohorts],
        top=100.0, decimals=2, thresholds=[b.min for b in method.bands if b.min > 0],
        previous_when=period_label(period.previous()), groups=[(g.id, g.max) for g in method.groups])
    # The province's own result and its trend over the previous periods (one computation).
    series = [period.shift(-k) for k in range(TREND_PERIODS - 1, 0, -1)] if trend else []
    _tg, scored = service.compute_scores(session, store, period, method=method,
                                         extra_periods=series or [period.previous()])
    prov_code = units.home_province(session)
    # A period before the first dossier has only catalogue measures: no point on the trend.
    def has_data(s) -> bool:
        return service.has_records(method, s)

    now, before = scored[period.code].get(prov_code), scored[period.previous().code].get(prov_code)
    if now is not None:
        band = band_name(method.bands, now.score.band)
        if now.score.total is None:
            text = _("{name}: no data for this period").format(name=now.name)
        else:
            text = _("{name} scored {score}/{max}, band {band}").format(
                name=now.name, score=fmt_number(now.score.total), max=fmt_number(now.score.max_total, 0),
                band=band or "–")
        if has_data(before) and None not in (before.score.total, now.score.total):
            text += _(", {change} points against {previous}").format(
                change=signed(now.score.total - before.score.total), previous=period_label(period.previous()))
        national = national_sentence(session, period)
        out.province = text + ". " + (national or _("Its national rank on the portal has not been imported."))
    for p in [*series, period]:
        s = scored[p.code].get(prov_code)
        out.trend_labels.append(period_short(p))
        out.trend_values.append(s.score.total if has_data(s) else None)
    return out


def ranking_round(session: Session, *, round_code: str, groups: Sequence[str]) -> Ranking:
    from chiso.assessments import service

    rnd = service.get_round(session, round_code)
    method = service.method_of(rnd)
    rows = counted(service.results(session, round_code=round_code))
    if groups:
        rows = [r for g in groups for r in counted(service.results(session, round_code=round_code, group=g))]
    values = [r["value"] for r in rows if r["value"] is not None]
    small = bool(values) and max(abs(v) for v in values) <= 1.0
    decimals = 4 if small else 2

    def ranked(r: dict) -> Ranked:
        name, idx = band_name(method.bands, r["band"]), band_position(method.bands, r["band"])
        return Ranked(r["unit"], r["name"], r["value"], name, idx, r["rank"], r["rank_change"], r["value_change"])

    order = list(groups) or sorted({r["group"] for r in rows})
    cohorts = [Cohort(g, group_name(session, g), [ranked(r) for r in rows if r["group"] == g]) for g in order]
    prev = service.previous_round(session, rnd)
    out = Ranking(index_name=rnd.name, when=_("year {year}").format(year=rnd.year),
                  cohorts=cohorts, top=1.0 if small else max(100.0, max(values, default=0.0)), decimals=decimals,
                  thresholds=[], percent=method.publish == "percent", previous_when=(_("year {year}").format(year=prev.year) if prev else None))
    home = units.home_province(session)
    all_rows = counted(service.results(session, round_code=round_code))
    mine = next((r for r in all_rows if r["unit"] == home), None)
    if mine is not None and mine["value"] is not None:
        peers = [r for r in all_rows if r["group"] == mine["group"]]
        score = fmt_number(mine["value"], decimals)
        if out.percent:
            score += " %"
        elif mine["percent"] is not None and not math.isclose(mine["percent"], mine["value"]):
            score += " (" + fmt_number(mine["percent"]) + "/100)"
        elif mine["percent"] is not None:
            score += "/100"
        parts = [score]
        if mine["rank"] is not None:
            parts.append(_("rank {rank}/{count}").format(rank=mine["rank"], count=len(peers)))
        if movement(mine["rank_change"]):
            parts.append(movement(mine["rank_change"]))
        out.province = _("{name}: {result}.").format(name=mine["name"], result=", ".join(parts))
    # The province over the previous rounds of the family, oldest first.
    chain, r = [], rnd
    while r is not None and len(chain) < TREND_PERIODS:
        chain.append(r)
        r = service.previous_round(session, r)
    for r in reversed(chain):
        got = next((x for x in counted(service.results(session, round_code=r.code)) if x["unit"] == home), None)
        out.trend_labels.append(str(r.year))
        out.trend_values.append(got["value"] if got else None)
    if not any(v is not None for v in out.trend_values):
        out.trend_labels, out.trend_values = [], []
    return out


def counted(rows: list[dict]) -> list[dict]:
    """The rows of a round that are results: a draft (nothing declared yet) never is."""
    return [r for r in rows if r["status"] != "draft"]


def ranking_columns(decimals: int, percent: bool = False) -> list[Column]:
    return [Column(_("Rank"), "int", width=0.6), Column(_("Code"), "text", width=1.15),
            Column(_("Unit"), "text", width=3.0), Column(_("Score"), "pct" if percent else "number", decimals, width=0.9),
            Column(_("Band"), "text", width=1.0), Column(_("Rank change"), "signed_int", width=0.8),
            Column(_("Score change"), "signed", decimals, width=0.9)]


def group_table(c: Cohort, ordered: list[Ranked], groups: list[tuple[str, float]], n: int) -> Table:
    """Each unit's points by indicator group (766: CKMB … MDHL), in rank order."""
    return Table(sheet=_("{group}, by group").format(group=c.name)[:31],
                 caption=_("Table {n}b: {group}, points by indicator group").format(n=n, group=c.name),
                 columns=[Column(_("Rank"), "int", width=0.8), Column(_("Unit"), "text", width=2.6)]
                 + [Column(f"{gid} ({fmt_number(mx, 0)})", "number", 2, width=0.8) for gid, mx in groups]
                 + [Column(_("Total"), "number", 2, width=0.8)],
                 rows=[[r.rank, r.name, *[r.groups.get(gid) for gid, _m in groups], r.score] for r in ordered])


def _who(rows: list[Ranked], decimals: int, percent: bool) -> str:
    return join_names([_("{name} ({score})").format(
        name=r.name, score=fmt_number(r.score or 0.0, decimals) + (" %" if percent else "")) for r in rows])


def announce(c: Cohort, decimals: int, percent: bool = False) -> str:
    parts = []
    named = c.named()
    for place, label in (("first", _("first")), ("second", _("second")), ("third", _("third")), ("last", _("last"))):
        if named[place]:
            parts.append(_("{position}: {units}").format(position=label, units=_who(named[place], decimals, percent)))
    if not parts:
        return _("No unit of this group is ranked.")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _moves(c: Cohort, decimals: int) -> tuple[list[str], list[str]]:
    moved = [r for r in c.rows if r.score_change is not None]

    def line(r: Ranked) -> str:
        text = _("{name}: {change} points").format(name=r.name, change=signed(r.score_change, decimals))
        move = movement(r.rank_change)
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


def build_ranking(session: Session, store: DossierStore, *, index: str | None = None, period: Period | None = None,
                  round_code: str | None = None, groups: Sequence[str] = (), lang: str | None = None,
                  day: date | None = None, issuer: Sequence[str] | None = None,
                  method_id: str | None = None, signing: Signing | None = None) -> Document:
    """The ranking announcement of the 766 index for ``period`` (``index="766"``) or of an
    assessment round (``round_code``), for ``groups`` (default: the natural cohorts);
    ``signing``: its number and who signs it."""
    with language(lang) as lang:
        if (round_code is None) == (index is None):
            raise ChisoError(_("Give either an index with a period or an assessment round."))
        if index is not None:
            if index != "766":
                raise ChisoError(_("Unknown index {index}: chiso computes 766 from the records; the other indexes "
                                   "come from assessment rounds (--round).").format(index=index))
            if period is None:
                raise ChisoError(_("The 766 index needs a period."))
            ranking = ranking_766(session, store, period=period, groups=groups, method_id=method_id)
            slug = f"ranking-766-{period.code}"
        else:
            ranking = ranking_round(session, round_code=round_code, groups=groups)
            slug = f"ranking-{round_code}"
        fr = frame(session, lang=lang, day=day, issuer=issuer, signing=signing)
        doc = Document(title=_("Ranking announcement"), lang=lang, slug=slug)
        doc.add(fr.header(NOTICE), Title(_("Announcement of results and rankings"),
                                   ranking.title))
        sections = numbered_sections()
        doc.add(Paragraph(_("The Steering Committee announces the results and rankings of {index}, {when}, "
                            "for {count} groups of units, from the records and assessments held by the "
                            "province.").format(index=ranking.index_name, when=ranking.when,
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
            doc.add(Paragraph(announce(c, ranking.decimals, ranking.percent)))
            if c.rows:
                ordered = sorted(c.rows, key=lambda r: (r.rank is None, r.rank or 0, r.unit))
                doc.add(Table(sheet=c.name, columns=ranking_columns(ranking.decimals, ranking.percent),
                              caption=_("Table {n}: {group}").format(n=n, group=c.name),
                              rows=[[r.rank, r.unit, r.name, r.score,
                                     r.band if r.score is not None else _("no data"), r.rank_change, r.score_change]
                                    for r in ordered]))
                if ranking.groups and any(r.groups for r in ordered):
                    doc.add(group_table(c, ordered, ranking.groups, n))
                drawn = [r for r in ordered if r.score is not None]  # no data is no bar, not a 0
                doc.add(Image(charts.score_bars(
                    labels=[r.name for r in drawn], values=[r.score for r in drawn],
                    colours=[_bar_colour(r.band_index, max(bands, 4)) for r in drawn],
                    title=c.name, xlabel=_("score"), thresholds=ranking.thresholds, top=ranking.top),
                    width_mm=160, caption=_("Figure: scores of {group}").format(group=c.name)))
                adjusted = [r for r in ordered if r.adjustments]
                if adjusted:
                    doc.add(Paragraph(_("Scores after technical deductions:"), italic=True, align="left"))
                    doc.add(Bullets([_("{name}: {deductions}").format(name=r.name, deductions=adjustment_text(r.adjustments))
                                     for r in adjusted]))
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
                units=join_names(firsts))))
        if lasts:
            doc.add(Paragraph(_("The Steering Committee asks {units}, last in their groups, to analyse the causes, "
                                "set out remedies and report on them before the next period.").format(
                units=join_names(lasts))))
        doc.add(Paragraph(_("Every unit receives its scorecard with its own results and what to improve.")))
        doc.add(fr.signature())
        return doc
