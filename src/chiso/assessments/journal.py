"""The rows every write to a round shares: its journal of events and a unit's value row
for one node. Below :mod:`chiso.assessments.service` and the imports (published results,
surveys), which all write them, so none of them reaches into another's private names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from chiso.assessments.models import Assessment, AssessmentRound, LeafValue, RoundEvent
from chiso.db import utcnow


def log_event(session: Session, rnd: AssessmentRound, action: str, actor: str, *, assessment: Assessment | None = None,
              from_status: str | None = None, to_status: str | None = None, reason: str | None = None,
              detail: str | None = None) -> None:
    """One line of the round's journal (who moved what, when and why)."""
    session.add(RoundEvent(round_id=rnd.id, assessment_id=assessment.id if assessment else None, action=action,
                           from_status=from_status, to_status=to_status, actor=actor, reason=reason, detail=detail,
                           at=utcnow()))


def value_row(a: Assessment, node_id: str) -> LeafValue:
    """The unit's row for ``node_id``, added when it has none yet."""
    for row in a.values:
        if row.node_id == node_id:
            return row
    row = LeafValue(node_id=node_id)
    a.values.append(row)
    return row
