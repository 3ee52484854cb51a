"""Error answers outside the API views: JSON under /api/, plain pages elsewhere, never a debug
page. A lost database is a 503 with Retry-After wherever it surfaces (a middleware reading the
session, the admin, a health probe), so clients and load balancers know to come back."""

from __future__ import annotations

import sys

from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from api.exceptions import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, database_unavailable
from api.middleware import is_api


def _answer(request: HttpRequest, status: int, detail: str, template: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": detail}, status=status)
    try:
        body = loader.render_to_string(template, {"detail": detail, "status": status})
    except Exception:  # an error page must not fail: plain text then
        return HttpResponse(f"{status}: {detail}\n", status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 400, "Bad request.", "errors/page.html")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 403, "You do not have permission to see this.", "errors/page.html")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 404, "Not found.", "errors/page.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Called by Django inside the except block of the failure, so the exception is at hand."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        response = _answer(request, 503, UNAVAILABLE_MESSAGE, "errors/page.html")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if exc is not None and _out_of_range_filter(request, exc):
        return _answer(request, 400, "A filter value is out of range (a date, year or offset).", "errors/page.html")
    return _answer(request, 500, "Server error. It has been logged; try again later.", "errors/page.html")


def _out_of_range_filter(request: HttpRequest, exc: BaseException) -> bool:
    """A value PostgreSQL refused, or a console list filter (``?occurred_at__year=0``, an offset
    of +23:59) that Python's dates cannot hold: the caller's input, not a bug. Still logged
    with its traceback by Django before this answer is made."""
    if isinstance(exc, DataError):
        return True
    return (
        isinstance(exc, ValueError | OverflowError)
        and request.method in ("GET", "HEAD")
        and request.path_info.startswith("/admin/")
        and bool(request.GET)
    )
