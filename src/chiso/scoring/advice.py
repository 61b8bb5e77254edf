"""What would raise a score most (điểm tăng thêm nếu làm): pure, on a unit's counts.

A *lever* is one kind of action a unit can take, stated as what it does to the measures
for each item acted on (a dossier settled on time, a result issued electronically, a
feedback item answered), and how many items are there to act on. Every gain is read off
:func:`chiso.scoring.rules.score_unit` on the changed counts, so the method's caps hold
by construction: a formula group capped at its maximum (``min(6, 6 × C / 0,5)``), a
``target`` rule that gives no more once its target is reached, and the total of the
applicable groups.

:func:`rank_actions` gives each lever the fewest items that earn all it can earn (beyond
a cap, more items earn nothing) and orders the actions by points per item;
:func:`smallest_set` takes actions in that order, scoring them together, until a goal
holds, and trims the last one to the fewest items that reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from chiso.scoring.model import Method
from chiso.scoring.rules import UnitScore, score_unit

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


def _total(score: UnitScore) -> float:
    return score.total if score.total is not None else 0.0


def gain(method: Method, counts: Mapping[str, float], level: str, levers: list[tuple[Lever, int]],
         base: UnitScore | None = None) -> float:
    """Points the total gains when the given items are acted on."""
    before = base if base is not None else score_unit(method, counts, level=level)
    after = score_unit(method, changed(counts, levers), level=level)
    return _total(after) - _total(before)


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


def rank_actions(method: Method, counts: Mapping[str, float], level: str, levers: list[Lever]) -> list[Action]:
    """Every lever that earns points, with the fewest items that earn all it can, best
    points per item first (then most points, then the lever's id)."""
    base = score_unit(method, counts, level=level)
    actions = []
    for lever in levers:
        if lever.available <= 0:
            continue

        def points(n: int, lever: Lever = lever) -> float:
            return gain(method, counts, level, [(lever, n)], base)

        full = points(lever.available)
        if full <= EPSILON:
            continue
        n = lever.available
        # Still earning on the last item: no cap is reached, every item counts. Else look
        # for where the cap is reached.
        if n > 1 and points(n - 1) >= full - EPSILON:
            n = _fewest(points, n - 1, full)
        actions.append(Action(lever, n, full))
    actions.sort(key=lambda a: (-a.per_item, -a.points, a.lever.id))
    return actions


def smallest_set(method: Method, counts: Mapping[str, float], level: str, actions: list[Action],
                 reached: Callable[[UnitScore], bool]) -> list[Action] | None:
    """The actions, best points per item first, until ``reached`` holds for the score of
    them all together; the last one trimmed to the fewest items that make it hold. Each
    action's ``points`` is then what it adds to the ones before it. [] when the goal holds
    already; None when every action together does not reach it. Greedy by points per item:
    few items, not a proven minimum."""
    base = score_unit(method, counts, level=level)
    if reached(base):
        return []
    chosen: list[tuple[Lever, int]] = []
    out: list[Action] = []
    before = _total(base)
    for action in actions:
        trial = [*chosen, (action.lever, action.items)]
        score = score_unit(method, changed(counts, trial), level=level)
        if reached(score):
            def holds(n: int, action: Action = action) -> float:
                s = score_unit(method, changed(counts, [*chosen, (action.lever, n)]), level=level)
                return 1.0 if reached(s) else 0.0

            n = _fewest(holds, action.items, 1.0)
            final = score_unit(method, changed(counts, [*chosen, (action.lever, n)]), level=level)
            out.append(Action(action.lever, n, _total(final) - before))
            return out
        chosen = trial
        out.append(Action(action.lever, action.items, _total(score) - before))
        before = _total(score)
    return None
