"""Property-based requests from the application's own OpenAPI document (schemathesis),
in-process, on both stores, as the administrator and as commune A's editor: no server
error, and every answer (status, content type, body) as the document describes it.

Bounded: a few examples per operation, no shrinking, no example database."""

from __future__ import annotations


import pytest

from tests.web.conftest import bearer

MAX_EXAMPLES = 8
#: Revoking tokens at random would end the tokens the other tests use.
EXCLUDED = {("DELETE", "/api/v1/tokens/{token_id}")}


@pytest.mark.parametrize("who", ["admin", "editor_a"])
def test_openapi_document_holds_under_generated_requests(app, world, who):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                   status_code_conformance)
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    headers = bearer(world, who)
    failures: list[str] = []
    operations = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in EXCLUDED:
            continue
        operations += 1

        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            try:
                r = case.call_and_validate(headers=headers, checks=checks)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except Exception as exc:  # collect all, report together
                # run() is called within this iteration, so `op` is the current operation.
                failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")  # noqa: B023
                raise

        try:
            run()
        except Exception:
            pass
    assert sum(n for s, n in statuses.items() if s < 300) > 20, statuses
    assert operations >= 30
    assert not failures, "\n\n".join(dict.fromkeys(failures))
