"""Scoring criteria trees (chấm điểm cây tiêu chí), checked by hand.

The DTI check uses the published DTI 2022 figures of docs/methodology/published-figures.md#dti-2022; the other tests
use a small tree with every rule type, a bonus, a penalty, a grouping, bands and a merge
rule, and state the points they expect, computed by hand in the comments.
"""

from __future__ import annotations

import pytest

from chiso.errors import ChisoError
from chiso.methods import loader
from chiso.scoring.tree import merge, rank, score_tree

MAIN = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security",
        "gov_activity", "economy_activity", "society_activity"]

#: DTI 2022 (dti.gov.vn), docs/methodology/published-figures.md#dti-2022: main-indicator values in the order of MAIN,
#: and the published DTI. Listed in their published order.
DTI_2022 = {
    "Da Nang": ([1.0000, 0.9000, 0.8253, 0.8487, 0.7578, 0.8575, 0.7836, 0.5197], 0.8002),
    "Ho Chi Minh City": ([0.8917, 0.9000, 0.8258, 0.6267, 0.5580, 0.8406, 0.7611, 0.3590], 0.7163),
    "Quang Ninh": ([0.9581, 0.9000, 0.7648, 0.6250, 0.5382, 0.8385, 0.5904, 0.4505], 0.7024),
    "Thua Thien-Hue": ([0.9500, 0.9000, 0.6823, 0.6794, 0.6423, 0.8262, 0.6787, 0.3001], 0.6975),
    "Can Tho": ([0.9000, 0.8000, 0.7233, 0.7376, 0.7226, 0.7325, 0.7556, 0.2947], 0.6924),
}


@pytest.fixture(scope="module")
def dti():
    return loader.load("dti-922-province")


def dti_values(province: str) -> dict[str, float]:
    return dict(zip(MAIN, DTI_2022[province][0]))


# --- DTI 922 --------------------------------------------------------------------------------


def test_dti_2022_top_five_reproduce_their_published_dti_and_order(dti):
    scores = {p: score_tree(dti, dti_values(p)) for p in DTI_2022}
    for province, (_values, published) in DTI_2022.items():
        assert scores[province].value == pytest.approx(published, abs=0.0001), province
        assert scores[province].max == 1000
    ranks = rank(scores, tolerance=dti.rank_tolerance)
    assert list(ranks.values()) == [1, 2, 3, 4, 5]
    assert sorted(DTI_2022, key=lambda p: ranks[p]) == list(DTI_2022)


def test_dti_da_nang_points_by_hand(dti):
    # 100 + 90 + 82.53 + 84.87 + 75.78 + 0.8575×200 + 0.7836×150 + 0.5197×150
    # = 433.18 + 171.5 + 117.54 + 77.955 = 800.175 points → 0.800175
    s = score_tree(dti, dti_values("Da Nang"))
    assert s.total_points == pytest.approx(800.175)
    assert s.nodes["gov_activity"].points == pytest.approx(171.5)
    assert (s.nodes["gov_activity"].max, s.nodes["gov_activity"].value) == (200, pytest.approx(0.8575))
    assert s.band is None  # DTI has no bands
    # A value given for a main indicator replaces its component leaf.
    assert s.nodes["awareness.points"].points is None and s.nodes["awareness.points"].source == "superseded"
    assert s.nodes["awareness"].source == "given"
    # Smart city is worth 0 points: no value needed, no ratio to publish.
    assert (s.nodes["smart_city"].points, s.nodes["smart_city"].value) == (0, None)


def test_dti_pillars_share_the_foundation(dti):
    s = score_tree(dti, dti_values("Da Nang"))
    # Foundation 100 + 90 + 82.53 + 84.87 + 75.78 + 0 = 433.18, over 500.
    assert s.groupings["digital_government"].points == pytest.approx(433.18 + 171.5)
    assert s.groupings["digital_government"].max == 700
    assert s.groupings["digital_government"].value == pytest.approx(604.68 / 700)
    assert s.groupings["digital_economy"].value == pytest.approx((433.18 + 117.54) / 650)
    assert s.groupings["digital_society"].value == pytest.approx((433.18 + 77.955) / 650)


def test_dti_component_points_and_published_values_mix(dti):
    # Da Nang's awareness entered as the points of its component leaf, the rest as values.
    values = dti_values("Da Nang")
    del values["awareness"]
    values["awareness.points"] = 100
    s = score_tree(dti, values)
    assert s.nodes["awareness"].source == "computed" and s.nodes["awareness"].value == 1
    assert s.total_points == pytest.approx(800.175)


