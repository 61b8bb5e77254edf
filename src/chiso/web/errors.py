"""One shape of error for the API (``{"error": {"code", "message", "details"?}}``) and one
error page for people; a 401 on a page sends the reader to the login form."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chiso.auth.permissions import Forbidden, Unauthenticated
from chiso.auth.service import Throttled
from chiso.errors import ChisoError, NotFound, TooLarge
from chiso.i18n import _

log = logging.getLogger("chiso.web")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (path.startswith("/api/") or path in ("/healthz", "/events")
            or "application/json" in request.headers.get("accept", "")
            or request.headers.get("authorization") is not None)


def error_response(request: Request, status: int, code: str, message: str, *, details=None, headers=None):
    if wants_json(request):
        body = {"error": {"code": code, "message": message}}
        if details is not None:
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status, headers=headers)
    from chiso.http.deps import PasswordChangeRequired

    if isinstance(getattr(request.state, "error", None), PasswordChangeRequired):
        return RedirectResponse("/account/password", status_code=303)
    if status == 401:
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
    from chiso.http.render import render

    return render(request, "error.html", status_code=status, status=status, message=message)


def _status_of(exc: ChisoError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, Unauthenticated):
        return 401, "unauthenticated"
    if isinstance(exc, Forbidden):
        return 403, "forbidden"
    if isinstance(exc, Throttled):
        return 429, "throttled"
    if isinstance(exc, TooLarge):
        return 413, "too_large"
    return 400, "invalid"


def install(app: FastAPI) -> None:
    @app.exception_handler(ChisoError)
    async def chiso_error(request: Request, exc: ChisoError):
        request.state.error = exc
        status, code = _status_of(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        if status == 401 and wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(request, status, code, str(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        details = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
                   for e in exc.errors()]
        return error_response(request, 422, "invalid_request", _("The request is not valid."), details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {404: _("Not found."), 405: _("This method is not allowed here."),
                    413: _("The request is too large.")}
        message = messages.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else _("Request failed."))
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError):
        # The store refused a value the checks let through (a NUL character in a text on
        # PostgreSQL, a number out of an integer column's range): the client's input, not a 500.
        log.info("value refused by the store on %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(request, 400, "invalid", _(
            "The request holds a value that cannot be stored (a control character, or a number out of range)."))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError):
        # Python's JSON reader recurses once per level: a body of 100,000 "[" exhausts the
        # stack wherever it is parsed. The client's input, answered as such, whichever route.
        log.info("body nested too deeply on %s %s", request.method, request.url.path)
        return error_response(request, 400, "invalid", _("The request is nested too deeply to be read."))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        # Answered by the outermost middleware, outside the Guard: add its headers here.
        from chiso.web.security import HEADERS

        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = error_response(request, 500, "internal", _("Something went wrong on the server; it has been logged."))
        for name, value in HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        return response
