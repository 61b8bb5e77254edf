"""Report schedules (lịch gửi báo cáo) and their runs.

A schedule says what to build (``kind`` and ``params``), in which format and language, when
(``rule``: ``weekly:mon@08:00`` or ``monthly:1@08:00``, local time of the setting ``timezone``)
and for whom (``recipients``). Each due time gets at most one ``ReportRun``: the row is
inserted ignoring a conflict on (schedule, due), then claimed by compare-and-set, so two
workers never both build and send it (as the reminder digests in ``chiso.worker``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now


class ReportSchedule(Base):
    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    #: ranking | scorecard | periodic
    kind: Mapped[str] = mapped_column(String(16))
    #: The options of the report (index or round, groups, unit, period kind, threshold...).
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    #: docx | pdf | xlsx
    format: Mapped[str] = mapped_column(String(8))
    #: vi | en; None: the setting ``lang`` at run time.
    lang: Mapped[str | None] = mapped_column(String(8))
    #: ``weekly:<mon..sun>@HH:MM`` or ``monthly:<1..31>@HH:MM`` (local time).
    rule: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    runs: Mapped[list[ReportRun]] = relationship(back_populates="schedule", cascade="all, delete-orphan",
                                                 passive_deletes=False)


class ReportRun(Base):
    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("report_schedules.id"))
    #: The due time in UTC (the rule's local time converted).
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: pending | running | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    schedule: Mapped[ReportSchedule] = relationship(back_populates="runs")
