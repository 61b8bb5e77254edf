"""The JSON objects of assessment rounds on the API (``/api/v1/assessments``,
``/api/v1/public``): rounds, results rows, one unit's assessment and its log, described
for the OpenAPI document (see :mod:`chiso.shapes`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chiso.shapes import Moment, Number, Out


class RoundOut(Out):
    code: str
    name: str
    method: str
    version: str | None
    family: str | None
    year: int
    units: int
    statuses: dict[str, int]


class PublicRound(Out):
    code: str
    name: str
    method: str
    year: int
    units: int


class NodeScore(Out):
    points: Number | None
    max: Number | None
    value: Number | None


class ResultRow(Out):
    unit: str
    name: str | None
    group: str | None
    status: str
    source: str
    total_points: Number | None
    max: Number | None
    value: Number | None
    band: str | None
    rank: int | None
    rank_change: int | None
    value_change: Number | None
    previous_value: Number | None
    missing: list[str] | None
    nodes: dict[str, NodeScore] | None


class EvidenceOut(Out):
    name: str
    size: int
    media_type: str | None
    sha256: str
    uploaded_by: str | None
    uploaded_at: Moment | None


class EvidenceSaved(Out):
    node: str
    name: str
    size: int
    media_type: str | None
    sha256: str


class Leaf(Out):
    """One leaf as the unit sees it; a leaf with evidence and no value yet holds only
    ``evidence``."""

    self_value: Number | None = None
    self_points: Number | None = None
    note: str | None = None
    appraised_value: Number | None = None
    appraised_points: Number | None = None
    appraiser_comment: str | None = None
    published_value: Number | None = None
    evidence: list[EvidenceOut]


class AssessmentOut(Out):
    round: str
    unit: str
    group: str | None
    status: str
    source: str
    inputs: dict[str, Any]
    leaves: dict[str, Leaf]


class EventOut(Out):
    at: Moment
    unit: str | None
    action: str
    from_: str | None = Field(alias="from")
    to: str | None
    actor: str | None
    reason: str | None
    detail: str | None


class UnitState(Out):
    unit: str
    status: str