def test_dti_merger_is_the_mean_of_the_main_indicator_values(dti):
    merged = merge(dti, {"Da Nang": dti_values("Da Nang"), "Can Tho": dti_values("Can Tho")})
    assert set(merged) == set(MAIN)  # smart city (0 points) has no value to average
    assert merged["awareness"] == pytest.approx((1.0 + 0.9) / 2)
    assert merged["society_activity"] == pytest.approx((0.5197 + 0.2947) / 2)
    s = score_tree(dti, merged)
    # Every main indicator is linear in its value, so the total is the mean of the totals:
    # (800.175 + 692.395) / 2 = 746.285.
    assert s.total_points == pytest.approx(746.285)
    assert s.value == pytest.approx(0.746285)


def test_merger_of_a_unit_given_by_components(dti):
    components = {f"{m}.points": v * dti.node(m).max for m, v in dti_values("Quang Ninh").items()}
    merged = merge(dti, {"Quang Ninh": components, "Can Tho": dti_values("Can Tho")})
    assert merged["gov_activity"] == pytest.approx((0.8385 + 0.7325) / 2)
    assert score_tree(dti, merged).total_points == pytest.approx((702.445 + 692.395) / 2)


def test_unscorable_methods_say_why():
    for method_id in ("par-province", "dti-405-province"):
        method = loader.load(method_id)
        with pytest.raises(ChisoError, match="cannot be scored: the maximum points of .* are not known"):
            score_tree(method, {})


# --- a small tree with every rule --------------------------------------------------------------

SMALL = """\
kind: tree
id: "small"
family: "test"
version: "1"
default: true
name: "Thử"
name_en: "Test"
legal_basis:
  - {document: "X/QĐ", title: "t", title_en: "t", confidence: V}
sources: []
confidence: S
levels: [agency]
scale: fraction
max: 100
publish: percent
bands:
  - {id: "A", name: "A", name_en: "A", min: 90, max: 100, confidence: V}
  - {id: "B", name: "B", name_en: "B", min: 80, max: 90, confidence: V}
  - {id: "low", name: "thấp", name_en: "low", min: 0, max: 80, confidence: {mark: "?", note: "lower groups"}}
inputs:
  index_766: {description: "d", description_en: "the unit's 766 total"}
nodes:
  - id: "steer"
    name: "s"
    name_en: "Steering"
    max: 30
    publish: ratio
    children:
      - id: "meetings"
        name: "m"
        name_en: "Meetings"
        max: 20
        rule:
          type: steps
          steps:
            - {at_least: 4, points: 20}
            - {at_least: 3, points: 15}
            - {at_least: 2, points: 10}
            - {at_least: 1, points: 5}
      - {id: "plan", name: "p", name_en: "Plan", max: 10, rule: {type: yes_no}}
  - id: "service"
    name: "s"
    name_en: "Service"
    max: 40
    publish: percent
    children:
      - {id: "online", name: "o", name_en: "Online", max: 10, rule: {type: ratio, target: 0.8}}
      - {id: "on_time", name: "o", name_en: "On time", max: 10, rule: {type: ratio}}
      - id: "index766"
        name: "i"
        name_en: "766"
        max: 20
        rule: {type: formula, expression: "20 * S / 100", inputs: {S: "index_766"}}
  - id: "work"
    name: "w"
    name_en: "Work"
    max: 30
    children:
      - {id: "appraised", name: "a", name_en: "Appraised", max: 10, rule: {type: manual}}
      - {id: "survey", name: "s", name_en: "Survey", max: 20, rule: {type: survey}}
  - {id: "bonus", name: "b", name_en: "Bonus", max: 5, kind: bonus, rule: {type: manual}}
  - {id: "penalty", name: "p", name_en: "Penalty", max: 10, kind: penalty, rule: {type: manual}}
groupings:
  - {id: "core", name: "c", name_en: "Core", nodes: [steer, service]}
merge_rule: {type: mean}
"""

#: 15 + 10 | 7.5 + 9 + 16 | 8 + 15 → criteria 80.5; + 2 bonus − 1 penalty = 81.5.
FULL = {"meetings": 3, "plan": True, "online": 0.6, "on_time": 0.9, "appraised": 8, "survey": 0.75,
        "bonus": 2, "penalty": 1}
