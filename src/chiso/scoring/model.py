"""The types the scoring engine computes on: frozen dataclasses of a method definition.

A *method* (phương pháp, e.g. "Bộ chỉ số 766") is a versioned set of indicator *groups*
(nhóm chỉ số), each holding *indicators* (chỉ số thành phần). An indicator's rate is the
ratio of two *measures*: counts (or sums) over the canonical records of one unit and period,
each declared with a *basis* (which records, placed in which period) and a restricted SQL
``where`` over one record, or arithmetic over other measures (basis ``derived``). *Bands*
(xếp loại) classify a total.

The assessed indexes (DTI, PAR Index, SIPAS, provincial variants) are another kind of
method: a :class:`TreeMethod`, a tree of :class:`Node` s (areas, criteria, components) with
maximum points, whose leaves carry a :class:`NodeRule`, plus groupings, bands and a merge
rule; :mod:`chiso.scoring.tree` scores it.

The engine owns these types, so it imports nothing above the kernel; this module is pure:
no I/O, no YAML, no SQL parser. :mod:`chiso.methods` builds these objects from definition
files (and keeps the catalogue of record columns a measure may read,
:mod:`chiso.methods.bases`); :mod:`chiso.index.compute` counts the measures and
:mod:`chiso.scoring.rules` turns them into points.
"""

from __future__ import annotations

from functools import cached_property
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, ClassVar, Iterator, Mapping

#: Confidence marks, weakest last: verified, secondary, not confirmed (an assumption).
MARKS = ("V", "S", "?")

#: Levels a unit can be scored at. ``district`` exists only for periods before the
#: two-tier reform of 1 July 2025.
LEVELS = ("province", "agency", "district", "commune")

RULE_TYPES = ("linear", "target", "info", "term")
GROUP_RULE_TYPES = ("formula",)
ZERO_DENOMINATOR = ("not_applicable", "full", "zero")
OUTSIDE_SCOPE = ("full", "not_applicable")
RATE_UNITS = ("fraction", "days")

#: Aspects of an indicator that can carry their own confidence mark.
CONFIDENCE_ASPECTS = ("definition", "id", "rule", "scope", "zero_denominator", "measures")

#: The basis of a measure computed from other measures (``expression``), not from records.
DERIVED = "derived"


@dataclass(frozen=True)
class Confidence:
    """How sure the project is of an element: a mark from :data:`MARKS` and why."""

    mark: str
    note: str = ""

    def __str__(self) -> str:
        return f"[{self.mark}] {self.note}".rstrip()


def weakest(marks: "list[Confidence] | tuple[Confidence, ...]") -> Confidence | None:
    """The least certain of several confidence notes (``?`` before ``S`` before ``V``)."""
    if not marks:
        return None
    return max(marks, key=lambda c: MARKS.index(c.mark))


@dataclass(frozen=True)
class LegalBasis:
    """A legal document (văn bản pháp lý) the method rests on."""

    document: str
    title: str
    title_en: str
    confidence: Confidence
    date: date | None = None


@dataclass(frozen=True)
class Source:
    """Where a fact comes from: a page, a file, a third-party analysis."""

    title: str
    url: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Measure:
    """A number computed per unit and period (đại lượng).

    For a basis of records (:data:`chiso.methods.bases.BASES`): by default the count of the records the basis
    places in the period for which ``where`` holds; with ``sum`` the sum of that expression
    over them; with ``distinct`` the number of distinct values of that column among them.
    A ``dossier_settlement`` measure with an ``on_time`` rule counts only the members of the
    population settled on time (``on_time_finished``, ``on_time_open_until``). A
    ``derived`` measure is ``expression`` over other measures' names, and has no ``where``
    (an empty text). :mod:`chiso.index.compute` evaluates them all.
    """

    name: str
    basis: str
    where: str
    description: str
    description_en: str
    sum: str | None = None
    distinct: str | None = None
    confidence: Confidence | None = None
    #: ``on_time.finished``: when a member finished within the period is on time.
    on_time_finished: str | None = None
    #: ``on_time.open_until``: a member still open at the period's end is on time while
    #: that end is no later than this timestamp.
    on_time_open_until: str | None = None
    #: For ``derived``: arithmetic over other measures (see :mod:`chiso.scoring.expression`).
    expression: str | None = None
    #: At a province (``province: communes``): not the count over the province's own
    #: records or catalogue rows, but the number of its scored communes whose own value is
    #: above zero (indicator 4.2b: communes offering electronic certified copies / communes).
    province: str | None = None

    @property
    def aggregate(self) -> str:
        if self.basis == DERIVED:
            return "derived"
        return "sum" if self.sum else "count_distinct" if self.distinct else "count"

    @cached_property
    def signed(self) -> bool:
        """Whether the value may be negative: a sum or a derived measure, not a count."""
        return self.sum is not None or self.basis == DERIVED


