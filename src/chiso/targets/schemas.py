"""The JSON objects of targets on the API (``/api/v1/targets``): a target, its traffic
light per unit and a manual indicator value, described for the OpenAPI document (see
:mod:`chiso.shapes`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chiso.shapes import Day, Moment, Number, Out


class TargetOut(Out):
    code: str
    name: str | None
    indicator: str
    unit: str | None
    include_subunits: bool
    level: str | None
    direction: str
    goal: Number
    deadline: Day
    period: str | None
    amber: dict[str, Any]
    source: str | None


class TargetStatusOut(Out):
    target: str
    unit: str
    colour: str
    value: Number | None
    goal: Number | None
    deadline: Day


class ManualValueOut(Out):
    indicator: str
    unit: str
    period: str
    value: Number
    entered_by: str
    entered_at: Moment
    source: str | None = Field(description="The system the value comes from (None: entered by hand).")
