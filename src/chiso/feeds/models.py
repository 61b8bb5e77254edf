"""The feeds that pull records from a one-stop system (``chiso sources add``), and the pages
each has committed.

A feed is the live side of a record source (``record_sources``, the owner of a source name):
records it pulls are imported under that name. ``source_feeds.watermark`` is the source's
change time (``yyyyMMddHHmmss``) up to which every page has been committed; it is written
only after the last page of a pull. A worker claims a feed by compare-and-set on
``claimed_by``/``claim_until`` (a lease, so a killed worker's claim runs out), as the digests
are claimed. ``feed_pages`` keeps each committed page (its content hash, counts and rejects):
a page fetched again after a failure, with the same content since the same watermark, is not
imported twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chiso.db import Base, utcnow as _now
from chiso.dossiers.models import RecordSource


class SourceFeed(Base):
    __tablename__ = "source_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_source_id: Mapped[int] = mapped_column(ForeignKey("record_sources.id"), unique=True)
    #: The record source's name, kept here too (the name the commands use).
    name: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    #: The adapter that speaks the source's protocol (``chiso``: the documented default).
    protocol: Mapped[str] = mapped_column(String(32), default="chiso")
    every_seconds: Mapped[int] = mapped_column(Integer)
    #: The token, encrypted (see :mod:`chiso.feeds.secret`); never printed.
    token_sealed: Mapped[str | None] = mapped_column(Text)
    #: Or the name of an environment variable that holds it, read at each pull.
    token_env: Mapped[str | None] = mapped_column(String(128))
    #: ``yyyyMMddHHmmss`` up to which every page is committed; the next pull's ``since``.
    watermark: Mapped[str | None] = mapped_column(String(14))
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Failed pulls in a row (the back-off grows with it; 0 after a success).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Counts of the last complete pull.
    last_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    record_source: Mapped[RecordSource] = relationship()


class FeedPage(Base):
    __tablename__ = "feed_pages"
    __table_args__ = (UniqueConstraint("feed_id", "since", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("source_feeds.id", ondelete="CASCADE"), index=True)
    #: The ``since`` of the pull that fetched it ('' for the first pull).
    since: Mapped[str] = mapped_column(String(14))
    #: Its position in that pull, from 1.
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: The rejected rows of the page, each with its position, reason and values.
    rejects: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: The store version the page's import created (None: it changed nothing).
    version: Mapped[int | None] = mapped_column(Integer)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