@dataclass(frozen=True)
class Rule:
    """How a rate becomes points (quy đổi điểm).

    ``linear``: max × rate. ``target``: max × min(1, rate / target). ``info``: 0 points,
    reported only. ``term``: the indicator's points are its term in its group's formula.
    ``formula`` (groups only): the group's points are ``expression`` over named ratios.
    """

    type: str
    target: float | None = None
    expression: str | None = None
    #: For ``formula``: ratio name in the expression → indicator id.
    ratios: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """A worked example checked against the engine on load and in the docs."""

    numerator: float
    denominator: float
    points: float


@dataclass(frozen=True)
class GroupExample:
    """A worked example of a formula group: one value per ratio, and the points."""

    ratios: Mapping[str, float]
    points: float


@dataclass(frozen=True)
class Indicator:
    """A component indicator (chỉ số thành phần): a ratio of two measures, and its rule."""

    id: str
    group: str
    name: str
    name_en: str
    max: float
    scope: tuple[str, ...]
    numerator: str
    denominator: str
    rule: Rule
    zero_denominator: str
    formula_vi: str
    formula_en: str
    confidence: Mapping[str, Confidence]
    example: Example
    #: ``None``: the method's ``outside_scope`` parameter applies.
    outside_scope: str | None = None
    rate_unit: str = "fraction"

    @property
    def overall_confidence(self) -> Confidence | None:
        return weakest(list(self.confidence.values()))


@dataclass(frozen=True)
class Group:
    """An indicator group (nhóm chỉ số) and its maximum points."""

    id: str
    name: str
    name_en: str
    max: float
    indicators: tuple[Indicator, ...]
    confidence: Confidence
    rule: Rule | None = None
    example: GroupExample | None = None

    @property
    def is_formula(self) -> bool:
        return self.rule is not None and self.rule.type == "formula"


@dataclass(frozen=True)
class Band:
    """A classification band (xếp loại) on the 0–100 scale: ``min`` ≤ score < ``max``."""

    id: str
    name: str
    name_en: str
    min: float
    max: float
    confidence: Confidence


