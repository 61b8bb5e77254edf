"""Ranking (xếp hạng) and its changes between periods (tăng/giảm N bậc). Pure.

Convention [S for 766, V for DTI 2022]: descending, ties share a rank and the next rank is
skipped ("standard competition ranking": 1, 2, 2, 4).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, Hashable, Mapping, TypedDict, TypeVar

K = TypeVar("K", bound=Hashable)

#: Float noise allowed on top of the tolerance, so that a total computed two ways
#: (92.83 as a sum of groups, 92.83 as published) still ties.
_EPSILON = 1e-9


def competition_rank(values: Mapping[K, float | None], *, tolerance: float = 0.0) -> dict[K, int | None]:
    """Rank ``values`` descending with standard competition ranking.

    A value within ``tolerance`` of the value that opened the current tie shares its rank
    (compared with that first value, not the previous one, so that a run of values each a
    little lower than the last cannot drift into one long tie). ``None`` and NaN are left
    unranked (``None``). Equal values are listed in key order only for determinism.
    """
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    ranked = sorted(
        ((k, float(v)) for k, v in values.items() if v is not None and not math.isnan(v)),
        key=lambda kv: (-kv[1], str(kv[0])),
    )
    result: dict[K, int | None] = {k: None for k in values}
    anchor: float | None = None
    rank = 0
    for position, (key, value) in enumerate(ranked, start=1):
        if anchor is None or anchor - value > tolerance + _EPSILON:
            rank, anchor = position, value
        result[key] = rank
    return result


def published(value: float | None, decimals: int | None) -> float | None:
    """``value`` as published: rounded half up to ``decimals`` (the portal's two: 88.165 →
    88.17), or as it is with ``decimals`` None. Ranks compare published values, so that
    two units printed with the same score share a rank."""
    if value is None or decimals is None or math.isnan(value):
        return value
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def published_rank(values: Mapping[K, float | None], *, decimals: int | None) -> dict[K, int | None]:
    """:func:`competition_rank` of the values as published (:func:`published`): equal
    published values share a rank; ``None`` (no data) is not ranked."""
    return competition_rank({k: published(v, decimals) for k, v in values.items()})


class Change(TypedDict):
    rank_change: int | None
    value_change: float | None


def changes(
    current: Mapping[K, tuple[int | None, float | None]],
    previous: Mapping[K, tuple[int | None, float | None]],
) -> dict[K, Change]:
    """How each unit moved since the previous period.

    Both mappings give (rank, value) per unit. ``rank_change`` is positive when the unit
    moved up (rank 8 → 3 is +5, "up 5 places"); ``value_change`` is current − previous.
    Either is ``None`` where a side is missing. Only units of ``current`` are reported.
    """
    out: dict[K, Change] = {}
    for key, (rank, value) in current.items():
        before_rank, before_value = previous.get(key, (None, None))
        out[key] = Change(
            rank_change=None if rank is None or before_rank is None else before_rank - rank,
            value_change=None if value is None or before_value is None else value - before_value,
        )
    return out


class Podium(TypedDict, Generic[K]):
    first: list[K]
    second: list[K]
    third: list[K]
    last: list[K]


def podium(ranks: Mapping[K, int | None]) -> Podium[K]:
    """Who an announcement names first, second, third and last in one group, from its ranks
    (:func:`competition_rank`, ties sharing a rank); keys keep the order of ``ranks``.

    The rule, for the CLI, the pages and the reports alike; each unit is named once:

    - last is every unit at the lowest rank, named whenever the group has more than one
      rank, even when the lowest is 2 or 3: a group of two has a first and a last, a group
      ranked 1, 2, 3 a first, a second and a last (the unit a steering committee asks for
      remedies is the one at the bottom, however short the list). A group whose units all
      share one rank, or hold one unit, has no last;
    - first, second and third are the other units at rank 1, 2 and 3; a tie fills a place
      with several units and empties the places it covers (ranks 1, 1, 3, 4: two firsts, no
      second, one third, one last);
    - units without a rank are named nowhere.
    """
    ranked = [(k, r) for k, r in ranks.items() if r is not None]
    distinct = {r for _k, r in ranked}
    lowest = max(distinct) if len(distinct) > 1 else None
    return Podium(
        first=[k for k, r in ranked if r == 1],
        second=[k for k, r in ranked if r == 2 != lowest],
        third=[k for k, r in ranked if r == 3 != lowest],
        last=[k for k, r in ranked if r == lowest],
    )
