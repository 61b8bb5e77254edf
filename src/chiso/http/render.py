"""A page rendered with the application's templates (``app.state.templates``), with the
reader, the form token and the language every template expects; and whether cookies are
sent only over HTTPS."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from chiso import settings
from chiso.auth.permissions import PUBLIC
from chiso.http.deps import PRELOGIN_COOKIE, csrf_token
from chiso.i18n import current_language


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
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
    mode = settings.get("secure_cookies").lower()
    if mode == "on":
        return True
    if mode == "off":
        return False
    return bool(getattr(request.state, "https", False))
