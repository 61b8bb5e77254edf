"""Every shipped criteria tree scores end to end (issue 13, point 5): a round of the method,
a unit of its level, a sample self-assessment giving every leaf a value, then the results.
Each criterion must carry the points its rule gives for the value entered, every rate on
the method's one scale; a method whose maxima are not known is refused when the round is
created, with the nodes it lacks."""

from __future__ import annotations

from datetime import date

import pytest

from chiso import db
from chiso.assessments import service, surveys
from chiso.auth.permissions import command_line
from chiso.errors import ChisoError
from chiso.methods import loader
from chiso.scoring.model import Node, TreeMethod
from chiso.scoring.tree import SCALE_TOP, leaf_points
from chiso.units import service as units

#: A unit of each level, created beside the store fixture's province and departments.
UNIT_OF_LEVEL = {"province": "99", "agency": "99.SNV", "district": "99.H1", "commune": "99.X1"}

SCORABLE = [m.id for m in loader.load_shipped(kind="tree") if not m.unknown_maxima]
UNSCORABLE = [m.id for m in loader.load_shipped(kind="tree") if m.unknown_maxima]


def _sample(node: Node, k: int) -> object:
    """A value for a leaf that its rule reads, varied by ``k`` so leaves differ."""
    rule = node.rule
    assert rule is not None and node.max is not None
    if rule.type == "yes_no":
        return k % 2 == 0
    if rule.type == "steps":
        return rule.steps[k % len(rule.steps)].at_least
    if rule.type == "manual":
        return round(node.max * (0.4 + 0.05 * (k % 10)), 2)
    fraction = 0.55 + 0.04 * (k % 10)
    return round(fraction * SCALE_TOP[node.input], 4)


@pytest.fixture
def world(store):
    with db.transaction(store) as s:
        units.create(s, code="99.H1", name="Huyện Thử", level="district", kind="rural_district", parent="99",
                     valid_from=date(2010, 1, 1))
        units.create(s, code="99.X1", name="Xã Thử", level="commune", kind="commune", parent="99",
                     valid_from=date(2010, 1, 1))
    return store


def test_the_issue_asks_for_these_methods():
    ids = {m.id for m in loader.load_shipped(kind="tree")}
    assert {"pii-1705", "dti-405-department", "dti-405-commune", "par-department", "par-commune", "par-district",
            "sipas-1001-local"} <= ids
    assert {"pii-1705", "dti-405-department", "dti-405-commune", "par-department", "par-commune"} <= set(SCORABLE)


@pytest.mark.parametrize("method_id", SCORABLE)
def test_every_criterion_scores_on_a_sample_self_assessment(world, method_id):
    method = loader.load(method_id)
    assert isinstance(method, TreeMethod)
    level = method.levels[0]
    unit = UNIT_OF_LEVEL[level]
    leaves = [n for n in method.nodes.values() if n.is_leaf and n.rule is not None and n.rule.type != "formula"]
    values = {n.id: _sample(n, k) for k, n in enumerate(leaves)}
    inputs = {name: 80.0 for name in method.inputs}
    with db.transaction(world) as s:
        service.create_round(s, code="r", method=method_id, year=2025, actor=command_line("admin"))
        service.add_units(s, round_code="r", actor=command_line("admin"), units_groups={unit: "all"})
        service.self_assess(s, round_code="r", unit_code=unit, actor=command_line("unit"), values=values,
                            inputs=inputs)
        [row] = service.results(s, round_code="r")
    assert row["missing"] == [] and row["rank"] == 1
    for node in leaves:
        got = row["nodes"][node.id]
        assert got["points"] == pytest.approx(leaf_points(node, values[node.id])), node.id
        assert 0 <= got["points"] <= node.max, node.id
    for node in method.nodes.values():
        assert row["nodes"][node.id]["points"] is not None, node.id
    assert 0 < row["total_points"] <= method.max


@pytest.mark.parametrize("method_id", UNSCORABLE)
def test_a_method_with_unknown_maxima_is_refused_with_the_nodes_it_lacks(world, method_id):
    with db.transaction(world) as s, pytest.raises(ChisoError, match="cannot be scored: the maximum points of"):
        service.create_round(s, code="r", method=method_id, year=2025, actor=command_line("admin"))


def test_sipas_rates_on_one_scale_through_a_round(world, tmp_path):
    """The issue's case: a block's rate entered as a fraction scores as that rate; a percent
    where a fraction is expected is refused with the node and the scale; survey answers
    feed the leaves on the same scale."""
    with db.transaction(world) as s:
        service.create_round(s, code="sip", method="sipas-1001-local", year=2025, actor=command_line("admin"))
        service.add_units(s, round_code="sip", actor=command_line("admin"), units_groups={"99.X1": "communes"})
        with pytest.raises(ChisoError, match=r"node access: 84.09 is outside \[0, 1\] \(a fraction: 84.09 percent is 0.8409\)"):
            service.self_assess(s, round_code="sip", unit_code="99.X1", actor=command_line("x1"), values={"access": 84.09})
        service.self_assess(s, round_code="sip", unit_code="99.X1", actor=command_line("x1"), values={
            "access": 0.8409, "procedure": 0.8409, "civil_servants": 0.8409, "results": 0.8409})
        answers = tmp_path / "answers.csv"
        # feedback: 3 of 4 answers satisfied (4 or 5) → 0.75, entered on the fraction scale.
        answers.write_text("respondent,unit,factor,question,answer\n1,99.X1,feedback,q1,5\n2,99.X1,feedback,q1,4\n"
                           "3,99.X1,feedback,q1,4\n4,99.X1,feedback,q1,2\n", encoding="utf-8")
        surveys.import_responses(s, round_code="sip", path=answers, nodes={}, actor=command_line("admin"))
        [row] = service.results(s, round_code="sip")
    assert row["nodes"]["feedback"]["points"] == pytest.approx(75)
    assert row["total_points"] == pytest.approx((4 * 84.09 + 75) / 5)
    assert row["value"] == pytest.approx((4 * 84.09 + 75) / 5)
