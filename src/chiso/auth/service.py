"""Accounts, web sessions, API tokens and login throttling; building the :class:`Actor`.

Every function that changes something writes its audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, column, func, or_, select, table, update
from sqlalchemy.orm import Session

from chiso import settings
from chiso.audit import service as audit
from chiso.audit.models import AuditEntry
from chiso.auth.models import ApiToken, LoginAttempt, User, WebSession
from chiso.auth.permissions import PUBLIC, ROLES, TOKEN_SCOPES, Actor, Forbidden, scope_units
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.units import service as units
from chiso.db import utcnow as _now

_hasher = PasswordHasher()
MIN_PASSWORD = 10
TOKEN_PREFIX = "chiso_"
# A precomputed hash to verify against when the account does not exist, so that the time a
# failed login takes does not tell whether the name is taken.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class Throttled(ChisoError):
    """Too many failed logins (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _aware(d: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if d is not None and d.tzinfo is None:
        return d.replace(tzinfo=timezone.utc)
    return d


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password_rules(password: str, name: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise ChisoError(_("A password needs at least {n} characters.").format(n=MIN_PASSWORD))
    if name and password.lower() == name.lower():
        raise ChisoError(_("A password must not be the account name."))


def _norm_name(name: str) -> str:
    clean = (name or "").strip().lower()
    if not clean or len(clean) > 64 or not all(c.isalnum() or c in "._-@" for c in clean):
        raise ChisoError(_("An account name is 1 to 64 letters, digits or . _ - @"))
    return clean


def user_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name, "full_name": user.full_name, "email": user.email, "role": user.role,
        "unit": user.unit.code if user.unit else None, "active": user.active,
        "must_change_password": user.must_change_password,
        "sources": (user.sources or "").split(),
        "created_at": _aware(user.created_at).isoformat() if user.created_at else None,
    }


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == (name or "").strip().lower()))
    if user is None:
        raise NotFound(_("Unknown account: {name}").format(name=name))
    return user


def list_users(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    rows = session.scalars(select(User).order_by(User.name))
    if not actor.province_wide:
        rows = [u for u in rows if u.unit_id is not None and actor.sees(u.unit_id)]
    return [user_json(u) for u in rows]


def set_language(session: Session, *, user_id: int, code: str) -> None:
    """Keep a person's language choice on the account (None: the store's language)."""
    from chiso.i18n import LANGUAGES

    if code not in LANGUAGES:
        raise ChisoError(_("Unknown language: {code}").format(code=code))
    user = session.get(User, user_id)
    if user is not None and user.language != code:
        user.language = code


def add_user(session: Session, *, name: str, role: str, password: str, unit: str | None = None,
             full_name: str | None = None, email: str | None = None, actor: Actor,
             must_change_password: bool = False, sources: Iterable[str] = ()) -> User:
    clean = _norm_name(name)
    if role not in ROLES:
        raise ChisoError(_("Unknown role {role}; roles: {roles}").format(role=role, roles=", ".join(ROLES)))
    if session.scalar(select(User).where(User.name == clean)) is not None:
        raise ChisoError(_("The account {name} exists already.").format(name=clean))
    unit_row = units.get(session, unit) if unit else None
    if role in ("editor", "viewer") and unit_row is None:
        raise ChisoError(_("A {role} needs a unit (--unit CODE).").format(role=role))
    check_password_rules(password, clean)
    user = User(name=clean, role=role, unit=unit_row, full_name=full_name, email=email,
                password_hash=_hasher.hash(password), must_change_password=must_change_password,
                password_changed_at=_now(), sources=" ".join(parse_sources(sources)))
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", object_type="user", object_key=clean,
                 unit_id=user.unit_id, after={k: v for k, v in user_json(user).items() if k != "created_at"})
    return user


def set_password(session: Session, *, name: str, password: str, actor: Actor,
                 must_change: bool = False) -> User:
    """Set a password (the user's own change, or an administrator's reset with
    ``must_change``); either way every session of the user ends."""
    user = get_user(session, name)
    check_password_rules(password, user.name)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = must_change
    user.password_changed_at = _now()
    end_sessions(session, user=user)
    audit.record(session, actor=actor, action="user.reset_password" if must_change else "user.password",
                 object_type="user", object_key=user.name, unit_id=user.unit_id)
    return user


