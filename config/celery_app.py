"""The Celery application: Redis broker, JSON only, django-celery-beat's database scheduler.

Settings live in Django settings under the CELERY_ prefix (config/settings/base.py).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("staffing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _install_heartbeat() -> None:
    from config.heartbeat import WorkerHeartbeat

    app.steps["worker"].add(WorkerHeartbeat)


_install_heartbeat()


@app.task(name="ops.ping", ignore_result=True)
def ping(token: str) -> None:
    """Round trip through the broker: `celery -A config call ops.ping --args='["t"]'`, then read ops:ping:t."""
    import socket

    from django.core.cache import cache

    cache.set(f"ops:ping:{token}", socket.gethostname(), timeout=300)
