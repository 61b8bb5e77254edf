"""Criteria-tree definitions (kind: tree): the shipped ones load; malformed ones are refused
with the file, the line and the node."""

from __future__ import annotations

import re

import pytest

from chiso.methods import loader
from chiso.scoring.model import TreeMethod
from chiso.scoring.tree import score_tree
from definition_helpers import assert_problem, line_of, refused, write  # noqa: E402

TREES = ["dti-405-commune", "dti-405-department", "dti-405-province", "dti-922-province", "par-commune",
         "par-department", "par-district", "par-province-blocks", "par-province", "pii-1705", "sipas-1001-local", "sipas-1001",
         "template-commune", "template-department"]

TREE = """\
kind: tree
id: "t"
family: "test"
version: "1"
default: true
name: "Thử"
name_en: "Test"
legal_basis:
  - {document: "X/QĐ", title: "t", title_en: "t", confidence: V}
sources: []
confidence: S
levels: [commune]
max: 100
publish: points
inputs:
  index_766: {description: "d", description_en: "d"}
nodes:
  - id: "a"
    name: "a"
    name_en: "A"
    max: 60
    children:
      - id: "a1"
        name: "a1"
        name_en: "A1"
        max: 20
        rule:
          type: steps
          steps:
            - {at_least: 1, points: 5}
            - {at_least: 2, points: 10}
            - {at_least: 4, points: 20}
      - id: "a2"
        name: "a2"
        name_en: "A2"
        max: 40
        rule: {type: formula, expression: "40 * S / 100", inputs: {S: "index_766"}}
  - id: "b"
    name: "b"
    name_en: "B"
    max: 40
    children:
      - {id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: ratio}}
      - {id: "b2", name: "b2", name_en: "B2", max: 10, rule: {type: manual}, confidence: {mark: "?", note: "assumed"}}
  - {id: "plus", name: "p", name_en: "Bonus", max: 5, kind: bonus, rule: {type: manual}}
groupings:
  - {id: "g", name: "g", name_en: "G", nodes: [a, b1]}
merge_rule: {type: mean}
example:
  values: {a1: 3, b1: 0.5, b2: 10, plus: 1}
  inputs: {index_766: 50}
  total_points: 56
"""


# --- the shipped trees --------------------------------------------------------------------------


def test_shipped_trees_load_and_validate():
    assert [p.stem for p in loader.shipped("tree")] == TREES
    assert [p.stem for p in loader.shipped()] == ["766-formula-2022", "766-portal-2025"]  # flat by default
    for path in loader.shipped("tree"):
        assert loader.validate(path) == [], path
        method = loader.load(path.stem)
        assert isinstance(method, TreeMethod) and method.kind == "tree" and method.id == path.stem
        assert method.legal_basis and method.version and method.sources and method.confidence.mark


def test_dti_922_main_indicators_and_points():
    m = loader.load("dti-922-province")
    assert [(n.id, n.max, n.components) for n in m.top] == [
        ("awareness", 100, 10), ("institutions", 100, 11), ("infrastructure", 100, 7), ("human_resources", 100, 13),
        ("cyber_security", 100, 12), ("smart_city", 0, 3), ("gov_activity", 200, 22), ("economy_activity", 150, 12),
        ("society_activity", 150, 8),
    ]
    assert sum(n.components for n in m.top) == 98
    assert m.max == 1000 and m.publish == "ratio"
    assert all(n.publish == "ratio" for n in m.top)
    # Components not sourced: one manual leaf per main indicator, marked "?".
    for n in m.top:
        (leaf,) = n.children
        assert leaf.rule.type == "manual" and leaf.max == n.max and leaf.confidence.mark == "?"
    assert [(g.id, len(g.nodes)) for g in m.groupings] == [
        ("digital_government", 7), ("digital_economy", 7), ("digital_society", 7)]
    assert m.merge_rule.type == "mean" and m.merge_rule.nodes == tuple(n.id for n in m.top)