INPUTS = {"index_766": 80}


@pytest.fixture(scope="module")
def small(load_tree):
    return load_tree(SMALL)


def points(method, values, node, inputs=INPUTS):
    return score_tree(method, values, inputs=inputs).nodes[node].points


def test_small_tree_by_hand(small):
    s = score_tree(small, FULL, inputs=INPUTS)
    assert s.total_points == pytest.approx(81.5)
    assert s.value == pytest.approx(81.5) and s.percent == pytest.approx(81.5)  # percent of 100
    assert s.band == "B"
    assert s.nodes["steer"].points == 25 and s.nodes["steer"].value == pytest.approx(25 / 30)  # ratio
    assert s.nodes["service"].points == pytest.approx(32.5) and s.nodes["service"].value == pytest.approx(81.25)  # percent
    assert s.nodes["work"].value == 23  # points
    assert {k: v.source for k, v in s.nodes.items()} == {
        "steer": "computed", "meetings": "given", "plan": "given", "service": "computed", "online": "given",
        "on_time": "given", "index766": "computed", "work": "computed", "appraised": "given", "survey": "given",
        "bonus": "given", "penalty": "given",
    }


@pytest.mark.parametrize(("value", "expected"), [(4, 20), (5, 20), (3, 15), (3.5, 15), (2, 10), (1, 5), (0.5, 0), (0, 0)])
def test_steps_take_the_highest_step_reached(small, value, expected):
    assert points(small, FULL | {"meetings": value}, "meetings") == expected


@pytest.mark.parametrize(("value", "expected"), [(True, 10), (False, 0), (1, 10), (0, 0)])
def test_yes_no(small, value, expected):
    assert points(small, FULL | {"plan": value}, "plan") == expected


def test_yes_no_refuses_anything_else(small):
    with pytest.raises(ChisoError, match="node plan: a yes/no node takes true or false"):
        score_tree(small, FULL | {"plan": 0.5}, inputs=INPUTS)
    with pytest.raises(ChisoError, match="yes/no"):
        score_tree(small, FULL | {"plan": "yes"}, inputs=INPUTS)


@pytest.mark.parametrize(("node", "value", "expected"), [
    ("on_time", 0.5, 5), ("on_time", 1.0, 10),
    ("online", 0.4, 5), ("online", 0.8, 10), ("online", 0.95, 10),    # target 80%: 10 × min(1, v / 0.8), capped
])
def test_ratio_is_capped_at_max(small, node, value, expected):
    assert points(small, FULL | {node: value}, node) == pytest.approx(expected)


def test_a_rate_outside_its_scale_is_an_error_naming_node_and_scale(small, load_tree):
    with pytest.raises(ChisoError, match=r"node on_time: 1.3 is outside \[0, 1\] \(a fraction in \[0, 1\]\)"):
        score_tree(small, FULL | {"on_time": 1.3}, inputs=INPUTS)
    with pytest.raises(ChisoError, match=r"node survey: 75 is outside \[0, 1\] \(a fraction: 75 percent is 0.75\)"):
        score_tree(small, FULL | {"survey": 75}, inputs=INPUTS)
    with pytest.raises(ChisoError, match=r"node online: -0.1 is outside \[0, 1\]"):
        score_tree(small, FULL | {"online": -0.1}, inputs=INPUTS)
    # The same tree on a percent scale: every rate, leaf or node, is a percent.
    pct = load_tree(SMALL.replace("scale: fraction\n", "scale: percent\n"))
    on_percent = FULL | {"online": 60, "on_time": 90, "survey": 75}
    assert score_tree(pct, on_percent, inputs=INPUTS).total_points == pytest.approx(81.5)
    values = {k: v for k, v in on_percent.items() if k not in ("online", "on_time")} | {"service": 75, "steer": 50}
    s = score_tree(pct, values, inputs=INPUTS)
    assert (s.nodes["service"].points, s.nodes["steer"].points) == (30, 15)
    with pytest.raises(ChisoError, match=r"node survey: 101 is outside \[0, 100\] \(a percent\)"):
        score_tree(pct, on_percent | {"survey": 101}, inputs=INPUTS)
    # A merger's values are given back on the method's scale.
    merged = merge(pct, {"a": on_percent, "b": on_percent}, inputs={"a": INPUTS, "b": INPUTS})
    assert merged["service"] == pytest.approx(81.25) and merged["steer"] == pytest.approx(83.3333, abs=1e-3)


