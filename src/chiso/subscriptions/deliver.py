"""The worker's part of subscriptions (:func:`run_due`, called once a pass by
:func:`chiso.worker.run_pass`): watch the units, then send every subscriber what is due.

- Scheduled messages: a daily subscription is due every day at the setting
  ``subscription_send_at`` (local time of ``timezone``), a weekly one on Mondays at that
  time; a worker that was down sends only the latest due one, and nothing due before the
  subscription was made.
- Alerts: each event of the watch (a unit turned red, or fell into the last three of its
  group) after the subscription was made, about a unit the person may read and the
  subscription covers (a unit subscription: that unit; a page: every unit the person sees).

Every message is claimed per person, key and channel in ``subscription_sends`` (insert
ignoring a conflict, then compare-and-set to ``sending``), as the reminder digests are, so
restarts, two workers and two subscriptions covering the same unit send each thing once.
The alerts claimed in one pass go out together in one message.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import db, settings
from chiso.auth import service as auth
from chiso.auth.models import User
from chiso.auth.permissions import Actor
from chiso.i18n import _, use_language
from chiso.notify import send
from chiso.periods import period_for
from chiso.subscriptions import content, service
from chiso.subscriptions.content import Context
from chiso.subscriptions.models import Subscription, SubscriptionSend

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

log = logging.getLogger("chiso.subscriptions")
MAX_ATTEMPTS = 3


def send_at() -> time:
    text = settings.get("subscription_send_at").strip()
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        log.warning("subscription_send_at %r is not HH:MM: 07:00 is used", text)
        return time(7, 0)


def latest_due(frequency: str, now: datetime, tz: str, at: time) -> datetime:
    """The latest due time not after ``now`` of a daily or weekly (Monday) subscription. Pure."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    if frequency == "weekly":
        day -= timedelta(days=local.weekday())
    due = datetime.combine(day, at, zone)
    if due > local:
        due = datetime.combine(day - timedelta(days=7 if frequency == "weekly" else 1), at, zone)
    return due.astimezone(timezone.utc)


# --------------------------------------------------------------------------- claiming


def claim(engine: Engine, *, user_id: int, subscription_id: int | None, key: str, channel: str, address: str | None,
          worker: str) -> bool:
    """Insert the send if missing, then compare-and-set it to ``sending``: True only for the
    one worker whose update changed the row."""
    now = datetime.now(timezone.utc)
    db.insert_ignore(engine, SubscriptionSend, {"user_id": user_id, "subscription_id": subscription_id, "key": key,
                                                "channel": channel, "status": "pending", "attempts": 0,
                                                "created_at": now}, keys=["user_id", "key", "channel"])
    with engine.begin() as conn:
        return conn.execute(
            update(SubscriptionSend)
            .where(SubscriptionSend.user_id == user_id, SubscriptionSend.key == key, SubscriptionSend.channel == channel,
                   or_(SubscriptionSend.status == "pending",
                       and_(SubscriptionSend.status == "failed", SubscriptionSend.attempts < MAX_ATTEMPTS)))
            .values(status="sending", claimed_by=worker, claimed_at=now, attempts=SubscriptionSend.attempts + 1,
                    address=address, error=None)).rowcount == 1


def finish(engine: Engine, *, user_id: int, keys: list[str], channel: str, worker: str, error: str | None) -> None:
    values = ({"status": "sent", "sent_at": datetime.now(timezone.utc)} if error is None
              else {"status": "failed", "error": error[:2000]})
    with engine.begin() as conn:
        conn.execute(update(SubscriptionSend).where(
            SubscriptionSend.user_id == user_id, SubscriptionSend.key.in_(keys), SubscriptionSend.channel == channel,
            SubscriptionSend.status == "sending", SubscriptionSend.claimed_by == worker).values(**values))


# --------------------------------------------------------------------------- one pass


def _deliver(engine: Engine, report: dict[str, Any], *, user: dict[str, Any], channels: tuple[str, ...],
             keys: list[tuple[str, int | None]], worker: str, kind: str,
             message: Callable[[list[str]], tuple[str, str, dict[str, Any]]]) -> None:
    """Claim ``keys`` on every channel and send one message with what was claimed."""
    for channel in channels:
        address = user["email"] if channel == "email" else settings.get("webhook_url")
        entry = {"user": user["name"], "kind": kind, "channel": channel, "keys": [k for k, _s in keys]}
        if channel == "email" and not address:
            report["skipped"].append({**entry, "reason": _("no e-mail address for the account {name}").format(
                name=user["name"])})
            continue
        won = [k for k, sid in keys if claim(engine, user_id=user["id"], subscription_id=sid, key=k, channel=channel,
                                             address=address, worker=worker)]
        if not won:
            report["already"].append(entry)
            continue
        try:
            subject, body, data = message(won)
            if channel == "email":
                send.send_email(to=address, subject=subject, body=body)
            else:
                send.post_webhook({"person": user["name"], "kind": kind, "subject": subject, "text": body, **data})
        except Exception as exc:  # a channel's failure is kept on the rows and retried on a later pass
            log.warning("sending %s to %s by %s failed: %s", kind, user["name"], channel, exc)
            finish(engine, user_id=user["id"], keys=won, channel=channel, worker=worker, error=str(exc) or repr(exc))
            report["failed"].append({**entry, "keys": won, "error": str(exc)})
            continue
        finish(engine, user_id=user["id"], keys=won, channel=channel, worker=worker, error=None)
        report["sent"].append({**entry, "keys": won})