@dataclass(frozen=True)
class MethodHeader:
    """What every method definition states, whatever its kind: identity, version, legal
    basis, sources, confidence and the levels of units it scores."""

    id: str
    family: str
    version: str
    default: bool
    name: str
    name_en: str
    legal_basis: tuple[LegalBasis, ...]
    sources: tuple[Source, ...]
    confidence: Confidence
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Method(MethodHeader):
    """One version of one index methodology, as loaded from its definition file."""

    #: A flat method: groups of indicators over measures (see :data:`KINDS`).
    kind: ClassVar[str] = "flat"

    outside_scope: str
    rate_rounding: int | None
    bands: tuple[Band, ...]
    measures: Mapping[str, Measure]
    groups: tuple[Group, ...]
    notes: tuple[Confidence, ...] = ()
    effective_from: date | None = None
    path: str | None = None
    #: Decimals of the total that ranks compare (the portal publishes two: 88,17 and 88,17
    #: share a rank); None compares the exact totals.
    ranking_precision: int | None = 2

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for g in self.groups for i in g.indicators)

    def indicator(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise KeyError(indicator_id)

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    @property
    def max_total(self) -> float:
        return sum(g.max for g in self.groups)


# --- assessed indexes: criteria trees (cây tiêu chí) -----------------------------------------

#: The kinds of definition file: ``flat`` (groups of indicators over measures, the 766
#: index) and ``tree`` (a tree of criteria with maximum points, scored from assessments).
KINDS = ("flat", "tree")

#: Leaf rules of a tree: how the value entered for a leaf becomes points.
TREE_RULE_TYPES = ("ratio", "steps", "yes_no", "manual", "formula", "survey")

#: What a node is: a criterion (tiêu chí) counts towards its parent's maximum; a bonus
#: (điểm thưởng) is added and a penalty (điểm trừ) subtracted, each within its own cap.
NODE_KINDS = ("criterion", "bonus", "penalty")

#: How a value is published: points, points / max (DTI), or 100 × points / max (PAR Index).
PUBLISH_FORMS = ("points", "ratio", "percent")

#: The scale a rate is entered on (``scale`` in a definition, declared once at the top or
#: on a node and inherited below it): a fraction in [0, 1] or a percent in [0, 100]. It
#: governs survey and ratio leaves and the values given for nodes published as a ratio or
#: a percent; one method takes its rates on one scale only (the loader refuses a mix).
SCALES = ("fraction", "percent")

#: What the value entered for a node is (:attr:`Node.input`): a rate on one of
#: :data:`SCALES`, points within [0, max], a number a step table reads, yes/no, or nothing
#: (a formula leaf is computed).
INPUT_FORMS = (*SCALES, "points", "number", "yes_no", "computed")

#: How an inner node's points come from its criteria: their sum, or its max times the
#: unweighted (``mean``) or weighted (``weighted``) mean of their ratios (points / max).
AGGREGATES = ("sum", "mean", "weighted")

#: What to do when a ``sum`` node's criteria have maxima that do not add up to its own:
#: refuse the definition (``error``), scale the sum to the node's max (``scale``), or cap
#: the sum at the node's max (``cap``, for criteria whose maxima exceed it only).
CHILDREN_EXCEED_MAX = ("error", "scale", "cap")

MERGE_RULE_TYPES = ("mean",)

#: Ties within this many points of total share a rank, unless the method says otherwise.
RANK_TOLERANCE = 0.005


@dataclass(frozen=True)
class Step:
    """One row of a step table: a value of at least ``at_least`` earns ``points``."""

    at_least: float
    points: float


@dataclass(frozen=True)
class NodeRule:
    """How a leaf's entered value becomes points (quy tắc chấm điểm).

    ``ratio``: max × min(1, value / target) (target 1 unless stated): a fraction, capped.
    ``steps``: the points of the highest step whose ``at_least`` the value reaches (≥), 0
    below every step. ``yes_no``: max for yes, 0 for no. ``manual``: the points entered,
    within [0, max]. ``survey``: a satisfaction rate in [0, 1] × max. ``formula``:
    ``expression`` over other nodes' published values (``nodes``: name → node id) and
    external inputs (``inputs``: name → input name), clamped to [0, max].
    """

    type: str
    target: float | None = None
    steps: tuple[Step, ...] = ()
    expression: str | None = None
    nodes: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    """A node of a criteria tree: an area (lĩnh vực), a main indicator (chỉ số chính), a
    criterion (tiêu chí) or a component (chỉ số thành phần).

    A leaf has a ``rule``; an inner node has ``children``. ``max`` is None when the legal
    text's maximum is not known (the node's confidence says so): the method then loads and
    is documented, but cannot be scored until an administrator sets it.
    """

    id: str
    name: str
    name_en: str
    max: float | None
    kind: str = "criterion"
    publish: str = "points"
    confidence: Confidence | None = None
    rule: NodeRule | None = None
    children: tuple["Node", ...] = ()
    aggregate: str = "sum"
    #: Weight among its siblings, for a parent with ``aggregate: weighted``.
    weight: float | None = None
    children_exceed_max: str = "error"
    #: Whether bonus points may take this node beyond its max (else it is capped).
    bonus_beyond_max: bool = False
    #: The number of components the legal text gives this node, when they are not listed.
    components: int | None = None
    description: str = ""
    description_en: str = ""
    #: The declared scale of the rates entered here (:data:`SCALES`), its own or inherited;
    #: None when the definition declares none.
    scale: str | None = None

    @property
    def is_leaf(self) -> bool:
        return self.rule is not None

    @property
    def input(self) -> str:
        """What a value entered for this node is (:data:`INPUT_FORMS`): ``manual`` leaves
        take points, ``steps`` a number, ``yes_no`` true/false; ``ratio`` and ``survey``
        leaves a rate on the node's scale (a fraction unless declared); a node with children
        its points when published as points, else a rate on its declared scale (without
        one: a fraction when published as a ratio, a percent when published as a percent)."""
        if self.rule is not None:
            simple = {"manual": "points", "steps": "number", "yes_no": "yes_no", "formula": "computed"}
            return simple.get(self.rule.type) or self.scale or "fraction"
        if self.publish == "points":
            return "points"
        return self.scale or ("fraction" if self.publish == "ratio" else "percent")

    @property
    def criteria(self) -> tuple["Node", ...]:
        return tuple(c for c in self.children if c.kind == "criterion")

    def walk(self) -> "Iterator[Node]":
        """This node and every node below it, parents first, in file order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Grouping:
    """A published view over nodes that may overlap other groupings (DTI pillars share the
    foundation indicators): points = their points' sum, out of their maxima's sum."""

    id: str
    name: str
    name_en: str
    nodes: tuple[str, ...]
    publish: str
    confidence: Confidence | None = None


@dataclass(frozen=True)
class MergeRule:
    """How a unit formed by a merger (sáp nhập) gets values from its former units:
    ``mean`` = the unweighted mean, over the former units, of each of ``nodes`` (every leaf
    lies under exactly one of them) in its published form; the rest follows."""

    type: str
    nodes: tuple[str, ...]
    confidence: Confidence | None = None


@dataclass(frozen=True)
class TreeInput:
    """A number from outside the tree that a formula leaf reads, e.g. a 766 total."""

    name: str
    description: str
    description_en: str


@dataclass(frozen=True)
class TreeExample:
    """A worked example: values for some nodes, the total points they give, and where the
    values come from. Checked against the engine on load and shown in the docs."""

    values: Mapping[str, Any]
    total_points: float
    note: str = ""
    inputs: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TreeMethod(MethodHeader):
    """One version of an assessed index (DTI, PAR Index, SIPAS, a provincial variant): a
    tree of criteria with maximum points, loaded from a ``kind: tree`` definition file.

    ``root`` carries the whole index: its children are the top-level nodes, its max the
    index's maximum, its ``publish`` how the index is published.
    """

    kind: ClassVar[str] = "tree"

    root: Node
    bands: tuple[Band, ...] = ()
    groupings: tuple[Grouping, ...] = ()
    merge_rule: MergeRule | None = None
    inputs: Mapping[str, TreeInput] = field(default_factory=dict)
    rank_tolerance: float = RANK_TOLERANCE
    example: TreeExample | None = None
    notes: tuple[Confidence, ...] = ()
    effective_from: date | None = None
    path: str | None = None

    @property
    def max(self) -> float | None:
        return self.root.max

    @property
    def publish(self) -> str:
        return self.root.publish

    @property
    def top(self) -> tuple[Node, ...]:
        """The top-level nodes (DTI: the main indicators)."""
        return self.root.children

    @cached_property
    def nodes(self) -> Mapping[str, Node]:
        """Every node by id, parents first, in file order (the root excluded)."""
        return MappingProxyType({n.id: n for n in self.root.walk() if n is not self.root})

    @cached_property
    def parents(self) -> Mapping[str, str | None]:
        """Each node's parent id (None for a top-level node)."""
        out: dict[str, str | None] = {}
        for node in self.root.walk():
            for child in node.children:
                out[child.id] = None if node is self.root else node.id
        return MappingProxyType(out)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @property
    def unknown_maxima(self) -> tuple[str, ...]:
        """Nodes whose maximum is not known (``max: "?"``); ``""`` stands for the index."""
        return tuple("" if n is self.root else n.id for n in self.root.walk() if n.max is None)
