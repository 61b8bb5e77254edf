"""Subscriptions: who follows what (the CLI, the API and the pages' button all call these),
and the watch over units that the worker keeps (:func:`watch`).

A person may follow only what they may read: a unit outside their scope does not exist for
them (the same answer as an unknown code), and what is sent is cut to their scope when it is
sent, so a narrowed account gets less from then on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import db
from chiso.audit import service as audit
from chiso.auth.models import User
from chiso.auth.permissions import Actor, Forbidden, require
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.periods import Period
from chiso.subscriptions.models import AlertEvent, AlertState, Subscription
from chiso.units import service as units
from chiso.units.models import Unit

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

KINDS = ("page", "unit")
#: The pages one can follow: the three of the wall screen.
PAGES = ("overview", "scorecard", "map")
PAGE_PATHS = {"overview": "/", "scorecard": "/scorecard", "map": "/map"}
FREQUENCIES = ("daily", "weekly", "off")
CONDITIONS = ("red", "last_three")
#: A target's traffic light of the unit turned red (the flips ``chiso targets evaluate`` records).
TARGET_RED = "target_red"
#: The ranking groups a unit's place is judged in (as the pages' standing says it).
RANKING_GROUPS = ("communes", "wards", "agencies_with_procedures")


def page_name(page: str) -> str:
    return {"overview": _("Overview"), "scorecard": _("Group scorecard"), "map": _("Map")}.get(page, page)


def frequency_name(frequency: str) -> str:
    return {"daily": _("daily"), "weekly": _("weekly (Mondays)"), "off": _("alerts only")}.get(frequency, frequency)


def condition_name(condition: str) -> str:
    return {"red": _("turned red (weak band)"), "last_three": _("fell into the last three of its group"),
            TARGET_RED: _("has a target whose light turned red")}.get(condition, condition)


# --------------------------------------------------------------------------- following


def _person(actor: Actor, *, write: bool = False) -> int:
    if actor.user_id is None or actor.is_public:
        raise ChisoError(_("Only a signed-in person can subscribe."))
    require(actor, "read")
    if write and actor.token_scopes is not None:
        # A token limited to some scopes changes nothing but what they name.
        raise Forbidden(_("A token limited to some scopes cannot change subscriptions."))
    return actor.user_id


def _check_target(session: Session, actor: Actor, kind: str, target: str) -> str:
    if kind not in KINDS:
        raise ChisoError(_("Unknown subscription kind {kind}: use page or unit.").format(kind=kind))
    if kind == "page":
        if target not in PAGES:
            raise ChisoError(_("Unknown page {page}: use one of {pages}.").format(page=target, pages=", ".join(PAGES)))
        return target
    what = _("Unknown unit code: {code}").format(code=target)
    try:
        unit = units.get(session, target)
    except NotFound:
        raise NotFound(what) from None
    require(actor, "read", unit_id=unit.id, what=what)
    return unit.code


def as_json(s: Subscription, user: str | None = None) -> dict[str, Any]:
    out = {"id": s.id, "kind": s.kind, "target": s.target, "frequency": s.frequency, "alerts": s.alerts,
           "active": s.active, "created_at": aware(s.created_at).isoformat()}
    if user is not None:
        out["user"] = user
    return out


def aware(t: datetime) -> datetime:
    """A stored moment as an aware datetime (SQLite gives it back without its zone, in UTC)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def subscribe(session: Session, *, actor: Actor, kind: str, target: str, frequency: str = "daily",
              alerts: bool = True) -> dict[str, Any]:
    """Follow a page or a unit (again, with new options, when already followed)."""
    user_id = _person(actor, write=True)
    if frequency not in FREQUENCIES:
        raise ChisoError(_("Unknown frequency {frequency}: use one of {choices}.").format(
            frequency=frequency, choices=", ".join(FREQUENCIES)))
    if frequency == "off" and not alerts:
        raise ChisoError(_("A subscription needs a schedule or alerts."))
    target = _check_target(session, actor, kind, target)
    sub = session.scalar(select(Subscription).where(Subscription.user_id == user_id, Subscription.kind == kind,
                                                    Subscription.target == target))
    before = None if sub is None else as_json(sub)
    now = datetime.now(timezone.utc)
    if sub is None:
        sub = Subscription(user_id=user_id, kind=kind, target=target, created_at=now)
        session.add(sub)
    elif not sub.active:
        sub.created_at = now  # what happened while it was off is not sent on coming back
    sub.frequency, sub.alerts, sub.active, sub.updated_at = frequency, alerts, True, now
    session.flush()
    after = as_json(sub)
    unit_id = session.scalar(select(Unit.id).where(Unit.code == target)) if kind == "unit" else None
    audit.record(session, actor=actor, action="subscription.save", object_type="subscription",
                 object_key=f"{kind}:{target}", unit_id=unit_id, before=before, after=after)
    return after


