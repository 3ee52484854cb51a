"""The OpenAPI schema exactly as /api/schema/ renders it, built in this process."""

from __future__ import annotations

import json

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer


def openapi() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
