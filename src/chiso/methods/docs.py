"""The method pages of the documentation, generated from the definition files.

One Markdown page per shipped definition (``docs/methods/<id>.md``) and an index
(``docs/methods/README.md``) with the definition schemas. A criteria tree's page
(:func:`render_tree`) shows its metadata, legal basis, sources and confidence notes, bands,
inputs, the whole tree with points, rules and confidence, every node, the groupings, the
merge rule and its worked example as the engine computes it. Every group and indicator appears
with its formula (Vietnamese and English), its measures (each with its basis and what the
basis means, in both languages, and its SQL: ``where``, ``sum`` or ``distinct``, the
``on_time`` rule, or a derived measure's expression and the measures it reads), its rule,
its zero-denominator rule, its confidence and its worked example with the points the engine
computes. A test regenerates the pages and compares them with the committed ones, so the
documentation cannot drift from the files (after Datasette's documentation tests).

The pages are bilingual by content and do not depend on the interface language, so they
are the same whoever generates them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from chiso.methods import loader
from chiso.methods.bases import (
    BASES,
    BASIS_MEANINGS,
    BASIS_NAMES,
    BASIS_TABLES,
    PERIOD_BASES,
    PERIOD_PARAMETERS,
)
from chiso.scoring.model import (
    DERIVED,
    Group,
    Indicator,
    Measure,
    Method,
    Node,
    TreeMethod,
)
from chiso.scoring.expression import compile_formula
from chiso.scoring.rules import example_points, group_formula_points, round_rate

#: The layout of each page (``flat.md.j2``, ``tree.md.j2``, ``README.md.j2``, sharing
#: ``_head.md.j2`` and ``_provenance.md.j2``) and the prose that is not data (the schemas,
#: the conventions every page repeats) live in ``templates/``, where they read as Markdown;
#: this module computes the rows and blocks that come from the definitions. No autoescaping
#: (the output is Markdown); ``trim_blocks`` so that a line holding only a tag leaves no
#: line behind; the final newline kept.
_TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATES = Environment(loader=FileSystemLoader(str(_TEMPLATE_DIR)), keep_trailing_newline=True,
                         trim_blocks=True, undefined=StrictUndefined, autoescape=False)


def _text(name: str) -> str:
    """A Markdown block of ``templates/``, without the file's final newline."""
    return (_TEMPLATE_DIR / name).read_text(encoding="utf-8").removesuffix("\n")


GENERATED = "<!-- Generated from {source} by `chiso methods docs`; do not edit by hand. -->"

_MARKS = "[V] verified in a source text or by arithmetic on published figures; [S] secondary source; [?] not confirmed: an assumption an administrator can change in the definition file."

_ZERO = {
    "not_applicable": "not applicable: the indicator and its maximum leave the group",
    "full": "full points (a ratio of 1 in a group formula)",
    "zero": "0 points (a ratio of 0 in a group formula)",
}

#: The conventions of a flat method, the same on every page (Markdown, in a file).
_CONVENTIONS = _text("conventions.md")


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _pct(rate: float) -> str:
    return _num(round(rate * 100, 4)) + "%"


def _conf(c) -> str:
    return f"[{c.mark}] {c.note}".rstrip() if c else "[?]"


_TEMPLATES.filters["conf"] = _conf


def _scope_text(method: Method, ind: Indicator) -> str:
    outside = ind.outside_scope or method.outside_scope
    if set(ind.scope) >= set(method.levels):
        return "every level (" + ", ".join(method.levels) + ")"
    rest = [lv for lv in method.levels if lv not in ind.scope]
    what = "full points" if outside == "full" else "not applicable"
    return ", ".join(ind.scope) + f"; at {', '.join(rest)}: {what} (`outside_scope: {outside}`)"


