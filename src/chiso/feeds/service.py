"""Feeds (``chiso sources``): add, list, remove, pull one, and the worker's pass.

A pull pages through the source from its watermark and imports each page through the one
dossier import (:func:`chiso.dossiers.service.import_records`), in its own transaction that
also records the page (``feed_pages``). The watermark moves only after the last page is
committed, by a compare-and-set that holds only for the worker that claimed the feed; a pull
that fails leaves it where it was, and the next pull starts again from it.

What a crash can and cannot do: a page's records become visible in one atomic rename of the
records store, and the page's row commits just after, in the database. A worker killed
before the rename leaves nothing of the page; one killed between the two leaves the records
and no row, and the next pull imports that page again, which changes nothing (records are
keyed by source and dossier id; the same version counts unchanged). A page whose row is
committed is never imported again while the watermark stands (same content since the same
``since``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import db, settings
from chiso.audit import service as audit
from chiso.auth.permissions import Actor, Forbidden
from chiso.dossiers.models import RecordSource
from chiso.dossiers.store import DossierStore
from chiso.errors import ChisoError, NotFound
from chiso.feeds import secret
from chiso.feeds.models import FeedPage, SourceFeed
from chiso.feeds.protocol import FeedError, Page, fetch, protocol, safe_url
from chiso.i18n import _

log = logging.getLogger("chiso.feeds")

#: The counts a pull answers with (``chiso sources run --format json``), besides the watermark.
COUNTS = ("pages", "read", "inserted", "updated", "unchanged", "rejected")
#: How long a claim holds without news from its worker (renewed at every page): a killed
#: worker's feed is pulled again by another once it runs out.
LEASE_SECONDS = 600
#: The longest wait between failed pulls.
MAX_BACKOFF_SECONDS = 3600
#: Committed pages are listed (with their rejects) this many days.
KEEP_PAGES_DAYS = 90
#: A pull that goes on longer than this many pages is stopped (a source whose ``next`` loops).
MAX_PAGES = 100_000

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` (or plain seconds) as seconds; at least 10 s."""
    m = _EVERY.match(text or "")
    if not m or int(m.group(1)) * _UNIT_SECONDS[m.group(2)] < 10:
        raise ChisoError(_("Give the schedule as a number with s, m, h or d (at least 10 s), e.g. 5m; got {value}.")
                         .format(value=text))
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def show_every(seconds: int) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite gives it back naive)."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _now(now: datetime | None = None) -> datetime:
    return _utc(now) or datetime.now(timezone.utc)


def _manage(actor: Actor) -> None:
    if not (actor.may("admin") and actor.province_wide):
        raise Forbidden(_("Only province-wide administrators manage the feeds of sources."))


def _get(session: Session, name: str) -> SourceFeed:
    feed = session.scalar(select(SourceFeed).where(SourceFeed.name == name.strip()))
    if feed is None:
        raise NotFound(_("No feed named {name}; see chiso sources list.").format(name=name))
    return feed


# --------------------------------------------------------------------------- add, list, remove


def add(session: Session, *, actor: Actor, name: str, url: str, every: str, protocol_name: str = "chiso",
        token: str | None = None, token_env: str | None = None, key_folder: Any = None) -> dict[str, Any]:
    """A new feed pulling records of source ``name`` from ``url`` every ``every``. The token
    is sealed with :func:`chiso.feeds.secret.key` of ``key_folder`` (the records folder);
    ``token_env`` names an environment variable read at each pull instead."""
    _manage(actor)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ChisoError(_("Name the source (at most 64 characters)."))
    url = (url or "").strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise ChisoError(_("The URL of a source must start with http:// or https://; got {url}.").format(
            url=safe_url(url)))
    seconds = parse_every(every)
    protocol(protocol_name)
    if token is not None and token_env:
        raise ChisoError(_("Give the token on standard input or name its variable, not both."))
    if token is not None and not token.strip():
        raise ChisoError(_("The token read from standard input is empty."))
    if session.scalar(select(SourceFeed.id).where(SourceFeed.name == name)) is not None:
        raise ChisoError(_("A feed named {name} exists; remove it first.").format(name=name))
    owner = session.scalar(select(RecordSource).where(RecordSource.name == name))
    if owner is None:
        owner = RecordSource(name=name, unit_id=None)  # pulled by the province's worker: the province's
        session.add(owner)
        session.flush()
    sealed = None
    if token is not None:
        if key_folder is None:
            raise ChisoError(_("No folder for the key that seals the token."))
        sealed = secret.seal(token.strip(), secret.key(key_folder))
    feed = SourceFeed(record_source_id=owner.id, name=name, url=url, protocol=protocol_name, every_seconds=seconds,
                      token_sealed=sealed, token_env=(token_env or None), next_run_at=datetime.now(timezone.utc),
                      failures=0)
    session.add(feed)
    session.flush()
    audit.record(session, actor=actor, action="source.add", object_type="source", object_key=name,
                 after={"url": safe_url(url), "every": show_every(seconds), "protocol": protocol_name,
                        "token": "sealed" if sealed else (f"env:{token_env}" if token_env else None)})
    return describe(session, feed)