def unsubscribe(session: Session, *, actor: Actor, kind: str, target: str) -> dict[str, Any]:
    """Stop following; the row and what was sent stay as history."""
    user_id = _person(actor, write=True)
    sub = session.scalar(select(Subscription).where(Subscription.user_id == user_id, Subscription.kind == kind,
                                                    Subscription.target == target, Subscription.active.is_(True)))
    if sub is None:
        raise NotFound(_("No subscription to {kind} {target}.").format(kind=kind, target=target))
    before = as_json(sub)
    sub.active, sub.updated_at = False, datetime.now(timezone.utc)
    session.flush()
    unit_id = session.scalar(select(Unit.id).where(Unit.code == target)) if kind == "unit" else None
    audit.record(session, actor=actor, action="subscription.remove", object_type="subscription",
                 object_key=f"{kind}:{target}", unit_id=unit_id, before=before, after=as_json(sub))
    return as_json(sub)


def list_subscriptions(session: Session, *, actor: Actor, everyone: bool = False,
                       include_inactive: bool = False) -> list[dict[str, Any]]:
    """The actor's subscriptions; an administrator may ask for ``everyone``'s."""
    q = select(Subscription, User.name).join(User, User.id == Subscription.user_id)
    if everyone:
        require(actor, "admin")
    else:
        q = q.where(Subscription.user_id == _person(actor))
    if not include_inactive:
        q = q.where(Subscription.active.is_(True))
    rows = session.execute(q.order_by(User.name, Subscription.kind, Subscription.target))
    return [as_json(s, user=name) for s, name in rows]


def current(session: Session, *, actor: Actor, kind: str, target: str) -> dict[str, Any] | None:
    """The actor's active subscription to this page or unit, if any (for the page's button)."""
    if actor.user_id is None:
        return None
    sub = session.scalar(select(Subscription).where(
        Subscription.user_id == actor.user_id, Subscription.kind == kind, Subscription.target == target,
        Subscription.active.is_(True)))
    return None if sub is None else as_json(sub)


