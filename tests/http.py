"""Plain HTTP calls to a server the tests started (gunicorn), as a client outside Django would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def call(url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    """GET (or POST ``body`` as JSON) with an optional bearer token; the status and the JSON answer."""
    request = urllib.request.Request(url, method="POST" if body is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
