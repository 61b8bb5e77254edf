"""Rates into points, checked by hand against docs/methodology/766.md.

Counts are given per measure, as a store would hand them over. ``perfect`` gives every
measure the same count, so every rate is 1 and every unit scores 100; each test then
changes the few measures it is about and states the points it expects, computed by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chiso.errors import ChisoError
from chiso.methods import loader
from chiso.scoring.rules import Adjustment, apply_adjustments, classify, round_rate, score_unit


@pytest.fixture(scope="module")
def portal():
    return loader.load("766-portal-2025")


@pytest.fixture(scope="module")
def formula2022():
    return loader.load("766-formula-2022")


def perfect(method, value: float = 100, **changes: float) -> dict[str, float]:
    counts = {name: float(value) for name in method.measures}
    counts.update(changes)
    return counts


def test_every_rate_one_scores_100_excellent(portal):
    score = score_unit(portal, perfect(portal), level="province")
    assert score.total == pytest.approx(100)
    assert score.max_total == 100
    assert score.band == "excellent"
    assert {g: s.points for g, s in score.groups.items()} == pytest.approx(
        {"CKMB": 18, "TDGQ": 20, "CLGQ": 12, "TTTT": 10, "MDSH": 22, "MDHL": 18}
    )


def test_linear_indicator(portal):
    # 1.4: 6 × 191 / 300 = 3.82
    s = score_unit(portal, perfect(portal, dossiers_synced=191, dossiers_received=300), level="province")
    ind = s.indicators["1.4"]
    assert (ind.numerator, ind.denominator) == (191, 300)
    assert ind.rate == pytest.approx(191 / 300)
    assert ind.points == pytest.approx(3.82)
    assert s.groups["CKMB"].points == pytest.approx(6 + 4 + 2 + 3.82)


@pytest.mark.parametrize(
    ("numerator", "points"),
    [
        (900, 6.0),  # at the 90% target: full points
        (450, 3.0),  # half the target: half the points (6 × 0.45 / 0.9)
        (850, 6 * 0.85 / 0.9),  # just under: 5.666…
        (950, 6.0),  # over the target: still 6, never more
        (0, 0.0),
    ],
)
def test_target_indicator_at_under_and_over_target(portal, numerator, points):
    s = score_unit(
        portal, perfect(portal, settled_on_time_without_complaint=numerator, settlement_population=1000, settled_on_time=1000),
        level="province",
    )
    assert s.indicators["5.4"].points == pytest.approx(points)
    assert s.indicators["5.4"].rate == pytest.approx(numerator / 1000)


def test_target_80_percent_for_reuse(portal):
    # 4.3: 2 × min(1, 0.3 / 0.8) = 0.75; at 0.8 and over: 2
    s = score_unit(portal, perfect(portal, dossiers_reused=30), level="commune")
    assert s.indicators["4.3"].points == pytest.approx(0.75)
    s = score_unit(portal, perfect(portal, dossiers_reused=80), level="commune")
    assert s.indicators["4.3"].points == pytest.approx(2)


def test_clgq_formula_with_methodologies_numbers(portal):
    # CLGQ = min(2, 2·A/0.8) + 4·B + min(6, 6·C/0.5); A = 0.6, B = 0.5, C = 0.3
    # → min(2, 1.5) + 2 + min(6, 3.6) = 1.5 + 2 + 3.6 = 7.1
    counts = perfect(
        portal, procedures_online=60, procedures_all=100, online_services_with_dossier=30,
        dossiers_online_synced=30, dossiers_received=100,
    )
    s = score_unit(portal, counts, level="province")
    assert s.groups["CLGQ"].points == pytest.approx(7.1)
    assert s.groups["CLGQ"].max == 12
    # Each indicator reports its own ratio and the term of the formula that reads it.
    assert s.indicators["3.1"].rate == pytest.approx(0.6) and s.indicators["3.1"].points == pytest.approx(1.5)
    assert s.indicators["3.2"].rate == pytest.approx(0.5) and s.indicators["3.2"].points == pytest.approx(2.0)
    assert s.indicators["3.3"].rate == pytest.approx(0.3) and s.indicators["3.3"].points == pytest.approx(3.6)


def test_clgq_caps_each_term_at_its_target(portal):
    # A = 0.9 ≥ 0.8 → 2; B = 0.25 → 1; C = 0.6 ≥ 0.5 → 6: 9
    counts = perfect(
        portal, procedures_online=90, procedures_all=100, online_services_with_dossier=22.5,
        dossiers_online_synced=60, dossiers_received=100,
    )
    assert score_unit(portal, counts, level="province").groups["CLGQ"].points == pytest.approx(9)


def test_tttt_formula_with_methodologies_numbers(portal):
    # TTTT = 6·A + min(2, 2.5·B) + 2.5·C; A = 0.9, B = 0.5, C = 0.4
    # → 5.4 + min(2, 1.25) + 1.0 = 7.65
    counts = perfect(
        portal, dossiers_paid_online=90, dossiers_with_fee=100, fee_procedures_paid_online=20,
        fee_procedures_integrated=16, fee_procedures=40,
    )
    s = score_unit(portal, counts, level="province")
    assert s.groups["TTTT"].points == pytest.approx(7.65)
    assert [s.indicators[i].points for i in ("3.6", "3.5b", "3.5")] == pytest.approx([5.4, 1.25, 1.0])


def test_tttt_zero_denominators_count_zero(portal):
    # No fee procedure: B and C count 0; A = 0.5 → 3
    counts = perfect(portal, dossiers_paid_online=50, dossiers_with_fee=100, fee_procedures=0,
                     fee_procedures_paid_online=0, fee_procedures_integrated=0)
    s = score_unit(portal, counts, level="commune")
    assert s.groups["TTTT"].points == pytest.approx(3.0)
    assert s.indicators["3.5"].rate is None and s.indicators["3.5"].reason == "zero_denominator"
    assert s.indicators["3.5"].points == 0 and s.indicators["3.5b"].points == 0


def test_tttt_is_capped_at_its_maximum(portal):
    # Every ratio 1: 6 + 2 + min(2, 2.5) = 10, each term within its indicator's maximum.
    s = score_unit(portal, perfect(portal), level="province")
    assert s.groups["TTTT"].formula_value == pytest.approx(10)
    assert s.groups["TTTT"].points == 10
    assert [s.indicators[i].points for i in ("3.6", "3.5b", "3.5")] == pytest.approx([6, 2, 2])


def test_zero_denominator_not_applicable_drops_the_indicator_and_its_max(portal):
    # 1.4 with no dossier received: not applicable; CKMB out of 12, 1.1–1.3 full → 12/12.
    s = score_unit(portal, perfect(portal, dossiers_received=0, dossiers_synced=0), level="province")
    ind = s.indicators["1.4"]
    assert (ind.applicable, ind.points, ind.rate, ind.reason) == (False, None, None, "zero_denominator")
    assert (s.groups["CKMB"].points, s.groups["CKMB"].max) == (pytest.approx(12), 12)


def test_zero_denominator_full_gives_full_points(portal):
    # 5.2 and 5.3: a unit that received no feedback scores 6 + 6.
    s = score_unit(portal, perfect(portal, feedback_received=0, feedback_on_time=0, feedback_satisfied_on_time=0), level="commune")
    assert s.indicators["5.2"].points == 6 and s.indicators["5.3"].points == 6
    assert s.indicators["5.2"].applicable and s.indicators["5.2"].rate is None


def test_zero_denominator_zero_gives_no_points(portal):
    # 5.4: no dossiers → 0 points, still counted out of 6 (as is 2.1's: not applicable).
    s = score_unit(portal, perfect(portal, settlement_population=0, settled_on_time=0, settled_on_time_without_complaint=0), level="commune")
    assert s.indicators["5.4"].points == 0 and s.indicators["5.4"].applicable
    assert s.groups["MDHL"].max == 18 and s.groups["MDHL"].points == pytest.approx(12)
    assert not s.groups["TDGQ"].applicable and s.groups["TDGQ"].points is None


def test_out_of_scope_at_commune_scores_full_points(portal):
    # 1.1–1.3 are provincial: at a commune they score full points without their measures.
    counts = {k: v for k, v in perfect(portal, dossiers_synced=50).items() if not k.startswith("procedures_published")}
    s = score_unit(portal, counts, level="commune")
    for i in ("1.1", "1.2", "1.3"):
        ind = s.indicators[i]
        assert (ind.in_scope, ind.applicable, ind.points, ind.numerator, ind.reason) == (False, True, ind.max, None, "outside_scope")
    assert s.groups["CKMB"].points == pytest.approx(6 + 4 + 2 + 3)


def test_out_of_scope_not_applicable_as_a_parameter(portal):
    method = replace(portal, outside_scope="not_applicable")
    s = score_unit(method, perfect(method, dossiers_synced=50), level="commune")
    assert not s.indicators["1.1"].applicable and s.indicators["1.1"].points is None
    assert (s.groups["CKMB"].points, s.groups["CKMB"].max) == (pytest.approx(3), 6)
    # 4.2b (copy certification) is out of scope for a provincial department.
    s = score_unit(method, perfect(method), level="agency")
    assert not s.indicators["4.2b"].applicable and s.groups["MDSH"].max == 20


def test_total_is_over_applicable_groups_only(portal):
    # An agency with no dossier at all and 4.2b not applicable: MDSH drops out entirely,
    # 1.4 and 2.1 drop out, 3.3 and 5.4 count 0.
    method = replace(portal, outside_scope="not_applicable")
    counts = perfect(method, dossiers_received=0, dossiers_synced=0, dossiers_online_synced=0,
                     dossiers_paper_result=0, dossiers_e_result=0, dossiers_digitised=0, dossiers_reused=0,
                     dossiers_digitised_all=0, dossiers_digitised_shared=0, dossiers_population_db=0,
                     procedures_with_dossiers=0, procedures_using_population_db=0,
                     settlement_population=0, settled_on_time=0, settled_on_time_without_complaint=0)
    s = score_unit(method, counts, level="agency")
    assert not s.groups["MDSH"].applicable and not s.groups["TDGQ"].applicable
    # CKMB 12/12, CLGQ 2 + 4 + 0 = 6/12, TTTT 10/10, MDHL 6 + 6 + 0 = 12/18
    assert s.total == pytest.approx(12 + 6 + 10 + 12)
    assert s.max_total == 12 + 12 + 10 + 18
    assert s.normalised == pytest.approx(40 * 100 / 52)
    assert s.band == "good"  # 76.9 on the 100 scale


def test_no_applicable_group_has_no_total(portal):
    method = replace(portal, groups=tuple(g for g in portal.groups if g.id == "TDGQ"))
    s = score_unit(method, {"settled_on_time": 0, "settlement_population": 0, "settlement_days_total": 0,
                            "settled_in_period": 0}, level="province")
    assert (s.total, s.normalised, s.band, s.max_total) == (None, None, None, 0)


def test_bac_ninh_late_2025(portal):
    """Published group scores 15.82 + 19.45 + 8.53 + 10.00 + 17.86 + 21.17 = 92.83 [V arithmetic],
    reproduced from counts chosen to give each published group score."""
    published = {"CKMB": 15.82, "TDGQ": 19.45, "CLGQ": 8.53, "TTTT": 10.00, "MDHL": 17.86, "MDSH": 21.17}
    assert sum(published.values()) == pytest.approx(92.83, abs=1e-9)
    counts = perfect(
        portal,
        # CKMB: 6 + 4 + 2 + 6 × 191/300 (3.82) = 15.82
        dossiers_synced=191, dossiers_received=300,
        procedures_all=400, procedures_complete=400,
        # TDGQ: 20 × 1945/2000 = 19.45
        settled_on_time=1945, settlement_population=2000,
        # CLGQ: min(2, 2 × 1/0.8) + 4 × 253/400 + min(6, 6 × (100/300)/0.5) = 2 + 2.53 + 4 = 8.53
        procedures_online=400, online_services_with_dossier=253, dossiers_online_synced=100,
        # TTTT: 6 × 1 + min(2, 2.5 × 0.8) + 2.5 × 0.8 = 10
        fee_procedures=50, fee_procedures_paid_online=40, fee_procedures_integrated=40,
        # MDHL: no feedback (6 + 6) + 6 × min(1, 0.879/0.9) (5.86) = 17.86
        feedback_received=0, feedback_on_time=0, feedback_satisfied_on_time=0, feedback_classified=0,
        settled_on_time_without_complaint=1758,
        # MDSH: 6 + 4 + 2 + 2 + 4 × 317/400 (3.17) + 2 + 2 = 21.17
        dossiers_digitised=300, dossiers_reused=300, dossiers_population_db=300,
        dossiers_digitised_all=400, dossiers_digitised_shared=317,
    )
    s = score_unit(portal, counts, level="province")
    assert {g: s.groups[g].points for g in published} == pytest.approx(published, abs=1e-9)
    assert s.total == pytest.approx(92.83, abs=1e-9)
    assert s.total == pytest.approx(sum(g.points for g in s.groups.values()), abs=1e-12)
    assert s.band == "excellent"


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, "excellent"), (90, "excellent"), (89.99, "good"), (70, "good"), (69.99, "average"),
     (50, "average"), (49.99, "weak"), (0, "weak"), (-1, "weak"), (None, None)],
)
def test_bands(portal, score, band):
    assert classify(portal.bands, score) == band


def test_adjustments_are_points_with_reason_and_author(portal):
    counts = perfect(portal, settled_on_time=1945, settlement_population=2000, settled_on_time_without_complaint=2000)
    s = score_unit(portal, counts, level="commune")
    assert s.total == pytest.approx(99.45)
    cut = apply_adjustments(s, [Adjustment(-2, "technical deduction: system errors in week 47", "appraiser@68")])
    assert cut.total == pytest.approx(97.45) and cut.computed_total == pytest.approx(99.45)
    assert cut.adjustments[0].reason.startswith("technical deduction")
    # Adjusting again accumulates, and the band is read again: 99.45 − 2 − 9.5 = 87.95.
    again = apply_adjustments(cut, [{"points": -9.5, "reason": "late report", "author": "office"}])
    assert again.total == pytest.approx(87.95) and again.band == "good" and len(again.adjustments) == 2
    # Never below 0 nor above the maximum.
    assert apply_adjustments(s, [Adjustment(-500, "x", "y")]).total == 0
    assert apply_adjustments(s, [Adjustment(+5, "x", "y")]).total == 100
    assert s.adjustments == ()  # the original is unchanged


@pytest.mark.parametrize(
    "bad", [{"points": -2, "reason": "", "author": "a"}, {"points": -2, "reason": "r", "author": " "},
            {"points": "2", "reason": "r", "author": "a"}, {"points": float("nan"), "reason": "r", "author": "a"}],
)
def test_adjustments_need_points_reason_and_author(portal, bad):
    s = score_unit(portal, perfect(portal), level="province")
    with pytest.raises(ChisoError):
        apply_adjustments(s, [bad])


def test_missing_measure_and_unknown_level_are_refused(portal):
    counts = perfect(portal)
    del counts["dossiers_synced"]
    with pytest.raises(ChisoError, match="dossiers_synced"):
        score_unit(portal, counts, level="province")
    with pytest.raises(ChisoError, match="district"):
        score_unit(portal, perfect(portal), level="district")
    with pytest.raises(ChisoError, match="negative"):
        score_unit(portal, perfect(portal, dossiers_synced=-1), level="province")


def test_rates_are_exact_unless_the_method_rounds_them(portal):
    # 2.1 with 2 of 3 on time: exact 20 × 2/3 = 13.333…; rounded to 66.67% → 13.334
    counts = perfect(portal, settled_on_time=2, settlement_population=3)
    assert score_unit(portal, counts, level="province").indicators["2.1"].points == pytest.approx(40 / 3)
    rounded = score_unit(replace(portal, rate_rounding=2), counts, level="province").indicators["2.1"]
    assert rounded.rate == pytest.approx(0.6667, abs=1e-12) and rounded.points == pytest.approx(13.334)
    assert round_rate(0.123449, 2) == pytest.approx(0.1234) and round_rate(0.123450, 2) == pytest.approx(0.1235)


def test_information_indicators_report_without_points(portal):
    s = score_unit(portal, perfect(portal, settlement_days_total=3600, settled_in_period=900), level="province")
    assert s.indicators["2.2"].rate == pytest.approx(4.0)  # days
    assert s.indicators["2.2"].points == 0 and s.indicators["2.2"].max == 0


def test_formula_2022_reading(formula2022):
    # 4.2 target 80%: 4 × 0.7 / 0.8 = 3.5; CLGQ: 12 × 0.4 = 4.8 on 3.3 alone.
    counts = perfect(formula2022, dossiers_digitised=70, dossiers_end_to_end_online=40,
                     dossiers_eligible_full_online=100, procedures_online=10)
    s = score_unit(formula2022, counts, level="district")
    assert s.indicators["4.2"].points == pytest.approx(3.5)
    assert s.groups["CLGQ"].points == pytest.approx(4.8)
    assert s.indicators["3.1"].points == 0 and s.indicators["3.1"].rate == pytest.approx(0.1)
    # TTTT scored one by one, capped at 10 by its targets: 6 + 2 + 2.
    assert s.groups["TTTT"].points == pytest.approx(10) and s.groups["TTTT"].formula_value is None


def test_score_is_plain_data(portal):
    data = score_unit(portal, perfect(portal), level="province").to_dict()
    assert json.loads(json.dumps(data))["groups"]["CKMB"]["points"] == pytest.approx(18)
    assert set(data["indicators"]["3.3"]) >= {"numerator", "denominator", "rate", "points", "max", "applicable"}


def test_score_many_equals_score_unit_one_by_one():
    import gc

    from chiso.methods.loader import default_method
    from chiso.scoring.rules import score_many

    method = default_method("766")
    names = set(method.measures)
    counts = {
        ("a", "p1"): {n: 10.0 for n in names},
        ("a", "p2"): {n: float(i % 7) for i, n in enumerate(sorted(names))},
        ("b", "p1"): {n: 0.0 for n in names},
    }
    levels = {"a": "commune", "b": "agency"}
    enabled = gc.isenabled()
    many = score_many(method, counts, levels)
    assert gc.isenabled() == enabled
    for key, values in counts.items():
        one = score_unit(method, values, level=levels[key[0]])
        assert many[key].to_dict() == one.to_dict()


@pytest.mark.parametrize("method_id", ["766-portal-2025", "766-formula-2022"])
def test_no_indicator_can_exceed_its_maximum(method_id):
    # Every rate at 100 % (points only grow with a rate): each indicator at most its maximum
    # (3.5's 2.5 × C term scored 2,1875 of 2 before it was capped), the groups add up.
    from chiso.methods.loader import load

    method = load(method_id)
    for level in method.levels:
        score = score_unit(method, dict.fromkeys(method.measures, 100.0), level=level)
        for ind in score.indicators.values():
            assert ind.points is None or ind.points <= ind.max + 1e-9, (level, ind)
        for g in score.groups.values():
            assert g.points is None or g.points <= g.max + 1e-9, (level, g)
        assert score.total is not None and score.total <= score.max_total + 1e-9


@pytest.mark.parametrize("method_id", ["766-portal-2025", "766-formula-2022"])
def test_a_unit_without_records_has_no_score(method_id):
    from chiso.methods.loader import load

    method = load(method_id)
    counts = dict.fromkeys(method.measures, 0.0)
    counts.update({n: 5.0 for n, m in method.measures.items() if m.basis == "procedure"})  # a catalogue, no records
    score = score_unit(method, counts, level="commune")
    assert (score.total, score.band, score.normalised, score.has_data) == (None, None, None, False)
    assert all(i.points is None for i in score.indicators.values())


@pytest.mark.parametrize("method_id", ["766-portal-2025", "766-formula-2022"])
def test_unit_total_is_score_units_total_and_maximum_to_the_bit(method_id):
    # The advice re-scores through unit_total: the same floats as score_unit's, on varied
    # counts (caps, zero denominators, rates over 1, no records) at every level.
    import random

    from chiso.methods.loader import load
    from chiso.scoring.rules import unit_total

    method = load(method_id)
    rng = random.Random(15)
    cases = [dict.fromkeys(method.measures, 0.0), dict.fromkeys(method.measures, 100.0)]
    for _ in range(200):
        cases.append({n: float(rng.choice([0, 0, 1, 3, 7, 40, 99, 100, 250])) + rng.choice([0.0, 0.5])
                      for n in method.measures})
    for level in method.levels:
        for c in cases:
            score = score_unit(method, c, level=level)
            assert unit_total(method, c, level=level) == (score.total, score.max_total), (level, c)
