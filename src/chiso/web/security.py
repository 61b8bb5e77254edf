"""What every response carries and every request is checked for, as one ASGI middleware:
security headers, the request size limit, the client's address, and the reader's language."""

from __future__ import annotations

import ipaddress
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from chiso import settings
from chiso.i18n import LANGUAGES, _, use_language

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
LANG_COOKIE = "chiso_lang"


def _trusted(address: str | None) -> bool:
    raw = settings.get("trusted_proxies").strip()
    if not raw or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for item in raw.split(","):
        item = item.strip()
        try:
            if item and ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def client_address(scope) -> str | None:
    """The client's address; a trusted proxy's X-Forwarded-For names the real one."""
    peer = scope.get("client")[0] if scope.get("client") else None
    if _trusted(peer):
        forwarded = _headers(scope).get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return peer


def is_https(scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    peer = scope.get("client")[0] if scope.get("client") else None
    return _trusted(peer) and _headers(scope).get("x-forwarded-proto", "").lower() == "https"


def request_language(scope) -> str | None:
    """?lang= first, then the language cookie (a person's choice), then, for API clients
    only, Accept-Language. Pages ignore the browser's language: government PCs are often set
    to English, and the store speaks its own language (setting ``lang``) until the reader
    chooses another."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("lang") and query["lang"][0] in LANGUAGES:
        return query["lang"][0]
    headers = _headers(scope)
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is the client's problem, not a 500
        pass
    if LANG_COOKIE in cookie and cookie[LANG_COOKIE].value in LANGUAGES:
        return cookie[LANG_COOKIE].value
    if not (scope.get("path", "").startswith("/api/") or "authorization" in headers):
        return None
    for part in headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return None


class Guard:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app, *, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _limit(self) -> int:
        return self.max_bytes or int(float(settings.get("max_upload_mb")) * 1024 * 1024)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        scope["state"]["client_address"] = client_address(scope)
        scope["state"]["https"] = is_https(scope)
        limit = self._limit()
        declared = _headers(scope).get("content-length")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _v in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in names]
                if scope["state"]["https"]:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        with use_language(request_language(scope)):
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                await self._too_large(scope, send_with_headers, limit)
                return
            received = 0

            async def counted_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge()
                return message

            try:
                await self.app(scope, counted_receive, send_with_headers)
            except BodyTooLarge:
                await self._too_large(scope, send_with_headers, limit)

    async def _too_large(self, scope, send, limit: int) -> None:
        body = json.dumps({"error": {"code": "too_large", "message": _(
            "The request is larger than the limit of {mb} MB.").format(mb=round(limit / 1024 / 1024, 1))}},
            ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass
