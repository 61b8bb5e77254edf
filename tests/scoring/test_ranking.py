"""Standard competition ranking (1, 2, 2, 4) and moves between periods."""

from __future__ import annotations

import pytest

from chiso.scoring.ranking import changes, competition_rank, podium, published, published_rank


def test_ties_share_a_rank_and_the_next_is_skipped():
    ranks = competition_rank({"a": 92.83, "b": 88.0, "c": 88.0, "d": 85.59, "e": 70.1})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 5}


def test_three_way_tie_at_the_top():
    assert competition_rank({"x": 90, "y": 90, "z": 90, "w": 10}) == {"x": 1, "y": 1, "z": 1, "w": 4}


def test_dti_2022_shape_two_share_15th_next_is_17th():
    values = {f"p{i}": 100 - i for i in range(1, 15)}  # ranks 1..14
    values |= {"p15": 50.0, "p15b": 50.0, "p17": 49.0}
    ranks = competition_rank(values)
    assert (ranks["p15"], ranks["p15b"], ranks["p17"]) == (15, 15, 17)


def test_tolerance_ties_values_close_to_the_first_of_the_tie():
    values = {"a": 90.00, "b": 89.995, "c": 89.99, "d": 89.0}
    assert competition_rank(values) == {"a": 1, "b": 2, "c": 3, "d": 4}
    # b is within 0.005 of a; c is 0.01 below a (the value that opened the tie), so not tied,
    # even though it is within 0.005 of b: ties do not drift along a run of values.
    assert competition_rank(values, tolerance=0.005) == {"a": 1, "b": 1, "c": 3, "d": 4}
    assert competition_rank(values, tolerance=0.01) == {"a": 1, "b": 1, "c": 1, "d": 4}


def test_float_noise_still_ties():
    assert competition_rank({"a": 15.82 + 19.45 + 8.53 + 10.00 + 17.86 + 21.17, "b": 92.83}) == {"a": 1, "b": 1}


def test_none_and_nan_are_unranked():
    ranks = competition_rank({"a": None, "b": 50.0, "c": float("nan"), "d": 60.0})
    assert ranks == {"a": None, "b": 2, "c": None, "d": 1}
    assert competition_rank({}) == {}


def test_negative_tolerance_is_refused():
    with pytest.raises(ValueError):
        competition_rank({"a": 1.0}, tolerance=-0.1)


def test_changes_across_periods():
    previous = {"lao_cai": (13, 80.1), "bac_ninh": (2, 91.0), "gone": (5, 70.0)}
    current = {"lao_cai": (8, 85.59), "bac_ninh": (3, 92.83), "new": (1, 95.0), "unranked": (None, None)}
    moved = changes(current, previous)
    # Lao Cai 2024: 8th, up 5 places.
    assert moved["lao_cai"]["rank_change"] == 5
    assert moved["lao_cai"]["value_change"] == pytest.approx(5.49)
    assert moved["bac_ninh"] == {"rank_change": -1, "value_change": pytest.approx(1.83)}
    assert moved["new"] == {"rank_change": None, "value_change": None}
    assert moved["unranked"] == {"rank_change": None, "value_change": None}
    assert "gone" not in moved


def test_rank_then_changes_end_to_end():
    before = {"a": 80.0, "b": 85.0, "c": 70.0}
    after = {"a": 90.0, "b": 85.0, "c": 85.0}
    r0, r1 = competition_rank(before), competition_rank(after)
    moved = changes({k: (r1[k], after[k]) for k in after}, {k: (r0[k], before[k]) for k in before})
    assert r1 == {"a": 1, "b": 2, "c": 2}
    assert {k: v["rank_change"] for k, v in moved.items()} == {"a": 1, "b": -1, "c": 1}


def test_podium_names_each_unit_once_and_a_last_for_any_group_with_two_ranks():
    assert podium({"a": 1, "b": 2, "c": 3}) == {"first": ["a"], "second": ["b"], "third": [], "last": ["c"]}
    # A group of two: a first and a last, not the same unit second and last.
    assert podium({"a": 1, "b": 2}) == {"first": ["a"], "second": [], "third": [], "last": ["b"]}
    assert podium({"a": 1, "b": 2, "c": 3, "d": 4})["third"] == ["c"]
    assert podium({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})["last"] == ["e"]


def test_podium_ties_fill_a_place_with_several_and_empty_the_places_they_cover():
    named = podium({"a": 1, "b": 1, "c": 3, "d": 4, "e": 4})
    assert named == {"first": ["a", "b"], "second": [], "third": ["c"], "last": ["d", "e"]}
    assert podium({"a": 1, "b": 2, "c": 2}) == {"first": ["a"], "second": [], "third": [], "last": ["b", "c"]}


def test_podium_names_no_last_when_every_unit_shares_one_rank_and_skips_the_unranked():
    assert podium({"a": 1}) == {"first": ["a"], "second": [], "third": [], "last": []}
    assert podium({"a": 1, "b": 1})["last"] == []
    assert podium({"x": None, "a": 1, "y": None, "b": 2}) == {"first": ["a"], "second": [], "third": [],
                                                               "last": ["b"]}
    assert podium({}) == {"first": [], "second": [], "third": [], "last": []}


def test_podium_keeps_the_order_it_is_given():
    assert podium({"z": 1, "a": 1, "m": 3})["first"] == ["z", "a"]


def test_equal_published_scores_share_a_rank():
    # 88.1650 and 88.1749 are both published as 88,17: one rank, as the portal prints them.
    ranks = published_rank({"a": 88.1650, "b": 88.1749, "c": 88.1649, "d": None}, decimals=2)
    assert ranks == {"a": 1, "b": 1, "c": 3, "d": None}
    assert published_rank({"a": 88.1650, "b": 88.1749}, decimals=None) == {"a": 2, "b": 1}
    assert published(2.675, 2) == 2.68  # half up on the decimal text, not the binary float
    assert published(None, 2) is None
