"""``/docs``: the API reference, read from the application's own OpenAPI document and drawn
by a template of chiso (FastAPI's default pages load their scripts from a CDN, which a
province's closed network does not reach)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from chiso.auth.permissions import Actor
from chiso.http.deps import get_actor
from chiso.http.render import render

router = APIRouter(include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def _schema_text(schema: dict[str, Any] | None, components: dict[str, Any]) -> str:
    """A short type for a parameter or body: ``string``, ``integer``, ``array of Unit``..."""
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(t for t in (_schema_text(s, components) for s in schema["anyOf"]) if t != "null")
    if schema.get("type") == "array":
        return "array of " + (_schema_text(schema.get("items"), components) or "any")
    kind = schema.get("type", "object")
    if schema.get("enum"):
        kind += " (" + ", ".join(map(str, schema["enum"])) + ")"
    return kind


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of an OpenAPI document, grouped by its first tag, in path order."""
    components = document.get("components", {}).get("schemas", {})
    out = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            out.append({
                "tag": (op.get("tags") or ["other"])[0],
                "method": method.upper(),
                "path": path,
                "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [{
                    "name": p["name"], "in": p["in"], "required": p.get("required", False),
                    "type": _schema_text(p.get("schema"), components),
                    "description": p.get("description", ""),
                } for p in op.get("parameters", [])],
                "body": [{"media": media, "type": _schema_text(c.get("schema"), components)}
                         for media, c in body.items()],
                "responses": [{"status": status, "description": r.get("description", "")}
                              for status, r in op.get("responses", {}).items()],
                "security": bool(op.get("security")),
            })
    return sorted(out, key=lambda o: (o["tag"], o["path"], METHODS.index(o["method"].lower())))


@router.get("/docs")
def api_reference(request: Request, actor: Actor = Depends(get_actor)):
    document = request.app.openapi()
    ops = operations(document)
    tags = sorted({o["tag"] for o in ops})
    return render(request, "apidocs.html", info=document.get("info", {}), operations=ops, tags=tags,
                  openapi_url=request.app.openapi_url)
