"""What would raise a score most (điểm tăng thêm nếu làm): pure, on a unit's counts.

A *lever* is one kind of action a unit can take, stated as what it does to the measures
for each item acted on (a dossier settled on time, a result issued electronically, a
feedback item answered), and how many items are there to act on. Every gain is read off
:func:`chiso.scoring.rules.score_unit` on the changed counts, so the method's caps hold
by construction: a formula group capped at its maximum (``min(6, 6 × C / 0,5)``), a
``target`` rule that gives no more once its target is reached, and the total of the
applicable groups.

:class:`Scorer` re-scores only the groups whose indicators read a measure an action
changes (the total is a sum over groups). :func:`rank_actions` gives each lever the fewest items that earn all it can earn (beyond
a cap, more items earn nothing) and orders the actions by points per item;
:func:`smallest_set` takes actions in that order, scoring them together, until a goal
holds, and trims the last one to the fewest items that reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from chiso.scoring.model import Method
from chiso.scoring.rules import UnitScore, score_unit, unit_total

#: Gains smaller than this (points) are not gains: float noise of the engine's sums.
EPSILON = 1e-9


@dataclass(frozen=True)
class Lever:
    """One kind of action: each item acted on adds ``raises[measure]`` to those measures;
    ``available`` items can be acted on."""

    id: str
    indicator: str
    kind: str
    available: int
    raises: Mapping[str, float]
    #: Free data for the caller's wording (e.g. the measure the action is about).
    info: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """A lever with the number of items to act on and the points that earns alone."""

    lever: Lever
    items: int
    points: float

    @property
    def per_item(self) -> float:
        return self.points / self.items if self.items else 0.0


def changed(counts: Mapping[str, float], levers: list[tuple[Lever, int]]) -> dict[str, float]:
    """``counts`` with the given numbers of items of each lever acted on."""
    out = dict(counts)
    for lever, n in levers:
        for measure, per in lever.raises.items():
            if measure in out:
                out[measure] = out[measure] + per * n
    return out


@dataclass(frozen=True)
class Outcome:
    """The unit's total and its 0–100 figure (what bands are read on) after some actions."""

    total: float
    normalised: float | None


_SUBSETS: dict[tuple[int, frozenset[str]], Method] = {}


def _restricted(method: Method, groups: frozenset[str]) -> Method:
    """``method`` with only ``groups``: the groups an action cannot change are left out of
    the re-scoring (the total is a sum over groups, so they add the same before and after)."""
    key = (id(method), groups)
    hit = _SUBSETS.get(key)
    if hit is None:
        if len(_SUBSETS) > 512:
            _SUBSETS.clear()
        hit = replace(method, groups=tuple(g for g in method.groups if g.id in groups))
        _SUBSETS[key] = hit
    return hit


class Scorer:
    """Scores one unit's counts with some actions taken, through
    :func:`~chiso.scoring.rules.unit_total` (:func:`~chiso.scoring.rules.score_unit`'s total
    and maximum, without the details) on the groups whose indicators read a measure the
    actions change: the other groups' points and maxima are the unit's own."""

    def __init__(self, method: Method, counts: Mapping[str, float], level: str) -> None:
        self.method, self.counts, self.level = method, counts, level
        self.base = score_unit(method, counts, level=level)
        self._readers: dict[str, frozenset[str]] = {}
        for g in method.groups:
            for ind in g.indicators:
                for name in (ind.numerator, ind.denominator):
                    self._readers[name] = self._readers.get(name, frozenset()) | {g.id}
        self._before: dict[frozenset[str], tuple[float | None, float]] = {}
        # Measures read only as the numerator of linear indicators of plain groups: the gain
        # of raising them (within the denominator) is linear, no cap to look for.
        self._linear = {name for name in self._readers}
        for g in method.groups:
            for ind in g.indicators:
                if g.is_formula or ind.rule.type != "linear":
                    self._linear -= {ind.numerator, ind.denominator}
                else:
                    self._linear.discard(ind.denominator)

    def linear(self, lever: Lever) -> bool:
        """Whether every item of ``lever`` earns the same: it raises only numerators of
        linear indicators in groups without a formula."""
        return all(m in self._linear for m in lever.raises)

    def outcome(self, levers: list[tuple[Lever, int]]) -> Outcome:
        groups: frozenset[str] = frozenset()
        for lever, n in levers:
            if n:
                for measure in lever.raises:
                    groups |= self._readers.get(measure, frozenset())
        total, most = _total(self.base), self.base.max_total
        if groups:
            sub = _restricted(self.method, groups)
            before = self._before.get(groups)
            if before is None:
                before = self._before[groups] = unit_total(sub, self.counts, level=self.level)
            after = unit_total(sub, changed(self.counts, levers), level=self.level)
            total += (after[0] or 0.0) - (before[0] or 0.0)
            most += after[1] - before[1]
        return Outcome(total, total * 100.0 / most if most > 0 else None)

    def gain(self, levers: list[tuple[Lever, int]]) -> float:
        """Points the total gains when the given items are acted on."""
        return self.outcome(levers).total - _total(self.base)


