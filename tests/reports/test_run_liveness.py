"""A report run shows a heartbeat while a worker builds it: a run whose worker was killed is
built again within seconds of going stale, not an hour later; a live one is left alone."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from reports.models import ReportRun
from reports.services.runs import _enqueue_execute, report_run_execute, report_runs_recover
from tests.conftest import wait_for
from tests.reports.conftest import make_report


class HeldReports:
    """Another session holding the reports table, so a worker building a run waits there (after
    it claimed the run) for as long as the test likes."""

    def __init__(self) -> None:
        self.session = connections.create_connection("default")
        with self.session.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE reports_report IN ACCESS EXCLUSIVE MODE")

    def build_waits(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                ['%FROM "reports_report"%'],
            )
            return cursor.fetchone()[0] > 0

    def release(self) -> None:
        with self.session.cursor() as cursor:
            cursor.execute("COMMIT")
        self.session.close()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_mid_build_is_built_again_and_sent_once(
    celery_worker_process, worker_smtp, settings, alice, facility_a
):
    settings.REPORT_RUN_STALE_SECONDS = 3  # here, where the sweep runs
    settings.MEDIA_ROOT = worker_smtp.media_root
    worker_smtp.messages.clear()
    report = make_report(alice, name="Liveness", kpi="kpis", recipients=["liveness@example.com"])
    run = ReportRun.objects.create(report=report, trigger="manual")
    held = HeldReports()
    try:
        _enqueue_execute(run.pk)
        wait_for(held.build_waits, timeout=60, what="the worker to start building")
        run.refresh_from_db()
        host, pid = run.claimed_by.rsplit(":", 1)
        assert run.status == "running" and run.heartbeat_at and host == socket.gethostname()

        os.kill(int(pid), signal.SIGKILL)  # the pool process building the run
    finally:
        held.release()

    wait_for(lambda: report_runs_recover(), timeout=60, what="the sweep to take the run up")
    done = wait_for(lambda: ReportRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
                    timeout=60, what="the worker to build the run again")  # fmt: skip

    assert done.status == "succeeded", done.error
    assert done.claimed_by != run.claimed_by and done.heartbeat_at is None  # another process; let go
    assert len(worker_smtp.to("liveness@example.com")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_being_built_keeps_its_heartbeat_and_is_left_alone(smtp, settings, alice, facility_a):
    settings.REPORT_RUN_STALE_SECONDS = 2  # a heartbeat every half second
    run = ReportRun.objects.create(report=make_report(alice, kpi="kpis"), trigger="manual")
    held = HeldReports()
    outcome: list = []
    worker = threading.Thread(target=lambda: (outcome.append(report_run_execute(run_id=run.pk)),
                                              connection.close()))  # fmt: skip
    try:
        worker.start()
        wait_for(held.build_waits, timeout=30, what="the build to start")
        claimed = ReportRun.objects.get(pk=run.pk).heartbeat_at
        time.sleep(3)  # longer than the stale limit, in the middle of the build

        assert report_runs_recover() == 0
        run.refresh_from_db()
        assert run.status == "running" and run.heartbeat_at > claimed
    finally:
        held.release()
        worker.join(60)
    assert outcome[0].status == "succeeded", outcome[0].error
    assert len(smtp.to("ops@example.com")) == 1


@pytest.mark.django_db
def test_a_run_whose_heartbeat_stopped_is_queued_again(alice):
    stale = timezone.now() - timedelta(minutes=5)
    run = ReportRun.objects.create(report=make_report(alice), trigger="manual", status="running", started_at=stale,
                                   heartbeat_at=stale, claimed_by="worker-7:4242")  # fmt: skip

    assert report_runs_recover() == 1

    run.refresh_from_db()
    assert run.status == "queued" and run.heartbeat_at is None


@pytest.mark.django_db
def test_a_run_waiting_for_delivery_retries_waits_for_the_upper_bound(alice, settings):
    settings.REPORT_RUN_STALE_MINUTES = 60
    report = make_report(alice)
    waiting = ReportRun.objects.create(report=report, trigger="manual", status="running",
                                       started_at=timezone.now() - timedelta(minutes=20))  # fmt: skip
    abandoned = ReportRun.objects.create(report=report, trigger="manual", status="running",
                                         started_at=timezone.now() - timedelta(minutes=61))  # fmt: skip

    report_runs_recover()

    assert ReportRun.objects.get(pk=waiting.pk).status == "running"  # no worker on it: retries are due later
    assert ReportRun.objects.get(pk=abandoned.pk).status == "queued"


@pytest.mark.django_db
def test_a_finished_build_lets_go_of_its_run(smtp, alice, facility_a):
    run = report_run_execute(
        run_id=ReportRun.objects.create(report=make_report(alice, kpi="kpis"), trigger="manual").pk
    )

    assert run.status == "succeeded"
    run.refresh_from_db()
    assert run.claimed_by == f"{socket.gethostname()}:{os.getpid()}" and run.heartbeat_at is None
