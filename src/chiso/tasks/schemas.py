"""The JSON object of a task on the API (``/api/v1/tasks``):
:func:`chiso.tasks.service.to_json` described for the OpenAPI document (see
:mod:`chiso.shapes`)."""

from __future__ import annotations

from pydantic import Field

from chiso.shapes import Day, Out


class TaskOut(Out):
    id: str
    title: str
    unit: str
    owner: str | None
    deadline: Day | None
    status: str = Field(description="As of the day asked: not_started, in_progress, done_on_time, done_late, "
                                    "overdue, cancelled.")
    stored_status: str
    completed_at: Day | None
    progress: int | None
    coordinating_units: list[str]
    product: str | None
    authority: str | None
    source: str | None
    member_in_charge: str | None
    parent_id: str | None
    target: str | None
    cancel_reason: str | None
    meeting: str | None = Field(description="The meeting whose conclusion assigned the task.")
    meeting_point: int | None = Field(description="The point's number in that meeting's conclusion notice.")