def alert_history(session: Session, *, actor: Actor, unit: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The watch's changes, newest first, of the units the actor sees."""
    require(actor, "read")
    q = select(AlertEvent, Unit.code, Unit.name).join(Unit, Unit.id == AlertEvent.unit_id)
    if unit is not None:
        u = _check_target(session, actor, "unit", unit)
        q = q.where(Unit.code == u)
    if actor.units is not None:
        q = q.where(AlertEvent.unit_id.in_(actor.units))
    out = []
    for e, code, name in session.execute(q.order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(limit)):
        out.append({"id": e.id, "unit": code, "name": name, "condition": e.condition, "holds": e.holds,
                    "period": e.period, "at": aware(e.at).isoformat(), **{k: e.detail.get(k) for k in
                                                                          ("total", "band", "rank", "of", "group")}})
    return out


# --------------------------------------------------------------------------- the watch


@dataclass(frozen=True)
class UnitState:
    code: str
    name: str
    total: float | None
    band: str | None
    rank: int | None
    of: int
    group: str
    red: bool
    last_three: bool
    weakest: str | None

    def detail(self) -> dict[str, Any]:
        return {"total": self.total, "band": self.band, "rank": self.rank, "of": self.of, "group": self.group,
                "name": self.name}


def weakest_group(row: dict[str, Any]) -> str | None:
    shares = [(g["points"] - g["max"], g["points"] / g["max"], gid) for gid, g in row.get("groups", {}).items()
              if g.get("points") is not None and g.get("max") and g.get("applicable", True) is not False]
    return min(shares)[2] if shares else None


def has_figures(row: dict[str, Any]) -> bool:
    """Whether a unit's 766 row counts anything in its period (a unit that received no
    dossier has only empty indicators, and its default points judge nothing)."""
    return any((i.get("denominator") or 0) > 0 for i in row.get("indicators", {}).values())


def states(session: Session, store: DossierStore, period: Period) -> dict[str, UnitState]:
    """Every ranked unit's state in ``period`` (a running period judged now): red when its
    766 total is in the method's lowest band, last three when its rank is among the last
    three of its ranking group (groups of more than three units only). Units with no
    figures in the period are not judged."""
    from chiso.index import service as index

    lowest = min(index.method_for(None).bands, key=lambda b: b.min).id
    known = {g["code"] for g in units.list_groups(session)}
    out: dict[str, UnitState] = {}
    for group in RANKING_GROUPS:
        if group not in known:
            continue
        rows = [r for r in index.index_766(session, store, period, group=group)
                if r["level"] != "province" and r["rank"] is not None and r["total"] is not None and has_figures(r)]
        of = len(rows)
        for r in rows:
            if r["unit"] in out:
                continue
            out[r["unit"]] = UnitState(code=r["unit"], name=r["name"], total=r["total"], band=r["band"], rank=r["rank"],
                                       of=of, group=group, red=r["band"] == lowest,
                                       last_three=of > 3 and r["rank"] > of - 3, weakest=weakest_group(r))
    return out


def watch(engine: Engine, found: dict[str, UnitState], period: Period, *, now: datetime | None = None) -> list[int]:
    """Record every change of a unit's conditions since the last look: a compare-and-set on
    its ``alert_states`` row and, for the one worker whose update changed it, an
    ``alert_events`` row in the same transaction. Returns the ids of the new events."""
    now = now or datetime.now(timezone.utc)
    with Session(engine) as session:
        ids = dict(session.execute(select(Unit.code, Unit.id)).all())
        known = {(s.unit_id, s.condition): (s.holds, s.flips) for s in session.scalars(select(AlertState))}
    codes = {uid: code for code, uid in ids.items()}
    for code in found:
        uid = ids.get(code)
        for cond in CONDITIONS:
            if uid is not None and (uid, cond) not in known:
                db.insert_ignore(engine, AlertState, {"unit_id": uid, "condition": cond, "holds": False, "flips": 0,
                                                      "updated_at": now}, keys=["unit_id", "condition"])
                known[(uid, cond)] = (False, 0)
    new: list[int] = []
    for (uid, cond), (held, flips) in sorted(known.items()):
        # A unit no longer ranked (no records this period) leaves its conditions.
        st = found.get(codes.get(uid, ""))
        holds = bool(st and getattr(st, cond))
        if holds == held:
            continue
        with engine.begin() as conn:
            changed = conn.execute(
                update(AlertState).where(AlertState.unit_id == uid, AlertState.condition == cond,
                                         AlertState.holds == held, AlertState.flips == flips)
                .values(holds=holds, flips=flips + 1, since=now, updated_at=now)).rowcount
            if changed != 1:
                continue  # another worker saw the same change first
            unit_code = codes.get(uid, str(uid))
            result = conn.execute(insert(AlertEvent).values(
                key=f"{cond}:{unit_code}:{flips + 1}", unit_id=uid, condition=cond, holds=holds, period=period.code,
                detail=st.detail() if st else {}, at=now))
            pk = result.inserted_primary_key
            assert pk is not None
            new.append(int(pk[0]))
    return new + watch_targets(engine, now=now)


def watch_targets(engine: Engine, *, now: datetime | None = None) -> list[int]:
    """Mirror the target lights that turned red (in the last week) as events, one per flip
    (the flip's id is in the event's key, inserted ignoring a conflict), dated when the flip
    was recorded. Returns the ids of the new events."""
    from chiso.targets.models import Flip, Target

    now = now or datetime.now(timezone.utc)
    with Session(engine) as session:
        done = set(session.scalars(select(AlertEvent.key).where(AlertEvent.condition == TARGET_RED)))
        rows = session.execute(
            select(Flip, Target.code, Target.name, Unit.code, Unit.name).join(Target, Target.id == Flip.target_id)
            .join(Unit, Unit.id == Flip.unit_id)
            .where(Flip.to_colour == "red", Flip.recorded_at >= now - timedelta(days=7)).order_by(Flip.id)).all()
    new: list[int] = []
    for flip, target, target_name, code, name in rows:
        key = f"{TARGET_RED}:{code}:{flip.id}"
        if key in done:
            continue
        db.insert_ignore(engine, AlertEvent, {
            "key": key, "unit_id": flip.unit_id, "condition": TARGET_RED, "holds": True, "period": flip.at.isoformat(),
            "detail": {"name": name, "target": target, "target_name": target_name, "value": flip.value,
                       "from": flip.from_colour, "why": flip.why},
            "at": aware(flip.recorded_at)}, keys=["key"])
        with Session(engine) as session:
            eid = session.scalar(select(AlertEvent.id).where(AlertEvent.key == key))
        if eid is not None:
            new.append(int(eid))
    return new


def events_since(session: Session, since: datetime, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Units entering a condition at or after ``since`` (a week before ``now`` at most), oldest first."""
    since = max(aware(since), (now or datetime.now(timezone.utc)) - timedelta(days=7))
    q = (select(AlertEvent, Unit.code).join(Unit, Unit.id == AlertEvent.unit_id)
         .where(AlertEvent.holds.is_(True), AlertEvent.at >= since).order_by(AlertEvent.at, AlertEvent.id))
    return [{"id": e.id, "unit": code, "unit_id": e.unit_id, "condition": e.condition, "period": e.period,
             "at": aware(e.at), **e.detail} for e, code in session.execute(q)]