def _terms_of(group: Group, ind: Indicator) -> list[str]:
    assert group.rule is not None and group.rule.expression
    names = {n for n, i in group.rule.ratios.items() if i == ind.id}
    formula = compile_formula(group.rule.expression)
    return [("−" if t.sign < 0 else "") + t.text for t in formula.terms if t.names and t.names <= names]


def _rule_text(group: Group, ind: Indicator) -> str:
    r = ind.rule
    if r.type == "linear":
        return f"linear: points = {_num(ind.max)} × rate"
    if r.type == "target":
        assert r.target is not None
        return f"target {_pct(r.target)}: points = {_num(ind.max)} × min(1, rate / {_num(r.target)})"
    if r.type == "info":
        return "information only: 0 points"
    names = ", ".join(n for n, i in (group.rule.ratios.items() if group.rule else ()) if i == ind.id)
    terms = _terms_of(group, ind)
    if not terms:
        return f"read by the group formula as {names}; no term of its own"
    return f"term of the group formula, with {names} = rate (clamped to [0, 1]): `{' + '.join(terms)}`"


_KIND = {
    "count": "count of its records",
    "sum": "sum of an expression over its records",
    "derived": "arithmetic over other measures",
}


def _names_in_order(expression: str) -> list[str]:
    """The measure names a derived expression reads, in the order they first appear."""
    formula = compile_formula(expression)
    nodes = sorted((n for n in ast.walk(formula.tree) if isinstance(n, ast.Name) and n.id in formula.names),
                   key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in nodes))


def _basis_text(measure: Measure) -> list[str]:
    vi, en = BASIS_MEANINGS[measure.basis]
    table = f" (table `{BASIS_TABLES[measure.basis]}`)" if measure.basis in BASIS_TABLES else ""
    if measure.aggregate == "count_distinct":
        kind = f"count of distinct `{measure.distinct}` among its records"
    else:
        kind = _KIND[measure.aggregate]
    return [f"basis `{measure.basis}`{table}, {kind}.", f"Basis: {en}. *{vi}.*"]


def _measure_block(label: str, measure: Measure, method: Method) -> list[str]:
    basis, meaning = _basis_text(measure)
    lines = [f"**{label}**: `{measure.name}`, {basis}", meaning, f"{measure.description_en} *{measure.description}*"]
    if measure.confidence:
        lines.append(f"Confidence: {_conf(measure.confidence)}")
    if measure.province == "communes":
        lines.append("At a province (`province: communes`): the number of its scored communes whose own value is "
                     "above zero. *Ở cấp tỉnh: số xã, phường có giá trị lớn hơn 0.*")
    if measure.basis == DERIVED:
        assert measure.expression
        lines += ["", f"Expression: `{measure.expression}`", ""]
        for name in _names_in_order(measure.expression):
            lines += _measure_block(f"Read by `{measure.name}`", method.measures[name], method)
        return lines
    lines += ["", "```sql", "-- where", measure.where.strip()]
    if measure.sum:
        lines += ["-- sum", measure.sum.strip()]
    if measure.distinct:
        lines += ["-- count distinct", measure.distinct]
    if measure.on_time_finished:
        lines += ["-- on_time.finished", measure.on_time_finished.strip()]
    if measure.on_time_open_until:
        lines += ["-- on_time.open_until", measure.on_time_open_until.strip()]
    lines += ["```", ""]
    return lines


def _example_text(method: Method, ind: Indicator) -> str:
    ex = ind.example
    points = example_points(method, ind, ex.numerator, ex.denominator)
    got = "not applicable" if points is None else f"**{_num(points)} points**"
    head = f"numerator {_num(ex.numerator)}, denominator {_num(ex.denominator)}"
    if ex.denominator == 0:
        return f"{head}: zero denominator, {_ZERO[ind.zero_denominator].split(':')[0]} → {got}."
    rate = ex.numerator / ex.denominator
    if ind.rate_unit == "days":
        return f"{head}: rate = {_num(rate)} days → {got}."
    rate = round_rate(rate, method.rate_rounding)
    return f"{head}: rate = {_pct(rate)} → {got} (the file states {_num(ex.points)})."


