"""How a feed talks to its source: the documented default protocol, and adapters beside it.

The default (``chiso``): ``GET URL?since=yyyyMMddHHmmss`` (no ``since`` on the first pull)
answers JSON ``{"items": [records], "next": URL or null, "watermark": "yyyyMMddHHmmss"}``.
The records carry the national synchronisation format's names (``MaHoSo``,
``TrangThaiHoSo``...), which the dossier import reads. ``next`` is fetched until it is
null; the last page's ``watermark`` (the change time up to which the answer is complete) is
the next pull's ``since``. A token is sent as ``Authorization: Bearer TOKEN``.

Another protocol is a :class:`Protocol` registered in :data:`PROTOCOLS` under a name that
``chiso sources add --protocol`` takes: it says which URL to fetch first and how to read a
page into a :class:`Page`.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from chiso.errors import ChisoError
from chiso.i18n import _

WATERMARK = re.compile(r"^\d{14}$")
#: A page larger than this is refused (a source gone wrong, not a page of records).
MAX_PAGE_BYTES = 256 * 1024 * 1024


class FeedError(ChisoError):
    """A pull that failed. ``retry``: worth trying again (a timeout, a 5xx, a broken
    connection), not a refused token or a page that cannot be read."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class Page:
    items: list[dict[str, Any]]
    next: str | None
    watermark: str | None


class Protocol:
    name = "?"

    def first_url(self, url: str, since: str | None) -> str:
        raise NotImplementedError

    def parse(self, body: bytes, url: str) -> Page:
        raise NotImplementedError


class ChisoProtocol(Protocol):
    """The default protocol (see the module's text and docs/sources.md)."""

    name = "chiso"

    def first_url(self, url: str, since: str | None) -> str:
        if not since:
            return url
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
        query.append(("since", since))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def parse(self, body: bytes, url: str) -> Page:
        def bad(why: str) -> FeedError:
            return FeedError(_("The source answered a page that cannot be read ({url}): {why}").format(
                url=safe_url(url), why=why), retry=False)

        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad(_("not JSON ({reason})").format(reason=str(exc)[:120])) from None
        if not isinstance(data, dict):
            raise bad(_("not a JSON object"))
        items = data.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise bad(_("\"items\" is not an array of records"))
        nxt = data.get("next")
        if nxt is not None and (not isinstance(nxt, str) or not nxt.strip()):
            raise bad(_("\"next\" is neither a URL nor null"))
        mark = data.get("watermark")
        if mark is not None and (not isinstance(mark, str) or not WATERMARK.match(mark)):
            raise bad(_("\"watermark\" is not a time yyyyMMddHHmmss: {value}").format(value=str(mark)[:40]))
        if nxt is None and mark is None:
            raise bad(_("the last page has no \"watermark\""))
        return Page(items=items, next=urljoin(url, nxt) if nxt else None, watermark=mark)


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (ChisoProtocol(),)}


def protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ChisoError(_("Unknown protocol {name}; known: {known}.").format(
            name=name, known=", ".join(sorted(PROTOCOLS)))) from None


def safe_url(url: str) -> str:
    """A URL without its query's secret values (a source may take a key in the query)."""
    from chiso.settings import mask_url_password

    return mask_url_password(url)


def fetch(url: str, *, token: str | None, timeout: float) -> bytes:
    """GET ``url``; :class:`FeedError` saying what went wrong (never the token)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "chiso-feed"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    shown = safe_url(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the operator's URL)
            body: bytes = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise FeedError(_("The source refused the token (HTTP {code}) at {url}.").format(
                code=exc.code, url=shown), retry=False) from None
        raise FeedError(_("The source answered HTTP {code} at {url}.").format(code=exc.code, url=shown),
                        retry=exc.code >= 500 or exc.code == 429) from None
    except (TimeoutError, socket.timeout):
        raise FeedError(_("The source did not answer within {seconds} s ({url}).").format(
            seconds=timeout, url=shown), retry=True) from None
    except http.client.HTTPException as exc:
        raise FeedError(_("The source broke off its answer ({url}): {reason}").format(
            url=shown, reason=(str(exc) or type(exc).__name__)[:200]), retry=True) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise FeedError(_("The source did not answer within {seconds} s ({url}).").format(
                seconds=timeout, url=shown), retry=True) from None
        raise FeedError(_("The source cannot be reached ({url}): {reason}").format(
            url=shown, reason=str(reason)[:200]), retry=True) from None
    if len(body) > MAX_PAGE_BYTES:
        raise FeedError(_("A page of the source is larger than {n} MB ({url}).").format(
            n=MAX_PAGE_BYTES // (1024 * 1024), url=shown), retry=False)
    return body
