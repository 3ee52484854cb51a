"""The beat scheduler: django-celery-beat's DatabaseScheduler plus a heartbeat.

Kept apart from config/heartbeat.py because importing the scheduler needs Django's
app registry, which is not ready when the Celery app is created.
"""

import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from config.heartbeat import heartbeat_record


class HeartbeatScheduler(DatabaseScheduler):
    """Records a beat heartbeat from the scheduler loop, at most every HEARTBEAT_INTERVAL_SECONDS."""

    _last_beat = float("-inf")

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_beat >= settings.HEARTBEAT_INTERVAL_SECONDS:
            heartbeat_record(component="beat")
            self._last_beat = now
        return super().tick(*args, **kwargs)