def test_rates_on_two_scales_are_refused(load_tree):
    """Issue 13: SIPAS leaves took fractions and an inner node a percent, so 0.8409 scored
    as 0.84 %. Without one declared scale such a tree does not load."""
    from chiso.methods.loader import DefinitionError

    with pytest.raises(DefinitionError, match=r"node service: rates on two scales: steer takes a fraction and "
                                              r"service a percent; declare one scale"):
        load_tree(SMALL.replace("scale: fraction\n", ""))
    # A node may declare its own scale, but then the rates of the method are still on two.
    with pytest.raises(DefinitionError, match="rates on two scales"):
        load_tree(SMALL.replace('max: 20, rule: {type: survey}}', 'max: 20, scale: percent, rule: {type: survey}}'))
    with pytest.raises(DefinitionError, match="scale must be one of|fraction, percent"):
        load_tree(SMALL.replace("scale: fraction\n", "scale: permille\n"))


def test_manual_points_within_0_and_max(small):
    assert points(small, FULL | {"appraised": 10}, "appraised") == 10
    with pytest.raises(ChisoError, match=r"node appraised: 10.5 is outside \[0, 10\]"):
        score_tree(small, FULL | {"appraised": 10.5}, inputs=INPUTS)
    with pytest.raises(ChisoError, match="node appraised: -1 is outside"):
        score_tree(small, FULL | {"appraised": -1}, inputs=INPUTS)


def test_survey_is_a_rate_times_max(small):
    assert points(small, FULL | {"survey": 0.9}, "survey") == pytest.approx(18)
    with pytest.raises(ChisoError, match=r"node survey: 1.2 is outside \[0, 1\]"):
        score_tree(small, FULL | {"survey": 1.2}, inputs=INPUTS)


def test_formula_reads_external_inputs_and_is_clamped(small):
    assert points(small, FULL, "index766", {"index_766": 92.5}) == pytest.approx(18.5)
    assert points(small, FULL, "index766", {"index_766": 130}) == 20  # clamped to max
    with pytest.raises(ChisoError, match="node index766: its formula needs the input index_766"):
        score_tree(small, FULL, inputs={})
    with pytest.raises(ChisoError, match="computed from its formula"):
        score_tree(small, FULL | {"index766": 10}, inputs=INPUTS)


def test_formula_over_another_node(load_tree):
    # 10 points × the published ratio of "steer" (25 / 30) = 8.333...
    text = SMALL.replace('rule: {type: formula, expression: "20 * S / 100", inputs: {S: "index_766"}}',
                         'rule: {type: formula, expression: "20 * R", nodes: {R: "steer"}}')
    method = load_tree(text)
    assert points(method, FULL, "index766", {}) == pytest.approx(20 * 25 / 30)


def test_bonus_is_added_and_penalty_subtracted_within_their_caps(small):
    base = FULL | {"bonus": 0, "penalty": 0}
    assert score_tree(small, base, inputs=INPUTS).total_points == pytest.approx(80.5)
    assert score_tree(small, base | {"bonus": 5}, inputs=INPUTS).total_points == pytest.approx(85.5)
    assert score_tree(small, base | {"penalty": 10}, inputs=INPUTS).total_points == pytest.approx(70.5)
    without = {k: v for k, v in FULL.items() if k not in ("bonus", "penalty")}
    assert score_tree(small, without, inputs=INPUTS).total_points == pytest.approx(80.5)  # none given: none counted
    with pytest.raises(ChisoError, match=r"node bonus: 6 is outside \[0, 5\]"):
        score_tree(small, base | {"bonus": 6}, inputs=INPUTS)
    penalty = score_tree(small, base | {"penalty": 4}, inputs=INPUTS).nodes["penalty"]
    assert (penalty.points, penalty.max) == (4, 10)  # the deduction, as entered


def test_total_stays_within_0_and_max_unless_bonus_may_exceed(small, load_tree):
    top = {"meetings": 4, "plan": True, "online": 1, "on_time": 1, "appraised": 10, "survey": 1}
    assert score_tree(small, top | {"bonus": 5}, inputs={"index_766": 100}).total_points == 100
    beyond = load_tree(SMALL.replace("publish: percent\nbands:", "publish: percent\nbonus_beyond_max: true\nbands:"))
    s = score_tree(beyond, top | {"bonus": 5}, inputs={"index_766": 100})
    assert s.total_points == 105 and s.band == "A"
    low = {"meetings": 0, "plan": False, "online": 0, "on_time": 0, "appraised": 0, "survey": 0, "penalty": 10}
    assert score_tree(small, low, inputs={"index_766": 0}).total_points == 0  # not below 0


