"""Every operation of the schema documents the errors it can answer, with their bodies
(api.schema). Read from the schema alone; the Schemathesis run checks them against
the server."""

from __future__ import annotations

import pytest

from tests.api.openapi import openapi

SCHEMA = openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
    if method in {"get", "post", "put", "patch", "delete"}
]
TOKEN_PATHS = {"/api/v1/auth/token/", "/api/v1/auth/token/refresh/"}


def body(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def ids(operations) -> list[str]:
    return [f"{method} {path}" for method, path, _ in operations]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=ids(OPERATIONS))
def test_every_operation_documents_bad_input_throttling_and_an_outage(method, path, operation):
    responses = operation["responses"]

    assert body(operation, "400") == {"$ref": "#/components/schemas/ValidationError"} or path == "/api/v1/events/"
    assert body(operation, "429") == {"$ref": "#/components/schemas/Error"}
    assert body(operation, "503") == {"$ref": "#/components/schemas/Error"}
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "text/html" in responses["414"]["content"]  # the web server's own page


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=ids(OPERATIONS))
def test_who_may_call_is_documented(method, path, operation):
    responses = operation["responses"]

    assert "401" in responses  # no credentials, bad ones, or a failed sign-in
    if path in TOKEN_PATHS:
        assert "403" not in responses
        assert "security" not in operation  # signing in needs no credentials
    else:
        assert "403" in responses
        assert {"jwtAuth": []} in operation["security"]
        assert len(operation["security"]) == len({str(s) for s in operation["security"]})  # each scheme once


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=ids(OPERATIONS))
def test_lookups_and_pages_document_not_found_and_writes_a_conflict(method, path, operation):
    responses = operation["responses"]

    if "{" in path or operation["operationId"].endswith("_list"):
        assert "404" in responses
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        assert "409" in responses
    if "requestBody" in operation:
        assert "415" in responses


def test_the_event_endpoints_document_their_size_limits():
    for path in ("/api/v1/events/", "/api/v1/events/bulk/"):
        response = SCHEMA["paths"][path]["post"]["responses"]["413"]
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "MiB" in response["description"] or "KiB" in response["description"]


def test_a_rejected_event_and_an_unreadable_body_are_both_documented_400s():
    schema = body(SCHEMA["paths"]["/api/v1/events/"]["post"], "400")

    assert schema == {
        "anyOf": [{"$ref": "#/components/schemas/IngestResult"}, {"$ref": "#/components/schemas/ValidationError"}]
    }


def test_a_kpi_names_an_unknown_facility_with_a_404():
    response = SCHEMA["paths"]["/api/v1/analytics/pipeline/"]["get"]["responses"]["404"]

    assert "facility" in response["description"]


def test_signing_in_answers_the_token_pair():
    for path in TOKEN_PATHS:
        assert body(SCHEMA["paths"][path]["post"], "200") == {"$ref": "#/components/schemas/TokenPair"}
    assert SCHEMA["components"]["schemas"]["TokenPair"]["required"] == ["access", "refresh"]


def test_the_error_bodies_are_those_the_exception_handler_writes():
    """A field dict, a nested one (a list field's item), and a bare detail all fit ValidationError;
    every other error is {"detail": ...}."""
    import jsonschema_rs

    components = SCHEMA["components"]["schemas"]
    validation = jsonschema_rs.validator_for(components["ValidationError"])
    error = jsonschema_rs.validator_for(components["Error"])

    assert validation.is_valid({"username": ["This field may not be blank."], "facilities": {"0": ["Unknown."]}})
    assert validation.is_valid({"detail": "The body is not valid JSON: unexpected character."})
    assert validation.is_valid({"non_field_errors": ["Expected one event (a JSON object)."]})
    assert validation.is_valid(["A message about the whole body."])
    assert error.is_valid({"detail": "Given token not valid", "code": "token_not_valid", "messages": [{}]})
    assert not error.is_valid({"code": "no detail"})