def test_dti_405_par_sipas_and_templates_structure():
    dti405 = loader.load("dti-405-province")
    assert [n.id for n in dti405.top] == ["awareness", "institutions", "infrastructure", "human_resources",
                                          "cyber_security", "gov_activity", "economy_activity", "society_activity"]
    assert dti405.max is None and all(n.max is None and n.confidence.mark == "?" for n in dti405.top)
    par = loader.load("par-province")
    assert len(par.top) == 8 and par.max == 100 and par.publish == "percent"
    assert all(n.max is None and n.publish == "percent" for n in par.top)
    assert [(b.id, b.min, b.max, b.confidence.mark) for b in par.bands] == [
        ("below_B", 0, 80, "?"), ("B", 80, 90, "V"), ("A", 90, 100, "V")]
    sipas = loader.load("sipas-1001")
    assert [n.id for n in sipas.node("service_delivery").children] == [
        "access", "procedure", "civil_servants", "results", "feedback"]
    assert sipas.root.aggregate == "mean" and sipas.node("service_delivery").aggregate == "mean"
    for template_id, level in (("template-department", "agency"), ("template-commune", "commune")):
        t = loader.load(template_id)
        assert t.max == 100 and t.levels == (level,)
        assert sum(n.max for n in t.top if n.kind == "criterion") == 100
        rules = {n.rule.type for n in t.nodes.values() if n.is_leaf}
        assert {"steps", "ratio", "manual", "survey"} <= rules
        assert {n.kind for n in t.top} == {"criterion", "bonus", "penalty"}


def test_pii_seven_pillars_in_two_sub_indices():
    pii = loader.load("pii-1705")
    assert pii.levels == ("province",) and pii.max == 100 and pii.root.aggregate == "mean"
    assert [(n.id, len(n.children), n.aggregate) for n in pii.top] == [("inputs", 5, "mean"), ("outputs", 2, "mean")]
    pillars = [n for n in pii.nodes.values() if n.is_leaf]
    assert [n.id for n in pillars] == ["institutions", "human_capital", "infrastructure", "market", "business",
                                       "knowledge_technology", "impact"]
    assert all(n.rule.type == "manual" and n.max == 100 and n.confidence.mark == "?" for n in pillars)
    assert any("52 indicators" in n.note for n in pii.notes)
    # GII-style: the mean of the two sub-indices, each the mean of its pillars.
    values = {"institutions": 60, "human_capital": 50, "infrastructure": 70, "market": 40, "business": 45,
              "knowledge_technology": 30, "impact": 40}
    assert score_tree(pii, values).total_points == pytest.approx((53 + 35) / 2)


def test_dti_and_par_variants_for_departments_communes_and_districts():
    dept, commune = loader.load("dti-405-department"), loader.load("dti-405-commune")
    assert dept.levels == ("agency",) and commune.levels == ("commune",)
    assert [n.id for n in dept.top] == ["awareness", "institutions", "infrastructure", "human_resources",
                                        "cyber_security", "dx_activity"]
    assert [n.id for n in commune.top][-3:] == ["gov_activity", "economy_activity", "society_activity"]
    assert len(commune.top) == 8
    for m, components in ((dept, "32 components"), (commune, "42 components")):
        assert m.max == 100 and m.root.aggregate == "mean" and m.root.scale == "fraction"
        assert any(components in n.note for n in (m.confidence, *m.notes))
        assert all(n.rule.type == "ratio" and n.input == "fraction" for n in m.top)
    for par_id, level in (("par-department", "agency"), ("par-commune", "commune"), ("par-district", "district")):
        par = loader.load(par_id)
        assert par.levels == (level,) and par.publish == "percent" and len(par.top) == 8
        assert all(n.input == "percent" for n in par.top)
        assert par.legal_basis[0].document in ("5666/QĐ-UBND", "2071/QĐ-UBND (Bình Dương)")
        assert any(src.url for src in par.sources)
    hanoi = loader.load("par-commune")
    assert hanoi.legal_basis[0].date.isoformat() == "2025-11-17"
    local = loader.load("sipas-1001-local")
    assert local.levels == ("agency", "district", "commune") and [n.id for n in local.top] == [
        "access", "procedure", "civil_servants", "results", "feedback"]


def test_par_province_blocks_scores_on_the_verified_split():
    par = loader.load("par-province-blocks")
    assert par.family == "par-province" and not par.default and loader.load("par-province").default
    assert [(n.id, n.max) for n in par.top] == [("appraised", 68), ("surveys", 32)]
    s = score_tree(par, {"appraised": 52.90, "surveys": 29.95})  # Lao Cai 2019
    assert s.value == pytest.approx(82.85) and s.band == "B"


def test_templates_say_plainly_they_are_templates():
    for template_id in ("template-department", "template-commune"):
        t = loader.load(template_id)
        assert t.name.startswith("Mẫu") and t.name_en.startswith("Template (not an official method)")
        assert t.confidence.mark == "?" and "TEMPLATE" in t.confidence.note
        assert t.sources[0].title.startswith("TEMPLATE")


def test_every_shipped_tree_takes_its_rates_on_one_scale():
    for m in loader.load_shipped(kind="tree"):
        forms = {n.input for n in m.nodes.values()} & {"fraction", "percent"}
        assert len(forms) <= 1, m.id