def test_grouping_is_points_over_the_sum_of_maxima(small):
    g = score_tree(small, FULL, inputs=INPUTS).groupings["core"]
    assert (g.points, g.max) == (pytest.approx(57.5), 70)
    assert g.value == pytest.approx(57.5 / 70)


@pytest.mark.parametrize(("appraised", "band"), [(10, "B"), (8, "B"), (0, "low")])
def test_bands_on_the_percent(small, appraised, band):
    # 81.5 − 8 + appraised: 83.5 → B, 81.5 → B, 73.5 → low
    assert score_tree(small, FULL | {"appraised": appraised}, inputs=INPUTS).band == band


def test_band_boundaries(small):
    # steer (30) and work (30) given as values; service from its leaves (40 at most).
    base = {"online": 1, "on_time": 1}
    assert score_tree(small, base | {"steer": 1, "work": 30}, inputs={"index_766": 100}).band == "A"   # 100
    assert score_tree(small, base | {"steer": 1, "work": 20}, inputs={"index_766": 100}).band == "A"   # 90
    assert score_tree(small, base | {"steer": 1, "work": 19.99}, inputs={"index_766": 100}).band == "B"
    assert score_tree(small, base | {"steer": 1, "work": 10}, inputs={"index_766": 100}).band == "B"   # 80
    assert score_tree(small, base | {"steer": 1, "work": 9.99}, inputs={"index_766": 100}).band == "low"


def test_an_inner_value_replaces_its_children(small):
    # service given as a fraction of its 40 points (the method's scale): 0.75 = 30 points; its leaves are not read.
    values = {k: v for k, v in FULL.items() if k not in ("online", "on_time")} | {"service": 0.75}
    s = score_tree(small, values, inputs={})
    assert s.nodes["service"].points == 30 and s.nodes["service"].source == "given"
    assert all(s.nodes[n].points is None and s.nodes[n].source == "superseded" for n in ("online", "on_time", "index766"))
    assert s.total_points == pytest.approx(81.5 - 32.5 + 30)
    # A value for a node wins over values given below it.
    assert score_tree(small, FULL | {"service": 0.75}, inputs=INPUTS).total_points == pytest.approx(79)
    with pytest.raises(ChisoError, match=r"node service: 75 is outside \[0, 1\] \(a fraction: 75 percent is 0.75\)"):
        score_tree(small, FULL | {"service": 75}, inputs=INPUTS)


def test_missing_leaves_are_listed_or_scored_zero(small):
    values = {k: v for k, v in FULL.items() if k not in ("plan", "survey")}
    with pytest.raises(ChisoError, match="no value for 2 leaves: plan, survey"):
        score_tree(small, values, inputs=INPUTS)
    s = score_tree(small, values, inputs=INPUTS, missing="zero")
    assert s.total_points == pytest.approx(81.5 - 10 - 15) and s.missing == ("plan", "survey")


def test_unknown_node_is_refused(small):
    with pytest.raises(ChisoError, match="small has no node 'steering'"):
        score_tree(small, FULL | {"steering": 1}, inputs=INPUTS)
    with pytest.raises(ChisoError, match="not a number"):
        score_tree(small, FULL | {"appraised": "8"}, inputs=INPUTS)


def test_merge_mean_of_former_units(small):
    a = FULL                                                       # 81.5 points
    b = FULL | {"meetings": 1, "plan": False, "appraised": 0, "bonus": 0}   # 81.5 − 10 − 10 − 8 − 2 = 51.5
    merged = merge(small, {"a": a, "b": b}, inputs={"a": INPUTS, "b": INPUTS})
    # steer: 25/30 and 5/30 → mean ratio 0.5; service: 81.25% both; work 23 and 15 → 19;
    # bonus 2 and 0 → 1; penalty 1 and 1 → 1.
    assert merged == {"steer": pytest.approx(0.5), "service": pytest.approx(0.8125), "work": pytest.approx(19),
                      "bonus": pytest.approx(1), "penalty": pytest.approx(1)}
    s = score_tree(small, merged)
    assert s.total_points == pytest.approx((81.5 + 51.5) / 2)


