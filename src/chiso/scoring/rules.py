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

import itertools
import math
import operator
import sys
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

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

    The same as calling :func:`score_unit` for each, to the bit, several times faster on a
    batch: the pairs of one level are scored column by column (:class:`_Columns`). A pair
    that path leaves (odd input, an error to raise) is scored by :func:`score_unit` in the
    keys' order, so an error is the one the first bad key raises. The engine leaves the
    process's garbage collector alone; a caller scoring tens of thousands of keys may pause
    it (``chiso.index.compute.gc_paused``)."""
    fast = _score_columns(method, counts, levels) if len(counts) >= _columns_from() else {}
    return {
        key: fast[key] if key in fast else score_unit(
            method, values, level=levels[key[0] if isinstance(key, tuple) else key])
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


# --- Many pairs at once, column by column (score_many) ---------------------------------------
#
# The rules above applied to one NumPy column per measure. Every step is the IEEE operation
# score_unit does, on the same doubles, in the same order: a clamp or a min is a comparison and
# a choice, a rate a division, a sum adds from 0 in method order as Python's sum() does. So the
# floats are equal to the bit (tests/scoring/test_score_many.py compares both on every shipped
# method); what is left to pay for is building the result objects.

#: Below this many pairs, score_unit one by one costs less than setting up the columns.
_COLUMNS_FROM = 16
#: The same while NumPy is not imported yet: importing it costs 0.06–0.15 s, what the columns
#: save (about 70 µs a pair) on some 1,500 pairs. A command scoring one period and the one
#: before (300 pairs) stays in pure Python and does not pay for it.
_COLUMNS_FROM_BEFORE_NUMPY = 1500


def _columns_from() -> int:
    return _COLUMNS_FROM if "numpy" in sys.modules else _COLUMNS_FROM_BEFORE_NUMPY

#: Python's sum() of floats adds left to right before 3.12, with compensation from 3.12.
_PLAIN_SUM = sys.version_info < (3, 12)


def _score_columns(method: Method, counts: Mapping[Any, Mapping[str, float]],
                   levels: Mapping[Any, str]) -> dict[Any, UnitScore]:
    """The scores of the pairs the column-wise path takes; the others are left out."""
    by_level: dict[str, list[tuple[Any, dict[str, float]]]] = {}
    for key, values in counts.items():
        try:
            level = levels[key[0] if isinstance(key, tuple) else key]
        except Exception:  # noqa: BLE001 - score_many meets it again, in the keys' order
            continue
        # A plain dict only: score_unit checks its keys (a defaultdict would answer any name).
        if type(values) is dict and type(level) is str and level in method.levels:
            by_level.setdefault(level, []).append((key, values))
    out: dict[Any, UnitScore] = {}
    for level, items in by_level.items():
        columns = _columns(method, level)
        if columns is not None:
            out.update(columns.score(items))
    return out


_COLUMN_PLANS: dict[tuple[int, str], tuple[Method, "_Columns | None"]] = {}

#: The indicator rules the column-wise path scores: those :func:`rate_points` knows, and terms.
_COLUMN_RULES = frozenset({"linear", "target", "info", "term"})


def _columns(method: Method, level: str) -> "_Columns | None":
    """The column-wise scorer of ``method`` at ``level``; None for a method it does not take
    (a maximum, target or band bound that is not a float, which score_unit would keep as it
    is; a rule it does not know; an indicator id given twice; a formula without its parts)."""
    hit = _COLUMN_PLANS.get((id(method), level))
    if hit is not None and hit[0] is method:
        return hit[1]
    plan = _plan(method, level)
    ids = [row[1].id for row in plan.rows]
    numbers: list[object] = [*(i.max for i in method.indicators), *(g.max for g in method.groups),
                             *(b.min for b in method.bands),
                             *(i.rule.target for i in method.indicators if i.rule.type == "target")]
    formulas = [g.rule for g in method.groups if g.is_formula]
    ok = (
        len(set(ids)) == len(ids)
        and all(type(v) is float for v in numbers)
        and all(i.rule.type in _COLUMN_RULES for i in method.indicators)
        and all(r is not None and r.expression and set(r.ratios.values()) <= set(ids) for r in formulas)
    )
    columns = _Columns(plan, level) if ok else None
    _COLUMN_PLANS[(id(method), level)] = (method, columns)
    return columns


def _column_pick(name: str, python: Callable[..., Any], better: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """A formula's ``min`` or ``max`` over columns, as Python's: of equal values the first
    is kept (a later value replaces it only when strictly ``better``)."""

    def pick(*args: Any) -> Any:
        if len(args) < 2:
            # Python's min(x) iterates x: score_unit raises it.
            raise TypeError(f"{name} of one value")
        if not any(hasattr(a, "shape") for a in args):
            return python(*args)
        import numpy as np

        kept = args[0]
        for a in args[1:]:
            kept = np.where(better(a, kept), a, kept)
        return kept

    return pick


_vmin = _column_pick("min", min, operator.lt)
_vmax = _column_pick("max", max, operator.gt)


_COLUMN_GLOBALS = {"__builtins__": {}, "min": _vmin, "max": _vmax}


def _sums(np: Any, columns: list[Any], n: int) -> Any:
    """Python's ``sum()`` of each row of ``columns`` (float arrays), from the int 0 and
    left to right; a 0.0 in a row changes no sum, so a column may hold 0.0 where score_unit
    leaves the value out."""
    if not columns:
        return np.zeros(n)
    if _PLAIN_SUM:
        acc = 0.0 + columns[0]
        for c in columns[1:]:
            acc = acc + c
        return acc
    return np.array(list(map(sum, zip(*(c.tolist() for c in columns)))), dtype=np.float64)


def _nones(np: Any, values: Any, none: Any) -> list[Any]:
    """``values`` as a list of floats, None where ``none``."""
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(none).tolist():
        out[i] = None
    return out


class _RowIndicators(Mapping[str, IndicatorScore]):
    """The indicators of one pair scored column-wise (:class:`_Columns`), as a read-only
    mapping made on first use from the columns: equal to the dict :func:`score_unit` gives
    (``==``, keys in the same order), and pickled as that dict."""

    __slots__ = ("_lists", "_row", "_made")

    def __init__(self, lists: tuple[list[Any], ...], row: int) -> None:
        self._lists, self._row = lists, row
        self._made: dict[str, IndicatorScore] | None = None

    def _dict(self) -> dict[str, IndicatorScore]:
        if self._made is None:
            i = self._row
            self._made = {
                ind.id: IndicatorScore(ind.id, gid, nums[i], dens[i], rates[i], points[i], ind.max, applicable[i],
                                       in_scope, reasons[i])
                for ind, gid, in_scope, nums, dens, rates, points, applicable, reasons in self._lists
            }
        return self._made

    def __getitem__(self, key: str) -> IndicatorScore:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._lists)  # one list of fields per indicator

    def __repr__(self) -> str:
        return repr(self._dict())

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (self._dict(),)


class _Columns:
    """Scores every pair of one level of a method at once (:func:`score_many`).

    The measures are checked as :func:`_number` checks them: a pair whose values are not
    all finite floats (an int, a text, a negative count) or whose rate overflows is left to
    :func:`score_unit`, and so are all the pairs of a batch whose formulas or rate rounding
    raise for one of them."""

    def __init__(self, plan: _Plan, level: str) -> None:
        method = plan.method
        self.plan, self.level = plan, level
        self.names = tuple(dict.fromkeys(n for r in plan.rows if r[2] for n in (r[3], r[4])))
        self.index = {name: k for k, name in enumerate(self.names)}
        self.needed = frozenset(self.names)
        #: A pair's measures in the order of self.names, as a tuple.
        self.get: Callable[[Mapping[str, float]], tuple[Any, ...]] = (
            operator.itemgetter(*self.names) if len(self.names) > 1
            else (lambda values: tuple(values[name] for name in self.names))
        )
        self.unsigned = [k for k, name in enumerate(self.names) if not method.measures[name].signed]
        self.row_of = {row[1].id: j for j, row in enumerate(plan.rows)}
        self.formulas = {g.id: _formula(g.rule.expression) for g in method.groups
                         if g.is_formula and g.rule is not None and g.rule.expression}
        #: Per (formula group, indicator): the terms term_points gives the indicator.
        self.own_terms = {
            (gid, ind_id): [t for t in self.formulas[gid].terms if t.names and t.names <= names]
            for (gid, ind_id), names in plan.term_names.items()
        }

    def score(self, items: list[tuple[Any, dict[str, float]]]) -> dict[Any, UnitScore]:
        import numpy as np  # a tenth of a second to import: only a batch of scores needs it

        m, get = len(self.names), self.get
        keys = [key for key, _values in items]
        maps = [values for _key, values in items]
        try:
            rows = list(map(get, maps))
        except KeyError:  # rare: leave the pairs that lack a measure to score_unit, which names it
            kept = [(key, values) for key, values in items if self.needed <= values.keys()]
            keys, maps = [key for key, _values in kept], [values for _key, values in kept]
            rows = list(map(get, maps))
        flat = list(itertools.chain.from_iterable(rows))
        if set(map(type, flat)) - {float}:
            good = [i for i, row in enumerate(rows) if all(type(v) is float for v in row)]
            keys, maps = [keys[i] for i in good], [maps[i] for i in good]
            flat = list(itertools.chain.from_iterable(rows[i] for i in good))
        x = np.array(flat, dtype=np.float64).reshape(len(keys), m)
        good_rows = np.isfinite(x).all(axis=1)
        if self.unsigned:
            good_rows &= ~(x[:, self.unsigned] < 0).any(axis=1)
        with np.errstate(all="ignore"):
            for _gid, _ind, in_scope, num_name, den_name, *_rest in self.plan.rows:
                if in_scope:
                    den = x[:, self.index[den_name]]
                    good_rows &= (den == 0) | np.isfinite(x[:, self.index[num_name]] / den)
        if not good_rows.all():
            keep = np.flatnonzero(good_rows).tolist()
            keys, maps, x = [keys[i] for i in keep], [maps[i] for i in keep], x[good_rows]
        if not keys:
            return {}
        try:
            return self._score(np, keys, maps, x)
        except Exception:  # noqa: BLE001 - a formula or a rounding that raises: score_unit raises it per pair
            return {}

    def _indicator(self, np: Any, ind: Indicator, num: Any, den: Any) -> dict[str, Any]:
        """One in-scope indicator's columns, as :func:`_outcome` works out each value."""
        n = len(num)
        rounding = self.plan.method.rate_rounding
        zero = den == 0
        rate = num / np.where(zero, 1.0, den)
        if ind.rate_unit == "fraction" and rounding is not None:
            rate = np.array([0.0 if z else round_rate(r, rounding) for r, z in zip(rate.tolist(), zero.tolist())],
                            dtype=np.float64)
        ratio = np.where(rate < 0.0, 0.0, np.where(rate > 1.0, 1.0, rate))
        rule = ind.rule
        if rule.type == "linear":
            points = ind.max * ratio
        elif rule.type == "target":
            assert rule.target
            share = ratio / rule.target
            points = ind.max * np.where(share < 1.0, share, 1.0)
        else:
            points = np.zeros(n)  # info; a term's points come from its group's formula
        mode = ind.zero_denominator
        if mode == "not_applicable":
            ratio_none, applicable = zero, ~zero
            points_none = np.ones(n, dtype=bool) if rule.type == "term" else zero
        else:
            ratio_none, applicable = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
            ratio = np.where(zero, 1.0 if mode == "full" else 0.0, ratio)
            full = _full_points(ind) if mode == "full" else 0.0
            if rule.type == "term" or full is None:
                points_none = np.ones(n, dtype=bool)
            else:
                points_none = np.zeros(n, dtype=bool)
                points = np.where(zero, full, points)
        return {"num": num, "den": den, "zero": zero, "rate": rate, "ratio": ratio, "ratio_none": ratio_none,
                "points": points, "points_none": points_none, "applicable": applicable}

    def _formula_group(self, np: Any, group: Group, cols: list[dict[str, Any] | None], n: int) -> dict[str, Any]:
        """A formula group's columns, as :func:`_group_scores` works them out: applicable
        where every ratio it reads is; its points, value and its indicators' terms there."""
        assert group.rule is not None
        valid = np.ones(n, dtype=bool)
        ratios: dict[str, Any] = {}
        for name, ind_id in group.rule.ratios.items():
            j = self.row_of[ind_id]
            col = cols[j]
            if col is None:
                outside = self.plan.rows[j][7]
                assert outside is not None
                if outside.ratio is None:
                    valid[:] = False
                ratios[name] = np.full(n, outside.ratio if outside.ratio is not None else 0.0)
            else:
                valid &= ~col["ratio_none"]
                ratios[name] = col["ratio"]
        k = int(valid.sum())
        bound = {name: r[valid] for name, r in ratios.items()}
        formula = self.formulas[group.id]

        def run(code: Any) -> Any:
            value = eval(code, _COLUMN_GLOBALS, dict(bound))  # noqa: S307 - a checked formula (expression.py)
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))

        with np.errstate(divide="raise", invalid="raise", over="ignore", under="ignore"):
            raw_valid = run(formula.code)
            if not np.isfinite(raw_valid).all():
                raise ArithmeticError("a formula is not finite")  # score_unit raises the message
            raw = np.zeros(n)
            raw[valid] = raw_valid
            points = np.where(raw < 0.0, 0.0, np.where(raw > group.max, group.max, raw))
            terms: dict[str, tuple[Any, Any]] = {}
            for ind in group.indicators:
                if ind.rule.type != "term":
                    continue
                own = self.own_terms[(group.id, ind.id)]
                value = np.zeros(n)
                if own:
                    value[valid] = _sums(np, [t.sign * run(t.code) for t in own], k)
                terms[ind.id] = (value, ~valid if own else np.ones(n, dtype=bool))
        return {"applicable": valid, "points": points, "max": np.full(n, group.max), "raw": raw, "terms": terms}

    def _plain_group(self, np: Any, group: Group, cols: list[dict[str, Any] | None], n: int) -> dict[str, Any]:
        """A group scored by its indicators' points out of their maxima, as :func:`_group_scores`."""
        counted, values, maxima = [], [], []
        for ind in group.indicators:
            if ind.max <= 0:
                continue
            j = self.row_of[ind.id]
            col = cols[j]
            if col is None:
                outside = self.plan.rows[j][7]
                assert outside is not None
                if outside.applicable:
                    counted.append(np.ones(n, dtype=bool))
                    values.append(np.full(n, outside.points or 0.0))
                    maxima.append(np.full(n, ind.max))
                continue
            counted.append(col["applicable"])
            values.append(np.where(col["applicable"] & ~col["points_none"], col["points"], 0.0))
            maxima.append(np.where(col["applicable"], ind.max, 0.0))
        applicable = np.logical_or.reduce(counted) if counted else np.zeros(n, dtype=bool)
        return {"applicable": applicable, "points": _sums(np, values, n),
                "max": np.where(applicable, _sums(np, maxima, n), group.max), "raw": None, "terms": {}}

    def _score(self, np: Any, keys: list[Any], maps: list[dict[str, float]], x: Any) -> dict[Any, UnitScore]:
        plan, method, n = self.plan, self.plan.method, len(keys)
        has_data = [_has_records(plan.records, values) for values in maps]
        no_data_rows = [i for i, data in enumerate(has_data) if not data]
        with np.errstate(all="ignore"):  # a formula raises on its own (_formula_group)
            cols = [self._indicator(np, ind, x[:, self.index[num]], x[:, self.index[den]]) if in_scope else None
                    for _gid, ind, in_scope, num, den, *_rest in plan.rows]
            groups = [self._formula_group(np, g, cols, n) if g.is_formula else self._plain_group(np, g, cols, n)
                      for g in method.groups]
            scored = np.logical_or.reduce([g["applicable"] for g in groups]) if groups else np.zeros(n, dtype=bool)
            total = _sums(np, [np.where(g["applicable"], g["points"], 0.0) for g in groups], n)
            max_total = _sums(np, [np.where(g["applicable"], g["max"], 0.0) for g in groups], n)
            scaled = scored & (max_total > 0)
            normalised = total * 100.0 / np.where(scaled, max_total, 1.0)
            which = np.full(n, len(plan.bands) - 1)
            for b in range(len(plan.bands) - 1, -1, -1):  # the first band reached, highest first
                which = np.where(normalised >= plan.bands[b].min, b, which)

        # The indicators' values, one list per indicator and field.
        indicator_lists = []
        for (gid, ind, in_scope, *_rest, outside), col in zip(plan.rows, cols):
            if col is None:
                assert outside is not None
                nums: Any = [None] * n
                dens: Any = nums
                rates: Any = nums
                points: list[Any] = [outside.points] * n
                applicable: list[Any] = [outside.applicable] * n
                reasons: list[Any] = [outside.reason] * n
            else:
                nums, dens = col["num"].tolist(), col["den"].tolist()
                rates = _nones(np, col["rate"], col["zero"])
                points = _nones(np, col["points"], col["points_none"])
                applicable = col["applicable"].tolist()
                reasons = [None] * n
                for i in np.flatnonzero(col["zero"]).tolist():
                    reasons[i] = "zero_denominator"
            indicator_lists.append([ind, gid, in_scope, nums, dens, rates, points, applicable, reasons])
        for group, g in zip(method.groups, groups):
            if not group.is_formula:
                continue
            for ind in group.indicators:
                points = indicator_lists[self.row_of[ind.id]][6]
                if ind.id in g["terms"]:
                    for i, v in enumerate(_nones(np, *g["terms"][ind.id])):
                        points[i] = v
                for i in np.flatnonzero(~g["applicable"]).tolist():
                    points[i] = None
        for *_fields, points, applicable, reasons in indicator_lists:
            for i in no_data_rows:
                points[i], applicable[i], reasons[i] = None, False, "no_data"
        repeat = itertools.repeat
        group_objects = []
        for group, g in zip(method.groups, groups):
            points = _nones(np, g["points"], ~g["applicable"])
            applicable = g["applicable"].tolist()
            raws = _nones(np, g["raw"], ~g["applicable"]) if g["raw"] is not None else [None] * n
            for i in no_data_rows:
                points[i], applicable[i], raws[i] = None, False, None
            group_objects.append(list(map(GroupScore, repeat(group.id), points, g["max"].tolist(), applicable, raws)))

        totals = _nones(np, total, ~scored)
        max_totals: list[Any] = max_total.tolist()
        for i in np.flatnonzero(~scored).tolist():
            max_totals[i] = 0  # the sum() of no group: the int 0, as score_unit has it
        normals = _nones(np, normalised, ~scaled)
        band_ids = [plan.bands[b].id if plan.bands else None for b in which.tolist()]
        group_ids = [g.id for g in method.groups]
        # The indicators of a pair are made when they are first read: a ranking of every unit
        # and period reads the totals alone (740,000 objects at 10M dossiers: 0.26 s).
        indicator_dicts = map(_RowIndicators, repeat(tuple(indicator_lists)), range(n))
        group_dicts = map(dict, map(zip, repeat(group_ids), zip(*group_objects)))
        out: dict[Any, UnitScore] = {}
        for key, indicators, groups_i, total_i, max_i, normal, band, data in zip(
            keys, indicator_dicts, group_dicts, totals, max_totals, normals, band_ids, has_data
        ):
            if not data:
                total_i = normal = band = None
            elif normal is None:
                band = None
            # A frozen dataclass's __init__ sets each field through object.__setattr__;
            # filling its __dict__ at once makes the same object for a fifth of the cost.
            score = object.__new__(UnitScore)
            vars(score).update(
                method=method.id, version=method.version, level=self.level, indicators=indicators,
                groups=groups_i, total=total_i, max_total=max_i, normalised=normal,
                band=band, computed_total=total_i, adjustments=(), bands=method.bands, has_data=data,
            )
            out[key] = score
        return out
