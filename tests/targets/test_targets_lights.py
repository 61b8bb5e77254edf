"""The colour rules of chiso.targets.lights, hand-computed, with no database.

Target: deadline 15 December 2025. Days left on 30 Nov = 15, on 1 Dec = 14, on 15 Dec = 0."""

from __future__ import annotations

from datetime import date

import pytest

from chiso.targets.lights import check_rules, colour, roll_up

DL = date(2025, 12, 15)
BEFORE, ON, AFTER = date(2025, 11, 1), DL, date(2025, 12, 16)


def c(value, as_of, rules=None, goal=90.0, direction="higher"):
    return colour(value=value, goal=goal, direction=direction, deadline=DL, as_of=as_of, rules=rules).colour


@pytest.mark.parametrize("as_of", [BEFORE, ON, AFTER])
def test_no_value_is_no_data_and_a_met_goal_is_green_at_any_date(as_of):
    assert c(None, as_of) == "no_data"
    assert c(90, as_of) == "green"          # exactly the goal is met
    assert c(95, as_of) == "green"


def test_without_rules_unmet_is_amber_until_the_deadline_day_then_red():
    assert c(80, BEFORE) == "amber"
    assert c(80, ON) == "amber"             # the deadline day is still in time
    assert c(80, AFTER) == "red"


def test_lower_is_better():
    lower = dict(goal=10.0, direction="lower")
    assert c(8, BEFORE, **lower) == "green"
    assert c(10, AFTER, **lower) == "green"
    assert c(11, ON, **lower) == "amber"
    assert c(11, AFTER, **lower) == "red"
    within = {"amber_within": 0.05}         # band: 10 ± 0.5
    assert c(10.5, BEFORE, within, **lower) == "amber"
    assert c(10.6, BEFORE, within, **lower) == "red"


def test_amber_days_before_deadline_opens_a_warning_window():
    rules = {"amber_days_before_deadline": 15}
    assert c(80, date(2025, 11, 30), rules) == "green"   # 15 days left: not < 15
    assert c(80, date(2025, 12, 1), rules) == "amber"    # 14 days left
    assert c(80, ON, rules) == "amber"
    assert c(80, AFTER, rules) == "red"


def test_amber_within_a_share_of_the_goal_else_behind():
    rules = {"amber_within": 0.05}          # 90 × 5% = 4.5: amber from 85.5
    assert c(85.5, BEFORE, rules) == "amber"
    assert c(85, BEFORE, rules) == "red"
    assert c(89, ON, rules) == "amber"
    assert c(89, AFTER, rules) == "red"     # late even when close


def test_both_rules_window_first_then_band():
    rules = {"amber_days_before_deadline": 15, "amber_within": 0.05}
    assert c(50, BEFORE, rules) == "green"              # 44 days left: not judged yet
    assert c(50, date(2025, 12, 10), rules) == "red"    # in the window and far behind
    assert c(86, date(2025, 12, 10), rules) == "amber"


def test_the_why_is_stated():
    light = colour(value=80, goal=90, direction="higher", deadline=DL, as_of=AFTER, rules=None)
    assert "2025-12-15" in light.why


def test_bad_rules_are_refused():
    with pytest.raises(ValueError):
        check_rules({"amber_weeks": 2})
    with pytest.raises(ValueError):
        check_rules({"amber_within": -0.1})
    with pytest.raises(ValueError):
        check_rules({"amber_days_before_deadline": 2.5})


def test_roll_up():
    assert roll_up([]) == "no_data"
    assert roll_up(["green", "green"]) == "green"
    assert roll_up(["green", "amber"]) == "amber"
    assert roll_up(["green", "amber", "red"]) == "red"
    assert roll_up(["green", "no_data"]) == "amber"                       # a missing value blocks green
    assert roll_up(["green", "no_data"], {"no_data_as": None}) == "green"  # or is left out
    assert roll_up(["no_data"], {"no_data_as": None}) == "no_data"
