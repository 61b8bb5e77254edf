"""Targets resolved in bulk: the same units, members and names as the per-unit path they
replaced, in a number of queries that does not grow with the number of units."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select

from chiso.index import compute, service
from chiso.periods import parse_period
from chiso.units import registry
from chiso.units import service as units

# Before the reform, on its first day, and after: the registry changes shape between them.
PERIODS = ("2025-Q1", "2025-06", "2025-Q3", "2026")


def reference_targets(session, period) -> list[compute.Target]:
    """The straightforward path: one unit at a time, each walking its own lineage."""
    province = units.home_province(session)
    day = period.end
    root = units.get(session, province)
    everything = {u.code for u in units.units_ever_within(session, root.code) if u.level in service.SCORED_LEVELS}
    result = []
    for view in units.list_units(session, as_of=day, within=root.code):
        if view.level in service.SCORED_LEVELS:
            unit = units.get(session, view.code)
            members = tuple(sorted(f.code for f in units.feeders(session, unit)))
            result.append(compute.Target(view.code, view.level, members))
    result.append(compute.Target(root.code, "province", tuple(sorted(everything))))
    return result


def count_queries(session, fn):
    seen = []

    def note(*_args):
        seen.append(1)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        return fn(), len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_targets_equal_the_per_unit_path_in_few_queries(loaded):
    for code in PERIODS:
        period = parse_period(code)
        expected = reference_targets(loaded, period)
        got, queries = count_queries(loaded, lambda period=period: service.targets(loaded, period))
        assert got == expected, code
        assert len(got) > 100  # province 68: communes and agencies
        assert queries <= 20, (code, queries)  # was one or two per unit


def test_names_equal_one_unit_at_a_time(loaded):
    day = date(2025, 9, 30)
    codes = [t.code for t in service.targets(loaded, parse_period("2025-Q3"))]
    got, queries = count_queries(loaded, lambda: units.names_on(loaded, codes, day))
    assert got == {c: units.name_on(units.get(loaded, c), day) for c in codes}
    assert queries <= 3


def test_list_units_within_a_province_in_few_queries(loaded):
    # New Lâm Đồng's territory: the three former provinces before the reform, itself after.
    for day, roots in ((date(2025, 6, 30), ("old:68", "old:60", "old:67")), (date(2025, 7, 1), ("68",))):
        views, queries = count_queries(loaded, lambda day=day: units.list_units(loaded, as_of=day, within="68"))
        tops = [units.get(loaded, r) for r in roots]
        expected = [units.view(u, day) for u in loaded.scalars(
            select(units.Unit).where(units.valid_on(units.Unit, day)).order_by(units.Unit.level, units.Unit.code))
            if any(registry.is_below(u, top, day) for top in tops)]
        assert views == expected and len(views) > 100
        assert queries <= 10, queries
