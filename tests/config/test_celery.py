"""A real Celery worker and beat, talking through the real Redis broker."""

import uuid

import pytest
from django.core.cache import cache

from config.celery_app import app, ping
from tests.conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db]


def test_the_app_speaks_json_only_and_acknowledges_late():
    conf = app.conf

    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.beat_scheduler == "config.beat:HeartbeatScheduler"


def test_a_worker_runs_a_task_sent_through_the_broker(celery_worker_process):
    token = uuid.uuid4().hex

    ping.delay(token)

    host = wait_for(lambda: cache.get(f"ops:ping:{token}"), timeout=30, what="the task to run")
    assert host


def test_a_running_worker_shows_in_health(client, celery_worker_process):
    body = client.get("/health/").json()

    assert body["checks"]["worker"] == "ok"


def test_a_running_beat_shows_in_health(client, celery_beat_process):
    wait_for(lambda: celery_beat_process.has_beaten("beat"), timeout=60, what="beat's heartbeat")

    assert client.get("/health/").json()["checks"]["beat"] == "ok"