def _indicator(method: Method, group: Group, ind: Indicator) -> list[str]:
    lines = [
        f"### {ind.id} {ind.name_en}",
        "",
        f"*{ind.name}*",
        "",
        "| | |",
        "|---|---|",
        f"| Maximum | {_num(ind.max)} points |",
        f"| Scope | {_scope_text(method, ind)} |",
        f"| Rule | {_rule_text(group, ind)} |",
        f"| Zero denominator | {_ZERO[ind.zero_denominator]} (`{ind.zero_denominator}`) |",
    ]
    if ind.rate_unit != "fraction":
        lines.append(f"| Rate unit | {ind.rate_unit} |")
    lines += [
        "",
        f"**Formula (vi).** {ind.formula_vi}",
        "",
        f"**Formula (en).** {ind.formula_en}",
        "",
    ]
    lines += _measure_block("Numerator", method.measures[ind.numerator], method)
    lines += _measure_block("Denominator", method.measures[ind.denominator], method)
    lines.append("**Confidence.**")
    lines.append("")
    for aspect, conf in ind.confidence.items():
        lines.append(f"- {aspect}: {_conf(conf)}")
    lines += ["", f"**Worked example.** {_example_text(method, ind)}", ""]
    return lines


def _group(method: Method, group: Group) -> list[str]:
    lines = [f"## {group.id}: {group.name_en} ({group.name}), {_num(group.max)} points", ""]
    lines += [f"Confidence: {_conf(group.confidence)}", ""]
    if group.is_formula:
        assert group.rule is not None
        lines += [f"Points = `{group.rule.expression}`, clamped to [0, {_num(group.max)}], where", ""]
        for name, ind_id in group.rule.ratios.items():
            ind = method.indicator(ind_id)
            lines.append(f"- {name} = rate of {ind.id} ({ind.name_en})")
        lines.append("")
        lines.append(
            "Each indicator reports its numerator, denominator and rate, and as its points the "
            "term of the formula that reads its ratio alone; the group's points are the formula."
        )
        lines.append("")
        if group.example:
            points, raw = group_formula_points(group, group.example.ratios)
            values = ", ".join(f"{k} = {_num(v)}" for k, v in group.example.ratios.items())
            clamp = "" if points == raw else f" (formula value {_num(raw)}, clamped)"
            lines += [f"**Worked example.** {values} → **{_num(points)} points**{clamp}.", ""]
    else:
        lines += [f"Points = sum of the indicators' points (maximum {_num(group.max)}).", ""]
    for ind in group.indicators:
        lines += _indicator(method, group, ind)
    return lines


def _band_rows(method) -> list[str]:
    rows = []
    for b in sorted(method.bands, key=lambda b: b.min, reverse=True):
        below = f"{_num(b.max)} (inclusive)" if b.max == max(x.max for x in method.bands) else _num(b.max)
        rows.append(f"| {b.name_en} (`{b.id}`) | {b.name} | {_num(b.min)} | {below} | {_conf(b.confidence)} |")
    return rows


def _page(template: str, method, src: str, rows: list[str], kind_row: str | None = None, **context) -> str:
    """A method page: ``template`` with the facts every page starts with (``_head.md.j2``,
    ``rows`` being the kind's own rows of its table) and its provenance."""
    text = _TEMPLATES.get_template(template).render(
        m=method, generated=GENERATED.format(source=f"`{src}`"), rows=rows, kind_row=kind_row, marks=_MARKS,
        band_rows=_band_rows(method), **context)
    return text.rstrip() + "\n"


