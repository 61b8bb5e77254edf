"""Reading and validating criteria-tree definitions (``kind: tree``, cây tiêu chí).

The assessed indexes (DTI, PAR Index, SIPAS, a province's variants for its departments and
communes) are trees of areas, criteria and components with maximum points. This module
reads such a file with the machinery of :mod:`chiso.methods.loader` (the same YAML with
line numbers, the same problem lines ``<file>:<line>: <node>: <problem>``) into a
:class:`~chiso.scoring.model.TreeMethod`.

Checks, each reported with the file, the line and the node: the schema (unknown or
missing keys, types), duplicate node ids (a node containing itself through a YAML alias is
refused by the YAML reader), rule
types and their parameters, step tables that are not monotonic or exceed the node's max,
formulas (the :mod:`chiso.scoring.expression` whitelist, names declared, a value for any
inputs) and formulas reading nodes in a cycle, a ``sum`` node whose criteria's maxima do
not add up to its own without a ``children_exceed_max`` rule, weights, groupings that count
a node twice, a merge rule that does not cover every leaf exactly once, a note on every
``?`` confidence mark (and a ``?`` on every unknown maximum), bands tiling 0–100, and the
worked example against the engine.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.methods.header import read_bands, read_header
from chiso.methods.reader import EXAMPLE_TOLERANCE, Map, Reader, cycle_from, line_of, seq_of
from chiso.scoring.model import (
    AGGREGATES,
    CHILDREN_EXCEED_MAX,
    MERGE_RULE_TYPES,
    NODE_KINDS,
    PUBLISH_FORMS,
    RANK_TOLERANCE,
    SCALES,
    TREE_RULE_TYPES,
    Grouping,
    MergeRule,
    Node,
    NodeRule,
    Step,
    TreeExample,
    TreeInput,
    TreeMethod,
)
from chiso.scoring.expression import ExpressionError, compile_formula, evaluate

#: A maximum written ``"?"``: not known from the legal text.
UNKNOWN = "?"

_TOP_REQUIRED = (
    "kind", "id", "family", "version", "default", "name", "name_en", "legal_basis", "sources", "confidence",
    "levels", "max", "publish", "nodes",
)
_TOP_OPTIONAL = (
    "effective_from", "notes", "aggregate", "children_exceed_max", "bonus_beyond_max", "bands", "groupings",
    "merge_rule", "inputs", "rank_tolerance", "example", "scale",
)
_NODE_REQUIRED = ("id", "name", "name_en", "max")
_NODE_OPTIONAL = (
    "confidence", "kind", "publish", "description", "description_en", "components", "children", "rule",
    "aggregate", "weight", "children_exceed_max", "bonus_beyond_max", "scale",
)
#: Keys that only mean something on a node with children.
_INNER_ONLY = ("aggregate", "children_exceed_max", "bonus_beyond_max")
_RULE_KEYS = {
    "ratio": ((), ("target",)),
    "steps": (("steps",), ()),
    "yes_no": ((), ()),
    "manual": ((), ()),
    "survey": ((), ()),
    "formula": (("expression",), ("nodes", "inputs")),
}

#: Float noise allowed when maxima are compared.
_EPSILON = 1e-9


class _Tree:
    """Walks the nodes of one tree file, collecting problems, ids and lines."""

    def __init__(self, reader: Reader) -> None:
        self.r = reader
        #: Line of each node id, in file order (the first one when duplicated).
        self.lines: dict[str, int] = {}
        #: Formula leaves: node id → (its rule mapping, the rule), checked once every id is known.
        self.formulas: dict[str, tuple[Map, NodeRule]] = {}
        self.sound = True

    # Nodes --------------------------------------------------------------------------------

    def maximum(self, m: Map, node: str) -> tuple[float | None, bool]:
        """(max, present and well-formed): ``None`` for ``"?"`` (unknown)."""
        value = m.get("max")
        if value == UNKNOWN:
            return None, True
        if "max" not in m:
            return None, False
        got = self.r.number(m, "max", node, minimum=0)
        return got, got is not None

    def node(self, raw: Any, line: int, where: str, outer_kind: str, outer_scale: str | None = None) -> Node | None:
        r = self.r
        m = r.mapping(raw, line, where, _("a node"))
        if m is None:
            self.sound = False
            return None
        nid = r.ident(m, "id", where) or "?"
        node = f"node {nid}"
        r.keys(m, node, _NODE_REQUIRED, _NODE_OPTIONAL)
        if nid in self.lines:
            r.problem(m.line, node, _("duplicate node id {id!r} (first at line {line})").format(id=nid, line=self.lines[nid]))
            self.sound = False
        else:
            self.lines[nid] = m.line
        maximum, max_ok = self.maximum(m, node)
        if not max_ok:
            self.sound = False
        kind = r.choice(m, "kind", node, NODE_KINDS) or "criterion"
        if outer_kind != "criterion" and kind != "criterion":
            r.problem(r.at(m, "kind"), node, _("the nodes inside a bonus or penalty node are criteria"))
        publish = r.choice(m, "publish", node, PUBLISH_FORMS) or "points"
        scale = r.choice(m, "scale", node, SCALES) or outer_scale
        conf = r.confidence(m["confidence"], r.at(m, "confidence"), node) if "confidence" in m else None
        if m.get("max") == UNKNOWN and (conf is None or conf.mark != "?"):
            r.problem(r.at(m, "max"), node,
                      _("max \"?\" (not known) needs confidence {mark: \"?\", note} saying what is not known"))
        components = m.get("components")
        if components is not None and (isinstance(components, bool) or not isinstance(components, int) or components < 0):
            r.problem(r.at(m, "components"), node, _("components must be a whole number (how many the legal text lists)"))
            components = None
        weight = r.number(m, "weight", node)
        if weight is not None and weight <= 0:
            r.problem(r.at(m, "weight"), node, _("weight must be above 0"))
            weight = None

        has_children, has_rule = "children" in m, "rule" in m
        rule: NodeRule | None = None
        children: tuple[Node, ...] = ()
        if has_children and has_rule:
            r.problem(m.line, node, _("a node has children or a rule, not both"))
            self.sound = False
        elif not has_children and not has_rule:
            r.problem(m.line, node, _("a leaf needs a rule; a node with parts needs children"))
            self.sound = False
        elif has_rule:
            for key in _INNER_ONLY:
                if key in m:
                    r.problem(r.at(m, key), node, _("{key} is only for a node with children").format(key=key))
            rule = self.rule(m, nid, node, maximum)
        else:
            children = self.children(m, "children", node, kind if kind != "criterion" else outer_kind, scale)

        inner = self.inner(m, node, maximum, children) if has_children and not has_rule else {}
        return Node(
            id=nid, name=r.text(m, "name", node) or "", name_en=r.text(m, "name_en", node) or "",
            max=maximum if max_ok else 0.0,
            kind=kind, publish=publish, confidence=conf, rule=rule, children=children,
            weight=weight, components=components, scale=scale,
            description=r.text(m, "description", node, required=False) or "",
            description_en=r.text(m, "description_en", node, required=False) or "",
            **inner,
        )

    def children(self, m: Map, key: str, node: str, outer_kind: str, scale: str | None = None) -> tuple[Node, ...]:
        r = self.r
        items = seq_of(r, m, key, node)
        if items is None:
            self.sound = False
            return ()
        if not items:
            r.problem(r.at(m, key), node, _("{key} must list at least one node").format(key=key))
            self.sound = False
            return ()
        out = [self.node(item, line_of(item, items.line), node, outer_kind, scale) for item in items]
        return tuple(n for n in out if n is not None)

    def inner(self, m: Map, node: str, maximum: float | None, children: tuple[Node, ...]) -> dict[str, Any]:
        """The aggregation keys of a node with children, checked against its children."""
        r = self.r
        aggregate = r.choice(m, "aggregate", node, AGGREGATES) or "sum"
        exceed = r.choice(m, "children_exceed_max", node, CHILDREN_EXCEED_MAX)
        beyond = m.get("bonus_beyond_max", False)
        if not isinstance(beyond, bool):
            r.problem(r.at(m, "bonus_beyond_max"), node, _("bonus_beyond_max must be true or false"))
            beyond = False
        criteria = [c for c in children if c.kind == "criterion"]
        if children and not criteria:
            r.problem(m.line, node, _("a node needs at least one criterion among its children"))
        for child in children:
            if child.weight is not None and (aggregate != "weighted" or child.kind != "criterion"):
                r.problem(self.lines.get(child.id, m.line), f"node {child.id}",
                          _("weight is only read under a parent with aggregate: weighted"))
        if aggregate == "weighted":
            for child in criteria:
                if child.weight is None:
                    r.problem(self.lines.get(child.id, m.line), f"node {child.id}",
                              _("its parent has aggregate: weighted: it needs a weight"))
        if aggregate != "sum":
            if exceed is not None:
                r.problem(r.at(m, "children_exceed_max"), node,
                          _("children_exceed_max is only for aggregate: sum (a mean is scaled to max)"))
            return {"aggregate": aggregate, "children_exceed_max": "error", "bonus_beyond_max": beyond}
        maxima = [c.max for c in criteria]
        if maximum is not None and criteria and all(x is not None for x in maxima):
            total = math.fsum(x for x in maxima if x is not None)
            rule = exceed or "error"
            if total > maximum + _EPSILON and rule == "error":
                r.problem(r.at(m, "max"), node, _(
                    "its criteria's maxima add up to {total:g}, more than its max {max:g}: fix the maxima or state "
                    "children_exceed_max: scale or cap").format(total=total, max=maximum))
            elif total < maximum - _EPSILON and rule != "scale":
                r.problem(r.at(m, "max"), node, _(
                    "its criteria's maxima add up to {total:g}, less than its max {max:g}: it could never reach its "
                    "max; fix the maxima or state children_exceed_max: scale").format(total=total, max=maximum))
        return {"aggregate": aggregate, "children_exceed_max": exceed or "error", "bonus_beyond_max": beyond}

    # Rules --------------------------------------------------------------------------------

    def rule(self, m: Map, nid: str, node: str, maximum: float | None) -> NodeRule | None:
        r = self.r
        rm = r.mapping(m["rule"], r.at(m, "rule"), node, "rule")
        if rm is None:
            self.sound = False
            return None
        rtype = rm.get("type")
        if rtype not in TREE_RULE_TYPES:
            r.problem(r.at(rm, "type"), node, _("unknown rule type {type!r}: use one of {types}").format(
                type=rtype, types=", ".join(TREE_RULE_TYPES)))
            self.sound = False
            return None
        required, optional = _RULE_KEYS[rtype]
        r.keys(rm, f"{node} rule", ("type", *required), optional)
        if rtype == "ratio":
            target = r.number(rm, "target", node)
            if target is not None and not 0 < target <= 1:
                r.problem(r.at(rm, "target"), node, _("target must be a fraction above 0 and at most 1"))
                target = None
            return NodeRule(type="ratio", target=target)
        if rtype == "steps":
            return NodeRule(type="steps", steps=self.steps(rm, node, maximum))
        if rtype == "formula":
            rule = self.formula(rm, node)
            if rule is not None:
                self.formulas[nid] = (rm, rule)
            return rule
        return NodeRule(type=rtype)

    def steps(self, rm: Map, node: str, maximum: float | None) -> tuple[Step, ...]:
        r = self.r
        items = seq_of(r, rm, "steps", node)
        if items is None:
            self.sound = False
            return ()
        line = r.at(rm, "steps")
        out: list[Step] = []
        for item in items:
            sm = r.mapping(item, line_of(item, line), node, _("a step {at_least, points}"))
            if sm is None:
                continue
            r.keys(sm, f"{node} steps", ("at_least", "points"))
            at_least, points = r.number(sm, "at_least", node), r.number(sm, "points", node, minimum=0)
            if at_least is None or points is None:
                continue
            if maximum is not None and points > maximum + _EPSILON:
                r.problem(sm.line, node, _("a step gives {points:g} points, more than the max {max:g}").format(
                    points=points, max=maximum))
            out.append(Step(at_least=at_least, points=points))
        if not out:
            r.problem(line, node, _("a step table needs at least one step"))
            self.sound = False
            return ()
        ordered = sorted(out, key=lambda s: s.at_least)
        for a, b in zip(ordered, ordered[1:]):
            if a.at_least == b.at_least:
                r.problem(line, node, _("two steps start at {value:g}").format(value=a.at_least))
                self.sound = False
            elif b.points < a.points:
                r.problem(line, node, _(
                    "the step table is not monotonic: at least {a:g} gives {pa:g} points but at least {b:g} gives "
                    "fewer ({pb:g})").format(a=a.at_least, pa=a.points, b=b.at_least, pb=b.points))
                self.sound = False
        return tuple(ordered)

    def formula(self, rm: Map, node: str) -> NodeRule | None:
        r = self.r
        names: dict[str, dict[str, str]] = {}
        for key in ("nodes", "inputs"):
            names[key] = {}
            if key not in rm:
                continue
            mm = r.mapping(rm[key], r.at(rm, key), node, key)
            if mm is None:
                self.sound = False
                continue
            for name, target in mm.items():
                if not isinstance(name, str) or not name.isidentifier() or name in ("min", "max") \
                        or not isinstance(target, str) or not target.strip():
                    r.problem(mm.key_lines.get(name, mm.line), node,
                              _("{key}: write NAME: \"<id>\" with NAME a plain identifier (not min or max)").format(key=key))
                    self.sound = False
                    continue
                names[key][name] = target.strip()
        both = sorted(set(names["nodes"]) & set(names["inputs"]))
        if both:
            r.problem(r.at(rm, "inputs"), node, _("{name!r} names both a node and an input").format(name=both[0]))
            self.sound = False
        expression = r.text(rm, "expression", node)
        if expression is None:
            self.sound = False
            return None
        line = r.at(rm, "expression")
        declared = set(names["nodes"]) | set(names["inputs"])
        try:
            formula = compile_formula(expression, names=declared)
        except ExpressionError as exc:
            r.problem(line, node, _("formula: {reason}").format(reason=exc))
            self.sound = False
            return None
        unused = sorted(declared - formula.names)
        if unused:
            r.problem(line, node, _("formula: {name!r} is declared but not used").format(name=unused[0]))
        for probe in (0.0, 0.5, 1.0):
            try:
                evaluate(formula, {n: probe for n in declared})
            except ExpressionError as exc:
                r.problem(line, node, _("formula: {reason}").format(reason=exc))
                self.sound = False
                return None
        return NodeRule(type="formula", expression=expression,
                        nodes=MappingProxyType(names["nodes"]), inputs=MappingProxyType(names["inputs"]))


# --- the whole file ----------------------------------------------------------------------------


def read(reader: Reader, top: Map) -> TreeMethod | None:
    """Build a :class:`TreeMethod` from the parsed top mapping of a ``kind: tree`` file,
    recording every problem on ``reader``."""
    node, head = read_header(reader, top, _TOP_REQUIRED, _TOP_OPTIONAL)
    tree = _Tree(reader)
    maximum, max_ok = tree.maximum(top, node)
    if top.get("max") == UNKNOWN and all(c.mark != "?" for c in (head["confidence"], *head["notes"])):
        reader.problem(reader.at(top, "max"), node,
                       _("max \"?\" (not known) needs a \"?\" confidence or note saying what is not known"))
    publish = reader.choice(top, "publish", node, PUBLISH_FORMS) or "points"
    scale = reader.choice(top, "scale", node, SCALES)
    children = tree.children(top, "nodes", node, "criterion", scale) if "nodes" in top else ()
    inner = tree.inner(top, node, maximum, children) if "nodes" in top else {}
    root = Node(
        id="", name=head["name"], name_en=head["name_en"], max=maximum if max_ok else 0.0,
        publish=publish, confidence=head["confidence"], children=children, scale=scale, **inner,
    )
    if not max_ok:
        tree.sound = False

    _check_one_scale(reader, root, tree)
    inputs = _inputs(reader, top, node, tree)
    _check_formulas(tree, inputs)
    rank_tolerance = reader.number(top, "rank_tolerance", node, minimum=0)
    method = TreeMethod(
        **head, root=root,
        bands=read_bands(reader, top, node) if "bands" in top else (),
        inputs=MappingProxyType(inputs),
        rank_tolerance=RANK_TOLERANCE if rank_tolerance is None else rank_tolerance,
    )
    _check_cycles(reader, method, tree)
    groupings = _groupings(reader, top, node, method)
    merge_rule = _merge_rule(reader, top, node, method)
    example = _example(reader, top, node)
    method = replace(method, groupings=groupings, merge_rule=merge_rule, example=example)
    if example is not None and tree.sound and not reader.problems:
        _check_example(reader, top, node, method, example)
    return method


def _inputs(reader: Reader, top: Map, node: str, tree: _Tree) -> dict[str, TreeInput]:
    out: dict[str, TreeInput] = {}
    if "inputs" not in top:
        return out
    im = reader.mapping(top["inputs"], reader.at(top, "inputs"), node, "inputs")
    if im is None:
        return out
    for name, item in im.items():
        line = im.key_lines.get(name, im.line)
        where = f"input {name}"
        if not isinstance(name, str) or not name.isidentifier():
            reader.problem(line, where, _("an input name must be a plain identifier (letters, digits, _)"))
            continue
        if name in tree.lines:
            reader.problem(line, where, _("an input name must differ from every node id"))
        m = reader.mapping(item, line, where, _("an input"))
        if m is None:
            continue
        reader.keys(m, where, ("description", "description_en"))
        out[name] = TreeInput(name=name, description=reader.text(m, "description", where) or "",
                              description_en=reader.text(m, "description_en", where) or "")
    return out


def _check_one_scale(reader: Reader, root: Node, tree: _Tree) -> None:
    """Every rate entered for one method is on one scale: a fraction here and a percent
    there would let 0.84 score as 0.84 % where 84 % was meant."""
    first: dict[str, str] = {}
    for n in root.walk():
        if n is root or (n.is_leaf and n.rule is not None and n.rule.type not in ("ratio", "survey")):
            continue
        form = n.input
        if form in SCALES:
            first.setdefault(form, n.id)
    if len(first) > 1:
        fraction, percent = first["fraction"], first["percent"]
        later = max((fraction, percent), key=lambda nid: tree.lines.get(nid, 0))
        reader.problem(tree.lines.get(later, 1), f"node {later}", _(
            "rates on two scales: {fraction} takes a fraction and {percent} a percent; declare one scale at the "
            "top (scale: fraction or scale: percent) so that every rate entered is read the same way").format(
            fraction=fraction, percent=percent))


def _check_formulas(tree: _Tree, inputs: dict[str, TreeInput]) -> None:
    """Formula leaves read known nodes and declared inputs, and no formula depends on
    itself through the nodes it reads or their parts."""
    r = tree.r
    for nid, (rm, rule) in tree.formulas.items():
        for name, target in rule.nodes.items():
            if target not in tree.lines:
                r.problem(r.at(rm, "nodes"), f"node {nid}", _("formula: {name} reads {id!r}, which is not a node").format(
                    name=name, id=target))
                tree.sound = False
        for name, target in rule.inputs.items():
            if target not in inputs:
                r.problem(r.at(rm, "inputs"), f"node {nid}",
                          _("formula: {name} reads input {input!r}, which is not declared under inputs").format(
                              name=name, input=target))
                tree.sound = False


def _check_cycles(reader: Reader, method: TreeMethod, tree: _Tree) -> None:
    reads: dict[str, frozenset[str]] = {}
    for n in method.nodes.values():
        if n.rule is not None and n.rule.type == "formula":
            reads[n.id] = frozenset(t for t in n.rule.nodes.values() if t in method.nodes)
        elif n.children:
            reads[n.id] = frozenset(c.id for c in n.children)
    for nid in tree.formulas:
        cycle = cycle_from(nid, reads)
        if cycle:
            reader.problem(tree.lines.get(nid, 1), f"node {nid}",
                           _("formula: the nodes it reads depend on it, a cycle: {cycle}").format(cycle=" → ".join(cycle)))
            tree.sound = False


def _ancestors(method: TreeMethod, node_id: str) -> list[str]:
    out = []
    parent = method.parents.get(node_id)
    while parent is not None:
        out.append(parent)
        parent = method.parents.get(parent)
    return out


def _node_list(reader: Reader, m: Map, key: str, where: str, method: TreeMethod) -> tuple[str, ...] | None:
    items = seq_of(reader, m, key, where)
    if items is None:
        return None
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in method.nodes:
            reader.problem(reader.at(m, key), where, _("{value!r} is not a node id").format(value=item))
        elif item in out:
            reader.problem(reader.at(m, key), where, _("{id!r} is listed twice").format(id=item))
        else:
            out.append(item)
    for nid in out:
        above = [a for a in _ancestors(method, nid) if a in out]
        if above:
            reader.problem(reader.at(m, key), where, _("{id!r} lies under {parent!r}, also listed: its points would count "
                                                      "twice").format(id=nid, parent=above[0]))
    if not out:
        reader.problem(reader.at(m, key), where, _("{key} must list at least one node").format(key=key))
    return tuple(out)


def _groupings(reader: Reader, top: Map, node: str, method: TreeMethod) -> tuple[Grouping, ...]:
    out: list[Grouping] = []
    seen: set[str] = set()
    for item in seq_of(reader, top, "groupings", node) or []:
        m = reader.mapping(item, line_of(item, reader.at(top, "groupings")), f"{node} groupings", _("a grouping"))
        if m is None:
            continue
        gid = reader.ident(m, "id", f"{node} groupings") or "?"
        where = f"grouping {gid}"
        reader.keys(m, where, ("id", "name", "name_en", "nodes"), ("publish", "confidence"))
        if gid in seen:
            reader.problem(m.line, where, _("duplicate grouping id {id!r}").format(id=gid))
        seen.add(gid)
        nodes = _node_list(reader, m, "nodes", where, method) or ()
        conf = reader.confidence(m["confidence"], reader.at(m, "confidence"), where) if "confidence" in m else None
        out.append(Grouping(
            id=gid, name=reader.text(m, "name", where) or "", name_en=reader.text(m, "name_en", where) or "",
            nodes=nodes, publish=reader.choice(m, "publish", where, PUBLISH_FORMS) or "ratio", confidence=conf,
        ))
    return tuple(out)


def _merge_rule(reader: Reader, top: Map, node: str, method: TreeMethod) -> MergeRule | None:
    if "merge_rule" not in top:
        return None
    where = f"{node} merge_rule"
    m = reader.mapping(top["merge_rule"], reader.at(top, "merge_rule"), where, "merge_rule")
    if m is None:
        return None
    reader.keys(m, where, ("type",), ("nodes", "confidence"))
    rtype = reader.choice(m, "type", where, MERGE_RULE_TYPES)
    conf = reader.confidence(m["confidence"], reader.at(m, "confidence"), where) if "confidence" in m else None
    if "nodes" in m:
        nodes = _node_list(reader, m, "nodes", where, method) or ()
    else:
        nodes = tuple(n.id for n in method.top)
    line = reader.at(m, "nodes") if "nodes" in m else m.line
    chosen = set(nodes)
    for n in nodes:
        target = method.nodes.get(n)
        if target is not None and target.is_leaf and not (target.rule.type == "manual" and target.publish == "points"):
            # The merged value is given in the published form; a leaf reads its rule's input instead.
            reader.problem(line, where, _("{id!r} is a leaf whose value is not its points: merge a node with "
                                          "children, or a manual leaf published as points").format(id=n))
    for leaf in (n for n in method.nodes.values() if n.is_leaf):
        if leaf.id not in chosen and not any(a in chosen for a in _ancestors(method, leaf.id)):
            reader.problem(line, where, _("leaf {id!r} lies under none of the merged nodes: the merged unit would "
                                          "have no value for it").format(id=leaf.id))
            break
    return MergeRule(type=rtype or "mean", nodes=nodes, confidence=conf)


def _example(reader: Reader, top: Map, node: str) -> TreeExample | None:
    if "example" not in top:
        return None
    where = f"{node} example"
    m = reader.mapping(top["example"], reader.at(top, "example"), where, "example")
    if m is None:
        return None
    reader.keys(m, where, ("values", "total_points"), ("inputs", "note"))
    total = reader.number(m, "total_points", where)
    parts: dict[str, dict[str, Any]] = {}
    for key in ("values", "inputs"):
        parts[key] = {}
        if key in m and (vm := reader.mapping(m[key], reader.at(m, key), where, key)):
            for k, v in vm.items():
                if isinstance(v, bool) and key == "values":
                    parts[key][str(k)] = v
                elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    reader.problem(vm.key_lines.get(k, vm.line), where, _("{key}: {id} must be a number").format(key=key, id=k))
                else:
                    parts[key][str(k)] = float(v)
    if total is None:
        return None
    return TreeExample(values=MappingProxyType(parts["values"]), total_points=total,
                       note=reader.text(m, "note", where, required=False) or "",
                       inputs=MappingProxyType(parts["inputs"]))


def _check_example(reader: Reader, top: Map, node: str, method: TreeMethod, example: TreeExample) -> None:
    from chiso.scoring.tree import score_tree

    line = reader.at(top, "example")
    try:
        got = score_tree(method, example.values, inputs=example.inputs).total_points
    except ChisoError as exc:
        reader.problem(line, f"{node} example", _("example: {reason}").format(reason=exc))
        return
    if abs(got - example.total_points) > EXAMPLE_TOLERANCE:
        reader.problem(line, f"{node} example", _("example gives {got} points, not {want:g}").format(
            got=f"{got:.6g}", want=example.total_points))

