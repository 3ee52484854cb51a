"""Shared fixtures. Everything here talks to real PostgreSQL, Redis and Celery processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from accounts.models import Role
from tests.factories import FacilityFactory, make_user

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.2, what: str = "") -> object:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")


def subprocess_database_url() -> str:
    """A DATABASE_URL for the test database, for processes the tests start."""
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    if str(db["HOST"]).startswith("/"):
        return f"postgres://{user}{password}@/{db['NAME']}?host={db['HOST']}"
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def service_env() -> dict[str, str]:
    """Environment for a Celery process that shares this test run's database, cache and queue."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_RUN_ID": settings.CACHES["default"]["KEY_PREFIX"],
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "INFO",
    }


class CeleryProcess:
    """A real `celery` process (worker or beat) started from the project's own command line."""

    def __init__(self, *args: str, log_path: Path, env: dict | None = None) -> None:
        self.log_path = log_path
        self.started_at = time.time()
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env={**service_env(), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def has_beaten(self, component: str) -> bool:
        """True once this process wrote a heartbeat (older ones, real or planted, do not count)."""
        from django.core.cache import cache

        from config.heartbeat import KEY

        value = cache.get(KEY.format(component))
        return bool(value) and value["at"] >= self.started_at

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Rate-limit counters live in Redis and would leak from one test into the next."""
    cache.delete_pattern("throttle_*")
    yield


# --- the cast: two facilities and the people who use them ----------------------------


@pytest.fixture
def redis_round_trips(monkeypatch) -> list:
    """What this process sends to Redis from now on, one entry per send (one round trip: a
    pipeline or a script is one). A spy around the real connection, not a stand-in."""
    from redis.connection import AbstractConnection

    sent: list = []
    real = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return real(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.fixture
def facility_a(db):
    return FacilityFactory(code="MERCY-01", name="Mercy General Hospital")


@pytest.fixture
def facility_b(db):
    return FacilityFactory(code="STJ-02", name="St. John's Medical Center", region="South")


@pytest.fixture
def ada(db):
    """An Admin."""
    return make_user("ada", Role.ADMIN)


@pytest.fixture
def alice(facility_a):
    """A Recruiter at facility A."""
    return make_user("alice", Role.RECRUITER, [facility_a])


@pytest.fixture
def bob(facility_a, facility_b):
    """A Recruiter at facilities A and B."""
    return make_user("bob", Role.RECRUITER, [facility_a, facility_b])


@pytest.fixture
def carol(facility_a):
    """A Viewer at facility A."""
    return make_user("carol", Role.VIEWER, [facility_a])


@pytest.fixture
def mallory(db):
    """A Recruiter with no grants at all."""
    return make_user("mallory", Role.RECRUITER)


@pytest.fixture(scope="session")
def worker_smtp(tmp_path_factory):
    """The SMTP server (aiosmtpd on loopback) and file folder of the session's worker."""
    from aiosmtpd.controller import Controller

    from tests.smtp import Mailbox, free_port

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    mailbox.media_root = str(tmp_path_factory.mktemp("worker-media"))
    yield mailbox
    controller.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, worker_smtp) -> Iterator[CeleryProcess]:
    """One real worker (prefork, one child) consuming this run's queue through the Redis broker;
    it emails through the session's loopback SMTP server."""
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    worker = CeleryProcess(
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--hostname",
        f"test-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
        log_path=log_path,
        env={"EMAIL_URL": f"smtp://127.0.0.1:{worker_smtp.port}", "MEDIA_ROOT": worker_smtp.media_root},
    )
    with django_db_blocker.unblock():
        try:
            wait_for(lambda: worker.has_beaten("worker"), timeout=60, what="the worker to start")
        except BaseException:
            worker.stop()
            print(worker.log())
            raise
    yield worker
    worker.stop()


class WebProcess:
    """The real web server (gunicorn, the production WSGI entry point) on a free port."""

    def __init__(self, log_path: Path, env: dict | None = None) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "config/gunicorn.py",  # the production settings, smaller
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env={**service_env(), "WEB_WORKERS": "1", "WEB_THREADS": "2", **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def up(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/health/", timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def web_process(django_db_setup, tmp_path_factory) -> Iterator[WebProcess]:
    web = WebProcess(tmp_path_factory.mktemp("web") / "gunicorn.log")
    try:
        wait_for(web.up, timeout=60, what="gunicorn to answer")
    except BaseException:
        web.stop()
        print(web.log_path.read_text())
        raise
    yield web
    web.stop()


@pytest.fixture
def celery_beat_process(django_db_setup, tmp_path) -> Iterator[CeleryProcess]:
    """A real beat whose dispatches go to a queue of its own that no worker consumes: the
    schedule's due entries (a refresh at :00 and :30, the sweeps) would otherwise run on the
    session's worker and commit refresh runs under the tests that follow."""
    import redis

    queue = f"{settings.CACHES['default']['KEY_PREFIX']}-beat-unconsumed"
    beat = CeleryProcess("beat", "--loglevel", "INFO", "--pidfile=", log_path=tmp_path / "beat.log",
                         env={"CELERY_QUEUE": queue})  # fmt: skip
    yield beat
    beat.stop()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


@pytest.fixture(autouse=True)
def _fresh_kpi_cache():
    """Cached KPI answers outlive a test's database rollback: each test starts on a new version."""
    from analytics.cache import kpi_cache_bump

    kpi_cache_bump()


@pytest.fixture
def build_a(facility_a):
    from tests.kpi_data import Builder

    return Builder(facility_a)


@pytest.fixture
def build_b(facility_b):
    from tests.kpi_data import Builder

    return Builder(facility_b)