def render(method: Method, *, source: str | None = None) -> str:
    """The Markdown page of one method (the layout is ``templates/flat.md.j2``)."""
    src = source or f"src/chiso/methods/definitions/{method.id}.yaml"
    rows = [
        f"| Outside an indicator's scope | {'full points' if method.outside_scope == 'full' else 'not applicable'} (`outside_scope: {method.outside_scope}`) |",
        f"| Rate rounding | {'none: rates are exact' if method.rate_rounding is None else f'{method.rate_rounding} decimals of the rate in percent'} |",
        f"| Ranking precision | {'exact totals' if method.ranking_precision is None else f'totals rounded to {method.ranking_precision} decimals, equal ones share a rank'} (`ranking_precision`) |",
        "| No data | a unit with no records in the period (no dossier, no feedback) has no total and no rank |",
        f"| Maximum | {_num(method.max_total)} points |",
    ]
    group_rows = []
    for g in method.groups:
        how = f"formula `{g.rule.expression}`" if g.is_formula and g.rule else "sum of indicators"
        group_rows.append(f"| {g.id} | {g.name_en} ({g.name}) | {_num(g.max)} | {how} |")
    groups = [line for g in method.groups for line in _group(method, g)]
    readers = {
        m.name: compile_formula(m.expression).names for m in method.measures.values() if m.expression
    }
    measure_rows = []
    for m in method.measures.values():
        users = [i.id for i in method.indicators if m.name in (i.numerator, i.denominator)]
        users += [f"`{name}`" for name, names in readers.items() if m.name in names]
        measure_rows.append(f"| `{m.name}` | {m.basis} | {m.aggregate} | {', '.join(users)} |")
    return _page("flat.md.j2", method, src, rows, conventions=_CONVENTIONS, group_rows=group_rows,
                 groups="\n".join(groups), measure_rows=measure_rows)


def render_index(methods: list[Method | TreeMethod]) -> str:
    """The index page: every shipped method and the definition schemas of both kinds."""
    rows = ["| id | kind | family | version | default | name |", "|---|---|---|---|---|---|"]
    for m in methods:
        rows.append(f"| [`{m.id}`]({m.id}.md) | {m.kind} | {m.family} | {m.version} | {'yes' if m.default else 'no'} "
                    f"| {m.name_en} |")
    bases = []
    for basis in BASIS_NAMES:
        vi, en = BASIS_MEANINGS[basis]
        bases.append(f"- `{basis}`: {en}. *{vi}.*")
    columns = []
    seen: dict[int, str] = {}
    for basis, cols in BASES.items():
        same = seen.get(id(cols))
        if same:
            columns.append(f"- `{basis}` (table `{BASIS_TABLES[basis]}`): the same columns as `{same}`.")
            continue
        seen[id(cols)] = basis
        listed = ", ".join(f"`{c}` {t}" for c, t in cols.items())
        columns.append(f"- `{basis}` (table `{BASIS_TABLES[basis]}`): {listed}.")
    columns.append(f"- `{DERIVED}`: no columns; the names of the method's measures.")
    params = ", ".join(f"`{p}` {t}" for p, t in PERIOD_PARAMETERS.items())
    only = ", ".join(f"`{b}`" for b in PERIOD_BASES)
    columns.append(f"- Period parameters, in {only} measures only: {params} (the period is [period_start, period_end)).")
    return _TEMPLATES.get_template("README.md.j2").render(
        table="\n".join(rows), bases="\n".join(bases), columns="\n".join(columns),
        conventions=_CONVENTIONS, tree_conventions=TREE_CONVENTIONS)


def pages() -> dict[str, str]:
    """File name → content of every generated page, from the shipped definitions of both kinds."""
    methods = loader.load_shipped(kind=None)
    out = {}
    for m in methods:
        source = f"src/chiso/methods/definitions/{Path(m.path or m.id).name}"
        out[f"{m.id}.md"] = render_tree(m, source=source) if isinstance(m, TreeMethod) else render(m, source=source)
    out["README.md"] = render_index(methods)
    return out


