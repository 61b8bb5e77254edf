"""score_many scores a batch column by column: every score must be score_unit's to the bit.

Compared on every shipped flat method at every level, as shipped and with its options
turned (rate rounding, scope, zero denominators, other formulas), on random counts with
zeros, equal and inverted rates, negative sums and units without records; on the demo's
real counts; and on odd input, where the error must be the one score_unit raises for the
first bad key. Equal means ``==`` and the same ``repr`` of ``to_dict()``: a float that
differs in its last bit, a -0.0 or an int where a float was has another ``repr``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy  # noqa: F401  (loaded: score_many takes the column path from 16 pairs)
import pytest

from chiso.errors import ChisoError
from chiso.methods import loader
from chiso.scoring import rules
from chiso.scoring.model import Method, Rule
from chiso.scoring.rules import RECORD_BASES, score_many, score_unit

FLAT = [m.id for m in loader.load_shipped("flat")]
#: The default 766 method: formula groups, and levels it does not score (district).
PORTAL = "766-portal-2025"


def one_by_one(method: Method, counts: dict, levels: dict) -> dict:
    """score_many as it was: score_unit for each key, in order."""
    return {key: score_unit(method, values, level=levels[key[0] if isinstance(key, tuple) else key])
            for key, values in counts.items()}


def outcome(fn, *args) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - compared below, type and message
        return (type(exc), str(exc))


def assert_same(method: Method, counts: dict, levels: dict) -> None:
    got, expected = outcome(score_many, method, counts, levels), outcome(one_by_one, method, counts, levels)
    if isinstance(expected, tuple):
        assert got == expected
        return
    assert isinstance(got, dict) and list(got) == list(expected)
    for key, score in expected.items():
        assert got[key] == score, key
        assert repr(got[key].to_dict()) == repr(score.to_dict()), key


def random_counts(method: Method, rng: random.Random) -> dict[str, float]:
    counts = {}
    for name, measure in method.measures.items():
        value = rng.choice([0.0, 0.0, 0.0, 1.0, 3.0, 7.0, 40.0, 99.0, 100.0, 250.0, 12.5, 1e-9])
        if measure.signed and rng.random() < 0.15:
            value = -rng.choice([0.0, 0.5, 3.0, 120.0])
        elif rng.random() < 0.03:
            value = -0.0
        counts[name] = value
    names = list(method.measures)
    for ind in method.indicators:
        if rng.random() < 0.2:  # a rate of exactly 1, or numerator over denominator
            counts[ind.numerator] = counts[ind.denominator] * rng.choice([1.0, 1.0, 2.0, 0.5])
        if rng.random() < 0.02:
            counts[rng.choice(names)] = 0.0
    if rng.random() < 0.1:  # no records: no score
        counts.update({n: 0.0 for n, m in method.measures.items() if m.basis in RECORD_BASES})
    return counts


def batch(method: Method, seed: int, pairs: int = 120) -> tuple[dict, dict]:
    rng = random.Random(seed)
    units = [f"u{i}" for i in range(12)]
    levels = {u: method.levels[i % len(method.levels)] for i, u in enumerate(units)}
    counts = {(rng.choice(units), f"p{i}"): random_counts(method, rng) for i in range(pairs)}
    return counts, levels


def variants(method: Method) -> list[Method]:
    """The method as shipped and with each option the engine reads turned another way."""
    modes = ("not_applicable", "full", "zero")

    def indicators(change) -> Method:
        groups = tuple(replace(g, indicators=tuple(change(k, i) for k, i in enumerate(g.indicators)))
                       for g in method.groups)
        return replace(method, groups=groups)

    out = [
        method,
        replace(method, rate_rounding=2),
        replace(method, rate_rounding=0, outside_scope="not_applicable"),
        indicators(lambda k, i: replace(i, zero_denominator=modes[k % 3],
                                        outside_scope=("full", "not_applicable", None)[k % 3])),
    ]
    formula = next((g for g in method.groups if g.is_formula), None)
    if formula is not None and formula.rule is not None and len(formula.rule.ratios) >= 2:
        a, b = list(formula.rule.ratios)[:2]
        mixed = Rule(type="formula", ratios=formula.rule.ratios,
                     expression=f"max({a}, {b}, 0.5) * 3 - min({a}, {b}) + 2 * {a} * {b} + min(1, {a}) - 4 * -{b}")
        out.append(replace(method, groups=tuple(replace(g, rule=mixed) if g is formula else g for g in method.groups)))
        # Ratios out of scope at most levels (full, or not applicable: the group then is not),
        # an indicator of the formula group that is not a term, and a term in a plain group.
        one_level = (method.levels[0],)
        for outside in ("full", "not_applicable"):
            def change(k: int, i: Any, outside: str = outside) -> Any:
                if i.group == formula.id and k == 0:
                    return replace(i, scope=one_level, outside_scope=outside)
                if i.group == formula.id and k == 2:
                    return replace(i, rule=Rule(type="info"))
                if i.group != formula.id and k == 1:
                    return replace(i, rule=Rule(type="term"))
                return i

            out.append(indicators(change))
    return out


@pytest.mark.parametrize("method_id", FLAT)
def test_every_shipped_method_and_variant_is_scored_as_score_unit_does(method_id, monkeypatch):
    calls = []
    for k, method in enumerate(variants(loader.load(method_id))):
        counts, levels = batch(method, seed=k)
        assert_same(method, counts, levels)
        # ...and by the column-wise path, not by falling back to score_unit.
        monkeypatch.setattr(rules, "score_unit", lambda *a, **kw: calls.append(a) or score_unit(*a, **kw))
        score_many(method, counts, levels)
        monkeypatch.undo()
    assert calls == []


@pytest.mark.parametrize("method_id", FLAT)
def test_the_same_counts_at_every_level_and_all_zeros(method_id):
    method = loader.load(method_id)
    rng = random.Random(3)
    rows = [random_counts(method, rng) for _ in range(20)] + [dict.fromkeys(method.measures, 0.0),
                                                               dict.fromkeys(method.measures, 100.0)]
    levels = {level: level for level in method.levels}
    counts = {(level, i): c for level in method.levels for i, c in enumerate(rows)}
    assert_same(method, counts, levels)


def test_a_small_batch_and_plain_keys():
    method = loader.load(PORTAL)
    counts, levels = batch(method, seed=9, pairs=3)
    assert_same(method, counts, levels)
    plain = {unit: values for (unit, _p), values in batch(method, seed=10, pairs=40)[0].items()}
    assert_same(method, plain, levels)


@pytest.mark.parametrize("bad", [
    True, "12", float("nan"), float("inf"), -1.0, None, "missing", 10**400, 7,
])
def test_odd_input_gives_score_units_result_or_error_for_the_first_bad_key(bad):
    method = loader.load(PORTAL)
    counts, levels = batch(method, seed=4, pairs=40)
    keys = list(counts)
    unsigned = next(n for n, m in method.measures.items() if not m.signed and any(
        n in (i.numerator, i.denominator) for i in method.indicators))
    for key in (keys[7], keys[25]):
        if bad == "missing":
            del counts[key][unsigned]
        else:
            counts[key][unsigned] = bad
    assert_same(method, counts, levels)


def test_a_level_not_scored_and_a_unit_without_level():
    method = loader.load(PORTAL)
    counts, levels = batch(method, seed=5, pairs=40)
    wrong = next(level for level in ("province", "agency", "district", "commune") if level not in method.levels)
    key = list(counts)[11]
    assert_same(method, counts, {**levels, key[0]: wrong})
    counts[("nobody", "p0")] = dict(counts[key])
    assert_same(method, counts, levels)


def test_a_formula_that_divides_by_zero_raises_as_score_unit_does():
    method = loader.load(PORTAL)
    formula = next(g for g in method.groups if g.is_formula)
    assert formula.rule is not None
    a, b = list(formula.rule.ratios)[:2]
    rule = Rule(type="formula", ratios=formula.rule.ratios, expression=f"{a} / {b}")
    method = replace(method, groups=tuple(replace(g, rule=rule) if g is formula else g for g in method.groups))
    counts, levels = batch(method, seed=6, pairs=60)
    with pytest.raises(ChisoError):
        one_by_one(method, counts, levels)
    assert_same(method, counts, levels)
    ok = {k: v for k, v in counts.items() if not isinstance(outcome(one_by_one, method, {k: v}, levels), tuple)}
    assert len(ok) >= 16
    assert_same(method, ok, levels)


def test_column_sums_are_pythons_sum_to_the_bit():
    import numpy as np

    rows = [[1e16, 1.0, -1e16, 0.0], [0.1] * 4, [-0.0, 0.0, -0.0, 0.0], [1e308, 1e308, -1e308, 0.0],
            [0.0, 2.5e-324, 0.0, 1e-300], [3.3, 0.0, 0.7, 1e-17]]
    columns = [np.array(c) for c in zip(*rows)]
    with np.errstate(over="ignore"):
        got = rules._sums(np, columns, len(rows)).tolist()
    assert [repr(v) for v in got] == [repr(sum(r)) for r in rows]


def test_on_the_demo_datas_real_counts(loaded, demo_records):
    """Every unit and the province of province 68's demo, for every fifth period of the
    year (weeks, months, quarters, the year, year-to-dates)."""
    from datetime import date

    from chiso.index import compute, service
    from chiso.periods import parse_period, periods_of_year

    year, until = 2026, date(2026, 11, 26)
    store = demo_records(1200, seed=3)
    targets = service.targets(loaded, parse_period(str(year)), province="68")
    levels = {t.code: t.level for t in targets}
    for method in map(loader.load, FLAT):
        con = service.counting_connection(store, method)
        try:
            counts = compute.period_counts(con, method, targets, periods_of_year(year)[::5], today=until)
        finally:
            con.close()
        assert len(counts) > 2000
        assert_same(method, counts, levels)


def test_indicators_scored_column_wise_are_made_when_read_and_are_score_units_dicts():
    """A ranking of every unit and period reads the totals alone: the column-wise path makes
    a pair's indicators on first reading, as the same dict score_unit gives (its keys in
    its order, equal values, pickled as a plain dict)."""
    import pickle

    method = loader.default_method("766")
    rng = random.Random(5)
    counts = {(f"u{i}", "2026-Q1"): random_counts(method, rng) for i in range(40)}
    levels = {f"u{i}": "commune" for i in range(40)}
    got, expected = score_many(method, counts, levels), one_by_one(method, counts, levels)
    lazy = [s.indicators for s in got.values()]
    assert all(type(m) is not dict and m._made is None for m in lazy)  # noqa: SLF001  (nothing made yet)
    for key, score in expected.items():
        indicators = got[key].indicators
        assert len(indicators) == len(score.indicators) and list(indicators) == list(score.indicators)
        assert indicators == score.indicators and dict(indicators) == score.indicators
        copy = pickle.loads(pickle.dumps(got[key]))
        assert type(copy.indicators) is dict and copy == score
