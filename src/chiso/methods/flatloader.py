"""Reading a flat definition (``kind: flat``, the default: groups of indicators over
measures, the 766 index): parameters, measures and their SQL, groups, indicators, rules,
formulas, and every worked example checked against the scoring engine."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from chiso.i18n import _
from chiso.methods.header import read_bands, read_header
from chiso.methods.reader import EXAMPLE_TOLERANCE, Map, Reader, cycle_from, line_of, seq_of
from chiso.methods.bases import (
    BASES,
    BASIS_NAMES,
    DISTINCT_BASES,
    ON_TIME_BASIS,
)
from chiso.scoring.model import (
    DERIVED,
    OUTSIDE_SCOPE,
    RATE_UNITS,
    RULE_TYPES,
    ZERO_DENOMINATOR,
    Confidence,
    Example,
    Group,
    GroupExample,
    Indicator,
    Measure,
    Method,
    Rule,
)
from chiso.scoring.expression import ExpressionError, compile_formula, evaluate


def _sqlcheck():
    """The SQL checker (sqlglot), imported when a definition is parsed: a method read
    from the parsed-method cache (:func:`chiso.methods.loader.load`) needs neither."""
    from chiso.methods import sqlcheck

    return sqlcheck


_TOP_REQUIRED = (
    "id", "family", "version", "default", "name", "name_en", "legal_basis", "sources", "confidence",
    "levels", "parameters", "bands", "measures", "groups",
)
_TOP_OPTIONAL = ("kind", "effective_from", "notes")
_INDICATOR_REQUIRED = (
    "id", "name", "name_en", "max", "scope", "numerator", "denominator", "rule", "zero_denominator",
    "formula", "confidence", "example",
)
_INDICATOR_OPTIONAL = ("outside_scope", "rate_unit")


def read(reader: Reader, top: Map) -> Method:
    """The flat method (groups of indicators over measures) of a file's top mapping."""
    node, head = read_header(reader, top, _TOP_REQUIRED, _TOP_OPTIONAL)
    levels = head["levels"]

    outside_scope, rate_rounding, ranking_precision = "full", None, 2
    params = top.get("parameters")
    if "parameters" in top and (pm := reader.mapping(params, reader.at(top, "parameters"), node, "parameters")):
        reader.keys(pm, f"{node} parameters", ("outside_scope",), ("rate_rounding", "ranking_precision"))
        outside_scope = reader.choice(pm, "outside_scope", f"{node} parameters", OUTSIDE_SCOPE) or "full"
        rr = pm.get("rate_rounding")
        if rr is not None and (isinstance(rr, bool) or not isinstance(rr, int) or rr < 0):
            reader.problem(reader.at(pm, "rate_rounding"), f"{node} parameters",
                           _("rate_rounding must be null or a number of decimals (e.g. 2)"))
        else:
            rate_rounding = rr
        rp = pm.get("ranking_precision", 2)
        if rp is not None and (isinstance(rp, bool) or not isinstance(rp, int) or rp < 0):
            reader.problem(reader.at(pm, "ranking_precision"), f"{node} parameters",
                           _("ranking_precision must be null or a number of decimals (e.g. 2)"))
        else:
            ranking_precision = rp

    bands = read_bands(reader, top, node)
    measures = _measures(reader, top, node)
    groups, sound = _groups(reader, top, node, measures, levels)

    method = Method(
        **head, outside_scope=outside_scope, rate_rounding=rate_rounding, ranking_precision=ranking_precision,
        bands=bands,
        measures=MappingProxyType({m.name: m for m in measures.values()}), groups=groups,
    )
    _check_usage(reader, top, node, method)
    _check_examples(reader, method, sound)
    return method




_MEASURE_REQUIRED = ("basis", "description", "description_en")
#: What a measure may count at a province instead of its own records (``province:``):
#: ``communes``, the number of the province's scored communes whose own value is above zero.
PROVINCE_ROLLUPS = ("communes",)
_RECORD_KEYS = ("where", "sum", "distinct", "on_time")