def remove(session: Session, *, actor: Actor, name: str) -> dict[str, Any]:
    """Stop pulling ``name``: its feed and page log go; the records it brought stay."""
    _manage(actor)
    feed = _get(session, name)
    shown = describe(session, feed)
    session.execute(delete(FeedPage).where(FeedPage.feed_id == feed.id))
    session.delete(feed)
    audit.record(session, actor=actor, action="source.remove", object_type="source", object_key=feed.name,
                 before={"url": shown["url"], "every": shown["every"], "watermark": shown["watermark"]})
    return shown


def watermark_time(mark: str | None) -> datetime | None:
    """A watermark as the store's wall-clock time (naive, setting ``timezone``)."""
    if not mark:
        return None
    try:
        return datetime.strptime(mark, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def freshness_of(feed: SourceFeed, now: datetime | None = None) -> dict[str, Any]:
    """How fresh a feed's data is: ``at`` (the source's time up to which it is complete, as
    wall-clock time), ``lag_minutes`` behind now, and ``colour`` against the settings
    ``feed_lag_amber_minutes`` and ``feed_lag_red_minutes`` (``no_data`` before a first pull)."""
    zone = ZoneInfo(settings.get("timezone"))
    local_now = _now(now).astimezone(zone).replace(tzinfo=None)
    at = watermark_time(feed.watermark)
    if at is None and feed.last_success_at is not None:
        at = _utc(feed.last_success_at).astimezone(zone).replace(tzinfo=None)  # type: ignore[union-attr]
    if at is None:
        return {"at": None, "lag_minutes": None, "colour": "no_data"}
    lag = max(0, int((local_now - at).total_seconds() // 60))
    colour = ("red" if lag >= int(settings.get("feed_lag_red_minutes"))
              else "amber" if lag >= int(settings.get("feed_lag_amber_minutes")) else "green")
    return {"at": at, "lag_minutes": lag, "colour": colour}


def describe(session: Session, feed: SourceFeed, now: datetime | None = None) -> dict[str, Any]:
    """One feed as ``chiso sources list`` shows it (never its token)."""
    totals = session.execute(
        select(func.count(FeedPage.id), func.coalesce(func.sum(FeedPage.read), 0),
               func.coalesce(func.sum(FeedPage.inserted), 0), func.coalesce(func.sum(FeedPage.updated), 0),
               func.coalesce(func.sum(FeedPage.unchanged), 0), func.coalesce(func.sum(FeedPage.rejected), 0))
        .where(FeedPage.feed_id == feed.id)).one()
    fresh = freshness_of(feed, now)

    def iso(moment: datetime | None) -> str | None:
        m = _utc(moment)
        return m.isoformat() if m else None

    return {
        "name": feed.name, "url": safe_url(feed.url), "protocol": feed.protocol, "every": show_every(feed.every_seconds),
        "token": "sealed" if feed.token_sealed else (f"env:{feed.token_env}" if feed.token_env else None),
        "watermark": feed.watermark, "data_at": fresh["at"].isoformat(timespec="seconds") if fresh["at"] else None,
        "lag_minutes": fresh["lag_minutes"], "freshness": fresh["colour"],
        "last_success_at": iso(feed.last_success_at), "last_error": feed.last_error,
        "last_error_at": iso(feed.last_error_at), "failures": feed.failures, "next_run_at": iso(feed.next_run_at),
        "pulling": feed.claimed_by is not None and (_utc(feed.claim_until) or _now()) > _now(now),
        "last_pull": feed.last_counts,
        "totals": dict(zip(COUNTS, (int(v) for v in totals))),
    }


def list_feeds(session: Session, *, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every feed, by name: last success, lag, counts, last error."""
    if not actor.may("read"):
        raise Forbidden(_("You are not allowed to do this."))
    return [describe(session, f, now) for f in session.scalars(select(SourceFeed).order_by(SourceFeed.name))]


def freshness(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """For the dashboard: each feed's name, freshness and last error (nothing secret)."""
    out = []
    for feed in session.scalars(select(SourceFeed).order_by(SourceFeed.name)):
        out.append({"name": feed.name, **freshness_of(feed, now), "last_error": feed.last_error})
    return out


def rejects(session: Session, *, actor: Actor, name: str) -> list[dict[str, Any]]:
    """The rejected rows of a feed's pages, each with the page (since, number) it came in."""
    if not actor.may("read"):
        raise Forbidden(_("You are not allowed to do this."))
    feed = _get(session, name)
    out = []
    for page in session.scalars(select(FeedPage).where(FeedPage.feed_id == feed.id, FeedPage.rejected > 0)
                                .order_by(FeedPage.id)):
        for r in page.rejects or []:
            out.append({"source": feed.name, "since": page.since or None, "page": page.number, **r})
    return out


# --------------------------------------------------------------------------- claiming


def claim(engine: Engine, *, feed_id: int, worker: str, now: datetime | None = None, due_only: bool = False,
          lease_seconds: int = LEASE_SECONDS) -> bool:
    """Compare-and-set: the feed becomes ``worker``'s unless another worker holds a live
    claim (``due_only``: and only when its next pull is due). True for the one winner."""
    now = _now(now)
    cond = [SourceFeed.id == feed_id, or_(SourceFeed.claimed_by.is_(None), SourceFeed.claim_until < now)]
    if due_only:
        cond.append(SourceFeed.next_run_at <= now)
    with engine.begin() as conn:
        result = conn.execute(update(SourceFeed).where(*cond).values(
            claimed_by=worker, claim_until=now + timedelta(seconds=lease_seconds)))
        return result.rowcount == 1


def _renew(session: Session, feed_id: int, worker: str, lease_seconds: int) -> None:
    result = session.execute(update(SourceFeed).where(SourceFeed.id == feed_id, SourceFeed.claimed_by == worker)
                             .values(claim_until=datetime.now(timezone.utc) + timedelta(seconds=lease_seconds)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise FeedError(_("Another worker took over this source (the claim ran out); this pull stops."), retry=False)


def _fail(engine: Engine, *, feed_id: int, worker: str, every: int, failures: int, error: str) -> None:
    now = datetime.now(timezone.utc)
    wait = min(int(settings.get("feed_retry_seconds")) * 2 ** max(0, failures), MAX_BACKOFF_SECONDS, max(every, 10))
    with engine.begin() as conn:
        conn.execute(update(SourceFeed).where(SourceFeed.id == feed_id, SourceFeed.claimed_by == worker).values(
            claimed_by=None, claim_until=None, failures=SourceFeed.failures + 1, last_error=error[:2000],
            last_error_at=now, next_run_at=now + timedelta(seconds=wait)))


# --------------------------------------------------------------------------- one pull


def _token(feed: SourceFeed, key_folder: Any) -> str | None:
    if feed.token_env:
        value = os.environ.get(feed.token_env, "")
        if not value:
            raise FeedError(_("The variable {name} that holds the token of this source is not set.").format(
                name=feed.token_env), retry=False)
        return value
    if feed.token_sealed:
        return secret.unseal(feed.token_sealed, secret.key(key_folder))
    return None


def _fetch_page(url: str, *, token: str | None, timeout: float, attempts: int, pause: float,
                parse: Callable[[bytes, str], Page]) -> tuple[bytes, Page]:
    for attempt in range(1, attempts + 1):
        try:
            body = fetch(url, token=token, timeout=timeout)
            return body, parse(body, url)
        except FeedError as exc:
            if not exc.retry or attempt == attempts:
                raise
            log.info("page %s failed (%s); attempt %d of %d", safe_url(url), exc, attempt + 1, attempts)
            time.sleep(pause * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def pull(engine: Engine, store: DossierStore, *, name: str, actor: Actor, worker: str | None = None,
         claimed: bool = False, timeout: float | None = None, attempts: int | None = None, pause: float = 1.0,
         lease_seconds: int = LEASE_SECONDS, key_folder: Any = None) -> dict[str, Any]:
    """Pull ``name`` once, page by page from its watermark, and return the counts and the
    new watermark. Claims the feed first unless ``claimed`` (the worker has); refuses
    (:class:`ChisoError`) when another worker is pulling it. On failure the error is kept on
    the feed, the watermark stays, and :class:`FeedError` says what went wrong and what
    was committed before it."""
    worker = worker or worker_id()
    timeout = float(settings.get("feed_timeout_seconds")) if timeout is None else timeout
    attempts = int(settings.get("feed_page_attempts")) if attempts is None else attempts
    with Session(engine) as session:
        feed = _get(session, name)
        feed_id, every, failures = feed.id, feed.every_seconds, feed.failures
        source, since, start = feed.name, feed.watermark, feed.url
        proto = protocol(feed.protocol)
        sealed_feed = feed
        if key_folder is None and feed.token_sealed:
            from chiso.store.service import files_root

            key_folder = files_root(engine)
    if not claimed and not claim(engine, feed_id=feed_id, worker=worker, lease_seconds=lease_seconds):
        raise ChisoError(_("Another worker is pulling {name} now; try again when it is done.").format(name=source))
    counts = dict.fromkeys(COUNTS, 0)
    committed = 0
    try:
        token = _token(sealed_feed, key_folder)
        url: str | None = proto.first_url(start, since)
        mark: str | None = None
        seen: set[str] = set()
        while url is not None:
            if url in seen or counts["pages"] >= MAX_PAGES:
                raise FeedError(_("The source's pages do not end (the page {url} comes back).").format(
                    url=safe_url(url)), retry=False)
            seen.add(url)
            body, page = _fetch_page(url, token=token, timeout=timeout, attempts=attempts, pause=pause,
                                     parse=proto.parse)
            counts["pages"] += 1
            _commit_page(engine, store, feed_id=feed_id, source=source, since=since or "", number=counts["pages"],
                         body=body, page=page, actor=actor, worker=worker, lease_seconds=lease_seconds,
                         counts=counts)
            committed += 1
            mark = page.watermark or mark
            url = page.next
    except BaseException as exc:  # Ctrl-C too: the claim is given back, not left to run out
        kept = _("{pages} page(s) committed before it").format(pages=committed)
        message = f"{exc} ({kept})" if isinstance(exc, ChisoError) else f"{type(exc).__name__}: {exc}"
        _fail(engine, feed_id=feed_id, worker=worker, every=every, failures=failures, error=message)
        if isinstance(exc, FeedError):
            raise FeedError(message, retry=exc.retry) from None
        raise
    now = datetime.now(timezone.utc)
    result = {**counts, "watermark": mark}
    with engine.begin() as conn:
        done = conn.execute(update(SourceFeed).where(SourceFeed.id == feed_id, SourceFeed.claimed_by == worker).values(
            watermark=mark, last_success_at=now, failures=0, last_error=None, last_error_at=None,
            last_counts=result, next_run_at=now + timedelta(seconds=every), claimed_by=None, claim_until=None))
        # The page log is kept for a while (its rejects, its counts), not for ever.
        conn.execute(delete(FeedPage).where(FeedPage.feed_id == feed_id,
                                            FeedPage.committed_at < now - timedelta(days=KEEP_PAGES_DAYS)))
    if done.rowcount != 1:
        # Every page is committed, but another worker holds the feed now: it will move the
        # watermark itself; this one must not (it could move it behind the other's).
        log.warning("feed %s: the claim ran out before the end of the pull; watermark left to the other worker",
                    source)
    if counts["inserted"] or counts["updated"]:
        _hand_over(store)
    return result


def _hand_over(store: DossierStore) -> None:
    """The index's counts brought up to the pulled records now (only the changed dossiers
    are read), so that the first reader after a pull does not pay for it. A failure only
    costs time: the next reader catches up itself."""
    from chiso.index import service as index

    try:
        index.catch_up(store)
    except Exception:  # noqa: BLE001  (the pull is committed; the index catches up later)
        log.exception("bringing the index's counts up to the pulled records failed")


def _commit_page(engine: Engine, store: DossierStore, *, feed_id: int, source: str, since: str, number: int,
                 body: bytes, page: Page, actor: Actor, worker: str, lease_seconds: int,
                 counts: dict[str, int]) -> None:
    """Import one page and record it, in one transaction; a page already committed since
    the same watermark (same content) is skipped."""
    from chiso.dossiers import service as dossiers

    if not page.items:  # nothing to import: no import, no audit entry, no page row
        with db.transaction(engine) as session:
            _renew(session, feed_id, worker, lease_seconds)
        return
    digest = hashlib.sha256(body).hexdigest()
    # The lease is renewed on its own: held inside the import's transaction, the update would
    # keep SQLite's write lock (every other writer waiting) for the whole import.
    with db.transaction(engine) as session:
        _renew(session, feed_id, worker, lease_seconds)
    with db.transaction(engine) as session:
        done = session.scalar(select(FeedPage.id).where(FeedPage.feed_id == feed_id, FeedPage.since == since,
                                                        FeedPage.sha256 == digest))
        if done is not None:
            log.info("feed %s: page %d (since %s) was committed before; not imported again", source, number, since)
            return
        summary = dossiers.import_records(session, store, actor=actor, kind="dossiers", source=source,
                                          rows=page.items)
        page_rejects = [{k: v for k, v in r.to_json().items() if k != "file"} for r in summary.rejects]
        session.add(FeedPage(feed_id=feed_id, since=since, number=number, sha256=digest, read=summary.read,
                             inserted=summary.inserted, updated=summary.updated, unchanged=summary.unchanged,
                             rejected=summary.rejected, rejects=page_rejects or None, version=summary.version))
    for k in ("read", "inserted", "updated", "unchanged", "rejected"):
        counts[k] += getattr(summary, k)


# --------------------------------------------------------------------------- the worker's pass


def feed_actor(name: str) -> Actor:
    """Who pulls for the worker: the province's own system, recorded as ``feed:NAME``."""
    return Actor(name=f"feed:{name}", role="admin", via="worker")


def run_due(engine: Engine, *, worker: str | None = None, store: DossierStore | None = None,
            now: datetime | None = None, **options: Any) -> dict[str, Any]:
    """Pull every feed whose time has come and that no other worker holds. Returns
    ``pulled`` (name and counts), ``failed`` (name and error) and ``busy``."""
    worker = worker or worker_id()
    report: dict[str, Any] = {"pulled": [], "failed": [], "busy": []}
    with Session(engine) as session:
        due = list(session.execute(select(SourceFeed.id, SourceFeed.name)
                                   .where(SourceFeed.next_run_at <= _now(now)).order_by(SourceFeed.next_run_at)))
    if not due:
        return report
    if store is None:
        from chiso.store.service import open_records

        store = open_records(engine)
    for feed_id, name in due:
        if not claim(engine, feed_id=feed_id, worker=worker, now=now, due_only=True):
            report["busy"].append(name)
            continue
        try:
            counts = pull(engine, store, name=name, actor=feed_actor(name), worker=worker, claimed=True, **options)
        except Exception as exc:  # kept on the feed (last_error) and retried after the back-off
            log.warning("feed %s failed: %s", name, exc)
            report["failed"].append({"source": name, "error": str(exc)})
            continue
        report["pulled"].append({"source": name, **counts})
    return report
