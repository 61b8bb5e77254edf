"""A one-stop system for the feed tests: a real HTTP server on 127.0.0.1 that serves pages of
national-format dossiers by the default protocol (``GET /feed?since=...`` → ``{"items",
"next", "watermark"}``), with faults a test scripts per page: an HTTP status, a delay, a
body that is not a page."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def national(i: int | str, unit: str, *, status: int = 2, received: str = "20250901080000",
             due: str = "20250905170000", finished: str = "", channel: int = 2, **extra: Any) -> dict[str, Any]:
    """A dossier as the one-stop systems synchronise it (field names of the national format)."""
    return {"MaHoSo": f"H68-{i}", "MaTTHC": "1.000001", "MaDonVi": unit, "NgayTiepNhan": received,
            "NgayHenTra": due, "NgayKetThucXuLy": finished, "TrangThaiHoSo": status, "KenhThucHien": channel,
            **extra}


class FeedServer:
    """``pages``: name → page object (or raw bytes); ``first``: since → the first page's
    name; ``faults``: name → list of faults taken one per request (``("status", 500)``,
    ``("sleep", seconds)``); ``token``: the bearer token required, if any."""

    def __init__(self) -> None:
        self.pages: dict[str, Any] = {}
        self.first: dict[str, str] = {}
        self.faults: dict[str, list[tuple[str, Any]]] = {}
        self.token: str | None = None
        self.requests: list[tuple[str, str | None, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                parts = urlsplit(self.path)
                since = parse_qs(parts.query).get("since", [None])[0]
                server.requests.append((parts.path, since, self.headers.get("Authorization")))
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._send(401, b'{"error": "unauthorised"}')
                name = server.first.get(since or "", "") if parts.path == "/feed" else parts.path.strip("/")
                faults = server.faults.get(name) or []
                if faults:
                    kind, value = faults.pop(0)
                    if kind == "status":
                        return self._send(value, b'{"error": "down"}')
                    if kind == "sleep":
                        time.sleep(value)
                page = server.pages.get(name)
                if page is None:
                    return self._send(404, b"{}")
                self._send(200, page if isinstance(page, bytes) else json.dumps(page).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/feed"

    def page(self, name: str, items: list[dict[str, Any]], *, next: str | None = None,
             watermark: str | None = None) -> None:
        self.pages[name] = {"items": items, "next": next, "watermark": watermark}

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
