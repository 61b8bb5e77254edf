"""Results that pages and the API share, computed once per change of what they depend on.

The 766 index of a period depends on the dossier store (its version) and on the registry
(units, their parents and groups); the key holds both, so an import or a registry change is
seen by the next request, and nothing stale is ever served. A lock per key makes twenty
readers of a cold period wait for one computation instead of running twenty."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from fastapi import FastAPI

MAX_ENTRIES = 256


class ResultCache:
    def __init__(self) -> None:
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._guard:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._data:
                    return self._data[key]
            value = compute()
            with self._guard:
                self._data[key] = value
                while len(self._data) > MAX_ENTRIES:
                    self._data.popitem(last=False)
                self._locks.pop(key, None)
            return value

    def clear(self) -> None:
        with self._guard:
            self._data.clear()


#: The stamps a session has read, in ``session.info``: a page asks several cached results,
#: and each asking read the registry's stamp again (five queries; at 10 million dossiers
#: with 20 users a fifth of the server's time, benchmarks/web_load.py). Forgotten when the
#: session writes or begins another transaction (:func:`_forget_stamps`).
_STAMPS = "chiso.web.cache.stamps"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_begin")
def _forget_stamps(session: Session, *_args: Any) -> None:
    session.info.pop(_STAMPS, None)


def _once(session: Session, name: str, read: Callable[[Session], tuple]) -> tuple:
    """``read(session)``, read once per session until it writes (see :data:`_STAMPS`)."""
    kept = session.info.get(_STAMPS, {})
    if name in kept:
        return kept[name]
    value = read(session)  # may begin the session's transaction, which forgets the stamps
    session.info.setdefault(_STAMPS, {})[name] = value
    return value


def registry_stamp(session: Session) -> tuple:
    """Changes whenever units, parents, lineage or group membership change (a row added, or
    its validity ended), and whenever an adjustment of a score is entered or withdrawn."""
    return _once(session, "registry", _registry_stamp)


def _registry_stamp(session: Session) -> tuple:
    from chiso.adjustments import service as adjustments
    from chiso.units.models import GroupMember, LineageEvent, Unit, UnitParent

    # One statement for the four tables, not four: each one's count and highest id, and where
    # a row's validity can end without a row being added (a unit leaving a group, a parent
    # link ended), how many have ended and the latest end.
    parts = [select(agg(col)).scalar_subquery() for m in (Unit, UnitParent, LineageEvent, GroupMember)
             for col in (m.id, getattr(m, "valid_to", None)) if col is not None
             for agg in (func.count, func.max)]
    # The adjustments in force change scores as the registry does (technical deductions).
    return tuple(session.execute(select(*parts)).one()) + (adjustments.stamp(session),)


def standing_stamp(session: Session) -> tuple:
    """Changes whenever published standings are imported (the province row carries its
    national rank)."""
    return _once(session, "standing", _standing_stamp)


def _standing_stamp(session: Session) -> tuple:
    from chiso.standing.models import PublishedStanding

    return tuple(session.execute(select(func.count(PublishedStanding.id), func.max(PublishedStanding.imported_at))).one())


def index_766(app: FastAPI, session: Session, period, *, group: str | None = None, method_id: str | None = None) -> list[dict]:
    """``chiso.index.service.index_766`` for all units, cached; callers filter by scope."""
    from chiso.clock import local_now
    from chiso.i18n import current_language
    from chiso.index import service

    store = app.state.store
    # The day too: a running period's open dossiers are judged as of today.
    key = ("766", period.code, group, method_id, *store.kind_versions().values(), registry_stamp(session),
           standing_stamp(session), current_language(), local_now().date())
    return app.state.results.get(
        key, lambda: service.index_766(session, store, period, group=group, method_id=method_id))
