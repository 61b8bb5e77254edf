"""Tables of indicators, targets and traffic lights.

* :class:`ManualValue`: a value entered by hand for an indicator, a unit and a period
  (e.g. "% of officials with digital signatures" of commune 24781 for 2025-Q4).
* :class:`Target`: an indicator, the units it applies to, a direction, a goal, a deadline and
  optional amber rules (data, see :mod:`chiso.targets.lights`).
* :class:`Flip`: every change of colour of one (target, unit), append-only (after
  Healthchecks' ``Flip``): "which communes turned red this week" is a query on this table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.units.models import Unit


class ManualValue(Base):
    """One hand-entered value; entering it again for the same key replaces it."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("indicator", "unit_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The indicator's code, free text chosen by the province (e.g. "digital_signature_pct").
    indicator: Mapped[str] = mapped_column(String(128), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: A canonical period code (chiso.periods): "2025", "2025-Q4", "2025-11".
    period: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    entered_by: Mapped[str] = mapped_column(String(128))
    #: The system or document the value comes from (e.g. "qlvb", "ky-so"); None: typed in.
    source: Mapped[str | None] = mapped_column(String(255))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    #: A computed reference ("766.total", "766.2.1", "766.rank") or a manual indicator code.
    indicator: Mapped[str] = mapped_column(String(128))
    #: The unit it applies to; with ``include_subunits`` also every unit below it; with
    #: ``level`` the units of that level below it (default root: the home province).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    include_subunits: Mapped[bool] = mapped_column(Boolean, default=False)
    level: Mapped[str | None] = mapped_column(String(16))
    #: higher | lower (which way is better)
    direction: Mapped[str] = mapped_column(String(8))
    goal: Mapped[float] = mapped_column(Float)
    deadline: Mapped[date] = mapped_column(Date)
    #: The period whose value is judged; None: the latest (manual) or the month of the date (766).
    period: Mapped[str | None] = mapped_column(String(16))
    #: Amber rules as data, e.g. {"amber_days_before_deadline": 15, "amber_within": 0.05}.
    amber: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit | None] = relationship()


class Flip(Base):
    """A change of colour of one (target, unit); rows are only ever added."""

    __tablename__ = "target_flips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: The date the colour was evaluated for (``--as-of``).
    at: Mapped[date] = mapped_column(Date, index=True)
    #: None for the first colour a (target, unit) ever had.
    from_colour: Mapped[str | None] = mapped_column(String(8))
    to_colour: Mapped[str] = mapped_column(String(8), index=True)
    why: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    target: Mapped[Target] = relationship()
    unit: Mapped[Unit] = relationship()
