"""Scoring a criteria tree (chấm điểm cây tiêu chí): the assessed indexes. Pure.

:func:`score_tree` takes a :class:`~chiso.scoring.model.TreeMethod` and the values of one
unit (đơn vị), as plain data, and returns every node's points, maximum and published value,
every grouping, the total, its published value and its band. :func:`merge` gives a unit
formed by a merger its values from its former units' by the method's merge rule, and
:func:`rank` ranks totals. No I/O: the same values always give the same score.

Values. ``values`` maps node ids to:

- for a node with children: its value as :attr:`~chiso.scoring.model.Node.input` says:
  points when it is published as points, else a rate on the method's scale (a fraction of
  its max, or a percent of it). It replaces the node's children, which are then reported
  as superseded: a province compares itself with others from their published main-indicator
  values without their component data. A value given for a node wins over any value given
  below it.
- for a leaf: the value its rule reads: a rate on the method's scale for ``ratio`` and
  ``survey`` (a fraction in [0, 1] unless the definition declares ``scale: percent``), a
  number for ``steps``, true/false (or 1/0) for ``yes_no``, points within [0, max] for
  ``manual``. A ``formula`` leaf is computed, never given: its external inputs come in
  ``inputs``.

Every rate of one method is on one scale (the loader refuses a mix), and a value outside
its range is an error naming the node, the range and the scale: ``service_delivery: 84.09``
on a fraction scale is refused, never read as 8409 %.

A leaf without a value scores 0 inside a bonus or penalty node and when its max is 0; any
other missing leaf is an error (``missing="error"``, listing them all) or scores 0
(``missing="zero"``).

Aggregation. A node's criteria give it points by its ``aggregate``: ``sum`` (scaled to the
node's max or capped at it when ``children_exceed_max`` says so), or ``mean`` /
``weighted``: max × the (weighted) mean of the criteria's ratios (points / max) over those
with a max above 0. Then bonus children are added and penalty children (their points are
the deduction, a positive number within their cap) subtracted; the result is at least 0 and
at most the node's max unless ``bonus_beyond_max``. The total is the root's points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, TypeVar

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.scoring.model import RANK_TOLERANCE, Node, TreeMethod
from chiso.scoring.expression import compile_formula, evaluate
from chiso.scoring.ranking import competition_rank
from chiso.scoring.rules import classify

K = TypeVar("K", bound=Hashable)

#: Float noise allowed when a value is checked against a maximum.
_EPSILON = 1e-9

#: Where a node's points come from.
GIVEN, COMPUTED, SUPERSEDED = "given", "computed", "superseded"

MISSING = ("error", "zero")


@dataclass(frozen=True)
class NodeScore:
    """One node of one unit: points, maximum and the value in the node's published form.

    ``points`` and ``value`` are None when a value was given for an ancestor (``source``
    ``superseded``); ``value`` is also None for a ratio or percent of a node whose max is 0.
    A penalty node's points are the deduction (subtracted by its parent)."""

    id: str
    points: float | None
    max: float
    value: float | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.points, "max": self.max, "value": self.value}


@dataclass(frozen=True)
class GroupingScore:
    """A grouping of one unit: its nodes' points out of their maxima, published."""

    id: str
    points: float | None
    max: float
    value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.points, "max": self.max, "value": self.value}


@dataclass(frozen=True)
class TreeScore:
    """The score of one unit under one tree method."""

    method: str
    version: str
    nodes: Mapping[str, NodeScore]
    groupings: Mapping[str, GroupingScore]
    total_points: float
    max: float
    #: The total in the method's published form (DTI: points / 1000; PAR Index: percent).
    value: float | None
    #: 100 × total / max: what the bands are read on.
    percent: float | None
    band: str | None
    missing: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "total_points": self.total_points,
            "max": self.max,
            "value": self.value,
            "percent": self.percent,
            "band": self.band,
            "nodes": {k: v.to_dict() for k, v in self.nodes.items()},
            "groupings": {k: v.to_dict() for k, v in self.groupings.items()},
        }