def _measures(reader: Reader, top: Map, node: str) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    raw = top.get("measures")
    if raw is None:
        return out
    m_all = reader.mapping(raw, reader.at(top, "measures"), node, "measures")
    if m_all is None:
        return out
    derived: dict[str, Map] = {}
    for name, item in m_all.items():
        where_node = f"measure {name}"
        line = m_all.key_lines.get(name, m_all.line)
        if not isinstance(name, str) or not name.isidentifier():
            reader.problem(line, where_node, _("a measure name must be a plain identifier (letters, digits, _)"))
            continue
        m = reader.mapping(item, line, where_node, "a measure")
        if m is None:
            continue
        basis = reader.choice(m, "basis", where_node, BASIS_NAMES)
        conf = reader.confidence(m["confidence"], reader.at(m, "confidence"), where_node) if "confidence" in m else None
        description = reader.text(m, "description", where_node) or ""
        description_en = reader.text(m, "description_en", where_node) or ""
        if basis == DERIVED:
            reader.keys(m, where_node, (*_MEASURE_REQUIRED, "expression"), ("confidence", *_RECORD_KEYS))
            for key in _RECORD_KEYS:
                if key in m:
                    reader.problem(reader.at(m, key), where_node,
                                   _("a derived measure is computed from other measures: it has no {key}").format(key=key))
            expression = reader.text(m, "expression", where_node)
            if expression is not None:
                derived[name] = m
            out[name] = Measure(
                name=name, basis=basis, where="", description=description, description_en=description_en,
                confidence=conf, expression=expression,
            )
            continue
        if basis is None:
            # Unknown or missing basis (reported): check the keys without knowing which apply.
            reader.keys(m, where_node, _MEASURE_REQUIRED, ("confidence", "expression", *_RECORD_KEYS))
            continue
        reader.keys(m, where_node, (*_MEASURE_REQUIRED, "where"),
                    ("sum", "distinct", "on_time", "confidence", "expression", "province"))
        rollup = m.get("province")
        if "province" in m and rollup not in PROVINCE_ROLLUPS:
            reader.problem(reader.at(m, "province"), where_node, _("province: {value!r} is not one of {choices}").format(
                value=rollup, choices=", ".join(PROVINCE_ROLLUPS)))
        if "expression" in m:
            reader.problem(reader.at(m, "expression"), where_node,
                           _("expression is only for a measure of basis {basis}").format(basis=DERIVED))
        where = m.get("where")
        if "where" in m:
            for p in _sqlcheck().check_measure(where, basis, boolean=True):
                reader.problem(reader.at(m, "where"), where_node, _("where: {problem}").format(problem=p))
        total = m.get("sum")
        if "sum" in m:
            for p in _sqlcheck().check_measure(total, basis, boolean=False):
                reader.problem(reader.at(m, "sum"), where_node, _("sum: {problem}").format(problem=p))
        distinct = m.get("distinct")
        if "distinct" in m:
            if basis not in DISTINCT_BASES:
                reader.problem(reader.at(m, "distinct"), where_node,
                               _("distinct is only supported on basis {bases}, not {basis}").format(
                                   bases=", ".join(DISTINCT_BASES), basis=basis))
            elif not isinstance(distinct, str) or distinct not in BASES[basis]:
                reader.problem(reader.at(m, "distinct"), where_node,
                               _("distinct: {value!r} is not a column of basis {basis}").format(value=distinct, basis=basis))
        if "sum" in m and "distinct" in m:
            reader.problem(m.line, where_node, _("a measure is a count, a sum or a distinct count: not several"))
        finished, open_until = _on_time(reader, m, where_node, basis)
        out[name] = Measure(
            name=name, basis=basis, where=where if isinstance(where, str) else "",
            description=description, description_en=description_en,
            sum=total if isinstance(total, str) else None, distinct=distinct if isinstance(distinct, str) else None,
            confidence=conf, on_time_finished=finished, on_time_open_until=open_until,
            province=rollup if rollup in PROVINCE_ROLLUPS else None,
        )
    _check_derived(reader, m_all, derived)
    return out


