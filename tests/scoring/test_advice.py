"""What would raise a score (chiso.scoring.advice), on plain counts with no store: every
gain is the engine's, so a capped group or a target rule earns nothing past its cap."""

from __future__ import annotations

import pytest

from chiso.methods.loader import default_method
from chiso.scoring.advice import Lever, Scorer, rank_actions, smallest_set
from chiso.scoring.rules import score_unit

METHOD = default_method("766")


def counts(**given: float) -> dict[str, float]:
    """A commune that received 100 dossiers, every other measure 0 unless given."""
    out = dict.fromkeys(METHOD.measures, 0.0)
    out.update(dossiers_received=100.0, dossiers_synced=100.0, settlement_population=100.0,
               settled_on_time=90.0, settled_on_time_without_complaint=90.0)
    out.update(given)
    return out


ONLINE = Lever("online", "3.3", "dossiers", 60, {"dossiers_online_synced": 1.0})
DIGITISED = Lever("digitised", "4.2", "dossiers", 70, {"dossiers_digitised": 1.0})


def test_a_formula_cap_gives_the_fewest_dossiers_that_earn_all():
    # 3.3 is min(6, 6 × C / 0,5): from 40 % online, 10 more dossiers reach the cap of 6.
    c = counts(dossiers_online_synced=40.0, dossiers_digitised=30.0)
    (online, digitised) = sorted(rank_actions(Scorer(METHOD, c, "commune"), [ONLINE, DIGITISED]),
                                 key=lambda a: a.lever.id != "online")
    assert (online.items, online.points) == (10, pytest.approx(6 - 6 * 0.4 / 0.5))
    # 4.2 is linear: every one of the 70 earns 4 / 100.
    assert (digitised.items, digitised.points) == (70, pytest.approx(4 * 0.7))
    assert online.per_item > digitised.per_item


def test_gains_are_the_engines_on_the_whole_unit():
    c = counts(dossiers_online_synced=40.0)
    scorer = Scorer(METHOD, c, "commune")
    changed = dict(c, dossiers_online_synced=45.0, dossiers_digitised=20.0)
    expected = score_unit(METHOD, changed, level="commune")
    got = scorer.outcome([(ONLINE, 5), (DIGITISED, 20)])
    assert got.total == pytest.approx(expected.total) and got.normalised == pytest.approx(expected.normalised)


def test_nothing_to_gain_is_no_action():
    c = counts(dossiers_online_synced=50.0)
    assert rank_actions(Scorer(METHOD, c, "commune"), [ONLINE, Lever("none", "4.2", "dossiers", 0, {})]) == []


def test_the_smallest_set_stops_at_the_goal_and_trims_the_last_action():
    c = counts(dossiers_online_synced=40.0, dossiers_digitised=30.0)
    scorer = Scorer(METHOD, c, "commune")
    actions = rank_actions(scorer, [ONLINE, DIGITISED])
    base = scorer.base.total
    # +1 point: the online action alone, 9 of its 10 dossiers (6 × 49 / 50 − 4,8 = 1,08).
    (only,) = smallest_set(scorer, actions, lambda o: o.total >= base + 1.0)
    assert (only.lever.id, only.items) == ("online", 9) and only.points == pytest.approx(6 * 49 / 50 - 4.8)
    # +2: all of the online one, then as few digitised as reach it ((2 − 1,2) / 0,04 = 20).
    first, second = smallest_set(scorer, actions, lambda o: o.total >= base + 2.0)
    assert (first.items, second.lever.id, second.items) == (10, "digitised", 20)
    assert smallest_set(scorer, actions, lambda o: o.total >= base) == []
    assert smallest_set(scorer, actions, lambda o: o.total >= base + 100) is None
