"""Response models on the JSON routes: the OpenAPI document describes what every route
answers (not "any object") and the API fuzzing checks answers against it. (That describing
them changed no answer was checked when they were added, by comparing every route's answers
before and after on both stores.)"""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import TASK_A, bearer

#: An import answers with the keys its kind adds (``ImportSummary.extra``).
OPEN_MODELS = {"ImportSummaryOut"}


def _success(op: dict) -> dict:
    return next(r for code, r in op["responses"].items() if code.startswith("2"))


def test_every_json_route_describes_its_answer(client):
    doc = client.get("/api/v1/openapi.json").json()
    components = doc["components"]["schemas"]
    described = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            schema = _success(op)["content"]["application/json"]["schema"]
            target = schema.get("items", schema)
            # One described object, or one of several (PUT /targets/values: a value or a batch).
            for one in target.get("anyOf", [target]):
                assert "$ref" in one, f"{method.upper()} {path} answers an undescribed {schema}"
                name = one["$ref"].rsplit("/", 1)[1]
                model = components[name]
                assert model.get("properties"), name
                if name not in OPEN_MODELS:
                    assert model.get("additionalProperties") is False, name
            described += 1
    assert described >= 30


def test_the_fuzzing_check_refuses_an_answer_that_does_not_match(app, client, world):
    """The same check as tests/web/test_openapi_fuzz.py, on a real answer and on the same
    answer with one key more, one key less and one of the wrong type."""
    import schemathesis
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    op = schema["/api/v1/tasks/{code}"]["GET"]
    case = op.Case(path_parameters={"code": TASK_A})
    real = client.get(f"/api/v1/tasks/{TASK_A}", headers=bearer(world, "admin"))
    assert real.status_code == 200
    case.validate_response(real, checks=[response_schema_conformance])

    body = real.json()
    wrong = [{**body, "unexpected": 1}, {k: v for k, v in body.items() if k != "deadline"}, {**body, "progress": "half"}]
    for tampered in wrong:
        answer = type(real)(200, content=json.dumps(tampered).encode(), request=real.request,
                                headers={"content-type": "application/json"})
        with pytest.raises(Exception):  # noqa: B017 (schemathesis raises its own failure group)
            case.validate_response(answer, checks=[response_schema_conformance])
