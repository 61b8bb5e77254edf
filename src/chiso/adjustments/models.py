"""The table of technical deductions (điểm trừ kỹ thuật) and other manual adjustments of an
index score.

:class:`ScoreAdjustment`: points added to (or, negative, taken from) one unit's total on one
index for one period, with the indicator or group it concerns, a reason and an evidence
file. A withdrawn adjustment is kept, with who withdrew it, when and why: the history of a
published score is never rewritten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.units.models import Unit


class ScoreAdjustment(Base):
    __tablename__ = "score_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The index family whose score it changes ("766").
    family: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: A canonical period code (chiso.periods): "2025", "2025-Q4", "2025-11".
    period: Mapped[str] = mapped_column(String(16), index=True)
    #: The indicator ("2.1") or group ("TDGQ") it concerns; neither: the total.
    indicator: Mapped[str | None] = mapped_column(String(32))
    group_code: Mapped[str | None] = mapped_column(String(32))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    evidence_type: Mapped[str | None] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()