def test_merge_needs_a_rule(load_tree):
    method = load_tree(SMALL.replace("merge_rule: {type: mean}\n", ""))
    with pytest.raises(ChisoError, match="has no merge rule"):
        merge(method, {"a": FULL})


def test_ties_within_0_005_points_share_a_rank(small):
    def total(t):
        return score_tree(small, {"steer": 1, "service": 1, "work": t - 70}, inputs={})

    scores = {"a": total(90.0), "b": total(89.996), "c": total(89.99), "d": total(80), "e": total(80.004)}
    assert rank(scores) == {"a": 1, "b": 1, "c": 3, "d": 4, "e": 4}
    assert small.rank_tolerance == 0.005


def test_mean_and_weighted_aggregates(load_tree):
    sipas = loader.load("sipas-1001")
    factors = {"access": 0.9, "procedure": 0.8, "civil_servants": 0.7, "results": 0.6, "feedback": 0.5}
    s = score_tree(sipas, factors | {"policy": 0.8})
    # service delivery = mean(90, 80, 70, 60, 50) = 70; the index = mean(80, 70) = 75 %.
    assert s.nodes["service_delivery"].value == pytest.approx(70)
    assert s.value == pytest.approx(75) and s.total_points == pytest.approx(75)
    # SIPAS 2024 blocks (docs/methodology/sipas.md#aggregation): 83.84 % and 84.09 % → a mean of 83.965 %,
    # both entered on the method's one scale, fractions (issue 13: 0.8409 once scored 42.34).
    assert score_tree(sipas, {"policy": 0.8384, "service_delivery": 0.8409}).value == pytest.approx(83.965)
    with pytest.raises(ChisoError, match=r"node service_delivery: 84.09 is outside \[0, 1\] \(a fraction: 84.09 percent is 0.8409\)"):
        score_tree(sipas, {"policy": 0.8384, "service_delivery": 84.09})

    weighted = load_tree(SMALL.replace(
        "    max: 30\n    children:\n      - {id: \"appraised\"",
        "    max: 30\n    aggregate: weighted\n    children:\n      - {id: \"appraised\"").replace(
        'max: 10, rule: {type: manual}}', 'max: 10, weight: 3, rule: {type: manual}}').replace(
        'max: 20, rule: {type: survey}}', 'max: 20, weight: 1, rule: {type: survey}}'))
    # work = 30 × (3 × 8/10 + 1 × 15/20) / 4 = 30 × 3.15 / 4 = 23.625
    assert points(weighted, FULL, "work") == pytest.approx(23.625)


def test_children_exceeding_max_scaled_or_capped(load_tree):
    exceed = SMALL.replace('{id: "appraised", name: "a", name_en: "Appraised", max: 10,',
                           '{id: "appraised", name: "a", name_en: "Appraised", max: 20,')
    scaled = load_tree(exceed.replace("    max: 30\n    children:\n      - {id: \"appraised\"",
                                      "    max: 30\n    children_exceed_max: scale\n    children:\n      - {id: \"appraised\"", 1))
    capped = load_tree(exceed.replace("    max: 30\n    children:\n      - {id: \"appraised\"",
                                      "    max: 30\n    children_exceed_max: cap\n    children:\n      - {id: \"appraised\"", 1))
    # appraised 8 / 20, survey 15 / 20: sum 23 of 40 → scaled 23 × 30 / 40 = 17.25; capped min(23, 30) = 23.
    assert points(scaled, FULL, "work") == pytest.approx(17.25)
    assert points(capped, FULL, "work") == 23
    assert points(capped, FULL | {"appraised": 20, "survey": 1}, "work") == 30


def test_a_draft_without_an_input_scores_its_formula_leaf_as_missing(small):
    """A round's draft may not have the external input yet (the 766 score): results list the
    formula leaf as missing, with 0 points, instead of failing for the whole round."""
    draft = score_tree(small, FULL, inputs={}, missing="zero")
    with_input = score_tree(small, FULL, inputs=INPUTS, missing="zero")
    formula_leaf = "index766"
    assert with_input.nodes[formula_leaf].points == 16 and formula_leaf not in with_input.missing
    assert formula_leaf in draft.missing
    assert draft.nodes[formula_leaf].points == 0
    assert draft.total_points == pytest.approx(with_input.total_points - with_input.nodes[formula_leaf].points)
    with pytest.raises(ChisoError, match="index_766"):
        score_tree(small, FULL, inputs={}, missing="error")
