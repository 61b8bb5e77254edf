"""Security headers on every kind of response, and templates that need no inline script or
style (so the CSP can forbid them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import bearer

TEMPLATES = Path(__file__).parents[2] / "src" / "chiso" / "web" / "templates"


def _secure(r) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"


def test_headers_on_pages_api_static_and_errors(client, world):
    for r in (client.get("/login"), client.get("/api/v1/me", headers=bearer(world, "admin")),
              client.get("/static/chiso.css"), client.get("/healthz"), client.get("/no-such-page"),
              client.get("/api/v1/no-such"), client.get("/api/v1/me"), client.get("/static/nope.js"),
              client.get("/api/v1/units?limit=0", headers=bearer(world, "admin")),
              client.get("/api/v1/openapi.json")):
        _secure(r)
    assert client.get("/login").headers.get("strict-transport-security") is None


def test_headers_on_a_server_error(world):
    from fastapi.testclient import TestClient

    from chiso.web.app import create_app

    app = create_app(engine=world.engine, store=world.store)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/boom")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert "boom" not in r.text
    _secure(r)


def test_hsts_when_the_request_came_over_https(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as c:
        assert "max-age" in c.get("/login").headers["strict-transport-security"]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_or_style(template):
    text = template.read_text(encoding="utf-8")
    for m in re.finditer(r"<script\b([^>]*)>", text, re.I):
        assert "src=" in m.group(1), f"inline <script> in {template.name}"
    assert not re.search(r"<style\b", text, re.I), f"<style> element in {template.name}"
    assert not re.search(r"\sstyle\s*=", text, re.I), f"style= attribute in {template.name}"
    assert not re.search(r"<[a-z][^>]*\son(?:click|dblclick|load|error|submit|change|input|reset|select|toggle|scroll|"
                         r"wheel|resize|focus\w*|blur|key\w+|mouse\w+|pointer\w+|touch\w+|drag\w*|drop|copy|cut|paste|"
                         r"contextmenu|animation\w+|transition\w+|message|storage|hashchange|page\w+|before\w+|unload)\s*=",
                         text, re.I), f"inline event handler in {template.name}"
    assert "javascript:" not in text.lower()


def test_the_roles_table_of_docs_web_md_is_generated_from_the_permissions():
    from chiso.auth.permissions import roles_markdown

    page = (Path(__file__).parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    start, end = page.index("<!-- roles:start -->\n"), page.index("<!-- roles:end -->")
    assert page[start + len("<!-- roles:start -->\n"):end] == roles_markdown(), (
        "docs/web.md is out of date: paste chiso.auth.permissions.roles_markdown() between the roles markers")
    for setting in ("session_hours", "secure_cookies", "trusted_proxies", "max_upload_mb", "login_max_failures",
                    "login_lock_minutes"):
        assert f"`{setting}`" in page
