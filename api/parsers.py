"""The API's one body parser: strict JSON, checked at the boundary (api.boundary).

Only JSON is taken: a form-encoded or multipart body is a 415, so every route sees the same
typed values (a form's ``options=null`` is the text "null", not JSON's null). ``NaN`` and
``Infinity`` are not JSON and are refused; every string and key is checked for what PostgreSQL
cannot store, and the nesting depth is limited; each problem is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from api.boundary import json_loads, json_problem


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            data = json_loads(body)
        except ValueError as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None
        found = json_problem(data)
        if found:
            path, message = found
            raise exceptions.ValidationError({path or "non_field_errors": [message]})
        return data
