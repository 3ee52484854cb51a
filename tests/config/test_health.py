"""GET /health/ against the real PostgreSQL, Redis and broker."""

import socket
import time

import pytest
from django.core.cache import cache
from django.db import connection

from config.heartbeat import KEY

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_health_is_public_and_reports_every_check(client):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "checks"}
    assert set(body["checks"]) == {"database", "cache", "broker", "worker", "beat"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] == "ok"


def test_missing_heartbeats_make_the_system_degraded(client):
    cache.delete_many([KEY.format("worker"), KEY.format("beat")])

    body = client.get("/health/").json()

    assert body["checks"]["worker"] == "stale"
    assert body["checks"]["beat"] == "stale"
    assert body["status"] == "degraded"


def test_an_old_heartbeat_is_stale_and_a_fresh_one_ok(client, settings):
    cache.set(KEY.format("worker"), {"at": time.time() - settings.HEARTBEAT_STALE_SECONDS - 5, "host": "w"})
    cache.set(KEY.format("beat"), {"at": time.time(), "host": "b"})

    body = client.get("/health/").json()

    assert body["checks"]["worker"] == "stale"
    assert body["checks"]["beat"] == "ok"


def test_all_checks_ok_means_status_ok(client):
    for component in ("worker", "beat"):
        cache.set(KEY.format(component), {"at": time.time(), "host": "here"})

    response = client.get("/health/")

    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok", "beat": "ok"},
    }


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_is_down_with_503(client, monkeypatch):
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(_closed_port()))
    try:
        response = client.get("/health/")
    finally:
        connection.close()

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["database"] == "down"


def test_health_is_never_cached(client):
    response = client.get("/health/")

    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_health_only_answers_reads(client):
    assert client.post("/health/").status_code == 405
