"""The JSON objects of subscriptions on the API (``/api/v1/subscriptions``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from chiso.shapes import Moment, Number, Out


class SubscriptionIn(BaseModel):
    kind: Literal["page", "unit"]
    target: str = Field(..., min_length=1, max_length=64, description="overview, scorecard, map, or a unit code")
    frequency: Literal["daily", "weekly", "off"] = "daily"
    alerts: bool = True


class SubscriptionOut(Out):
    id: int
    kind: str
    target: str
    frequency: str
    alerts: bool
    active: bool
    created_at: Moment
    user: str | None = None


class AlertEventOut(Out):
    id: int
    unit: str
    name: str
    condition: str
    holds: bool
    period: str
    at: Moment
    total: Number | None = None
    band: str | None = None
    rank: int | None = None
    of: int | None = None
    group: str | None = None
