"""GET /health/: is each part of the system up? Public, so it says nothing about data.

``status`` is ``down`` (HTTP 503) when PostgreSQL is unreachable, ``degraded`` when
anything else is, and ``ok`` otherwise. Each check reads ``ok``, ``down`` (unreachable),
``stale`` (a heartbeat older than HEARTBEAT_STALE_SECONDS, or none yet) or ``unknown``
(the heartbeat could not be read because Redis is down).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery_app import app as celery_app
from config.heartbeat import heartbeat_age

logger = logging.getLogger(__name__)

OK, DOWN, STALE, UNKNOWN = "ok", "down", "stale", "unknown"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("health: database unreachable")
        return DOWN
    return OK


def check_cache() -> str:
    try:
        cache.set("health:probe", "1", timeout=10)
        return OK if cache.get("health:probe") == "1" else DOWN
    except Exception:  # django-redis raises several unrelated types; any of them means down
        logger.exception("health: cache unreachable")
        return DOWN


def check_broker() -> str:
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:  # kombu wraps transport errors in many ways
        logger.exception("health: broker unreachable")
        return DOWN
    return OK


def check_heartbeat(component: str) -> str:
    try:
        age = heartbeat_age(component=component)
    except Exception:
        return UNKNOWN
    if age is None or age > settings.HEARTBEAT_STALE_SECONDS:
        return STALE
    return OK


def health_report() -> dict:
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "broker": check_broker(),
        "worker": check_heartbeat("worker"),
        "beat": check_heartbeat("beat"),
    }
    if checks["database"] != OK:
        status = DOWN
    elif all(value == OK for value in checks.values()):
        status = OK
    else:
        status = "degraded"
    return {"status": status, "checks": checks}


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=503 if report["status"] == DOWN else 200)