def _on_time(reader: Reader, m: Map, where_node: str, basis: str) -> tuple[str | None, str | None]:
    """The ``on_time`` rule of a settlement measure: (finished, open_until), each checked."""
    if "on_time" not in m:
        return None, None
    if basis != ON_TIME_BASIS:
        reader.problem(reader.at(m, "on_time"), where_node,
                       _("on_time is only allowed on basis {allowed}, not {basis}").format(allowed=ON_TIME_BASIS, basis=basis))
        return None, None
    om = reader.mapping(m["on_time"], reader.at(m, "on_time"), where_node, "on_time")
    if om is None:
        return None, None
    node = f"{where_node} on_time"
    reader.keys(om, node, ("finished", "open_until"))
    parts: dict[str, str | None] = {}
    for key, boolean in (("finished", True), ("open_until", False)):
        if key not in om:
            parts[key] = None
            continue
        for p in _sqlcheck().check_measure(om[key], basis, boolean=boolean):
            reader.problem(reader.at(om, key), node, _("{key}: {problem}").format(key=key, problem=p))
        parts[key] = om[key].strip() if isinstance(om[key], str) else None
    if parts["finished"] is None or parts["open_until"] is None:
        return None, None
    return parts["finished"], parts["open_until"]


def _check_derived(reader: Reader, m_all: Map, derived: dict[str, Map]) -> None:
    """Derived measures read measures of this file, without a cycle, and have a value for
    any values of those (the evaluator cannot leave a unit without one)."""
    names = {n for n in m_all if isinstance(n, str) and n.isidentifier()}
    reads: dict[str, frozenset[str]] = {}
    for name, m in derived.items():
        try:
            formula = compile_formula(m["expression"], names=names)
        except ExpressionError as exc:
            reader.problem(reader.at(m, "expression"), f"measure {name}", _("expression: {reason}").format(reason=exc))
            continue
        reads[name] = formula.names
        for probe in (0.0, 1.0):
            try:
                evaluate(formula, {n: probe for n in formula.names})
            except ExpressionError as exc:
                reader.problem(reader.at(m, "expression"), f"measure {name}",
                               _("expression: {reason}: a derived measure needs a value whatever the measures it reads, "
                                 "0 included").format(reason=exc))
                break
    for name in reads:
        cycle = cycle_from(name, reads)
        if cycle:
            reader.problem(reader.at(derived[name], "expression"), f"measure {name}",
                           _("expression: derived measures read each other in a cycle: {cycle}").format(
                               cycle=" → ".join(cycle)))


def _groups(
    reader: Reader, top: Map, node: str, measures: dict[str, Measure], levels: tuple[str, ...]
) -> tuple[tuple[Group, ...], set[str]]:
    """The groups, and the ids of indicators (and formula groups) sound enough to check
    their worked examples."""
    groups: list[Group] = []
    sound: set[str] = set()
    group_ids: set[str] = set()
    indicator_ids: set[str] = set()
    for item in seq_of(reader, top, "groups", node) or []:
        gm = reader.mapping(item, reader.at(top, "groups"), f"{node} groups", "a group")
        if gm is None:
            continue
        gid = reader.ident(gm, "id", f"{node} groups") or "?"
        gnode = f"group {gid}"
        before = len(reader.problems)
        reader.keys(gm, gnode, ("id", "name", "name_en", "max", "confidence", "indicators"), ("rule", "example"))
        if gid in group_ids:
            reader.problem(gm.line, gnode, _("duplicate group id {id!r}").format(id=gid))
        group_ids.add(gid)
        gmax = reader.number(gm, "max", gnode, minimum=0)
        gconf = reader.confidence(gm.get("confidence"), reader.at(gm, "confidence"), gnode) if "confidence" in gm else None
        rule = _group_rule(reader, gm, gnode)

        indicators: list[Indicator] = []
        for raw in seq_of(reader, gm, "indicators", gnode) or []:
            ind, ok = _indicator(reader, raw, gm, gid, measures, levels)
            if ind is None:
                continue
            if ind.id in indicator_ids:
                reader.problem(line_of(raw, gm.line), f"indicator {ind.id}", _("duplicate indicator id {id!r}").format(id=ind.id))
                ok = False
            indicator_ids.add(ind.id)
            indicators.append(ind)
            if ok:
                sound.add(ind.id)

        formula_ok = rule is not None and _check_formula_group(reader, gm, gnode, rule, indicators, gmax)
        if rule is None:
            for ind in indicators:
                if ind.rule.type == "term":
                    reader.problem(gm.line, f"indicator {ind.id}",
                                   _("rule 'term' is only for indicators of a group with a formula rule"))
                    sound.discard(ind.id)
            total = sum(i.max for i in indicators)
            if gmax is not None and abs(total - gmax) > 1e-9:
                reader.problem(reader.at(gm, "max"), gnode,
                               _("max is {max:g} but its indicators add up to {total:g}").format(max=gmax, total=total))
        elif not formula_ok:
            sound.difference_update(i.id for i in indicators)

        example = _group_example(reader, gm, gnode, rule)
        if formula_ok and len(reader.problems) == before:
            sound.add(gid)
        groups.append(Group(
            id=gid, name=reader.text(gm, "name", gnode) or "", name_en=reader.text(gm, "name_en", gnode) or "",
            max=gmax if gmax is not None else 0.0, indicators=tuple(indicators),
            confidence=gconf or Confidence("?", ""), rule=rule, example=example,
        ))
    if "groups" in top and not groups:
        reader.problem(reader.at(top, "groups"), node, _("at least one group is needed"))
    return tuple(groups), sound