def write(out_dir: str | Path) -> list[Path]:
    """Write every page into ``out_dir`` (created if needed); the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --- criteria trees (kind: tree) ---------------------------------------------------------------

_PUBLISH = {
    "points": "points",
    "ratio": "ratio: points / max",
    "percent": "percent: 100 × points / max",
}

_KIND_TEXT = {
    "criterion": "criterion: counts towards its parent's maximum",
    "bonus": "bonus: added to its parent's points, within its own cap",
    "penalty": "penalty: its points are a deduction, subtracted from its parent's points, within its own cap",
}

#: The conventions of a criteria tree, the same on every page (Markdown, in a file).
TREE_CONVENTIONS = _text("tree_conventions.md")


_INPUT = {
    "fraction": "a rate, fraction in [0, 1]",
    "percent": "a rate, percent in [0, 100]",
    "points": "points",
    "number": "a number",
    "yes_no": "yes or no",
    "computed": "nothing: computed",
}


def _input_text(node: Node) -> str:
    """What a value entered for ``node`` is."""
    if node.input == "points" and node.max is not None:
        return f"points in [0, {_num(node.max)}]"
    return _INPUT[node.input]


def _effective_confidence(method: TreeMethod, node: Node):
    """The node's own confidence, or its nearest ancestor's, or the method's; and whether
    it is inherited."""
    if node.confidence is not None:
        return node.confidence, False
    parent = method.parents.get(node.id)
    while parent is not None:
        conf = method.node(parent).confidence
        if conf is not None:
            return conf, True
        parent = method.parents.get(parent)
    return method.confidence, True


def _max_text(value: float | None) -> str:
    return "not known [?]" if value is None else f"{_num(value)} points"


def node_rule_text(method: TreeMethod, node: Node) -> str:
    """One line saying how a leaf's value becomes points."""
    rule = node.rule
    assert rule is not None
    top = "max" if node.max is None else _num(node.max)
    rate = "value" if node.input == "fraction" else "value / 100"
    if rule.type == "ratio":
        if rule.target is not None:
            return f"ratio, target {_pct(rule.target)}: points = {top} × min(1, {rate} / {_num(rule.target)})"
        return f"ratio: points = {top} × {rate}, the value a {node.input} (at most {'1' if node.input == 'fraction' else '100'})"
    if rule.type == "steps":
        steps = "; ".join(f"≥ {_num(s.at_least)} → {_num(s.points)}" for s in reversed(rule.steps))
        return f"step table: {steps}; below {_num(rule.steps[0].at_least)} → 0"
    if rule.type == "yes_no":
        return f"yes/no: yes → {top} points, no → 0"
    if rule.type == "manual":
        return f"manual: the points entered, within [0, {top}]"
    if rule.type == "survey":
        return (f"survey: points = {top} × the satisfaction rate (a fraction in [0, 1])" if node.input == "fraction"
                else f"survey: points = {top} × the satisfaction rate / 100 (a percent in [0, 100])")
    reads = [f"{name} = published value of `{target}`" for name, target in rule.nodes.items()]
    reads += [f"{name} = input `{target}`" for name, target in rule.inputs.items()]
    return f"formula: points = `{rule.expression}`, clamped to [0, {top}], where " + "; ".join(reads)


