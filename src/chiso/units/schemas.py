"""The JSON objects of units on the API (``/api/v1/units``): :meth:`UnitView.to_json` and
:func:`chiso.units.registry.lineage` described for the OpenAPI document (see
:mod:`chiso.shapes`)."""

from __future__ import annotations

from chiso.shapes import Day, Number, Out


class UnitOut(Out):
    code: str
    name: str
    level: str
    kind: str
    parent: str | None
    official_code: str | None
    name_en: str | None
    valid_from: Day | None
    valid_to: Day | None
    lat: Number | None = None
    lon: Number | None = None


class LineageLinkOut(Out):
    code: str
    official_code: str | None
    name: str
    level: str
    event: str
    effective_date: Day
    share: Number | None
    primary: bool | None
    legal_basis: str | None


class FormerName(Out):
    name: str
    valid_from: Day | None
    valid_to: Day | None


class LineageOut(Out):
    code: str
    official_code: str | None
    name: str
    level: str
    valid_from: Day | None
    valid_to: Day | None
    predecessors: list[LineageLinkOut]
    successors: list[LineageLinkOut]
    names: list[FormerName]