def _group_rule(reader: Reader, gm: Map, gnode: str) -> Rule | None:
    if "rule" not in gm:
        return None
    rm = reader.mapping(gm["rule"], reader.at(gm, "rule"), gnode, "rule")
    if rm is None:
        return None
    if rm.get("type") != "formula":
        reader.problem(reader.at(rm, "type"), gnode,
                       _("unknown group rule type {type!r}: a group rule is {{type: formula, ...}}").format(type=rm.get("type")))
        return None
    reader.keys(rm, gnode, ("type", "expression", "ratios"))
    expression = reader.text(rm, "expression", gnode)
    ratios: dict[str, str] = {}
    rmap = rm.get("ratios")
    if "ratios" in rm and (rr := reader.mapping(rmap, reader.at(rm, "ratios"), gnode, "ratios")):
        for name, target in rr.items():
            if not isinstance(name, str) or not name.isidentifier() or not isinstance(target, str):
                reader.problem(rr.key_lines.get(name, rr.line), gnode,
                               _("ratio {name!r}: write NAME: \"<indicator id>\"").format(name=name))
                continue
            ratios[name] = target
    return Rule(type="formula", expression=expression, ratios=MappingProxyType(ratios))


def _check_formula_group(
    reader: Reader, gm: Map, gnode: str, rule: Rule, indicators: list[Indicator], gmax: float | None
) -> bool:
    rm: Map = gm["rule"]
    ok = True
    line = reader.at(rm, "expression")
    if not rule.expression:
        return False
    try:
        formula = compile_formula(rule.expression, names=set(rule.ratios))
    except ExpressionError as exc:
        reader.problem(line, gnode, _("formula: {reason}").format(reason=exc))
        return False
    unused = sorted(set(rule.ratios) - formula.names)
    if unused:
        reader.problem(reader.at(rm, "ratios"), gnode, _("ratio {name!r} is not used by the formula").format(name=unused[0]))
        ok = False
    by_id = {i.id: i for i in indicators}
    for name, ind_id in rule.ratios.items():
        ind = by_id.get(ind_id)
        if ind is None:
            reader.problem(reader.at(rm, "ratios"), gnode,
                           _("ratio {name}: {id!r} is not an indicator of this group").format(name=name, id=ind_id))
            ok = False
        elif ind.zero_denominator not in ("full", "zero"):
            # A formula needs a number for every ratio.
            reader.problem(reader.at(rm, "ratios"), f"indicator {ind.id}",
                           _("an indicator read by a group formula needs zero_denominator full or zero"))
            ok = False
    referenced = set(rule.ratios.values())
    for ind in indicators:
        if ind.id in referenced and ind.rule.type != "term":
            reader.problem(reader.at(gm, "indicators"), f"indicator {ind.id}",
                           _("an indicator read by its group's formula needs rule {type: term}"))
            ok = False
        if ind.id not in referenced and ind.rule.type != "info":
            reader.problem(reader.at(gm, "indicators"), f"indicator {ind.id}",
                           _("not read by its group's formula: its rule must be {type: info}"))
            ok = False
    for probe in (0.0, 0.5, 1.0):
        try:
            evaluate(formula, {n: probe for n in rule.ratios})
        except ExpressionError as exc:
            reader.problem(line, gnode, _("formula: {reason}").format(reason=exc))
            return False
    return ok