def node_aggregate_text(node: Node) -> str:
    """How a node with children gets its points."""
    criteria = node.criteria
    top = "max" if node.max is None else _num(node.max)
    maxima = [c.max for c in criteria]
    known = all(m is not None for m in maxima)
    total = sum(m for m in maxima if m is not None)
    if node.aggregate == "sum":
        if not known or node.max is None:
            text = "sum of its criteria's points (maxima not known)"
        elif abs(total - node.max) < 1e-9:
            text = f"sum of its criteria's points (their maxima add up to {_num(total)})"
        elif node.children_exceed_max == "scale":
            text = f"sum of its criteria's points × {top} / {_num(total)} (`children_exceed_max: scale`)"
        else:
            text = f"sum of its criteria's points ({_num(total)} at most), capped at {top} (`children_exceed_max: cap`)"
    elif node.aggregate == "mean":
        text = f"{top} × the unweighted mean of its criteria's ratios (points / max)"
    else:
        weights = ", ".join(f"`{c.id}` {_num(c.weight or 0)}" for c in criteria)
        text = f"{top} × the weighted mean of its criteria's ratios (points / max); weights {weights}"
    bonus = [f"`{c.id}`" for c in node.children if c.kind == "bonus"]
    penalty = [f"`{c.id}`" for c in node.children if c.kind == "penalty"]
    if bonus:
        text += "; plus " + ", ".join(bonus)
    if penalty:
        text += "; minus " + ", ".join(penalty)
    text += "; at least 0" + ("" if node.bonus_beyond_max else f" and at most {top}")
    if node.bonus_beyond_max:
        text += " (a bonus may take it beyond its max: `bonus_beyond_max: true`)"
    return text


def _depth(method: TreeMethod, node_id: str) -> int:
    depth, parent = 0, method.parents.get(node_id)
    while parent is not None:
        depth, parent = depth + 1, method.parents.get(parent)
    return depth


def _tree_node(method: TreeMethod, node: Node) -> list[str]:
    parent = method.parents.get(node.id)
    conf, inherited = _effective_confidence(method, node)
    lines = [
        f"### `{node.id}` {node.name_en}",
        "",
        f"*{node.name}*",
        "",
        "| | |",
        "|---|---|",
        f"| Maximum | {_max_text(node.max)} |",
        f"| Kind | {_KIND_TEXT[node.kind]} |",
        f"| Parent | {'the index' if parent is None else f'`{parent}`'} |",
        f"| Published as | {_PUBLISH[node.publish]} |",
        f"| Value entered | {_input_text(node)} |",
    ]
    if node.is_leaf:
        lines.append(f"| Rule | {node_rule_text(method, node)} |")
    else:
        lines.append(f"| Points | {node_aggregate_text(node)} |")
        lines.append(f"| Children | {', '.join(f'`{c.id}`' for c in node.children)} |")
    if node.weight is not None:
        lines.append(f"| Weight | {_num(node.weight)} |")
    if node.components is not None:
        lines.append(f"| Components in the legal text | {node.components} |")
    lines.append(f"| Confidence | {_conf(conf)}{' (inherited)' if inherited else ''} |")
    lines.append("")
    if node.description_en or node.description:
        lines += [f"{node.description_en} *{node.description}*".strip(), ""]
    if node.rule is not None and node.rule.type == "steps":
        lines += ["| value at least | points |", "|---|---|"]
        lines += [f"| {_num(s.at_least)} | {_num(s.points)} |" for s in reversed(node.rule.steps)]
        lines.append("")
    return lines


def _tree_example(method: TreeMethod) -> list[str]:
    from chiso.scoring.tree import score_tree

    ex = method.example
    if ex is None:
        return []
    score = score_tree(method, ex.values, inputs=ex.inputs)
    lines = ["## Worked example", ""]
    if ex.note:
        lines += [ex.note, ""]
    lines += ["| node | value entered | points | max | published value |", "|---|---|---|---|---|"]
    for node_id, given in ex.values.items():
        ns = score.nodes[node_id]
        shown = ("yes" if given else "no") if isinstance(given, bool) else _num(given)
        lines.append(f"| `{node_id}` | {shown} | {_num(ns.points or 0)} | {_num(ns.max)} | {_num(ns.value) if ns.value is not None else ''} |")
    lines.append("")
    if ex.inputs:
        lines += ["Inputs: " + ", ".join(f"`{k}` = {_num(v)}" for k, v in ex.inputs.items()) + ".", ""]
    tops = ", ".join(f"`{n.id}` {_num(score.nodes[n.id].points or 0)}" for n in method.top)
    value = "" if score.value is None or method.publish == "points" else f", published {_num(score.value)}"
    band = f", band `{score.band}`" if score.band else ""
    lines += [f"Top-level points: {tops}.", "",
              f"**Total: {_num(score.total_points)} points**{value}{band} (the file states {_num(ex.total_points)}).", ""]
    for g in method.groupings:
        gs = score.groupings[g.id]
        if gs.value is not None:
            lines.append(f"- grouping `{g.id}`: {_num(gs.points or 0)} / {_num(gs.max)} = {_num(gs.value)}")
    if method.groupings:
        lines.append("")
    return lines


