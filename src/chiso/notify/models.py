"""The ``digests`` table: at most one digest per person, day and channel.

A worker inserts the row (ignoring a conflict), then claims it with a compare-and-set update
(``status`` from ``pending``, or ``failed`` with attempts left, to ``sending``); only the worker
whose update changed the row sends. Restarts and a second worker therefore never send twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chiso.db import Base, utcnow as _now


class Delivery:
    """What every message the worker claims and sends records: the channel, the state of the
    claim (compare-and-set on ``status``), the attempts and the outcome. The digests and the
    subscriptions' sends share it, and so one claim-and-send cycle."""

    #: email | webhook
    channel: Mapped[str] = mapped_column(String(16))
    #: pending | sending | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Where it went: the e-mail address or the webhook URL.
    address: Mapped[str | None] = mapped_column(String(1024))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Digest(Delivery, Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("person", "day", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: A committee member's code, or the task owner as written in the programme.
    person: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date, index=True)