def run_due(engine: Engine, *, channels: tuple[str, ...], worker: str, now: datetime | None = None,
            store: DossierStore | None = None, today: date | None = None) -> dict[str, Any]:
    """Watch the units (when someone wants alerts) and send what is due on ``channels``.
    Returns ``events`` (ids of new watch events), ``sent``, ``skipped``, ``failed``, ``already``."""
    from zoneinfo import ZoneInfo

    from chiso.store.service import open_records

    now = now or datetime.now(timezone.utc)
    tz = settings.get("timezone")
    report: dict[str, Any] = {"events": [], "sent": [], "skipped": [], "failed": [], "already": []}
    with Session(engine) as session:
        subs = [(s.id, s.user_id, s.kind, s.target, s.frequency, s.alerts, service.aware(s.created_at))
                for s in session.scalars(select(Subscription).join(User, User.id == Subscription.user_id).where(
                    Subscription.active.is_(True), User.active.is_(True)).order_by(Subscription.id))]
    if not subs:
        return report
    store = store or open_records(engine)
    period = period_for("quarter", today or now.astimezone(ZoneInfo(tz)).date())
    ctx = Context(engine, store, period)
    if any(s[5] for s in subs):
        report["events"] = service.watch(engine, ctx.states(), period, now=now)
    if not channels:
        return report
    at = send_at()
    by_user: dict[int, list[tuple]] = {}
    for s in subs:
        by_user.setdefault(s[1], []).append(s)
    for user_id, mine in sorted(by_user.items()):
        with Session(engine) as session:
            u = session.get(User, user_id)
            if u is None:
                continue
            actor = auth.actor_for_user(session, u, via="worker")
            user: dict[str, Any] = {"id": u.id, "name": u.name, "email": u.email, "full_name": u.full_name or u.name,
                    "lang": u.language or settings.get("lang")}
            alert_subs = [s for s in mine if s[5]]
            events = service.events_since(session, min(s[6] for s in alert_subs), now=now) if alert_subs else []
        with use_language(user["lang"]):
            for sid, _uid, kind, target, frequency, _alerts, created in mine:
                if frequency == "off":
                    continue
                due = latest_due(frequency, now, tz, at)
                if due < created:
                    continue  # nothing due since the subscription was made
                key = f"{frequency}:{sid}:{due.astimezone(ZoneInfo(tz)).date().isoformat()}"
                _deliver(engine, report, user=user, channels=channels, keys=[(key, sid)], worker=worker,
                         kind="subscription", message=_bind(content.digest, ctx, actor, kind, target, user, frequency, due))
            wanted = [e for e in events if _covered(e, actor, alert_subs)]
            if wanted:
                keys = [(f"alert:{e['id']}", _first_sub(e, alert_subs)) for e in wanted]
                _deliver(engine, report, user=user, channels=channels, keys=keys, worker=worker, kind="alert",
                         message=_bind_alert(ctx, wanted, user))
    return report


def _covered(event: dict[str, Any], actor: Actor, alert_subs: list[tuple]) -> bool:
    if not actor.sees(event["unit_id"]):
        return False
    return _first_sub(event, alert_subs) is not None


def _first_sub(event: dict[str, Any], alert_subs: list[tuple]) -> int | None:
    for sid, _uid, kind, target, _f, _a, created in alert_subs:
        if event["at"] >= created and (kind == "page" or target == event["unit"]):
            return int(sid)
    return None


def _bind(fn: Callable, ctx: Context, actor: Actor, kind: str, target: str, user: dict[str, Any], frequency: str,
          due: datetime) -> Callable[[list[str]], tuple[str, str, dict[str, Any]]]:
    return lambda _won: fn(ctx, actor=actor, kind=kind, target=target, user=user, frequency=frequency, due=due)


def _bind_alert(ctx: Context, events: list[dict[str, Any]],
                user: dict[str, Any]) -> Callable[[list[str]], tuple[str, str, dict[str, Any]]]:
    def make(won: list[str]) -> tuple[str, str, dict[str, Any]]:
        # Only the events this worker claimed: one sent on an earlier pass is not repeated.
        return content.alert(ctx, events=[e for e in events if f"alert:{e['id']}" in won], user=user)

    return make
