"""The JSON object of an adjustment on the API (``/api/v1/adjustments``), as
``chiso adjustments list --format json`` gives it (see :mod:`chiso.shapes`)."""

from __future__ import annotations

from chiso.shapes import Moment, Number, Out


class Adjustment(Out):
    """An adjustment as ``chiso adjustments list --format json`` gives it."""

    id: int
    index: str
    unit: str
    period: str
    indicator: str | None
    group: str | None
    points: Number
    reason: str
    evidence_name: str | None
    evidence_sha256: str | None
    created_by: str
    created_at: Moment | None
    withdrawn: bool
    withdrawn_at: Moment | None
    withdrawn_by: str | None
    withdraw_reason: str | None
