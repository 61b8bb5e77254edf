"""Unit scorecards: one page per unit with its scores on every index (the 766 index and
the latest assessment round of each family), the 766 indicators where it loses most, its
targets' colours and its overdue tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.orm import Session

from chiso.errors import ChisoError
from chiso.i18n import _, current_language
from chiso.methods.bands import band_name
from chiso.periods import Period
from chiso.reports.document import Bullets, Column, Document, Heading, PageBreak, Paragraph, Table, Title, fmt_number, language
from chiso.reports.kinds.common import Frame, adjustment_text, frame, numbered_sections, period_label, period_now_label
from chiso.units import service as units

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

COLOURS = ("red", "amber", "green", "no_data")


def _day(value: Any) -> Any:
    """An ISO date as a date, so every format writes it dd/mm/yyyy."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _target_value(value: float | None, rate: bool) -> float | str | None:
    """A target's value or goal: a rate as the portal prints it ("80 %"), else the number."""
    if value is None or not rate:
        return value
    return fmt_number(100 * value, 0 if abs(100 * value - round(100 * value)) < 1e-9 else 1) + " %"


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
    #: What would raise each unit's 766 score most (:func:`chiso.index.steer.advise_many`).
    advice: dict[str, dict] = field(default_factory=dict)


def _shared(session: Session, store: DossierStore, *, period: Period, as_of: date, group: str | None,
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
    found = [{**i.to_json(), "deadline": i.target.deadline, "rate": targets.is_rate(i.target.indicator)}
             for i in targets.items(session, as_of=as_of, store=store)]
    from chiso.index import steer

    return _Shared(period=period, method=method, rows={r["unit"]: r for r in rows}, cohort_size=size,
                   targets=found,
                   tasks=tasks.list_tasks(session, status="overdue", as_of=as_of),
                   advice=steer.advise_many(session, store, period, method_id=method_id))


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
    blocks: list = [fr.header(kind=None), Title(_("Scorecard"), _("{unit}, {period}").format(
        unit=name, period=period_now_label(sh.period)))]
    ctx = [(_("Code"), unit.code), (_("Unit"), name)]
    sections = numbered_sections()
    # I. Scores on every index.
    blocks.append(Heading(next(sections), _("Scores and ranks")))
    score_rows = []
    row = sh.rows.get(unit.code)
    if row is not None:
        size = sh.cohort_size.get(row["level"])
        score_rows.append([_("766 service index"), period_label(sh.period), row["total"], row["band_name"],
                           f"{row['rank']}/{size}" if row["rank"] is not None else None, row["total_change"]])
    for rnd, _group in assessments.latest_rounds_of(session, unit_code=unit.code):
        if rnd.code not in sh.rounds:
            sh.rounds[rnd.code] = assessments.results(session, round_code=rnd.code)
        results = sh.rounds[rnd.code]
        mine = next((r for r in results if r["unit"] == unit.code), None)
        if mine is None or mine["status"] == "draft" or mine["value"] is None:
            continue  # a draft is not a result: nothing to show, least of all "0,00, 1st of 2"
        peers = sum(1 for r in results if r["group"] == mine["group"] and r["rank"] is not None)
        band = band_name(assessments.method_of(rnd).bands, mine["band"])
        score_rows.append([rnd.name, _("year {year}").format(year=rnd.year), mine["value"], band,
                           f"{mine['rank']}/{peers}" if mine["rank"] is not None else None, mine["value_change"]])
    if score_rows:
        blocks.append(Table(sheet=_("Scores"), context=ctx, rows=score_rows, columns=[
            Column(_("Index"), width=2.6), Column(_("Period or round"), width=1.2),
            Column(_("Score"), "number", 2, width=0.9), Column(_("Band"), width=1.0),
            Column(_("Rank in group"), width=0.9), Column(_("Change"), "signed", 2, width=0.9)]))
    else:
        blocks.append(Paragraph(_("{unit} is not scored for {period} and is in no assessment round.").format(
            unit=name, period=period_label(sh.period))))
    if row is not None and row.get("adjustments"):
        blocks.append(Paragraph(_("The 766 score includes technical deductions ({deductions}); before them it was "
                                  "{before}.").format(deductions=adjustment_text(row["adjustments"]),
                                                      before=fmt_number(row["computed_total"]))))
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
    # What would raise it most: the actions, best points per dossier first.
    advised = sh.advice.get(unit.code) or {}
    if advised.get("actions"):
        blocks.append(Heading(next(sections), _("What would raise the score most")))
        blocks.append(Table(sheet=_("Actions"), context=ctx, rows=[
            [a["action"], a["indicator"], a["dossiers"], a["points"], a["plan"]] for a in advised["actions"][:5]],
            columns=[Column(_("Action"), width=3.6), Column(_("Indicator"), width=0.8),
                     Column(_("Items"), "number", 0, width=0.7), Column(_("Points"), "number", 2, width=0.8),
                     Column(_("In the plan"), "number", 0, width=0.8)]))
        if advised.get("goal"):
            blocks.append(Paragraph(
                _("Goal {goal}: not reachable by these actions.").format(goal=advised["goal"])
                if advised.get("plan") is None else
                _("Goal {goal}: {n} actions.").format(goal=advised["goal"], n=len(advised["plan"]))))
    # III. Targets.
    mine_targets = [t for t in sh.targets if t["unit"] == unit.code]
    blocks.append(Heading(next(sections), _("Targets")))
    if mine_targets:
        order = {c: i for i, c in enumerate(COLOURS)}
        mine_targets.sort(key=lambda t: (order.get(t["colour"], 9), t["target"]))
        # A rate and its goal as percentages (80 %, not 0,80); each row in the words of its own kind.
        blocks.append(Table(sheet=_("Targets"), context=ctx, rows=[
            [t["target"], _colour_name(t["colour"]), _target_value(t["value"], t["rate"]),
             _target_value(t["goal"], t["rate"]), t["deadline"]] for t in mine_targets],
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
            [t["id"], t["title"], t["owner"], _day(t["deadline"])] for t in late], columns=[
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


def _scorecard_docs(session: Session, store: DossierStore, *, period: Period, unit_codes: Sequence[str] | None, group: str | None,
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
            raise ChisoError(_("Group {group} has no unit on {day}.").format(group=group, day=period.end.strftime("%d/%m/%Y")))
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


def build_scorecards(session: Session, store: DossierStore, *, period: Period, unit_codes: Sequence[str] | None = None,
                     group: str | None = None, lang: str | None = None, day: date | None = None,
                     as_of: date | None = None, issuer: Sequence[str] | None = None,
                     method_id: str | None = None) -> Document:
    """Scorecards of ``unit_codes`` and every unit of ``group``, one per page, in one file.
    Ranks are within ``group`` where given, else among units of the same level."""
    return _scorecard_docs(session, store, period=period, unit_codes=unit_codes, group=group, lang=lang, day=day,
                           as_of=as_of, issuer=issuer, method_id=method_id, split=False)[0][1]


def build_scorecards_split(session: Session, store: DossierStore, *, period: Period, unit_codes: Sequence[str] | None = None,
                           group: str | None = None, lang: str | None = None, day: date | None = None,
                           as_of: date | None = None, issuer: Sequence[str] | None = None,
                           method_id: str | None = None) -> list[tuple[str, Document]]:
    """As :func:`build_scorecards`, one document per unit: [(unit code, document)]."""
    return _scorecard_docs(session, store, period=period, unit_codes=unit_codes, group=group, lang=lang, day=day,
                           as_of=as_of, issuer=issuer, method_id=method_id, split=True)


def build_scorecard(session: Session, store: DossierStore, *, unit: str, period: Period, **kw) -> Document:
    """The scorecard of one unit (see :func:`build_scorecards`)."""
    return build_scorecards(session, store, period=period, unit_codes=[unit], **kw)
