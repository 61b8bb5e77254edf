"""The tables of subscriptions, the watch over units and what was sent.

- ``subscriptions``: a person follows a page (``overview``, ``scorecard``, ``map``) or a unit,
  daily, weekly or only for alerts; unsubscribing sets ``active`` false, the row stays.
- ``alert_states``: per unit and condition (``red``, ``last_three``), whether it holds now.
  The worker changes a row by compare-and-set (``WHERE holds = old AND flips = n``); the one
  worker whose update changed it writes the ``alert_events`` row, in the same transaction,
  so one change of state is one event however many workers run.
- ``alert_events``: the history of those changes (entered or left), never rewritten.
- ``subscription_sends``: one row per person, message key and channel (a scheduled digest
  ``daily:<subscription>:<day>``, an alert ``alert:<event>``), inserted ignoring a conflict and
  claimed by compare-and-set like the reminder digests: nobody gets the same thing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chiso.auth import models as _auth_models  # noqa: F401  (users, named by a foreign key)
from chiso.notify.models import Delivery
from chiso.db import Base, utcnow as _now
from chiso.units import models as _units_models  # noqa: F401  (units, named by a foreign key)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: page | unit
    kind: Mapped[str] = mapped_column(String(8))
    #: The page's name (overview, scorecard, map) or the unit's registry code.
    target: Mapped[str] = mapped_column(String(64))
    #: daily | weekly | off (alerts only)
    frequency: Mapped[str] = mapped_column(String(8), default="daily")
    alerts: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AlertState(Base):
    __tablename__ = "alert_states"
    __table_args__ = (UniqueConstraint("unit_id", "condition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: red | last_three
    condition: Mapped[str] = mapped_column(String(16))
    holds: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How many times the state changed: the compare-and-set's version.
    flips: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AlertEvent(Base):
    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``<condition>:<unit code>:<flip number>``: one event per change of state.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    condition: Mapped[str] = mapped_column(String(16))
    #: True: the unit entered the condition; False: it left it.
    holds: Mapped[bool] = mapped_column(Boolean)
    period: Mapped[str] = mapped_column(String(16))
    #: total, band, rank, of, group as the worker saw them.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


class SubscriptionSend(Delivery, Base):
    __tablename__ = "subscription_sends"
    __table_args__ = (UniqueConstraint("user_id", "key", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    key: Mapped[str] = mapped_column(String(128))
