"""The store's wall clock: what time it is where the dossiers were kept.

Below every domain because pages, the index and the reports all ask "what is today"
and must agree; :mod:`chiso.periods` stays pure (no clock, no settings)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chiso import settings


def local_now(now: datetime | None = None) -> datetime:
    """``now`` (default: the current time) as the store's wall-clock time: naive, in the
    ``timezone`` setting, as dossier timestamps are kept. A naive ``now`` is taken as
    already in that time zone."""
    zone = ZoneInfo(settings.get("timezone"))
    if now is None:
        return datetime.now(zone).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(zone).replace(tzinfo=None)
    return now
