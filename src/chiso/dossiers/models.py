"""Who owns each source of records (the system a dossier import names with ``--source``).

A source belongs to a unit (None: the province): the province's one-stop-shop system is the
province's, a commune's own system is that commune's. Records are keyed by (source, dossier
id), so whoever may write a source may overwrite its records; owning the source is what
stops a commune editor from re-sending the province system's records as its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chiso.db import Base, utcnow as _now
from chiso.units import models as _units_models  # noqa: F401  (the table the foreign key names)


class RecordSource(Base):
    __tablename__ = "record_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    #: The owning unit; None: the province (only province-wide accounts write it).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
