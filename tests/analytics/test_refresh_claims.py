"""Refresh runs are claimed, not assumed: one executor per run, one active run per view, and a
run whose executor died is settled and its view refreshed again, within seconds of going stale."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from psycopg import sql

from analytics.models import RefreshRun
from analytics.services.refresh import (
    refresh_request,
    refresh_runs_execute,
    refresh_runs_recover,
    refresh_runs_settle_lost,
)
from tests.conftest import wait_for


def side_by_side(work, count: int = 2) -> list:
    """Run ``work`` in ``count`` threads released together, each with its own database session."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


class HeldTable:
    """Another session holding the table a view is made from, so a refresh of the view waits
    in the middle of its statement for as long as the test likes."""

    def __init__(self, table: str, view: str) -> None:
        self.view = view
        self.session = connections.create_connection("default")
        with self.session.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))

    def refresh_waits(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                [f"REFRESH MATERIALIZED VIEW %{self.view}%"],
            )
            return cursor.fetchone()[0] > 0

    def release(self) -> None:
        with self.session.cursor() as cursor:
            cursor.execute("COMMIT")
        self.session.close()


@pytest.mark.django_db(transaction=True)
def test_two_executors_handed_the_same_run_execute_it_once(facility_a):
    (run,) = refresh_request(views=["compliance_daily"], by=None, trigger="tests", enqueue=False)

    results = side_by_side(lambda: refresh_runs_execute(run_ids=[run.pk]))

    executed = [done for done in results if done]
    assert len(executed) == 1, results
    (done,) = executed[0]
    assert done.pk == run.pk and done.status == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.claimed_by == f"{socket.gethostname()}:{os.getpid()}"


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_the_same_moment_queue_one_run(facility_a):
    def ask() -> list[int]:
        with transaction.atomic():
            runs = refresh_request(views=["compliance_daily"], by=None, trigger="tests", enqueue=False)
            time.sleep(0.5)  # both requests are in flight before either commits
        return [run.pk for run in runs]

    first, second = side_by_side(ask)

    assert first == second
    assert RefreshRun.objects.filter(view="compliance_daily").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_executor_is_alive_is_not_taken_for_lost(facility_a, settings):
    settings.REFRESH_RUN_STALE_SECONDS = 2  # a heartbeat every half second
    (run,) = refresh_request(views=["compliance_daily"], by=None, trigger="tests", enqueue=False)
    held = HeldTable("events_compliancecheck", "analytics_compliance_daily")
    outcome: list = []
    executor = threading.Thread(target=lambda: (outcome.append(refresh_runs_execute(run_ids=[run.pk])),
                                                connection.close()))  # fmt: skip
    try:
        executor.start()
        wait_for(held.refresh_waits, timeout=30, what="the refresh to wait for the view")
        time.sleep(3)  # longer than the stale limit, in the middle of the refresh

        assert refresh_runs_settle_lost() == []
        run.refresh_from_db()
        assert run.status == "running"
        assert run.heartbeat_at > run.claimed_at
    finally:
        held.release()
        executor.join(60)
    assert [done.status for done in outcome[0]] == ["succeeded"]


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_mid_refresh_is_settled_and_refreshed_again(
    celery_worker_process, facility_a, settings
):
    settings.REFRESH_RUN_STALE_SECONDS = 3  # here, where the recovery runs
    held = HeldTable("events_compliancecheck", "analytics_compliance_daily")
    try:
        (run,) = refresh_request(views=["compliance_daily"], by=None, trigger="tests")  # a real worker takes it
        wait_for(held.refresh_waits, timeout=60, what="the worker's refresh to wait for the view")
        run.refresh_from_db()
        host, pid = run.claimed_by.rsplit(":", 1)
        assert run.status == "running" and host == socket.gethostname()

        os.kill(int(pid), signal.SIGKILL)  # the pool process executing the refresh
    finally:
        held.release()

    settled = wait_for(lambda: refresh_runs_recover()["lost"], timeout=60, what="the run to go stale")

    assert settled == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed"
    assert f"Executor lost: {host}:{pid}" in run.error
    fresh = RefreshRun.objects.get(view="compliance_daily", trigger="recovery")
    done = wait_for(
        lambda: RefreshRun.objects.filter(pk=fresh.pk, status__in=["succeeded", "failed", "skipped"]).first(),
        timeout=60,
        what="the worker to refresh the view again",
    )
    assert done.status == "succeeded", done.error
    assert RefreshRun.objects.filter(view="compliance_daily").count() == 2  # the redelivered task ran nothing


@pytest.mark.django_db
def test_a_request_settles_a_run_whose_executor_is_gone_and_queues_the_view_again(facility_a):
    stale = timezone.now() - timedelta(minutes=10)
    gone = RefreshRun.objects.create(view="compliance_daily", status="running", claimed_by="worker-7:4242", claimed_at=stale,
                                     started_at=stale, heartbeat_at=stale)  # fmt: skip

    (run,) = refresh_request(views=["compliance_daily"], by=None, trigger="api", enqueue=False)

    assert run.pk != gone.pk and run.status == "queued"
    gone.refresh_from_db()
    assert gone.status == "failed" and gone.finished_at is not None
    assert gone.error.startswith("Executor lost: worker-7:4242 gave no sign of life for 120 seconds")


@pytest.mark.django_db
def test_a_recent_heartbeat_keeps_the_run(facility_a):
    busy = RefreshRun.objects.create(view="compliance_daily", status="running", claimed_by="worker-7:4242",
                                     claimed_at=timezone.now() - timedelta(minutes=10),
                                     heartbeat_at=timezone.now() - timedelta(seconds=5))  # fmt: skip

    (run,) = refresh_request(views=["compliance_daily"], by=None, trigger="api", enqueue=False)

    assert run.pk == busy.pk and run.status == "running"


@pytest.mark.django_db
def test_the_recovery_sweep_runs_every_minute_from_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="analytics.recover_runs")

    assert task.enabled and task.crontab.minute == "*" and task.crontab.hour == "*"
