"""Rates into points (quy đổi tỷ lệ thành điểm): the pure core of every index.

:func:`score_unit` takes a :class:`~chiso.scoring.model.Method` and the measures of one unit
(đơn vị) for one period (kỳ đánh giá), already counted by a store, and returns every
indicator's numerator, denominator, rate and points, every group's points, the total and
the band. It does no I/O: the same numbers always give the same score.

Conventions, each a documented choice of the method file rather than of this code:

- A rate is numerator / denominator, unrounded unless the method sets ``rate_rounding``
  (decimals of the rate *in percent*, as the portal shows 97.25 %).
- For points a rate is clamped to [0, 1]: a data glitch (more synchronised dossiers than
  received ones) must not earn more than the maximum.
- Zero denominator: ``not_applicable`` drops the indicator (and its maximum) from the
  group; ``full`` gives full points; ``zero`` gives none. In a formula group the ratio is
  then 1 or 0.
- Outside its scope (e.g. a provincial criterion at a commune) an indicator scores full
  points, or is not applicable, per the method's ``outside_scope`` parameter (or the
  indicator's own override). In a formula group a full out-of-scope ratio counts as 1.
- A group's points are the sum of its applicable indicators' points out of the sum of their
  maxima; a formula group's points are its formula, clamped to [0, group max], and it is
  applicable only when every ratio it reads is.
- The total is the sum of applicable groups' points out of the sum of their maxima; the
  band is read on the total scaled to 100 (identical when every group applies).
- No data: a unit none of whose record measures (dossiers, feedback) counts anything in
  the period has no score at all (:func:`has_records`): no total, no band, no points. It
  is not given the full points of its zero denominators (about 28 of 100 on 766), and so
  it is neither ranked nor compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.scoring.model import Band, Group, Indicator, Method, Rule
from chiso.scoring.expression import Formula, compile_formula, evaluate, term_points


@dataclass(slots=True)
class IndicatorScore:
    """One indicator of one unit: the two measures, the rate and the points.

    Built tens of thousands of times per run, so slotted rather than frozen (a frozen
    dataclass sets each field through ``object.__setattr__``); treat it as read-only."""

    id: str
    group: str
    numerator: float | None
    denominator: float | None
    #: numerator / denominator (a fraction, or days for 2.2); None when not computed.
    rate: float | None
    #: None when not applicable, or when a formula term cannot be attributed to it.
    points: float | None
    max: float
    applicable: bool
    in_scope: bool = True
    #: Why the rate was not used: ``outside_scope`` or ``zero_denominator``; else None.
    reason: str | None = None


@dataclass(slots=True)
class GroupScore:
    """One group of one unit."""

    id: str
    points: float | None
    #: Points available: the applicable indicators' maxima (a formula group: its max).
    max: float
    applicable: bool
    #: A formula group's value before clamping to [0, max]; None for other groups.
    formula_value: float | None = None


@dataclass(frozen=True)
class Adjustment:
    """A manual, audited change of a total (điểm trừ kỹ thuật): points, never a formula.

    ``indicator`` or ``group`` name what it concerns (for the reader: the points change the
    total, not the indicator's or group's own points); ``id`` is its record's."""

    points: float
    reason: str
    author: str
    indicator: str | None = None
    group: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class UnitScore:
    """The score of one unit for one period under one method."""

    method: str
    version: str
    level: str
    indicators: Mapping[str, IndicatorScore]
    groups: Mapping[str, GroupScore]
    #: Sum of applicable groups' points plus adjustments; None if no group applies.
    total: float | None
    #: Sum of applicable groups' maxima.
    max_total: float
    #: The total on a 0–100 scale (total × 100 / max_total); what bands are read on.
    normalised: float | None
    band: str | None
    #: The total before manual adjustments.
    computed_total: float | None
    adjustments: tuple[Adjustment, ...] = ()
    bands: tuple[Band, ...] = field(default=(), repr=False, compare=False)
    #: False when the unit has no records in the period (:func:`has_records`): no total.
    has_data: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "method": self.method,
            "version": self.version,
            "level": self.level,
            "indicators": {k: _plain(v) for k, v in self.indicators.items()},
            "groups": {k: _plain(v) for k, v in self.groups.items()},
            "total": self.total,
            "max_total": self.max_total,
            "normalised": self.normalised,
            "band": self.band,
            "computed_total": self.computed_total,
            "has_data": self.has_data,
            "adjustments": [vars(a).copy() for a in self.adjustments],
        }


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(slots=True)
class _Outcome:
    rate: float | None
    #: The value a formula reads: the clamped rate, or 1/0 per the zero-denominator rule.
    ratio: float | None
    points: float | None
    applicable: bool
    reason: str | None = None


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def round_rate(rate: float, decimals: int | None) -> float:
    """The rate as the method rounds it: ``decimals`` decimals of the rate in percent,
    half up (the portal shows 97.25 %, not 0.97); unrounded when ``decimals`` is None."""
    if decimals is None:
        return rate
    percent = Decimal(repr(rate * 100)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return float(percent) / 100


def rate_points(rule: Rule, maximum: float, rate: float) -> float:
    """Points of a stand-alone rule (``linear``, ``target``, ``info``) for a rate."""
    r = _clamp(rate, 0.0, 1.0)
    if rule.type == "linear":
        return maximum * r
    if rule.type == "target":
        assert rule.target  # checked on load
        return maximum * min(1.0, r / rule.target)
    if rule.type == "info":
        return 0.0
    raise ChisoError(_("rule {type} has no points of its own").format(type=rule.type))


def _full_points(indicator: Indicator) -> float | None:
    if indicator.rule.type == "term":
        return None  # set from the group formula
    return 0.0 if indicator.rule.type == "info" else indicator.max


def _outcome(method: Method, indicator: Indicator, numerator: float, denominator: float) -> _Outcome:
    if denominator == 0:
        mode = indicator.zero_denominator
        if mode == "not_applicable":
            return _Outcome(None, None, None, False, "zero_denominator")
        if mode == "full":
            return _Outcome(None, 1.0, _full_points(indicator), True, "zero_denominator")
        return _Outcome(None, 0.0, None if indicator.rule.type == "term" else 0.0, True, "zero_denominator")
    rate = numerator / denominator
    if indicator.rate_unit == "fraction":
        rate = round_rate(rate, method.rate_rounding)
    points = None if indicator.rule.type == "term" else rate_points(indicator.rule, indicator.max, rate)
    return _Outcome(rate, _clamp(rate, 0.0, 1.0), points, True)


def _outside(method: Method, indicator: Indicator) -> _Outcome:
    mode = indicator.outside_scope or method.outside_scope
    if mode == "full":
        return _Outcome(None, 1.0, _full_points(indicator), True, "outside_scope")
    return _Outcome(None, None, None, False, "outside_scope")


@lru_cache(maxsize=256)
def _formula(text: str) -> Formula:
    return compile_formula(text)


def _names_of(group: Group, indicator_id: str) -> frozenset[str]:
    assert group.rule is not None
    return frozenset(name for name, ind in group.rule.ratios.items() if ind == indicator_id)


def group_formula_points(group: Group, ratios: Mapping[str, float]) -> tuple[float, float]:
    """A formula group's (points, unclamped value) for ratio values by name."""
    assert group.rule is not None and group.rule.expression
    raw = evaluate(_formula(group.rule.expression), ratios)
    return _clamp(raw, 0.0, group.max), raw


def example_points(method: Method, indicator: Indicator, numerator: float, denominator: float) -> float | None:
    """Points of ``indicator`` for one numerator and denominator, as if in scope.

    An indicator scored through its group's formula gets the value of its own term.
    """
    out = _outcome(method, indicator, numerator, denominator)
    if not out.applicable:
        return None
    if indicator.rule.type != "term":
        return out.points
    group = method.group(indicator.group)
    names = _names_of(group, indicator.id)
    assert group.rule is not None and group.rule.expression and out.ratio is not None
    return term_points(_formula(group.rule.expression), names, {n: out.ratio for n in names})


def _number(counts: Mapping[str, float], name: str, *, signed: bool) -> float:
    value = counts[name]
    if type(value) is float and (value >= 0 or signed) and math.isfinite(value):
        return value  # the common case, checked cheaply
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ChisoError(_("measure {name}: {value!r} is not a number").format(name=name, value=value))
    if value < 0 and not signed:
        raise ChisoError(_("measure {name}: a count cannot be negative ({value})").format(name=name, value=value))
    return float(value)


def classify(bands: Iterable[Band], score: float | None) -> str | None:
    """The band of a 0–100 score: the highest band whose ``min`` it reaches (so 100 is in
    the top band, and a score below every band falls in the lowest)."""
    return _classify_sorted(sorted(bands, key=lambda b: b.min, reverse=True), score)


def _classify_sorted(ordered: Sequence[Band], score: float | None) -> str | None:
    if score is None or not ordered:
        return None
    for band in ordered:
        if score >= band.min:
            return band.id
    return ordered[-1].id


@dataclass(slots=True)
class _Plan:
    """What scoring one unit at one level needs from a method, worked out once: a
    province's units are scored for every period in one go."""

    method: Method
    needed: frozenset[str]
    #: Per indicator, in method order: (group id, indicator, in scope, numerator name,
    #: denominator name, numerator signed, denominator signed, outcome when out of scope).
    rows: tuple[tuple[str, Indicator, bool, str, str, bool, bool, _Outcome | None], ...]
    #: Per formula group and indicator: the ratio names that indicator's term reads.
    term_names: dict[tuple[str, str], frozenset[str]]
    #: The method's record measures (:func:`has_records`) and its bands, highest first
    #: (:func:`classify`): read for every score, worked out once.
    records: tuple[str, ...]
    bands: tuple[Band, ...]


_PLANS: dict[tuple[int, str], _Plan] = {}


def _plan(method: Method, level: str) -> _Plan:
    hit = _PLANS.get((id(method), level))
    if hit is not None and hit.method is method:
        return hit
    rows = []
    for group in method.groups:
        for ind in group.indicators:
            in_scope = level in ind.scope
            rows.append((
                group.id, ind, in_scope, ind.numerator, ind.denominator,
                method.measures[ind.numerator].signed, method.measures[ind.denominator].signed,
                None if in_scope else _outside(method, ind),
            ))
    plan = _Plan(
        method=method,
        needed=frozenset(n for r in rows if r[2] for n in (r[3], r[4])),
        rows=tuple(rows),
        term_names={
            (g.id, i.id): _names_of(g, i.id) for g in method.groups if g.is_formula for i in g.indicators
        },
        records=_record_measures(method),
        bands=tuple(sorted(method.bands, key=lambda b: b.min, reverse=True)),
    )
    _PLANS[(id(method), level)] = plan
    return plan


#: Bases whose measures count a unit's own records (the others count catalogue rows or
#: are derived from other measures).
RECORD_BASES = frozenset({"dossier_received", "dossier_finished", "dossier_settlement", "feedback"})


def _record_measures(method: Method) -> tuple[str, ...]:
    return tuple(n for n, m in method.measures.items() if m.basis in RECORD_BASES)


def has_records(method: Method, counts: Mapping[str, float]) -> bool:
    """Whether any record measure of ``method`` counts something in ``counts`` (a unit's
    measures for one period). A method without record measures always has data."""
    return _has_records(_record_measures(method), counts)


def _has_records(names: tuple[str, ...], counts: Mapping[str, float]) -> bool:
    return not names or any(counts.get(n) for n in names)


def no_data(score: UnitScore) -> UnitScore:
    """The score of a unit without records: every indicator and group not applicable and
    without points, no total, no band (its maximum stays what it would be scored out of)."""
    indicators = {k: replace(v, points=None, applicable=False, reason="no_data") for k, v in score.indicators.items()}
    groups = {k: replace(v, points=None, applicable=False, formula_value=None) for k, v in score.groups.items()}
    return replace(score, indicators=indicators, groups=groups, total=None, computed_total=None, normalised=None,
                   band=None, has_data=False)


def _checked_plan(method: Method, counts: Mapping[str, float], level: str) -> _Plan:
    if level not in method.levels:
        raise ChisoError(
            _("level {level} is not scored by {method}: use one of {levels}").format(
                level=level, method=method.id, levels=", ".join(method.levels)
            )
        )
    plan = _plan(method, level)
    missing = sorted(plan.needed - counts.keys())
    if missing:
        raise ChisoError(_("missing measures: {names}").format(names=", ".join(missing)))
    return plan


def _outcomes(method: Method, plan: _Plan, counts: Mapping[str, float]) -> dict[str, tuple[float | None, float | None, _Outcome]]:
    """Per indicator, in the plan's order: (numerator, denominator, outcome); the two
    measures None out of scope."""
    out: dict[str, tuple[float | None, float | None, _Outcome]] = {}
    for _group_id, ind, in_scope, num_name, den_name, num_signed, den_signed, outside in plan.rows:
        if in_scope:
            num = _number(counts, num_name, signed=num_signed)
            den = _number(counts, den_name, signed=den_signed)
            out[ind.id] = (num, den, _outcome(method, ind, num, den))
        else:
            assert outside is not None  # the plan gives every row out of scope its outcome
            out[ind.id] = (None, None, outside)
    return out


def _group_scores(method: Method, plan: _Plan, outcomes: Mapping[str, tuple[Any, Any, _Outcome]],
                  indicators: dict[str, IndicatorScore] | None = None) -> dict[str, GroupScore]:
    """Every group's score from its indicators' outcomes. With ``indicators``, the points
    of a formula group's indicators are set there (their own terms; None when the group
    does not apply)."""
    groups: dict[str, GroupScore] = {}
    for group in method.groups:
        if group.is_formula:
            assert group.rule is not None and group.rule.expression
            values = {name: outcomes[ind_id][2].ratio for name, ind_id in group.rule.ratios.items()}
            if any(v is None for v in values.values()):
                groups[group.id] = GroupScore(group.id, None, group.max, False)
                if indicators is not None:
                    for ind in group.indicators:
                        indicators[ind.id].points = None
                continue
            bound = {k: float(v) for k, v in values.items() if v is not None}
            points, raw = group_formula_points(group, bound)
            groups[group.id] = GroupScore(group.id, points, group.max, True, formula_value=raw)
            if indicators is not None:
                formula = _formula(group.rule.expression)
                for ind in group.indicators:
                    if ind.rule.type == "term":
                        indicators[ind.id].points = term_points(formula, plan.term_names[(group.id, ind.id)], bound)
        else:
            counted = [(outcomes[i.id][2], i.max) for i in group.indicators
                       if outcomes[i.id][2].applicable and i.max > 0]
            if not counted:
                groups[group.id] = GroupScore(group.id, None, group.max, False)
            else:
                groups[group.id] = GroupScore(
                    group.id,
                    sum(o.points or 0.0 for o, _m in counted),
                    sum(m for _o, m in counted),
                    True,
                )
    return groups


def _sum_groups(groups: Mapping[str, GroupScore]) -> tuple[float | None, float]:
    applicable = [g for g in groups.values() if g.applicable]
    total = sum(g.points or 0.0 for g in applicable) if applicable else None
    return total, sum(g.max for g in applicable)


def score_unit(method: Method, counts: Mapping[str, float], *, level: str) -> UnitScore:
    """Score one unit (đơn vị) for one period from its measures.

    ``counts`` maps each measure name of ``method`` to its value for the unit and period;
    only the measures of indicators in scope at ``level`` are read.
    """
    plan = _checked_plan(method, counts, level)
    outcomes = _outcomes(method, plan, counts)
    indicators: dict[str, IndicatorScore] = {}
    for group_id, ind, in_scope, *_rest in plan.rows:
        num, den, out = outcomes[ind.id]
        indicators[ind.id] = IndicatorScore(
            id=ind.id, group=group_id, numerator=num, denominator=den, rate=out.rate,
            points=out.points, max=ind.max, applicable=out.applicable, in_scope=in_scope, reason=out.reason,
        )
    groups = _group_scores(method, plan, outcomes, indicators)
    total, max_total = _sum_groups(groups)
    normalised = total * 100.0 / max_total if total is not None and max_total > 0 else None
    score = UnitScore(
        method=method.id, version=method.version, level=level, indicators=indicators, groups=groups,
        total=total, max_total=max_total, normalised=normalised, band=_classify_sorted(plan.bands, normalised),
        computed_total=total, bands=method.bands,
    )
    return score if _has_records(plan.records, counts) else no_data(score)


def unit_total(method: Method, counts: Mapping[str, float], *, level: str) -> tuple[float | None, float]:
    """``score_unit(method, counts, level=level)``'s ``(total, max_total)``, the same
    floats, without the indicators' details: what :mod:`chiso.scoring.advice` asks for
    thousands of times, on a few groups at a time."""
    plan = _checked_plan(method, counts, level)
    total, max_total = _sum_groups(_group_scores(method, plan, _outcomes(method, plan, counts)))
    return (total if _has_records(plan.records, counts) else None), max_total


def score_many(
    method: Method, counts: Mapping[Any, Mapping[str, float]], levels: Mapping[Any, str]
) -> dict[Any, UnitScore]:
    """Score many (unit, period) pairs: ``counts`` and ``levels`` are keyed alike, the
    level by the key's first item when the key is a tuple.

    The same as calling :func:`score_unit` for each. The engine leaves the process's
    garbage collector alone; a caller scoring tens of thousands of keys may pause it
    (``chiso.index.compute.gc_paused``)."""
    return {
        key: score_unit(method, values, level=levels[key[0] if isinstance(key, tuple) else key])
        for key, values in counts.items()
    }


def _finish(score: UnitScore) -> UnitScore:
    normalised = None
    if score.total is not None and score.max_total > 0:
        normalised = score.total * 100.0 / score.max_total
    return replace(score, normalised=normalised, band=classify(score.bands, normalised))


def _as_adjustment(item: Adjustment | Mapping[str, Any]) -> Adjustment:
    adj = item if isinstance(item, Adjustment) else Adjustment(
        points=item.get("points"), reason=item.get("reason"), author=item.get("author")  # type: ignore[arg-type]
    )
    if isinstance(adj.points, bool) or not isinstance(adj.points, (int, float)) or not math.isfinite(adj.points):
        raise ChisoError(_("an adjustment needs a number of points, not {value!r}").format(value=adj.points))
    if not isinstance(adj.reason, str) or not adj.reason.strip():
        raise ChisoError(_("an adjustment needs a reason"))
    if not isinstance(adj.author, str) or not adj.author.strip():
        raise ChisoError(_("an adjustment needs an author"))
    return adj


def apply_adjustments(score: UnitScore, adjustments: Iterable[Adjustment | Mapping[str, Any]]) -> UnitScore:
    """Add manual adjustments (e.g. "−2 points, technical deduction") to a score.

    Each is a number of points with a reason and an author, recorded on the result so the
    change stays auditable; the adjusted total is kept within [0, max_total] and the band
    is read again. Adjusting twice accumulates.
    """
    new = tuple(_as_adjustment(a) for a in adjustments)
    if not new:
        return score
    if score.computed_total is None:
        raise ChisoError(_("no group applies to this unit: there is no total to adjust"))
    every = score.adjustments + new
    total = _clamp(score.computed_total + sum(a.points for a in every), 0.0, score.max_total)
    return _finish(replace(score, total=total, adjustments=every))
