"""The JSON objects of the 766 index on the API (``/api/v1/index/766``): the rows of
:func:`chiso.index.service.index_766` and the answer of :func:`~chiso.index.service.explain`,
described for the OpenAPI document (see :mod:`chiso.shapes`)."""

from __future__ import annotations

from pydantic import Field

from chiso.adjustments.schemas import Adjustment
from chiso.shapes import Day, Number, Out


class GroupScore(Out):
    points: Number | None
    max: Number | None
    applicable: bool


class IndicatorScore(Out):
    numerator: Number | None
    denominator: Number | None
    rate: Number | None
    points: Number | None
    max: Number | None
    applicable: bool


class AdjustmentRef(Out):
    """A technical deduction in force on the total (``chiso adjustments``)."""

    id: int | None
    points: Number
    reason: str
    author: str
    indicator: str | None
    group: str | None


class IndexRow(Out):
    unit: str
    name: str | None
    level: str
    period: str
    running: bool = Field(description="The period is still running: figures until `until`.")
    until: Day | None
    method: str
    total: Number | None
    max_total: Number | None
    computed_total: Number | None = Field(None, description="The total before the adjustments in force.")
    adjustments: list[AdjustmentRef] = Field(default_factory=list)
    band: str | None
    band_name: str | None
    rank: int | None
    previous_total: Number | None
    previous_rank: int | None
    rank_change: int | None
    total_change: Number | None
    groups: dict[str, GroupScore]
    indicators: dict[str, IndicatorScore]
    national_total: Number | None = Field(None, description="The province's score as the national portal published it.")
    national_rank: int | None = Field(None, description="The province's national rank as published.")
    national_of: int | None = Field(None, description="How many provinces the national rank is among.")
    national_rank_change: int | None = Field(None, description="Places moved since the previous published period "
                                                               "(positive: up).")


class Explanation(Out):
    """The records behind one indicator: per side its measure, the ids of its records (a
    page of them; none when the measure is not a set of records) and, when listed, their
    number or the sum of a summed measure."""

    unit: str
    period: str
    indicator: str
    method: str
    running: bool
    until: Day | None
    numerator_measure: str
    numerator_ids: list[str] | None
    numerator: Number | None = None
    denominator_measure: str
    denominator_ids: list[str] | None
    denominator: Number | None = None
    adjustments: list[Adjustment] = Field(default_factory=list, description="Adjustments in force on the unit's total that concern this indicator or its group.")
    limit: int
    offset: int


class Cause(Out):
    """A likely cause of a difference, found in the records, with the dossiers behind it."""

    cause: str = Field(description="not_synced, outside_national_scope, merger_lineage or late_supplement")
    label: str
    count: int
    dossier_ids: list[str]


class Reconciled(Out):
    """One published figure beside chiso's (``chiso reconcile --format json``)."""

    unit: str
    name: str | None
    level: str
    period: str
    indicator: str = Field(description="`total`, a group id or an indicator id")
    ours: Number | None
    published: Number
    difference: Number | None = Field(description="ours − published; null without a figure of ours")
    flagged: bool = Field(description="The difference is over the setting reconcile_tolerance.")
    causes: list[Cause]