def published(node: Node, points: float | None) -> float | None:
    """``points`` of ``node`` in its published form."""
    if points is None:
        return None
    if node.publish == "points":
        return points
    if not node.max:
        return None
    return points / node.max if node.publish == "ratio" else 100.0 * points / node.max


def _number(node: Node, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ChisoError(_("node {id}: {value!r} is not a number").format(id=node.id, value=value))
    return float(value)


def _range_error(node: Node, value: float, low: float, high: float) -> ChisoError:
    form = node.input
    if form == "fraction":
        hint = _(" (a fraction: {value:g} percent is {fraction:g})").format(value=value, fraction=value / 100.0) \
            if 2 <= value <= 100 else _(" (a fraction in [0, 1])")
    elif form == "percent":
        hint = _(" (a percent)")
    elif form == "points":
        hint = _(" (points)")
    else:
        hint = ""
    return ChisoError(_("node {id}: {value:g} is outside [{low:g}, {high:g}]{hint}").format(
        id=node.id, value=value, low=low, high=high, hint=hint))


#: The top of each rate scale.
SCALE_TOP = {"fraction": 1.0, "percent": 100.0}


def rate(node: Node, number: float) -> float:
    """The fraction a rate entered for ``node`` on its scale stands for; an error naming
    the node, the range and the scale when it lies outside that scale."""
    top = SCALE_TOP[node.input]
    if number < 0 or number > top * (1 + _EPSILON):
        raise _range_error(node, number, 0, top)
    return min(number / top, 1.0)


def to_scale(node: Node, fraction: float) -> float:
    """A fraction (a survey's satisfaction rate) on ``node``'s scale."""
    return fraction * SCALE_TOP.get(node.input, 1.0)


def leaf_points(node: Node, value: Any) -> float:
    """The points a leaf's rule gives for the value entered (see the module docstring)."""
    rule = node.rule
    assert rule is not None and node.max is not None
    maximum = node.max
    if rule.type == "yes_no":
        if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
            return maximum if value else 0.0
        raise ChisoError(_("node {id}: a yes/no node takes true or false (or 1 or 0), not {value!r}").format(
            id=node.id, value=value))
    if rule.type == "formula":
        raise ChisoError(_("node {id} is computed from its formula: give its inputs, not its value").format(id=node.id))
    number = _number(node, value)
    if rule.type == "steps":
        reached = [s.points for s in rule.steps if number >= s.at_least - _EPSILON]
        return max(reached) if reached else 0.0
    if rule.type == "ratio":
        return maximum * min(1.0, rate(node, number) / (rule.target or 1.0))
    if rule.type == "survey":
        return maximum * rate(node, number)
    if rule.type == "manual":
        if number < 0 or number > maximum + _EPSILON:
            raise _range_error(node, number, 0, maximum)
        return min(number, maximum)
    raise ChisoError(_("node {id}: unknown rule type {type!r}").format(id=node.id, type=rule.type))  # refused on load


def given_points(node: Node, value: Any) -> float:
    """The points of a node with children from the value given for it (:attr:`Node.input`)."""
    assert node.max is not None
    number = _number(node, value)
    form = node.input
    points = number if form == "points" else number * node.max / SCALE_TOP[form]
    ceiling = math.inf if node.bonus_beyond_max else node.max
    if points < 0 or points > ceiling + _EPSILON:
        high = node.max if form == "points" else SCALE_TOP[form]
        raise _range_error(node, number, 0, math.inf if node.bonus_beyond_max else high)
    return points


class _Scorer:
    def __init__(self, method: TreeMethod, values: Mapping[str, Any], inputs: Mapping[str, float], missing: str) -> None:
        self.method = method
        self.values = values
        self.inputs = inputs
        self.missing_policy = missing
        self.points: dict[str, float] = {}
        self.sources: dict[str, str] = {}
        self.missing: list[str] = []
        #: Leaves inside a bonus or penalty node, which score 0 without a value.
        self.optional: set[str] = set()
        for top in method.root.walk():
            if top.kind != "criterion":
                self.optional.update(n.id for n in top.walk())

    def value_of(self, node_id: str) -> float | None:
        node = self.method.node(node_id)
        return published(node, self.score(node))

    def score(self, node: Node) -> float:
        hit = self.points.get(node.id)
        if hit is not None:
            return hit
        if node.id in self.values:
            value = self.values[node.id]
            points = leaf_points(node, value) if node.is_leaf else given_points(node, value)
            self.sources[node.id] = GIVEN
        elif node.is_leaf:
            points = self.computed_leaf(node)
            self.sources[node.id] = COMPUTED
        else:
            points = self.aggregate(node)
            self.sources[node.id] = COMPUTED
        self.points[node.id] = points
        return points

    def computed_leaf(self, node: Node) -> float:
        rule = node.rule
        assert rule is not None and node.max is not None
        if rule.type == "formula":
            assert rule.expression is not None
            bound: dict[str, float] = {}
            for name, target in rule.nodes.items():
                value = self.value_of(target)
                if value is None:
                    raise ChisoError(_("node {id}: its formula reads {target}, which has no value (max 0)").format(
                        id=node.id, target=target))
                bound[name] = value
            absent = [target for target in rule.inputs.values() if target not in self.inputs]
            if absent:
                if self.missing_policy == "error":
                    raise ChisoError(_("node {id}: its formula needs the input {input}").format(
                        id=node.id, input=absent[0]))
                # A draft without the input yet: the leaf is missing, like a leaf without a value.
                self.missing.append(node.id)
                return 0.0
            for name, target in rule.inputs.items():
                bound[name] = _number(node, self.inputs[target])
            raw = evaluate(compile_formula(rule.expression), bound)
            return min(max(raw, 0.0), node.max)
        if node.max == 0 or node.id in self.optional:
            return 0.0
        self.missing.append(node.id)
        return 0.0

    def aggregate(self, node: Node) -> float:
        assert node.max is not None
        criteria = node.criteria
        if node.aggregate == "sum":
            points = math.fsum(self.score(c) for c in criteria)
            available = math.fsum(c.max or 0.0 for c in criteria)
            if abs(available - node.max) > _EPSILON:
                if node.children_exceed_max == "scale":
                    points = points * node.max / available if available > 0 else 0.0
                elif node.children_exceed_max == "cap":
                    points = min(points, node.max)
        else:
            weighted = [(c.weight if node.aggregate == "weighted" else 1.0, c) for c in criteria if c.max]
            total_weight = math.fsum(w or 0.0 for w, _c in weighted)
            points = 0.0
            if weighted and total_weight > 0:
                mean = math.fsum((w or 0.0) * self.score(c) / (c.max or 1.0) for w, c in weighted) / total_weight
                points = node.max * mean
            for c in criteria:
                self.score(c)  # reported even when its max is 0
        points += math.fsum(self.score(c) for c in node.children if c.kind == "bonus")
        points -= math.fsum(self.score(c) for c in node.children if c.kind == "penalty")
        points = max(points, 0.0)
        return points if node.bonus_beyond_max else min(points, node.max)


def _superseded(method: TreeMethod, values: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for node_id in values:
        for child in method.node(node_id).children:
            out.update(n.id for n in child.walk())
    return out


def check_scorable(method: TreeMethod) -> None:
    """Refuse a method whose maxima are not all known (``max: "?"``): it loads and is
    documented, but its points cannot be computed."""
    unknown = method.unknown_maxima
    if unknown:
        names = ", ".join(_("the index") if n == "" else n for n in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ChisoError(_("{method} cannot be scored: the maximum points of {names} are not known; set them in the "
                           "definition file").format(method=method.id, names=names))


def score_tree(
    method: TreeMethod,
    values: Mapping[str, Any],
    *,
    inputs: Mapping[str, float] | None = None,
    missing: str = "error",
) -> TreeScore:
    """Score one unit: ``values`` maps node ids to values as the module docstring says,
    ``inputs`` the external inputs formula leaves read (e.g. ``{"index_766": 85.59}``)."""
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}")
    check_scorable(method)
    strangers = sorted(str(k) for k in values if k not in method.nodes)
    if strangers:
        raise ChisoError(_("{method} has no node {id!r}").format(method=method.id, id=strangers[0]))
    superseded = _superseded(method, values)
    live = {k: v for k, v in values.items() if k not in superseded}
    scorer = _Scorer(method, live, inputs or {}, missing)
    total = scorer.aggregate(method.root)
    if scorer.missing and missing == "error":
        shown = ", ".join(scorer.missing[:8]) + (" …" if len(scorer.missing) > 8 else "")
        raise ChisoError(_("no value for {n} leaves: {ids} (give them, or a value for a node above them)").format(
            n=len(scorer.missing), ids=shown))

    nodes: dict[str, NodeScore] = {}
    for node in method.nodes.values():
        assert node.max is not None
        if node.id in superseded:
            nodes[node.id] = NodeScore(node.id, None, node.max, None, SUPERSEDED)
            continue
        points = scorer.score(node)
        nodes[node.id] = NodeScore(node.id, points, node.max, published(node, points), scorer.sources[node.id])

    groupings: dict[str, GroupingScore] = {}
    for g in method.groupings:
        maximum = math.fsum(nodes[n].max for n in g.nodes)
        parts = [nodes[n].points for n in g.nodes]
        if any(p is None for p in parts):
            groupings[g.id] = GroupingScore(g.id, None, maximum, None)
            continue
        points = math.fsum(p for p in parts if p is not None)
        value = points if g.publish == "points" else None
        if g.publish != "points" and maximum > 0:
            value = points / maximum * (100.0 if g.publish == "percent" else 1.0)
        groupings[g.id] = GroupingScore(g.id, points, maximum, value)

    root = method.root
    assert root.max is not None
    percent = 100.0 * total / root.max if root.max > 0 else None
    return TreeScore(
        method=method.id, version=method.version, nodes=nodes, groupings=groupings, total_points=total,
        max=root.max, value=published(root, total), percent=percent,
        band=classify(method.bands, percent) if method.bands else None,
        missing=tuple(scorer.missing),
    )


def merge(
    method: TreeMethod,
    parts: Mapping[Any, Mapping[str, Any]],
    *,
    inputs: Mapping[Any, Mapping[str, float]] | None = None,
) -> dict[str, float]:
    """The values of a unit formed by a merger, from its former units' values (each as
    :func:`score_tree` takes them), by the method's merge rule.

    ``mean`` (DTI 2024): each node of the rule (by default the top-level nodes) gets the
    unweighted mean of the former units' values as entered (its published form, on the
    method's scale); scoring the result
    with :func:`score_tree` makes the total follow from these means."""
    rule = method.merge_rule
    if rule is None:
        raise ChisoError(_("{method} has no merge rule").format(method=method.id))
    if not parts:
        raise ChisoError(_("a merger needs the former units' values"))
    scores = {unit: score_tree(method, values, inputs=(inputs or {}).get(unit)) for unit, values in parts.items()}
    out: dict[str, float] = {}
    for node_id in rule.nodes:
        node = method.node(node_id)
        if not node.max:
            continue  # a node worth 0 points has no published ratio to average
        found = []
        for unit, score in scores.items():
            points = score.nodes[node_id].points
            if points is None:
                raise ChisoError(_("{unit}: no value for {id} (a value was given for a node above it)").format(
                    unit=unit, id=node_id))
            found.append(value_for(node, points))
        # The mean of the values as entered (the published form's mean, on the method's scale).
        out[node_id] = math.fsum(found) / len(found)
    return out


def value_for(node: Node, points: float) -> float:
    """The value to enter for ``node`` (:attr:`Node.input`) that gives ``points``."""
    assert node.max
    form = node.input
    return points if form == "points" else points / node.max * SCALE_TOP[form]


def rank(scores: Mapping[K, TreeScore], *, tolerance: float = RANK_TOLERANCE) -> dict[K, int | None]:
    """Standard competition ranks (1, 2, 2, 4) of the totals: totals within ``tolerance``
    points of the first of a tie share its rank (a method's ``rank_tolerance``)."""
    return competition_rank({k: s.total_points for k, s in scores.items()}, tolerance=tolerance)
