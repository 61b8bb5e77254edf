"""Request dependencies shared by pages and the API: the store session, who is asking, the
CSRF check, and the templates."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Iterator

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from chiso import __version__, db
from chiso.auth import service as auth
from chiso.auth.permissions import PUBLIC, Actor, Forbidden, Unauthenticated
from chiso.i18n import _, current_language, ngettext
from chiso.output import number

SESSION_COOKIE = "chiso_session"
PRELOGIN_COOKIE = "chiso_prelogin"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
HERE = Path(__file__).parent


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
    cached = getattr(request.state, "actor", None)
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
        return getattr(request.state, "csrf", None) or web.csrf
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


def _fmt_number(value, digits: int = 2):
    if value is None:
        return "–"
    return number(value, digits)


def nav_items(request: Request, actor: Actor) -> list[tuple[str, str]]:
    """The main menu: the pages this server has (the app's own routes) that the actor may open."""
    items = [
        ("/", _("Overview")), ("/766", _("766 index")), ("/rankings", _("Rankings")),
        ("/assessments", _("Assessments")), ("/targets", _("Targets")), ("/tasks", _("Tasks")),
        ("/map", _("Map")), ("/reports", _("Reports")), ("/audit", _("Audit trail")),
    ]
    if actor.may("admin") and actor.province_wide:
        items.append(("/admin/users", _("Accounts")))
    paths = {r.path for r in app_routes(request.app)}
    return [(href, label) for href, label in items if href in paths]


def app_routes(app) -> list:
    """Every route of ``app``, those of included routers too (recent FastAPI keeps an
    included router as one entry of ``app.routes``; each item here has ``path``,
    ``methods``, ``endpoint``)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=lambda m: _(m), ngettext=ngettext, newstyle=True)
    env.globals.update(version=__version__, lang=current_language, number=_fmt_number, nav_items=nav_items)
    env.filters["number"] = _fmt_number
    return env


def render(request: Request, template: str, status_code: int = 200, **context):
    from fastapi.responses import HTMLResponse

    env: Environment = request.app.state.templates
    actor = getattr(request.state, "actor", None) or PUBLIC
    html = env.get_template(template).render(
        request=request, actor=actor, csrf=csrf_token(request), lang_now=current_language(), **context)
    response = HTMLResponse(html, status_code=status_code)
    if getattr(request.state, "web_session", None) is None and getattr(request.state, "prelogin", None):
        response.set_cookie(PRELOGIN_COOKIE, request.state.prelogin, httponly=True, samesite="strict",
                            secure=secure_cookies(request), path="/")
    return response


def secure_cookies(request: Request) -> bool:
    from chiso import settings

    mode = settings.get("secure_cookies").lower()
    if mode == "on":
        return True
    if mode == "off":
        return False
    return bool(getattr(request.state, "https", False))