def _group_example(reader: Reader, gm: Map, gnode: str, rule: Rule | None) -> GroupExample | None:
    if "example" not in gm:
        return None
    em = reader.mapping(gm["example"], reader.at(gm, "example"), gnode, "example")
    if em is None:
        return None
    reader.example_lines[gnode] = reader.at(gm, "example")
    if rule is None:
        reader.problem(reader.at(gm, "example"), gnode, _("only a group with a formula rule has its own example"))
        return None
    reader.keys(em, f"{gnode} example", ("ratios", "points"))
    points = reader.number(em, "points", f"{gnode} example")
    values: dict[str, float] = {}
    rm = em.get("ratios")
    if "ratios" in em and (rr := reader.mapping(rm, reader.at(em, "ratios"), f"{gnode} example", "ratios")):
        for k in rr:
            v = reader.number(rr, k, f"{gnode} example")
            if v is not None:
                values[str(k)] = v
    if points is None:
        return None
    return GroupExample(ratios=MappingProxyType(values), points=points)


def _indicator(
    reader: Reader, raw: Any, gm: Map, gid: str, measures: dict[str, Measure], levels: tuple[str, ...]
) -> tuple[Indicator | None, bool]:
    m = reader.mapping(raw, reader.at(gm, "indicators"), f"group {gid}", "an indicator")
    if m is None:
        return None, False
    before = len(reader.problems)
    iid = reader.ident(m, "id", f"group {gid}") or "?"
    node = f"indicator {iid}"
    reader.keys(m, node, _INDICATOR_REQUIRED, _INDICATOR_OPTIONAL)
    maximum = reader.number(m, "max", node, minimum=0)

    scope: tuple[str, ...] = ()
    raw_scope = seq_of(reader, m, "scope", node)
    if raw_scope is not None:
        bad = [s for s in raw_scope if s not in levels]
        if bad or not raw_scope:
            reader.problem(reader.at(m, "scope"), node,
                           _("scope must list levels of this method ({levels}), not {bad}").format(
                               levels=", ".join(levels), bad=", ".join(map(str, bad)) or "nothing"))
        scope = tuple(s for s in raw_scope if s in levels)

    for key in ("numerator", "denominator"):
        name = m.get(key)
        if name is not None and (not isinstance(name, str) or name not in measures):
            reader.problem(reader.at(m, key), node, _("{key}: unknown measure {name!r}").format(key=key, name=name))

    rule = Rule(type="info")
    if "rule" in m and (rm := reader.mapping(m["rule"], reader.at(m, "rule"), node, "rule")):
        rtype = rm.get("type")
        if rtype not in RULE_TYPES:
            reader.problem(reader.at(rm, "type"), node,
                           _("unknown rule type {type!r}: use one of {types}").format(type=rtype, types=", ".join(RULE_TYPES)))
        else:
            reader.keys(rm, node, ("type",), ("target",) if rtype == "target" else ())
            target = None
            if rtype == "target":
                target = reader.number(rm, "target", node)
                if "target" not in rm:
                    reader.problem(rm.line, node, _("a target rule needs a target, e.g. 0.8"))
                elif target is not None and not 0 < target <= 1:
                    reader.problem(reader.at(rm, "target"), node, _("target must be a fraction above 0 and at most 1"))
                    target = None
            rule = Rule(type=rtype, target=target)
            if maximum is not None:
                if rtype == "info" and maximum != 0:
                    reader.problem(reader.at(m, "max"), node, _("an info indicator has max 0"))
                if rtype in ("linear", "target") and maximum == 0:
                    reader.problem(reader.at(m, "max"), node, _("a scored indicator needs max above 0 (or rule info)"))

    zero = reader.choice(m, "zero_denominator", node, ZERO_DENOMINATOR)
    outside = reader.choice(m, "outside_scope", node, OUTSIDE_SCOPE) if "outside_scope" in m else None
    rate_unit = reader.choice(m, "rate_unit", node, RATE_UNITS) if "rate_unit" in m else "fraction"
    if rate_unit == "days" and rule.type != "info":
        reader.problem(reader.at(m, "rate_unit"), node, _("only an info indicator may have a rate in days"))

    fvi = fen = ""
    if "formula" in m and (fm := reader.mapping(m["formula"], reader.at(m, "formula"), node, "formula")):
        reader.keys(fm, f"{node} formula", ("vi", "en"))
        fvi, fen = reader.text(fm, "vi", node) or "", reader.text(fm, "en", node) or ""

    conf = reader.indicator_confidence(m.get("confidence"), reader.at(m, "confidence"), node) if "confidence" in m else {}

    example = None
    if "example" in m and (em := reader.mapping(m["example"], reader.at(m, "example"), node, "example")):
        reader.example_lines[node] = reader.at(m, "example")
        reader.keys(em, f"{node} example", ("numerator", "denominator", "points"))
        n, d, p = (reader.number(em, k, f"{node} example", minimum=None) for k in ("numerator", "denominator", "points"))
        if d is not None and d < 0:
            reader.problem(reader.at(em, "denominator"), f"{node} example", _("denominator must not be negative"))
        if None not in (n, d, p):
            example = Example(numerator=n, denominator=d, points=p)  # type: ignore[arg-type]

    ok = len(reader.problems) == before and example is not None and zero is not None
    ind = Indicator(
        id=iid, group=gid, name=reader.text(m, "name", node) or "", name_en=reader.text(m, "name_en", node) or "",
        max=maximum if maximum is not None else 0.0, scope=scope,
        numerator=m.get("numerator") if isinstance(m.get("numerator"), str) else "",
        denominator=m.get("denominator") if isinstance(m.get("denominator"), str) else "",
        rule=rule, zero_denominator=zero or "not_applicable", formula_vi=fvi, formula_en=fen,
        confidence=MappingProxyType(conf), example=example or Example(0, 0, 0),
        outside_scope=outside, rate_unit=rate_unit or "fraction",
    )
    return ind, ok