def _total(score: UnitScore) -> float:
    return score.total if score.total is not None else 0.0


def _fewest(fn: Callable[[int], float], high: int, wanted: float) -> int:
    """The smallest n in [1, high] with fn(n) ≥ wanted (fn never decreasing in n)."""
    low = 1
    while low < high:
        mid = (low + high) // 2
        if fn(mid) >= wanted - EPSILON:
            high = mid
        else:
            low = mid + 1
    return high


def _fewest_for_all(points: Callable[[int], float], available: int, full: float) -> int:
    """The fewest items that earn ``full`` (what all ``available`` earn). Gains grow linearly
    until a cap (a formula's ``min``, a target rule) and are flat after it, so the first
    item's gain says where the cap is; the guess is checked, and searched for when wrong
    (a rounded rate, two caps at once)."""
    one = points(1)
    if one >= full - EPSILON:
        return 1
    if abs(one * available - full) <= EPSILON * max(1.0, full):
        return available  # linear to the end: every item counts
    guess = min(available, max(2, math.ceil(full / one - 1e-9))) if one > EPSILON else available
    if points(guess) >= full - EPSILON and points(guess - 1) < full - EPSILON:
        return guess
    return _fewest(points, available, full)


def rank_actions(scorer: Scorer, levers: list[Lever]) -> list[Action]:
    """Every lever that earns points, with the fewest items that earn all it can, best
    points per item first (then most points, then the lever's id)."""
    actions = []
    for lever in levers:
        if lever.available <= 0:
            continue

        def points(n: int, lever: Lever = lever) -> float:
            return scorer.gain([(lever, n)])

        full = points(lever.available)
        if full <= EPSILON:
            continue
        n = lever.available
        if n > 1 and not scorer.linear(lever):
            n = _fewest_for_all(points, n, full)
        actions.append(Action(lever, n, full))
    actions.sort(key=lambda a: (-a.per_item, -a.points, a.lever.id))
    return actions


def smallest_set(scorer: Scorer, actions: list[Action], reached: Callable[[Outcome], bool]) -> list[Action] | None:
    """The actions, best points per item first, until ``reached`` holds for the outcome of
    them all together; the last one trimmed to the fewest items that make it hold. Each
    action's ``points`` is then what it adds to the ones before it. [] when the goal holds
    already; None when every action together does not reach it. Greedy by points per item:
    few items, not a proven minimum."""
    if reached(scorer.outcome([])):
        return []
    chosen: list[tuple[Lever, int]] = []
    out: list[Action] = []
    before = _total(scorer.base)
    for action in actions:
        trial = [*chosen, (action.lever, action.items)]
        got = scorer.outcome(trial)
        if reached(got):
            def holds(n: int, action: Action = action, done: list[tuple[Lever, int]] = chosen) -> float:
                return 1.0 if reached(scorer.outcome([*done, (action.lever, n)])) else 0.0

            n = _fewest(holds, action.items, 1.0)
            final = scorer.outcome([*chosen, (action.lever, n)])
            out.append(Action(action.lever, n, final.total - before))
            return out
        chosen = trial
        out.append(Action(action.lever, action.items, got.total - before))
        before = got.total
    return None
