"""Liveness of the Celery worker and beat, written to Redis and read by /health/.

The worker writes from a timer on its own event loop, and beat from its scheduler's
tick, so a heartbeat means the loop that does the work is turning, not just that the
process exists.
"""

from __future__ import annotations

import logging
import socket
import time

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY = "heartbeat:{}"


def heartbeat_record(*, component: str) -> None:
    try:
        cache.set(KEY.format(component), {"at": time.time(), "host": socket.gethostname()}, timeout=None)
    except (RedisError, OSError):
        logger.warning("could not record the %s heartbeat: Redis unreachable", component)


def heartbeat_age(*, component: str) -> float | None:
    """Seconds since ``component`` last beat, or None if it never did."""
    value = cache.get(KEY.format(component))
    if not value:
        return None
    return max(0.0, time.time() - value["at"])


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_ref = None

    def start(self, worker) -> None:
        heartbeat_record(component="worker")
        self.timer_ref = worker.timer.call_repeatedly(
            settings.HEARTBEAT_INTERVAL_SECONDS, heartbeat_record, kwargs={"component": "worker"}
        )

    def stop(self, worker) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
