"""`/docs`: the API reference drawn from the application's own OpenAPI document, with
nothing loaded from another host."""

from __future__ import annotations

import re

from chiso.web.apidocs import operations


def test_the_reference_lists_every_operation_and_loads_nothing_from_outside(client, app):
    r = client.get("/docs", headers={"accept-language": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    document = app.openapi()
    ops = operations(document)
    assert len(ops) >= 20
    for op in ops:
        assert f"{op['method']} {op['path']}" in r.text.replace("&#34;", '"'), op["path"]
    # Every script, style sheet and image comes from this server.
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert not re.match(r"^(https?:)?//", url), url
    assert "/api/v1/openapi.json" in r.text


def test_the_reference_speaks_vietnamese_first(client):
    r = client.get("/docs")
    assert "Tham số" in r.text or "Trả lời" in r.text
