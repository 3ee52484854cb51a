"""The OpenAPI schema documents the errors each operation really gives, by rule, not per view.

drf-spectacular documents what a view returns when it succeeds. Every API view also goes
through the same steps before and around its handler (api.base, DRF, the exception
handler in api.exceptions), and each step has its own refusal. ``AutoSchema`` adds
those refusals to every operation, from what the view is made of:

- 400 everywhere: the input boundary (api.boundary) checks the path, query string and
  header values of every request; beyond it, bodies, parameters and filters are validated (an
  unknown query parameter is refused by ``StrictFilterBackend``, on lists and lookups; ordering,
  filtering or searching by a field masked for the caller by the scope);
- 401 when the view can challenge for credentials (it authenticates, or answers with a
  ``WWW-Authenticate`` header like the token endpoints);
- 403 when a permission or the action's capability can refuse the caller; on reads of row-level
  data (a viewset whose ``FacilityScope`` is ``row_level``) also when the rows are of a facility
  whose personal-data permission the caller lacks (aggregates only, api.base);
- 404 for an object looked up by a path parameter, and for a page or cursor past the end;
- 409 on writes: a DELETE of an object other records still refer to, or a write that lost a
  race with another request over the same row;
- 415 when the operation reads a request body (a media type it cannot parse);
- 429 wherever a throttle counts the request (with ``Retry-After``);
- 503 everywhere: a dependency (the database) is down (with ``Retry-After``);
- 414 everywhere, from the web server itself (gunicorn, as an HTML page): a request line (path
  and query string) longer than it reads.

A view adds what only it knows with ``@extend_schema(responses=...)``: an error status declared
without a body (``413: OpenApiResponse(description=...)``) gets the shared error body; one
declared with its own body keeps it, and may also carry the shared body, since the steps
before the handler can answer that status too (``anyOf``).

The bodies are those DRF's exception handler writes: ``{"detail": "..."}`` (``Error``), and
for invalid input a dict of field name to messages (``ValidationError``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import AllowAny

ERROR = {
    "type": "object",
    "description": "An error that is not about one field: what went wrong, for a person.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong."},
        "code": {
            "type": "string",
            "description": "A stable name for the error where there is one, e.g. `token_not_valid`, "
            "`service_unavailable`.",
        },
    },
    "required": ["detail"],
    "example": {"detail": "Your role may not do this."},
}

# A field's messages: a list of strings as a rule; a string; for a nested object or a list
# field, the same shape again (by field name or item index); for a list of objects, a list of them.
FIELD_MESSAGES = {
    "anyOf": [
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "string"},
        {"type": "object"},
    ]
}

VALIDATION_ERROR = {
    "description": (
        "Invalid input. Each field names its messages; `non_field_errors` holds those about the whole "
        "body; an unknown query parameter is named with the parameters that are allowed; a body that "
        'could not be read at all is `{"detail": "..."}`. Rarely a bare list of messages.'
    ),
    "anyOf": [
        {"type": "object", "additionalProperties": FIELD_MESSAGES},
        {"type": "array", "items": {"type": "string"}},
    ],
    "example": {
        "start_date": ["Use a date as YYYY-MM-DD."],
        "facilities": {"0": ["Object with code=X does not exist."]},
    },
}

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}

# status -> (component, description, headers)
ERRORS: dict[int, tuple[str, str, dict[Any, Any]]] = {
    400: ("ValidationError", "Invalid input; nothing was changed.", {}),
    401: (
        "Error",
        "No credentials, or credentials that are not valid (unknown, expired or revoked).",
        {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "The scheme to authenticate with."}},
    ),
    403: ("Error", "The caller's role (or grant) may not do this.", {}),
    404: ("Error", "No such object, or not one the caller may see; or a page past the end.", {}),
    409: ("Error", "Other records still refer to this object, or the write lost a race with another.", {}),
    413: ("Error", "The request body is larger than this operation accepts.", {}),
    415: ("Error", "The request body is in a media type this operation does not read.", {}),
    429: ("Error", "Too many requests (rate limit, or a locked sign-in); try again after Retry-After.", RETRY_AFTER),
    503: ("Error", "A service the API depends on (the database) is down; try again after Retry-After.", RETRY_AFTER),
}
# Answered by the web server before the application sees the request: its own page, not JSON.
SERVER_ERRORS: dict[int, str] = {
    414: "The request line (path and query string) is longer than the web server reads (gunicorn: 4094 bytes).",
}
COMPONENTS = {"Error": ERROR, "ValidationError": VALIDATION_ERROR}
# Reads of row-level data (api.base.FacilityScope): what else their 400 and 403 say.
READ_ACTIONS = {"list", "retrieve"}
ROW_LEVEL_FORBIDDEN = (
    "The caller's role may not do this; or the rows asked for are of a facility where the caller lacks the "
    'personal-data permission: aggregates only there (`{"detail": ..., "code": "aggregates_only"}`, naming the '
    "facilities). A list covers the facilities where the caller holds the permission; it is refused when filtered "
    "(`facility=`) to one without it, or when the caller holds it at none of its facilities. An object outside the "
    "caller's facilities is a 404."
)
MASKED_INVALID = (
    "Invalid input; nothing was changed. Ordering, filtering or searching by a field masked for the caller "
    "({fields}) while the request covers a facility where the caller lacks the personal-data permission is refused, "
    "naming the field."
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses every operation can give."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[Any, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
        rules = self.error_descriptions()
        for status in sorted(self.error_statuses(operation) | declared):
            responses[str(status)] = self._error_response(status, responses.get(str(status)), rules.get(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_auth(self) -> list[dict[Any, Any]]:
        """Each security requirement once, however many ways it was added."""
        unique: list[dict[Any, Any]] = []
        for requirement in super().get_auth():
            if requirement not in unique:
                unique.append(requirement)
        return unique

    # --- which errors ------------------------------------------------------------------------

    def error_statuses(self, operation: dict[Any, Any]) -> set[int]:
        """The error statuses this operation can answer, from how its view is built."""
        path_parameters = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        takes_body = "requestBody" in operation
        statuses = {400, 503, *SERVER_ERRORS}
        if self._challenges():
            statuses.add(401)
        if any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            statuses.add(403)  # a permission, a capability (api.base) or CSRF for a session
        if path_parameters or (self._is_list_view() and self._pages()):
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            statuses.add(409)
        if takes_body:
            statuses.add(415)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def error_descriptions(self) -> dict[int, str]:
        """Descriptions of errors this operation gives for reasons of its own view's make (a view's
        own declaration still wins)."""
        if getattr(self.view, "action", None) not in READ_ACTIONS:
            return {}
        described: dict[int, str] = {}
        if getattr(getattr(self.view, "scope", None), "row_level", False):
            described[403] = ROW_LEVEL_FORBIDDEN
        masked = sorted(getattr(self.view, "masked_fields", ()))
        if masked:
            described[400] = MASKED_INVALID.format(fields=", ".join(masked))
        return described

    def _challenges(self) -> bool:
        try:
            return bool(self.view.get_authenticate_header(self.view.request))
        except Exception:  # a view that cannot say without a real request: it authenticates if it has authenticators
            return bool(self.view.get_authenticators())

    def _pages(self) -> bool:
        paginator = self._get_paginator()
        return isinstance(paginator, PageNumberPagination | CursorPagination)

    # --- their bodies ------------------------------------------------------------------------

    def _component_ref(self, name: str) -> dict[Any, Any]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=f"{__name__}.{name}", schema=COMPONENTS[name]
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _error_response(self, status: int, declared: dict[Any, Any] | None, rule: str | None = None) -> dict[Any, Any]:
        """The shared response for ``status`` (described by ``rule`` when the view's make says
        more); a view's own declaration of it is kept: its description, and its body next to
        the shared one."""
        if status in SERVER_ERRORS:
            return {"description": SERVER_ERRORS[status], "content": {"text/html": {"schema": {"type": "string"}}}}
        name, description, headers = ERRORS.get(status, ("Error", "", {}))
        shared = self._component_ref(name)
        if declared is None:
            declared = {}
        media = declared.get("content", {}).get("application/json", {})
        own = media.get("schema")
        schema = shared if own is None or own == shared else {"anyOf": [own, shared]}
        response: dict[str, Any] = {
            **declared,
            "description": declared.get("description") or rule or description,
            "content": {**declared.get("content", {}), "application/json": {**media, "schema": schema}},
        }
        if headers:
            response["headers"] = {**headers, **declared.get("headers", {})}
        return response
