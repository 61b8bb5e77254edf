"""A stored file handed to a browser as a download: its stored media type, and a
``Content-Disposition`` that names it safely (an ASCII fallback and the UTF-8 name of RFC
6266/5987), with headers that keep a browser from running it in the application's origin."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")


def ascii_name(name: str, default: str = "file") -> str:
    """``name`` in plain ASCII for old clients: accents dropped (Vietnamese đ as d), any
    other character, quotes and path parts included, replaced by ``_``."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _UNSAFE.sub("_", text).strip(" .") or default
    return text[:150]


def disposition(name: str) -> str:
    """``attachment`` with ``name`` both as ASCII and, exactly, as UTF-8."""
    clean = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").replace("/", "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name(clean)}\"; filename*=UTF-8''{quote(clean, safe='')}"


def attachment(data: bytes, name: str, media_type: str) -> Response:
    """``data`` as a download named ``name``: never shown inline, never sniffed into another
    type, and sandboxed should a browser open it all the same."""
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": disposition(name), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, no-store"})
