"""Bringing the expensive results forward, so that no reader waits for them.

The figures of the pages people open first (overview, the 766 table, rankings, a unit's
page, the targets heat map) cost seconds at a province's size when computed on a request.
The server computes them in the background instead: once at start-up, then again whenever
the store changes (an import, from this server, the CLI or the worker) or the day does (a
running period's open dossiers are judged as of today), for the current period and the one
before it. Every result lands in the same cache the pages read, under the same key, so a
page that comes before the warm-up has finished only computes what is not there yet."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from chiso.web.dashboard import common

#: How often the server looks for a new store version (seconds): reading the versions is a
#: few small files, and a reader after an import waits at most this long for the warm-up.
WATCH_SECONDS = 2.0

log = logging.getLogger("chiso.web")


def warm(app) -> None:
    """Compute what the first pages need, for the current period and the previous one.

    In the order people meet them: the overview, the current period's tables and a unit's
    page (its trend, the foreseen end, the advice) in the store's language, the dossiers
    behind its on-time rate; then the previous period and the other languages. At 10 million dossiers the whole takes about
    12 s, so the order decides what a reader in the first seconds after a start finds ready."""
    from chiso import db
    from chiso.i18n import LANGUAGES, current_language, use_language
    from chiso.web.dashboard import overview, steering

    overview.warm(app)
    first = current_language()
    languages = [first] + [lang for lang in LANGUAGES if lang != first]
    with db.transaction(app.state.engine) as session:
        current = common.pick_period(None)

        def period(p, langs) -> None:
            groups = []
            for lang in langs:
                with use_language(lang):
                    groups = common.unit_groups(app, session)
                    common.index_by_unit(app, session, p)
            common.index_rows(app, session, p)  # the 766 table
            for g in groups:  # the rankings, one table per group
                common.index_rows(app, session, p, group=g["code"])

        def late_dossiers(p) -> None:
            """The dossiers behind the on-time indicator, every unit's in one scan (the list a
            unit's page links to first: "late"): 3 s at 10 million dossiers."""
            from chiso.index import explain, service

            on_time = service.on_time_indicator(common.method())
            if on_time is not None:
                explain.ids_file(session, app.state.store, p, indicator=on_time)

        def steering_of(lang: str) -> None:
            with use_language(lang):
                common.advice(app, session, current, "")  # what would raise each unit's score
                steering.heat(app, session)

        period(current, languages)
        common.totals_over(app, session, common.recent(current, 6))  # a unit's trend
        common.forecasts(app, session, current)  # the end of the running period foreseen
        steering_of(first)
        late_dossiers(current)
        period(current.previous(), languages)
        for lang in languages[1:]:
            steering_of(lang)


def stamp(app) -> tuple:
    """What the warmed results depend on that can change under a running server."""
    return common.store_stamp(app)


def warm_if_changed(app, last: tuple | None) -> tuple:
    """Warm when the store (or the day) changed since ``last``; returns the stamp now."""
    now = stamp(app)
    if now != last:
        app.state.warming = True  # /healthz says so meanwhile
        try:
            warm(app)
        finally:
            app.state.warming = False
    return now


def keep_warm(app, stop: threading.Event, *, every: float = WATCH_SECONDS) -> None:
    """Warm now, then after every change of the store until ``stop`` is set. A failure is
    logged and only costs time: the next request computes what it needs."""
    yield_to_requests()
    last = None
    while True:
        try:
            last = warm_if_changed(app, last)
        except Exception:
            log.exception("warming the dashboard failed")
            last = stamp_or_none(app)
            app.state.warming = False
        if stop.wait(every):
            return


#: The warm-up thread's niceness (Linux): requests come first.
NICENESS = 10


def yield_to_requests() -> None:
    """Lower the CPU priority of the calling thread (on Linux a thread has its own
    niceness, and the threads DuckDB starts for the connections this thread opens inherit
    it). Measured at 10 million dossiers with 20 users (benchmarks/web_load.py): while
    the warm-up ran at the requests' priority, the requests' p95 in the first 30 s after a
    start was 0.4 to 1.3 s. Where the system refuses, the thread keeps its priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed
        log.debug("the warm-up keeps the server's CPU priority")


#: Tasks :func:`soon` lets wait at once; more are dropped (each only saves a reader time).
SOON_QUEUE = 8
_SOON = threading.Lock()


def soon(app, task: Callable[[], object]) -> Future | None:
    """Run ``task()`` in the server's background thread, at the warm-up's priority
    (:func:`yield_to_requests`): work a reader is likely to ask for next, done while it
    reads the page in front of it. None when :data:`SOON_QUEUE` tasks already wait. A
    failure is logged; the reader's request computes it again."""
    with _SOON:
        pool = getattr(app.state, "soon", None)
        if pool is None:
            pool = app.state.soon = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chiso-soon",
                                                       initializer=yield_to_requests)
            app.state.soon_waiting = 0
        if app.state.soon_waiting >= SOON_QUEUE:
            return None
        app.state.soon_waiting += 1

    def run() -> None:
        try:
            task()
        except Exception:
            log.exception("a background task of the dashboard failed")
        finally:
            with _SOON:
                app.state.soon_waiting -= 1

    return pool.submit(run)


def stamp_or_none(app) -> tuple | None:
    """The stamp, or None when even that fails (the store unreachable): tried again next time."""
    try:
        return stamp(app)
    except Exception:  # noqa: BLE001  (logged just before; the loop must go on)
        return None


def start(app, *, every: float = WATCH_SECONDS) -> threading.Event:
    """Run :func:`keep_warm` in a background thread; set the returned event to stop it."""
    stop = threading.Event()
    app.state.warming = True  # from now: /healthz says so until the first warm-up is done
    threading.Thread(target=keep_warm, args=(app, stop), kwargs={"every": every}, name="chiso-warm",
                     daemon=True).start()
    return stop