def test_every_unconfirmed_tree_element_says_what_is_assumed():
    for m in loader.load_shipped(kind="tree"):
        marks = [m.confidence, *m.notes, *(b.confidence for b in m.bands), *(lb.confidence for lb in m.legal_basis)]
        marks += [n.confidence for n in m.nodes.values() if n.confidence]
        marks += [g.confidence for g in m.groupings if g.confidence]
        marks += [m.merge_rule.confidence] if m.merge_rule and m.merge_rule.confidence else []
        assert all(c.note for c in marks if c.mark == "?"), m.id
        assert any(c.mark == "?" for c in marks), m.id


def test_minimal_tree_is_valid(tmp_path):
    path = write(tmp_path, TREE, "ok.yaml")
    assert loader.validate(path) == []
    m = loader.load(path)
    assert m.node("a1").rule.steps[0].at_least == 1 and m.node("a2").rule.inputs == {"S": "index_766"}
    assert m.parents["a1"] == "a" and m.parents["a"] is None
    assert loader.file_kind(path) == "tree"


def test_load_by_kind(tmp_path):
    with pytest.raises(Exception, match="dti-922-province is a tree method; this needs a flat one"):
        loader.load("dti-922-province", kind="flat")
    assert loader.load("766-portal-2025", kind="flat").kind == "flat"


# --- malformed trees ---------------------------------------------------------------------------


def test_duplicate_node_id(tmp_path):
    text = TREE.replace('{id: "b2"', '{id: "a1"')
    problems = refused(tmp_path, text)
    first = line_of(text, '- id: "a1"')
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '{id: "a1"'),
                   node="node a1", words=rf"duplicate node id 'a1' \(first at line {first}\)")


def test_formula_cycle(tmp_path):
    # a2 reads the published value of a, which is the sum of a1 and a2.
    text = TREE.replace('expression: "40 * S / 100", inputs: {S: "index_766"}', 'expression: "40 * A", nodes: {A: "a"}')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '- id: "a2"'),
                   node="node a2", words="cycle: a2 → a → a2")


def test_formula_cycle_between_two_leaves(tmp_path):
    text = TREE.replace('expression: "40 * S / 100", inputs: {S: "index_766"}',
                        'expression: "40 * B", nodes: {B: "b1"}').replace(
        '{id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: ratio}}',
        '{id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: formula, expression: "A", nodes: {A: "a2"}}}')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '- id: "a2"'), node="node a2",
                   words="cycle: a2 → b1 → a2")


def test_a_node_that_contains_itself(tmp_path):
    # A YAML alias to an ancestor: the only way a nested tree can contain a cycle.
    text = TREE.replace('  - id: "b"\n', '  - &loop\n    id: "b"\n').replace(
        '      - {id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: ratio}}',
        '      - *loop')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "&loop"), node="file",
                   words="not valid YAML: found unconstructable recursive node")


def test_children_exceeding_max_without_a_rule(tmp_path):
    text = TREE.replace('max: 30, rule: {type: ratio}}', 'max: 35, rule: {type: ratio}}')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "max: 40", 2), node="node b",
                   words="criteria's maxima add up to 45, more than its max 40: .*children_exceed_max: scale or cap")
    for rule in ("scale", "cap"):
        ok = text.replace('    max: 40\n    children:', f'    max: 40\n    children_exceed_max: {rule}\n    children:')
        ok = ok.split("example:")[0]  # the example's total changes with the rule
        assert loader.validate(write(tmp_path, ok, "ok.yaml")) == [], rule


def test_children_below_max_can_never_reach_it(tmp_path):
    text = TREE.replace('max: 30, rule: {type: ratio}}', 'max: 25, rule: {type: ratio}}')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "max: 40", 2), node="node b",
                   words="add up to 35, less than its max 40")


def test_unknown_rule_type(tmp_path):
    text = TREE.replace("rule: {type: ratio}", "rule: {type: sigmoid}")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "sigmoid"), node="node b1",
                   words="unknown rule type 'sigmoid': use one of ratio, steps, yes_no, manual, formula, survey")


@pytest.mark.parametrize(("expression", "words"), [
    ("40 * S /", "syntax error"),
    ("__import__('os').system('x') + S", "call"),
    ("S ** 2", "not allowed"),
    ("40 * T", "unknown name 'T'"),
    ("40 / S", "division by zero"),
])
def test_bad_formula(tmp_path, expression, words):
    text = TREE.replace('expression: "40 * S / 100"', f'expression: "{expression}"')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "type: formula"), node="node a2",
                   words="formula: .*" + re.escape(words))


