"""Traffic lights: pure functions of plain data (no database, no clock).

The colour of one (target, unit) on a date ``as_of``, given the value, the goal, the
direction, the deadline and the amber rules (a dict, all keys optional):

1. no value → ``no_data``;
2. the goal is met (``higher``: value ≥ goal; ``lower``: value ≤ goal) → ``green``;
3. not met and ``as_of`` is after the deadline → ``red`` (late; the deadline day itself is
   still in time);
4. not met, deadline not passed, ``days_left = deadline − as_of`` (0 on the deadline day):

   a. ``amber_days_before_deadline: N`` and ``days_left ≥ N`` → ``green`` (on schedule: the
      warning window has not opened yet);
   b. ``amber_within: f`` → ``amber`` when ``|value − goal| ≤ f × |goal|``, else ``red``
      (behind: further from the goal than the warning band);
   c. otherwise → ``amber`` (not met yet, deadline still ahead).

Roll-up (:data:`ROLLUP`): the colours of a unit's items (or of every item of the province)
combine as: none at all → ``no_data``; ``no_data`` items count as ``no_data_as`` (default
``amber``: a due item without a value is a warning; ``None`` leaves them out); then
``red`` if any item is red, ``green`` only when every item is green, else ``amber``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

from chiso.i18n import _

COLOURS = ("green", "amber", "red", "no_data")
DIRECTIONS = ("higher", "lower")
AMBER_RULES = ("amber_days_before_deadline", "amber_within")
ROLLUP: dict = {"no_data_as": "amber"}


@dataclass(frozen=True)
class Light:
    colour: str
    why: str


def met(value: float, goal: float, direction: str) -> bool:
    if direction == "higher":
        return value >= goal
    if direction == "lower":
        return value <= goal
    raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")


def check_rules(rules: Mapping | None) -> dict:
    """The amber rules, validated: known keys, N a whole number ≥ 0, f a fraction ≥ 0."""
    rules = dict(rules or {})
    unknown = sorted(set(rules) - set(AMBER_RULES))
    if unknown:
        raise ValueError(_("unknown amber rule(s): {names}").format(names=", ".join(unknown)))
    n = rules.get("amber_days_before_deadline")
    if n is not None and (isinstance(n, bool) or not float(n).is_integer() or n < 0):
        raise ValueError(_("amber_days_before_deadline must be a whole number of days ≥ 0"))
    f = rules.get("amber_within")
    if f is not None and (isinstance(f, bool) or not isinstance(f, (int, float)) or f < 0):
        raise ValueError(_("amber_within must be a fraction ≥ 0 (0.05 = 5%)"))
    return {k: v for k, v in rules.items() if v is not None}


def colour(*, value: float | None, goal: float, direction: str, deadline: date, as_of: date,
           rules: Mapping | None = None) -> Light:
    """The light of one (target, unit) on ``as_of`` (rule in the module docstring)."""
    rules = rules or {}
    if value is None:
        return Light("no_data", _("no value"))
    if met(value, goal, direction):
        return Light("green", _("goal met"))
    if as_of > deadline:
        return Light("red", _("deadline {deadline} passed, goal not met").format(deadline=deadline.isoformat()))
    days_left = (deadline - as_of).days
    window = rules.get("amber_days_before_deadline")
    if window is not None and days_left >= window:
        return Light("green", _("on schedule: {days} days left, warning from {window} days before the deadline")
                     .format(days=days_left, window=int(window)))
    within = rules.get("amber_within")
    if within is not None:
        if abs(value - goal) <= within * abs(goal):
            return Light("amber", _("not met, within {pct} percent of the goal").format(pct=_pct(within)))
        return Light("red", _("behind: more than {pct} percent from the goal").format(pct=_pct(within)))
    return Light("amber", _("not met yet, {days} days left").format(days=days_left))


def _pct(f: float) -> str:
    return f"{f * 100:g}"


def roll_up(colours: Iterable[str], rule: Mapping | None = None) -> str:
    """The overall colour of a set of items (rule in the module docstring)."""
    rule = {**ROLLUP, **(rule or {})}
    items = []
    for c in colours:
        if c == "no_data":
            if rule["no_data_as"] is None:
                continue
            c = rule["no_data_as"]
        items.append(c)
    if not items:
        return "no_data"
    if "red" in items:
        return "red"
    if all(c == "green" for c in items):
        return "green"
    return "amber"
