"""Live updates: a server-sent-events stream that tells open pages something they show may
have changed. It carries version numbers only, never data: the dossier store's version and
the newest audit entry the reader may see. A page that receives an event re-fetches what it
shows. Any number of server processes can serve it: the numbers come from the stores."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from chiso import db
from chiso.audit.models import AuditEntry
from chiso.auth.permissions import Actor
from chiso.http.deps import resolve_actor
router = APIRouter()
HEARTBEAT_SECONDS = 15.0


def state_for(app: FastAPI, actor: Actor) -> dict[str, int]:
    """What the reader's pages depend on, as numbers that grow when it changes."""
    out = {"dossiers": app.state.store.version("dossiers")}
    if not actor.is_public:
        with db.transaction(app.state.engine) as session:
            q = select(func.max(AuditEntry.id))
            if actor.units is not None:
                q = q.where(AuditEntry.unit_id.in_(actor.units))
            out["changes"] = session.scalar(q) or 0
            # Traffic lights also change with time alone (a deadline nears): the worker
            # records each change of colour as a flip, which is not a person's write.
            from chiso.targets.models import Flip

            f = select(func.max(Flip.id))
            if actor.units is not None:
                f = f.where(Flip.unit_id.in_(actor.units))
            out["colours"] = session.scalar(f) or 0
    return out


class Pulse:
    """One read of the stores per scope and interval, however many pages are open.

    Every open page holds a stream that asks for its versions each interval. Without this,
    a hundred open dashboards would make fifty small transactions a second; with it, readers
    who see the same things (the public, the whole province, one commune's users) share one
    read. A value is reused for at most half an interval, so a change still reaches a page
    within one and a half intervals."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._guard = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._seen: dict[tuple, tuple[float, dict[str, int]]] = {}

    @staticmethod
    def scope(actor: Actor) -> tuple:
        return (actor.is_public, None if actor.units is None else frozenset(actor.units))

    def state(self, app: FastAPI, actor: Actor) -> dict[str, int]:
        key = self.scope(actor)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the first reader of a scope reads; the others wait for its answer
            seen = self._seen.get(key)
            if seen is not None and time.monotonic() - seen[0] < self.max_age:
                return seen[1]
            value = state_for(app, actor)
            self._seen[key] = (time.monotonic(), value)
            return value


def pulse_of(app: FastAPI) -> Pulse:
    pulse = getattr(app.state, "pulse", None)
    if pulse is None:
        pulse = app.state.pulse = Pulse(app.state.events_interval / 2)
    return pulse


@router.get("/events", include_in_schema=False)
async def events(request: Request):
    app = request.app

    def who() -> Actor:
        # Its own short transaction: the stream stays open for hours and must hold none.
        with db.transaction(app.state.engine) as session:
            return resolve_actor(request, session)

    actor = await run_in_threadpool(who)
    interval = app.state.events_interval
    pulse = pulse_of(app)

    async def stream():
        last = await run_in_threadpool(pulse.state, app, actor)
        yield "retry: 3000\nevent: hello\ndata: " + json.dumps(last) + "\n\n"
        beat = time.monotonic()
        while not await request.is_disconnected():
            await asyncio.sleep(interval)
            now = await run_in_threadpool(pulse.state, app, actor)
            if now != last:
                changed = sorted(k for k in now if now[k] != last.get(k))
                last = now
                yield "event: change\ndata: " + json.dumps({**now, "changed": changed}) + "\n\n"
                beat = time.monotonic()
            elif time.monotonic() - beat > HEARTBEAT_SECONDS:
                yield ": keep-alive\n\n"
                beat = time.monotonic()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
