"""schemathesis against the server's own OpenAPI document: for every operation, bounded and
reproducible examples made from the document are sent with an administrator's token, and
positive examples (values the document allows) and negative ones (values it does not)
are both sent; every answer must be no server error, a status the document lists and a body its schema
allows (refusals included: they are documented as problem details).

The run is derandomized (the same examples every run) and bounded per operation
(`EXAMPLES`), so its time grows with the number of operations: about half a second an
operation on SQLite. Every operation found in the document is tested, so a route added
later is covered without change here.
"""

from __future__ import annotations

import itertools
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from engine.api.support import RateLimit
from tests.integration.api_client import bearer, token_for

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_answers_as_its_openapi_document_says(api, people_db):
    api.app.state.rate_limit = RateLimit(1_000_000)      # the examples come faster than a person
    token = {"value": token_for(people_db, "ada")}
    failures: dict[str, str] = {}
    started, operations = time.monotonic(), _operations(api.app)
    assert len(operations) >= 8
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            response = case.call(headers=bearer(token["value"]))
            if response.status_code == 401:      # an example revoked the token itself: make another
                token["value"] = token_for(people_db, "ada")
            case.validate_response(response, checks=CHECKS)

        try:
            answers_as_documented()
        except Unsatisfiable:           # nothing in it can be made invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, FailureGroup) as failed:   # every operation is tried; all failures are reported
            found = getattr(failed, "exceptions", None) or [failed]
            failures[f"{operation.label} ({mode.value} examples)"] = "\n".join(f"  {type(f).__name__}: {str(f)[:600]}" for f in found)
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())
    print(f"{len(operations)} operations, {elapsed:.1f} s")


def test_the_document_says_every_route_but_health_needs_a_token_and_answers_problem_details(api):
    document = api.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if path == "/health":
                assert "security" not in operation
                continue
            assert operation.get("security") == [{"token": []}], f"{method.upper()} {path}"
            for status in ("401", "403", "422", "429"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], f"{method.upper()} {path} {status}"


@pytest.mark.parametrize("status", [401, 404, 422])
def test_a_refusal_is_sent_as_the_problem_media_type_it_is_documented_as(api, status):
    headers = {} if status == 401 else api.as_("ada")
    path = "/contacts/999999" if status == 404 else "/contacts?limit=0"
    reply = api.get(path, headers=headers)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
