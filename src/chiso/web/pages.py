"""Pages of accounts and administration: login, logout (here or everywhere), password,
users, the audit trail, and the language switch. The dashboard's pages live in
``dashboard/``."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from chiso.audit import service as audit
from chiso.auth import service as auth
from chiso.auth.permissions import ROLES, Actor, Forbidden, require, role_help
from chiso.errors import ChisoError
from chiso.http.deps import PRELOGIN_COOKIE, SESSION_COOKIE, check_csrf, get_actor, get_db, get_user_actor
from chiso.http.render import render, secure_cookies
from chiso.i18n import LANGUAGES, _
from chiso.web.security import LANG_COOKIE

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/", actor: Actor = Depends(get_actor)):
    if not actor.is_public:
        return see_other(safe_next(next))
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
def login(request: Request, name: str = Form("", max_length=64), password: str = Form("", max_length=1024),
          next: str = Form("/", max_length=2048), session: Session = Depends(get_db, scope="function")):
    address = getattr(request.state, "client_address", None)
    try:
        user = auth.authenticate(session, name=name, password=password, address=address)
    except auth.Throttled as exc:
        throttled = render(request, "login.html", status_code=429, next=safe_next(next), error=str(exc), name=name)
        throttled.headers["Retry-After"] = str(exc.retry_after)
        return throttled
    except ChisoError as exc:
        # Answered, not raised: the transaction commits and the failed attempt is kept.
        return render(request, "login.html", status_code=401, next=safe_next(next), error=str(exc), name=name)
    secret, _row = auth.start_session(session, user=user, address=address,
                                      user_agent=request.headers.get("user-agent"))
    target = "/account/password" if user.must_change_password else safe_next(next)
    response = see_other(target)
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=secure_cookies(request),
                        path="/", max_age=None)
    response.delete_cookie(PRELOGIN_COOKIE, path="/")
    if user.language in LANGUAGES:
        # The language the person chose follows them to any computer they sign in on.
        response.set_cookie(LANG_COOKIE, user.language, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.post("/logout")
def logout(request: Request, everywhere: bool = Form(False), actor: Actor = Depends(get_user_actor),
           session: Session = Depends(get_db, scope="function")):
    web = getattr(request.state, "web_session", None)
    if web is not None:
        if everywhere:
            auth.end_sessions(session, user=web.user)
            audit.record(session, actor=actor, action="session.logout_everywhere", object_type="user",
                         object_key=actor.name, unit_id=actor.unit_id)
        else:
            auth.end_session(session, web, actor=actor)
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def set_language(code: str, next: str = "/", actor: Actor = Depends(get_actor),
                 session: Session = Depends(get_db, scope="function")):
    response = see_other(safe_next(next))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
        if actor.user_id is not None and actor.via == "web":
            auth.set_language(session, user_id=actor.user_id, code=code)
    return response


@router.get("/account")
def account(request: Request, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    return render(request, "account.html", tokens=auth.list_tokens(session, user=actor.name, actor=actor), message=None,
                  error=None, roles=role_help())


@router.get("/account/password")
def password_form(request: Request, actor: Actor = Depends(get_user_actor)):
    return render(request, "password.html", error=None)


@router.post("/account/password")
def change_password(request: Request, current: str = Form("", max_length=1024), new: str = Form("", max_length=1024),
                    again: str = Form("", max_length=1024), actor: Actor = Depends(get_user_actor),
                    session: Session = Depends(get_db, scope="function")):
    if new != again:
        return render(request, "password.html", status_code=400, error=_("The two new passwords differ."))
    try:
        auth.change_own_password(session, actor=actor, current=current, new=new)
    except ChisoError as exc:
        return render(request, "password.html", status_code=400, error=str(exc))
    # Every session ended with the change; start a fresh one for this browser.
    user = session.get(auth.User, actor.user_id)
    secret, _row = auth.start_session(session, user=user, address=actor.address,
                                      user_agent=request.headers.get("user-agent"))
    response = see_other("/account?changed=1")
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=secure_cookies(request), path="/")
    return response


# --------------------------------------------------------------------------- administration


def _require_admin(actor: Actor) -> None:
    if not actor.may("admin") or not actor.province_wide:
        raise Forbidden(_("You are not allowed to do this."))


@router.get("/admin/users")
def users(request: Request, actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    _require_admin(actor)
    return render(request, "users.html", users=auth.list_users(session, actor=actor), roles=ROLES, error=None,
                  message=None)


@router.post("/admin/users")
def add_user(request: Request, name: str = Form("", max_length=64), role: str = Form("", max_length=16),
             unit: str = Form("", max_length=64), full_name: str = Form("", max_length=255),
             password: str = Form("", max_length=1024), actor: Actor = Depends(get_user_actor),
             session: Session = Depends(get_db, scope="function")):
    _require_admin(actor)
    try:
        auth.add_user(session, name=name, role=role, unit=unit.strip() or None, full_name=full_name.strip() or None,
                      password=password, actor=actor, must_change_password=True)
    except ChisoError as exc:
        return render(request, "users.html", status_code=400, users=auth.list_users(session, actor=actor), roles=ROLES,
                      error=str(exc), message=None)
    return see_other("/admin/users")


@router.post("/admin/users/{name}/reset")
def reset_password(request: Request, name: str, password: str = Form("", max_length=1024),
                   actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    _require_admin(actor)
    try:
        auth.set_password(session, name=name, password=password, actor=actor, must_change=True)
    except ChisoError as exc:
        return render(request, "users.html", status_code=400, users=auth.list_users(session, actor=actor), roles=ROLES,
                      error=str(exc), message=None)
    return see_other("/admin/users")


@router.post("/admin/users/{name}/active")
def set_active(name: str, active: bool = Form(False), actor: Actor = Depends(get_user_actor),
               session: Session = Depends(get_db, scope="function")):
    _require_admin(actor)
    if name == actor.name and not active:
        raise ChisoError(_("You cannot deactivate your own account."))
    auth.set_active(session, name=name, active=active, actor=actor)
    return see_other("/admin/users")


@router.get("/audit")
def audit_page(request: Request, action: str | None = None, before_id: int | None = None,
               actor: Actor = Depends(get_user_actor), session: Session = Depends(get_db, scope="function")):
    require(actor, "read")
    rows = audit.entries(session, actor=actor, action=action or None, before_id=before_id, limit=100)
    return render(request, "audit.html", rows=rows, action=action or "",
                  older=rows[-1]["id"] if len(rows) == 100 else None)