def change_own_password(session: Session, *, actor: Actor, current: str, new: str) -> User:
    user = session.get(User, actor.user_id)
    if user is None or not _verify(user.password_hash, current):
        raise Forbidden(_("The current password is not right."))
    if new == current:
        raise ChisoError(_("The new password must differ from the current one."))
    return set_password(session, name=user.name, password=new, actor=actor)


def set_active(session: Session, *, name: str, active: bool, actor: Actor) -> User:
    user = get_user(session, name)
    before = user.active
    user.active = active
    if not active:
        end_sessions(session, user=user)
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=_now()))
    audit.record(session, actor=actor, action="user.activate" if active else "user.deactivate",
                 object_type="user", object_key=user.name, unit_id=user.unit_id,
                 before={"active": before}, after={"active": active})
    return user


def set_sources(session: Session, *, name: str, sources: Iterable[str], actor: Actor) -> User:
    """Grant ``user`` exactly these sources of records (none: any source its unit owns)."""
    user = get_user(session, name)
    before = (user.sources or "").split()
    user.sources = " ".join(parse_sources(sources))
    audit.record(session, actor=actor, action="user.sources", object_type="user", object_key=user.name,
                 unit_id=user.unit_id, before={"sources": before}, after={"sources": user.sources.split()})
    return user


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password)
    except (VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- logins


def _last_reset(session: Session, *, name: str | None, address: str | None) -> datetime | None:
    """When an administrator last unlocked this account or address (``login.unlock`` in the
    audit trail, which keeps every failed attempt: unlocking deletes nothing)."""
    which = []
    if name:
        which.append(and_(AuditEntry.object_type == "user", AuditEntry.object_key == name))
    if address:
        which.append(and_(AuditEntry.object_type == "address", AuditEntry.object_key == address))
    if not which:
        return None
    return _aware(session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == "login.unlock",
                                                                       or_(*which))))


def _failures(session: Session, *where, since: datetime) -> tuple[int, datetime | None, datetime | None]:
    """Failed attempts matching ``where`` since ``since``: how many, the first and the last."""
    n, first, last = session.execute(
        select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at))
        .where(LoginAttempt.at > since, LoginAttempt.ok.is_(False), *where)
    ).one()
    return n, _aware(first), _aware(last)


