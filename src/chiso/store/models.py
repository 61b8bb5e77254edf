"""The store's identity row (migration 0009)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chiso.db import Base


class StoreIdentity(Base):
    """One row: the store's id, and where its records folder is.

    ``records_path`` is empty for an SQLite store whose records sit beside the database
    file (``lamdong.sqlite3`` → ``lamdong.records/``), so copying the two moves the store;
    it is set by ``chiso init --records PATH`` and, for PostgreSQL, at the first init.
    ``records_created_at`` says the folder has been made: from then on a missing folder is
    an error, never silently replaced by an empty one."""

    __tablename__ = "store_identity"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    records_path: Mapped[str | None] = mapped_column(Text)
    records_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