_SCALE_TEXT = {
    "fraction": "fractions in [0, 1] (0.8409 for 84.09 %)",
    "percent": "percents in [0, 100] (84.09 for 84.09 %)",
    None: "no rate is entered",
}


def _method_scale(method: TreeMethod) -> str | None:
    """The one scale the method's rates are entered on (the loader refuses two)."""
    for node in method.nodes.values():
        if node.input in ("fraction", "percent") and (node.rule is None or node.rule.type in ("ratio", "survey")):
            return node.input
    return None


def render_tree(method: TreeMethod, *, source: str | None = None) -> str:
    """The Markdown page of one criteria-tree method (the layout is ``templates/tree.md.j2``)."""
    src = source or f"src/chiso/methods/definitions/{method.id}.yaml"
    root = method.root
    rows = [
        f"| Maximum | {_max_text(root.max)} |",
        f"| Published as | {_PUBLISH[root.publish]} |",
        f"| Rates entered as | {_SCALE_TEXT[_method_scale(method)]} |",
        f"| Total | {node_aggregate_text(root)} |",
        f"| Ties | totals within {_num(method.rank_tolerance)} points share a rank |",
    ]
    node_rows = []
    for node in method.nodes.values():
        conf, inherited = _effective_confidence(method, node)
        how = node_rule_text(method, node).split(":")[0] if node.is_leaf else f"{node.aggregate} of {len(node.children)}"
        kind = "" if node.kind == "criterion" else f" ({node.kind})"
        indent = "· " * _depth(method, node.id)
        node_rows.append(f"| {indent}`{node.id}`{kind} | {node.name_en} | {_max_text(node.max).replace(' points', '')} | "
                         f"{how} | {_INPUT[node.input].split(',')[-1].strip()} | {node.publish} | [{conf.mark}]{' (inherited)' if inherited else ''} |")
    nodes = [line for node in method.nodes.values() for line in _tree_node(method, node)]
    groupings = []
    for g in method.groupings:
        maxima = [method.node(n).max for n in g.nodes]
        total = "not known" if any(m is None for m in maxima) else _num(sum(m for m in maxima if m is not None))
        listed = ", ".join(f"`{n}`" for n in g.nodes)
        groupings.append(f"- **`{g.id}`** {g.name_en} (*{g.name}*): the points of {listed} out of {total}, published as "
                         f"{_PUBLISH[g.publish]}. Confidence: {_conf(g.confidence) if g.confidence else 'as the method'}")
    rule = method.merge_rule
    if rule is not None:
        listed = ", ".join(f"`{n}`" for n in rule.nodes)
        merge = (f"`{rule.type}`: a unit formed by a merger gets, at each of {listed}, the unweighted mean of its "
                 f"former units' published values; its total follows. Confidence: "
                 f"{_conf(rule.confidence) if rule.confidence else 'as the method'}")
    else:
        merge = "None: units formed by a merger cannot be scored from their former units."
    return _page("tree.md.j2", method, src, rows, kind_row="| Kind | tree: a criteria tree of an assessed index |",
                 conventions=TREE_CONVENTIONS, node_rows=node_rows, nodes="\n".join(nodes),
                 grouping_lines=groupings, merge_rule=merge, example="\n".join(_tree_example(method)))