def _throttled(wait: float) -> Throttled:
    seconds = max(1, int(-(-wait // 1)))
    if seconds < 60:
        message = _("Too many failed logins. Try again in {seconds} seconds.").format(seconds=seconds)
    else:
        message = _("Too many failed logins. Try again in {minutes} minutes.").format(minutes=round(seconds / 60))
    return Throttled(message, retry_after=seconds)


def _check_throttle(session: Session, name: str, address: str | None) -> None:
    """Slow down guessing without handing anyone a way to lock the owner out.

    One account from one address: after ``login_max_failures`` failures each further attempt
    waits ``login_delay_seconds``, doubled per failure, up to the lock time; a successful
    login from that address starts again. One address, any accounts: after
    ``login_address_max_failures`` failures that address is refused for the lock time. No
    count is kept for an account across addresses, so failures from elsewhere never stop
    the owner."""
    now = _now()
    lock = timedelta(minutes=int(settings.get("login_lock_minutes")))
    window = now - lock
    reset = _last_reset(session, name=None, address=address)
    if address:
        since = max(window, reset or window)
        n, first, _last = _failures(session, LoginAttempt.address == address, since=since)
        if n >= int(settings.get("login_address_max_failures")):
            raise _throttled(((first or now) + lock - now).total_seconds())
    pair_reset = _last_reset(session, name=name, address=address)
    pair = (LoginAttempt.name == name,
            LoginAttempt.address.is_(None) if address is None else LoginAttempt.address == address)
    last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.ok.is_(True)))
    since = max([window] + [t for t in (pair_reset, _aware(last_ok)) if t is not None])
    n, _first, last = _failures(session, *pair, since=since)
    free = int(settings.get("login_max_failures"))
    if n >= free and last is not None:
        delay = min(float(settings.get("login_delay_seconds")) * 2 ** (n - free), lock.total_seconds())
        wait = (last + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            raise _throttled(wait)


def unlock(session: Session, *, name: str | None = None, address: str | None = None,
           actor: Actor) -> None:
    """Let an account or an address try again now. The failed attempts stay on record."""
    if not name and not address:
        raise ChisoError(_("Say which account or address to unlock."))
    if name:
        user = get_user(session, name)
        audit.record(session, actor=actor, action="login.unlock", object_type="user", object_key=user.name,
                     unit_id=user.unit_id)
    if address:
        audit.record(session, actor=actor, action="login.unlock", object_type="address", object_key=address)


def authenticate(session: Session, *, name: str, password: str, address: str | None = None) -> User:
    """The user, when the password is right and the account active; else ChisoError with the
    same message whatever was wrong (so it does not tell which accounts exist)."""
    clean = (name or "").strip().lower()[:64]
    _check_throttle(session, clean, address)
    user = session.scalar(select(User).where(User.name == clean))
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None and user.active
    session.add(LoginAttempt(name=clean, address=address, ok=ok))
    session.flush()
    if not ok:
        raise ChisoError(_("Wrong account name or password."))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def start_session(session: Session, *, user: User, address: str | None = None, user_agent: str | None = None) -> tuple[str, WebSession]:
    """A new web session: returns the cookie value (shown once) and the row."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(token_hash=digest(secret), user=user, csrf=secrets.token_urlsafe(32),
                     address=address, user_agent=(user_agent or "")[:255])
    session.add(row)
    session.flush()
    audit.record(session, actor=_actor_of(session, user, via="web", address=address), action="session.login",
                 object_type="user", object_key=user.name, unit_id=user.unit_id)
    return secret, row


def session_for(session: Session, cookie: str | None) -> WebSession | None:
    """The live session a cookie names, refreshed; None when unknown, revoked or idle too long."""
    if not cookie or len(cookie) > 128:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(cookie)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    idle = timedelta(hours=float(settings.get("session_hours")))
    now = _now()
    if _aware(row.last_seen) + idle < now:
        return None
    if (now - _aware(row.last_seen)).total_seconds() > 60:  # one write a minute, not per request
        row.last_seen = now
    return row


def end_session(session: Session, row: WebSession, *, actor: Actor) -> None:
    row.revoked_at = _now()
    audit.record(session, actor=actor, action="session.logout", object_type="user", object_key=row.user.name,
                 unit_id=row.user.unit_id)


def end_sessions(session: Session, *, user: User) -> int:
    """Log a user out everywhere (rows are kept, marked revoked)."""
    result = session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
                             .values(revoked_at=_now()))
    return result.rowcount or 0


# --------------------------------------------------------------------------- tokens


def create_token(session: Session, *, user: str, scopes: Iterable[str] = (), name: str | None = None,
                 days: int | None = None, actor: Actor, sources: Iterable[str] = (),
                 indicators: Iterable[str] = ()) -> tuple[str, ApiToken]:
    """A new API token: returns the secret (shown once; only its digest is kept) and the row.
    ``indicators``: the manual indicators it may enter values of (none: any the account may)."""
    owner = get_user(session, user)
    if not owner.active:
        raise ChisoError(_("The account {name} is not active.").format(name=owner.name))
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in TOKEN_SCOPES]
    if unknown:
        raise ChisoError(_("Unknown token scope {scope}; scopes: {scopes}").format(
            scope=", ".join(unknown), scopes=", ".join(TOKEN_SCOPES)))
    limited = parse_sources(sources)
    granted = (owner.sources or "").split()
    if granted and set(limited) - set(granted):
        raise ChisoError(_("The account {name} may not write the source {source}.").format(
            name=owner.name, source=", ".join(sorted(set(limited) - set(granted)))))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(prefix=secret[: len(TOKEN_PREFIX) + 6], token_hash=digest(secret), user=owner, name=name,
                   scopes=" ".join(wanted), sources=" ".join(limited),
                   indicators=" ".join(parse_sources(indicators)), expires_at=_now() + timedelta(days=days) if days else None)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="token.create", object_type="token", object_key=row.prefix,
                 unit_id=owner.unit_id, after={"user": owner.name, "scopes": wanted, "name": name, "sources": limited,
                        "indicators": row.indicators.split()})
    return secret, row


def token_json(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id, "prefix": row.prefix, "user": row.user.name, "name": row.name,
        "scopes": row.scopes.split() if row.scopes else [],
        "sources": row.sources.split() if row.sources else [],
        "indicators": row.indicators.split() if row.indicators else [],
        "created_at": _aware(row.created_at).isoformat(),
        "expires_at": _aware(row.expires_at).isoformat() if row.expires_at else None,
        "last_used_at": _aware(row.last_used_at).isoformat() if row.last_used_at else None,
        "revoked": row.revoked_at is not None,
    }


def _require_token_management(actor: Actor) -> None:
    """A token limited to some scopes manages no tokens unless ``admin`` is one of them:
    a leaked upload token must not be able to list everyone's tokens or revoke them."""
    if actor.token_scopes is not None and "admin" not in actor.token_scopes:
        raise Forbidden(_("This token is limited to {scopes}: it may not manage tokens.").format(
            scopes=", ".join(sorted(actor.token_scopes))))


def list_tokens(session: Session, *, user: str | None = None, actor: Actor) -> list[dict[str, Any]]:
    _require_token_management(actor)
    q = select(ApiToken).order_by(ApiToken.id)
    if user:
        q = q.where(ApiToken.user_id == get_user(session, user).id)
    return [token_json(t) for t in session.scalars(q)]


def revoke_token(session: Session, *, token_id: int, actor: Actor) -> ApiToken:
    _require_token_management(actor)
    row = session.get(ApiToken, token_id)
    if row is None or (actor.role != "admin" and row.user_id != actor.user_id):
        raise NotFound(_("Unknown token {id}.").format(id=token_id))
    if row.revoked_at is None:
        row.revoked_at = _now()
        audit.record(session, actor=actor, action="token.revoke", object_type="token", object_key=row.prefix,
                     unit_id=row.user.unit_id)
    return row


def token_for(session: Session, secret: str | None) -> ApiToken | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = _now()
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or (now - _aware(row.last_used_at)).total_seconds() > 60:
        row.last_used_at = now
    return row


# --------------------------------------------------------------------------- actors


#: The assessments' table of appraisers' assignments, read by name: an appraiser's rights
#: are part of the actor, and auth imports no domain above it.
_ASSIGNMENTS = table("appraisal_assignments", column("user_id"), column("round_id"), column("unit_id"))


def _actor_of(session: Session, user: User, *, via: str, address: str | None = None,
              token: ApiToken | None = None) -> Actor:
    province_code = units.home_province(session)
    province_wide = user.role in ("admin", "steering") or user.unit_id is None or (
        user.unit is not None and user.unit.code == province_code)
    assignments = frozenset(
        (row.round_id, row.unit_id) for row in session.execute(
            select(_ASSIGNMENTS.c.round_id, _ASSIGNMENTS.c.unit_id).where(_ASSIGNMENTS.c.user_id == user.id))
    ) if user.role == "appraiser" else frozenset()
    return Actor(
        name=user.name, role=user.role, user_id=user.id, unit_id=user.unit_id,
        units=None if province_wide else scope_units(session, user.unit_id),
        token_scopes=frozenset(token.scopes.split()) if token is not None and token.scopes else None,
        via=via, address=address, token=token.prefix if token is not None else None,
        assignments=assignments, must_change_password=user.must_change_password,
        sources=_granted_sources(user, token),
        indicators=frozenset(token.indicators.split()) if token is not None and token.indicators else None,
    )


def _granted_sources(user: User, token: ApiToken | None) -> frozenset[str] | None:
    """The sources ``user`` (through ``token``) may write; None: no grant limits them."""
    granted = frozenset((user.sources or "").split()) or None
    if token is not None and token.sources:
        limit = frozenset(token.sources.split())
        granted = limit if granted is None else granted & limit
    return granted


def parse_sources(names: Iterable[str]) -> list[str]:
    """Source names as given on a command line or form: stripped, no blanks, no spaces
    inside (they are stored space-separated)."""
    clean = sorted({n.strip() for n in names if n and n.strip()})
    bad = [n for n in clean if any(c.isspace() for c in n) or len(n) > 255]
    if bad:
        raise ChisoError(_("A source name has no spaces and at most 255 characters: {name}").format(name=bad[0]))
    return clean


def actor_for_user(session: Session, user: User, *, via: str = "web", address: str | None = None) -> Actor:
    return _actor_of(session, user, via=via, address=address)


def actor_for_token(session: Session, token: ApiToken, *, address: str | None = None) -> Actor:
    return _actor_of(session, token.user, via="api", address=address, token=token)


__all__ = ["PUBLIC", "Throttled", "authenticate", "add_user", "create_token"]