def _check_usage(reader: Reader, top: Map, node: str, method: Method) -> None:
    used = {n for i in method.indicators for n in (i.numerator, i.denominator)}
    for m in method.measures.values():
        if m.expression:
            try:
                used |= compile_formula(m.expression).names
            except ExpressionError:
                pass  # reported with the measure
    mm = top.get("measures")
    lines = mm.key_lines if isinstance(mm, Map) else {}
    for name in method.measures:
        if name not in used:
            reader.problem(lines.get(name, 1), f"measure {name}", _("not used by any indicator"))


def _check_examples(reader: Reader, method: Method, sound: set[str]) -> None:
    from chiso.scoring.rules import example_points, group_formula_points

    for group in method.groups:
        if group.is_formula and group.example and group.id in sound:
            try:
                points, _raw = group_formula_points(group, group.example.ratios)
            except ExpressionError as exc:
                reader.problem(reader.example_lines.get(f"group {group.id}", 1), f"group {group.id}", _("example: {reason}").format(reason=exc))
            else:
                if abs(points - group.example.points) > EXAMPLE_TOLERANCE:
                    reader.problem(reader.example_lines.get(f"group {group.id}", 1), f"group {group.id}", _("example gives {got} points, not {want:g}").format(
                        got=f"{points:.4g}", want=group.example.points))
        for ind in group.indicators:
            if ind.id not in sound or (group.is_formula and group.id not in sound):
                continue
            ex = ind.example
            got = example_points(method, ind, ex.numerator, ex.denominator)
            want = ex.points
            if got is None or abs(got - want) > EXAMPLE_TOLERANCE:
                reader.problem(reader.example_lines.get(f"indicator {ind.id}", 1), f"indicator {ind.id}", _("example gives {got} points, not {want:g}").format(
                    got="no" if got is None else f"{got:.4g}", want=want))