def test_formula_reading_unknown_nodes_or_inputs(tmp_path):
    text = TREE.replace('inputs: {S: "index_766"}', 'inputs: {S: "index_767"}')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "type: formula"),
                   node="node a2", words="reads input 'index_767', which is not declared")
    text = TREE.replace('expression: "40 * S / 100", inputs: {S: "index_766"}', 'expression: "40 * A", nodes: {A: "zz"}')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "type: formula"),
                   node="node a2", words="reads 'zz', which is not a node")


def test_non_monotonic_steps(tmp_path):
    text = TREE.replace("{at_least: 2, points: 10}", "{at_least: 2, points: 3}")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "steps:"), node="node a1",
                   words="not monotonic: at least 1 gives 5 points but at least 2 gives fewer \\(3\\)")


def test_steps_duplicated_or_above_max(tmp_path):
    text = TREE.replace("{at_least: 2, points: 10}", "{at_least: 1, points: 10}")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "steps:"),
                   node="node a1", words="two steps start at 1")
    text = TREE.replace("{at_least: 4, points: 20}", "{at_least: 4, points: 25}")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "points: 25"),
                   node="node a1", words="a step gives 25 points, more than the max 20")


def test_unconfirmed_mark_without_a_note(tmp_path):
    text = TREE.replace('confidence: {mark: "?", note: "assumed"}', 'confidence: "?"')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, 'confidence: "?"'),
                   node="node b2", words="needs a note")


def test_unknown_maximum_needs_a_question_mark(tmp_path):
    text = TREE.replace('max: 10, rule: {type: manual}, confidence: {mark: "?", note: "assumed"}}',
                        'max: "?", rule: {type: manual}, confidence: S}')
    problems = refused(tmp_path, text)
    assert any(': node b2: max "?" (not known) needs confidence' in p for p in problems), problems
    ok = TREE.replace('max: 10, rule: {type: manual}', 'max: "?", rule: {type: manual}')
    path = write(tmp_path, ok.replace("example:", "unused:").split("unused:")[0], "ok.yaml")
    assert loader.validate(path) == []
    assert loader.load(path).unknown_maxima == ("b2",)


def test_leaf_and_inner_keys(tmp_path):
    text = TREE.replace('{id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: ratio}}',
                        '{id: "b1", name: "b1", name_en: "B1", max: 30, aggregate: mean, rule: {type: ratio}}')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "aggregate: mean"),
                   node="node b1", words="aggregate is only for a node with children")
    text = TREE.replace('{id: "b1", name: "b1", name_en: "B1", max: 30, rule: {type: ratio}}',
                        '{id: "b1", name: "b1", name_en: "B1", max: 30}')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, '{id: "b1"'),
                   node="node b1", words="a leaf needs a rule")


def test_grouping_counting_a_node_twice_and_merge_not_covering(tmp_path):
    text = TREE.replace("nodes: [a, b1]", "nodes: [a, a1]")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "nodes: [a, a1]"),
                   node="grouping g", words="'a1' lies under 'a', also listed")
    text = TREE.replace("merge_rule: {type: mean}", "merge_rule: {type: mean, nodes: [a, plus]}")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "merge_rule:"),
                   node="method t merge_rule", words="leaf 'b1' lies under none of the merged nodes")
    text = TREE.replace("merge_rule: {type: mean}", "merge_rule: {type: mean, nodes: [a, b1, b2, plus]}")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "merge_rule:"),
                   node="method t merge_rule", words="'b1' is a leaf whose value is not its points")


def test_example_that_does_not_match(tmp_path):
    text = TREE.replace("total_points: 56", "total_points: 57")
    # a1 3 → 5; a2 40 × 50 / 100 = 20; b1 0.5 × 30 = 15; b2 10; bonus 1: 5 + 20 + 15 + 10 + 1 = 51.
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "example:"),
                   node="method t example", words="example gives 56 points, not 57")


def test_unknown_kind_and_input_colliding_with_a_node(tmp_path):
    text = TREE.replace("kind: tree", "kind: forest")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=1, node="file",
                   words="kind 'forest' is not one of flat, tree")
    text = TREE.replace("  index_766: {description", "  b1: {description")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "  b1: {description"),
                   node="input b1", words="must differ from every node id")


def test_all_problems_at_once(tmp_path):
    text = (TREE.replace("rule: {type: ratio}", "rule: {type: sigmoid}")
            .replace("{at_least: 2, points: 10}", "{at_least: 2, points: 3}")
            .replace('{id: "b2"', '{id: "a1"'))
    assert len(loader.validate(write(tmp_path, text))) >= 3
