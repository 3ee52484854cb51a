"""Settings come from the environment; production refuses to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.settings.base import celery_broker_url, database_config

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD_KEY = "x7Kq2-vN9pLr4sTz8wYb1cMd5fGh0jAe3uQi6oXk_RnUyVlWsB"


def run_with(settings_module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SITE_URL"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    return {
        "SECRET_KEY": GOOD_KEY,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "ALLOWED_HOSTS": "analytics.example.com",
        "EMAIL_URL": "smtp+tls://reports:secret@mail.example.com:587",
        "SITE_URL": "https://analytics.example.com",
        **overrides,
    }


def test_product_defaults():
    assert settings.REPORTING_TIME_ZONE == "UTC"
    assert settings.PRIVACY_MODE is True
    assert settings.PRIVACY_MIN_CELL_SIZE == 11


def test_database_url_with_a_socket_directory():
    config = database_config("postgres://postgres@/staffing?host=/srv/var/pg")

    assert config["HOST"] == "/srv/var/pg"
    assert config["NAME"] == "staffing"
    assert "host" not in config["OPTIONS"]


@pytest.mark.django_db
def test_connections_run_without_jit_unless_the_url_says_otherwise():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
    url = "postgres://postgres@localhost/staffing?options=-c%20jit%3Don"
    assert database_config(url)["OPTIONS"]["options"] == "-c jit=on"


def test_database_url_must_be_postgresql():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        database_config("sqlite:///db.sqlite3")


@pytest.mark.parametrize(
    ("redis_url", "broker_url"),
    [
        ("redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/5"),
        ("unix:///srv/var/redis/redis.sock?db=0", "redis+socket:///srv/var/redis/redis.sock?db=0"),
    ],
)
def test_celery_uses_the_same_redis(redis_url, broker_url):
    assert celery_broker_url(redis_url) == broker_url


def test_the_cache_and_broker_point_at_redis_url():
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    assert celery_broker_url(settings.REDIS_URL) == settings.CELERY_BROKER_URL


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL", "SITE_URL"]
)
def test_production_refuses_to_start_without(missing):
    result = run_with("config.settings.production", "check", **production_env(**{missing: ""}))

    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = run_with("config.settings.production", "check", **production_env(SECRET_KEY="changeme"))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_passes_the_deployment_checklist():
    result = run_with("config.settings.production", "check", "--deploy", "--fail-level", "WARNING", **production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("bad", [("REPORTING_TIME_ZONE", "Mars/Olympus"), ("PRIVACY_MIN_CELL_SIZE", "1")])
def test_bad_product_settings_are_refused(bad):
    name, value = bad
    result = run_with("config.settings.test", "check", **{name: value})

    assert result.returncode != 0
    assert name in result.stderr
