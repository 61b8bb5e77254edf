"""Request dependencies shared by pages and the API: the store session, who is asking, and
the CSRF check."""

from __future__ import annotations

import hmac
import secrets
from typing import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from chiso import db
from chiso.auth import service as auth
from chiso.auth.permissions import PUBLIC, Actor, Forbidden, Unauthenticated
from chiso.i18n import _

SESSION_COOKIE = "chiso_session"
PRELOGIN_COOKIE = "chiso_prelogin"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    Always used as ``Depends(get_db, scope="function")``: the commit then runs before the
    response is sent, so a client that is told "saved" (a redirect after a form, a new
    session cookie, a revoked token) finds it saved on its next request, and a failed
    commit reaches the client as an error instead of a success."""
    with db.transaction(request.app.state.engine) as session:
        yield session


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated(_("Use the header Authorization: Bearer TOKEN."))
    return value.strip()


def get_actor(request: Request, session: Session = Depends(get_db, scope="function")) -> Actor:
    """The API token's user, or the web session's, or the public."""
    return resolve_actor(request, session)


def resolve_actor(request: Request, session: Session) -> Actor:
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    address = getattr(request.state, "client_address", None)
    secret = _bearer(request)
    if secret is not None:
        token = auth.token_for(session, secret)
        if token is None:
            raise Unauthenticated(_("The token is not valid, has expired or was revoked."))
        actor = auth.actor_for_token(session, token, address=address)
    else:
        web = auth.session_for(session, request.cookies.get(SESSION_COOKIE))
        if web is None:
            actor = PUBLIC
        else:
            request.state.web_session = web
            # Kept as text: an error page renders after the transaction rolled back,
            # when the session row's attributes can no longer be loaded.
            request.state.csrf = web.csrf
            actor = auth.actor_for_user(session, web.user, address=address)
    request.state.actor = actor
    return actor


class PasswordChangeRequired(Forbidden):
    """A password set by an administrator must be changed before anything else (pages
    send the reader to the form)."""


PASSWORD_PATHS = ("/account/password", "/logout")


def get_user_actor(request: Request, actor: Actor = Depends(get_actor)) -> Actor:
    """A logged-in actor (any role); 401 for the public."""
    if actor.is_public:
        raise Unauthenticated(_("Log in to see this."))
    if actor.must_change_password and actor.via == "web" and request.url.path not in PASSWORD_PATHS:
        raise PasswordChangeRequired(_("Change the password an administrator set before going on."))
    return actor


def csrf_token(request: Request) -> str:
    web = getattr(request.state, "web_session", None)
    if web is not None:
        current: str = getattr(request.state, "csrf", None) or web.csrf
        return current
    token = getattr(request.state, "prelogin", None) or request.cookies.get(PRELOGIN_COOKIE)
    if not token or len(token) > 64:
        token = secrets.token_urlsafe(24)
    request.state.prelogin = token
    return token


async def check_csrf(request: Request, actor: Actor = Depends(get_actor)) -> None:
    """Unsafe requests made with the session cookie must carry the session's form token
    (form field ``csrf`` or header X-CSRF-Token). Bearer-token requests carry no cookie and
    need none; the login form uses a pre-login cookie of its own (double submit)."""
    if request.method not in UNSAFE or actor.via == "api":
        return
    if actor.is_public and request.url.path.startswith("/api/"):
        return  # no cookie acts here: the route answers 401 for the public, not a CSRF refusal
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    web = getattr(request.state, "web_session", None)
    expected = web.csrf if web is not None else request.cookies.get(PRELOGIN_COOKIE)
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise Forbidden(_("The form has expired or did not come from this site; reload the page and try again."))
