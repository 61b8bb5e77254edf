"""The table of published standings.

:class:`PublishedStanding`: one unit's published result on one index for one period, as the
national portal prints it: its total, its rank among how many, and its group and indicator
points. The province's own row holds its national rank ("8th of 34"); its communes' and
agencies' rows hold the portal's figures that ``chiso reconcile`` sets beside chiso's. A
row of a province outside the registry (the national table lists all of them) keeps the
code and name as given, without a registry unit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chiso.db import Base, utcnow as _now
from chiso.units.models import Unit  # noqa: F401  (the foreign key below names its table)


class PublishedStanding(Base):
    """One published result; importing it again for the same key replaces it."""

    __tablename__ = "published_standings"
    __table_args__ = (UniqueConstraint("index_code", "period", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The index: "766".
    index_code: Mapped[str] = mapped_column(String(32), index=True)
    #: A canonical period code (chiso.periods): "2025", "2025-Q4", "2025-11".
    period: Mapped[str] = mapped_column(String(16), index=True)
    #: The registry code of the unit, or the code given for a province outside the registry.
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    total: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    #: How many units the rank is among ("8th of 34": 34).
    of: Mapped[int | None] = mapped_column(Integer)
    #: {group id: points}, e.g. {"CKMB": 17.5, "TDGQ": 19.8}.
    groups: Mapped[dict] = mapped_column(JSON, default=dict)
    #: {indicator id: points}, e.g. {"2.1": 19.2}.
    indicators: Mapped[dict] = mapped_column(JSON, default=dict)
    source_file: Mapped[str | None] = mapped_column(String(255))
    imported_by: Mapped[str] = mapped_column(String(128))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
