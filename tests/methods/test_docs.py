"""The method pages cannot drift from the definition files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chiso.methods import docs, loader
from chiso.methods.bases import BASIS_MEANINGS
from chiso.scoring.model import DERIVED
from chiso.scoring.expression import compile_formula
from chiso.scoring.rules import example_points

PAGES = Path(__file__).parents[2] / "docs" / "methods"
FIX = "docs/methods is out of date: run `chiso methods docs --out docs/methods`"


def _sections(page: str, level: str) -> dict[str, str]:
    """Heading text → body, for headings of exactly ``level`` (e.g. '###')."""
    parts = re.split(rf"(?m)^{level} ", page)
    out = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        body = re.split(r"(?m)^#{1,3} ", body)[0]
        out[heading] = body
    return out


@pytest.mark.parametrize("method", loader.load_shipped(), ids=lambda m: m.id)
def test_every_indicator_has_its_section(method):
    page = (PAGES / f"{method.id}.md").read_text(encoding="utf-8")
    sections = _sections(page, "###")
    for ind in method.indicators:
        heading = f"{ind.id} {ind.name_en}"
        assert heading in sections, f"{method.id}: no section for {ind.id}; {FIX}"
        body = sections[heading]
        assert f"**Formula (vi).** {ind.formula_vi}" in body
        assert f"**Formula (en).** {ind.formula_en}" in body
        assert f"`{ind.numerator}`" in body and f"`{ind.denominator}`" in body
        for name in (ind.numerator, ind.denominator):
            _assert_measure_shown(method, method.measures[name], body)
        assert "**Worked example.**" in body
        points = example_points(method, ind, ind.example.numerator, ind.example.denominator)
        assert f"**{docs._num(points)} points**" in body
        for aspect in ind.confidence:
            assert f"- {aspect}: [" in body
    groups = _sections(page, "##")
    for group in method.groups:
        assert any(h.startswith(f"{group.id}: ") for h in groups), group.id
    for band in method.bands:
        assert f"(`{band.id}`)" in page
    for lb in method.legal_basis:
        assert lb.document in page


def _assert_measure_shown(method, measure, body: str) -> None:
    """The measure's basis, what the basis means (en and vi) and its SQL or expression."""
    vi, en = BASIS_MEANINGS[measure.basis]
    assert f"`{measure.name}`, basis `{measure.basis}`" in body
    assert f"Basis: {en}. *{vi}.*" in body
    if measure.basis == "derived":
        assert f"Expression: `{measure.expression}`" in body
        for name in compile_formula(measure.expression).names:
            assert f"**Read by `{measure.name}`**: `{name}`" in body
            _assert_measure_shown(method, method.measures[name], body)
        return
    assert f"-- where\n{measure.where.strip()}\n" in body
    if measure.sum:
        assert f"-- sum\n{measure.sum.strip()}\n" in body
    if measure.distinct:
        assert f"count of distinct `{measure.distinct}`" in body and f"-- count distinct\n{measure.distinct}\n" in body
    if measure.on_time_finished:
        assert f"-- on_time.finished\n{measure.on_time_finished}\n" in body
        assert f"-- on_time.open_until\n{measure.on_time_open_until}\n" in body


def test_every_kind_of_measure_is_documented():
    # The shipped methods exercise every basis of records, sum, distinct and on_time. No
    # shipped numerator is derived any more (a numerator must be a subset of its
    # denominator's records): the README documents derived measures, test_loader and
    # test_measures_sql check them.
    measures = [m for method in loader.load_shipped() for m in method.measures.values()]
    assert {m.basis for m in measures} | {DERIVED} == set(BASIS_MEANINGS)
    assert any(m.sum for m in measures) and any(m.distinct for m in measures)
    assert any(m.on_time_finished for m in measures)


def test_committed_pages_equal_what_the_generator_produces():
    expected = docs.pages()
    committed = {p.name: p.read_text(encoding="utf-8") for p in PAGES.glob("*.md")}
    assert set(committed) == set(expected), FIX
    for name, text in expected.items():
        assert committed[name] == text, f"{name}: {FIX}"


def test_index_lists_every_method_and_the_schema():
    index = docs.pages()["README.md"]
    for m in loader.load_shipped():
        assert f"[`{m.id}`]({m.id}.md)" in index
    for word in ("dossier_settlement", "dossier_finished", "supplement_days", "has_online_dossier", "handled_on_time",
                 "outside_scope", "on_time: {finished, open_until}", "`derived`: `expression`",
                 "Period parameters, in `procedure` measures only"):
        assert word in index
    for basis, (vi, en) in BASIS_MEANINGS.items():
        assert f"- `{basis}`: {en}. *{vi}.*" in index


def test_write_creates_the_pages(tmp_path):
    written = docs.write(tmp_path / "out")
    assert {p.name for p in written} == set(docs.pages())
    assert all(p.read_text(encoding="utf-8") == docs.pages()[p.name] for p in written)


# --- criteria trees ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", loader.load_shipped(kind="tree"), ids=lambda m: m.id)
def test_every_tree_node_has_its_section(method):
    page = (PAGES / f"{method.id}.md").read_text(encoding="utf-8")
    sections = _sections(page, "###")
    tree = _sections(page, "##")["Tree"]
    for node in method.nodes.values():
        heading = f"`{node.id}` {node.name_en}"
        assert heading in sections, f"{method.id}: no section for {node.id}; {FIX}"
        body = sections[heading]
        assert f"*{node.name}*" in body
        maximum = "not known [?]" if node.max is None else f"{docs._num(node.max)} points"
        assert f"| Maximum | {maximum} |" in body
        if node.is_leaf:
            assert f"| Rule | {docs.node_rule_text(method, node)} |" in body
        else:
            assert f"| Points | {docs.node_aggregate_text(node)} |" in body
        conf, _inherited = docs._effective_confidence(method, node)
        assert f"| Confidence | {docs._conf(conf)}" in body
        assert f"`{node.id}`" in tree
        if node.rule is not None and node.rule.type == "steps":
            for step in node.rule.steps:
                assert f"| {docs._num(step.at_least)} | {docs._num(step.points)} |" in body
    for lb in method.legal_basis:
        assert lb.document in page
    for band in method.bands:
        assert f"(`{band.id}`)" in page
    for g in method.groupings:
        assert f"**`{g.id}`** {g.name_en}" in page
    if method.merge_rule:
        assert f"`{method.merge_rule.type}`: a unit formed by a merger" in page
    if method.example:
        assert f"**Total: {docs._num(method.example.total_points)} points**" in page
    if method.unknown_maxima:
        assert "**Not scorable yet**" in page


def test_index_lists_the_trees_and_their_schema():
    index = docs.pages()["README.md"]
    for m in loader.load_shipped(kind="tree"):
        assert f"| [`{m.id}`]({m.id}.md) | tree |" in index
    for word in ("## Criteria trees (`kind: tree`)", "children_exceed_max", "bonus_beyond_max", "`{type: yes_no}`",
                 "at_least", "merge_rule", "rank_tolerance", "max: \"?\"", "groupings", "`{type: survey}`",
                 "chiso methods score METHOD_ID --input FILE.json"):
        assert word in index, word
    assert docs.TREE_CONVENTIONS in index
