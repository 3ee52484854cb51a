"""Scheduled runs: exactly once per slot, catch-up after downtime, failures that stop a schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from accounts.principals import Actor
from accounts.services import user_set_access
from reports.models import Report, ReportRun, ReportSchedule
from reports.services.runs import report_run_execute, report_schedules_tick
from tests.reports.conftest import make_report

MONDAY_7AM_NY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 07:00 in New York
WEEKLY = {"crontab": "0 7 * * 1", "time_zone": "America/New_York"}


def scheduled(owner, **values) -> Report:
    report = make_report(owner, schedule=WEEKLY, **values)
    ReportSchedule.objects.filter(report=report).update(active_since=MONDAY_7AM_NY - timedelta(days=30))
    return report


def test_a_slot_gets_one_run_however_often_it_is_asked_for(alice):
    report = scheduled(alice)

    first = report_schedules_tick(now=MONDAY_7AM_NY)
    second = report_schedules_tick(now=MONDAY_7AM_NY + timedelta(minutes=1))  # the sweep, a minute later
    by_its_beat_entry = report_schedules_tick(now=MONDAY_7AM_NY, report_id=report.pk)

    assert [run.scheduled_for for run in first] == [MONDAY_7AM_NY]
    assert second == by_its_beat_entry == []
    assert ReportRun.objects.filter(report=report).count() == 1


def test_two_beats_ticking_at_once_make_one_run(alice, transactional_db):
    report = scheduled(alice)
    barrier, results = threading.Barrier(2), []

    def beat():
        barrier.wait()
        try:
            results.append(len(report_schedules_tick(now=MONDAY_7AM_NY)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 1]
    assert ReportRun.objects.filter(report=report).count() == 1


def test_a_slot_missed_while_down_runs_once_on_restart(alice):
    report = scheduled(alice)
    back_on_tuesday = MONDAY_7AM_NY + timedelta(days=1, hours=3)

    runs = report_schedules_tick(now=back_on_tuesday)
    report_schedules_tick(now=back_on_tuesday + timedelta(minutes=1))

    assert [run.scheduled_for for run in runs] == [MONDAY_7AM_NY]  # the missed slot, not a new one
    assert ReportRun.objects.filter(report=report).count() == 1


def test_no_back_fill_before_the_schedule_existed(alice):
    report = make_report(alice, schedule=WEEKLY)  # created now: last Monday's slot is before it

    assert report_schedules_tick(now=timezone.now()) == []
    assert not ReportRun.objects.filter(report=report).exists()


def test_a_paused_beat_entry_or_a_disabled_report_does_not_run(alice, ada):
    paused = scheduled(alice, name="Paused")
    task = paused.schedule.periodic_task
    task.enabled = False
    task.save()
    scheduled(ada, name="Off", enabled=False)

    assert report_schedules_tick(now=MONDAY_7AM_NY) == []


def test_the_schedule_is_a_beat_entry_operators_can_see(alice):
    report = scheduled(alice)
    task = report.schedule.periodic_task

    assert task.task == "reports.run_scheduled"
    assert task.crontab.hour == "7" and task.crontab.day_of_week == "1"
    assert str(task.crontab.timezone) == "America/New_York"
    assert task.enabled


def test_a_revoked_grant_removes_that_facility_from_the_next_run(smtp, bob, facility_a, facility_b):
    report = make_report(bob, facilities=[facility_a, facility_b])
    first = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    user_set_access(by=Actor.system("tests"), user=bob, role=bob.role, facilities=[facility_a])

    second = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)

    assert first.facilities == ["MERCY-01", "STJ-02"]
    assert second.facilities == ["MERCY-01"]


def test_an_owner_who_lost_every_facility_gets_a_failed_run_not_an_email(smtp, alice, ada, facility_a):
    report = make_report(alice, facilities=[facility_a])
    user_set_access(by=Actor.system("tests"), user=alice, role=alice.role, facilities=[])

    run = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)

    assert run.status == "failed"
    assert "no longer see any of its facilities" in run.error
    assert not smtp.to("ops@example.com")
    notice = smtp.to("alice@example.com")[0]
    assert notice["Subject"] == "Report failed: Weekly pipeline"
    assert smtp.to("ada@example.com"), "Admins are told too"


def test_consecutive_failures_disable_the_schedule_and_say_why(smtp, alice, settings):
    settings.REPORT_MAX_CONSECUTIVE_FAILURES = 2
    report = scheduled(alice, recipients=["nobody@example.com"])
    smtp.refused.add("nobody@example.com")

    for week in range(2):
        (run,) = report_schedules_tick(now=MONDAY_7AM_NY + timedelta(weeks=week))
        assert report_run_execute(run_id=run.pk).status == "failed"

    report.refresh_from_db()
    assert report.enabled is False
    assert "2 consecutive failed runs" in report.disabled_reason
    assert "550" in report.disabled_reason
    report.schedule.periodic_task.refresh_from_db()
    assert report.schedule.periodic_task.enabled is False
    assert report_schedules_tick(now=MONDAY_7AM_NY + timedelta(weeks=2)) == []
    assert "(schedule disabled)" in smtp.to("alice@example.com")[-1]["Subject"]


def test_a_success_resets_the_failure_count(smtp, alice):
    report = scheduled(alice)
    Report.objects.filter(pk=report.pk).update(consecutive_failures=2)

    (run,) = report_schedules_tick(now=MONDAY_7AM_NY)
    assert report_run_execute(run_id=run.pk).status == "succeeded"

    report.refresh_from_db()
    assert report.consecutive_failures == 0 and report.enabled


def test_a_redelivered_task_does_not_send_twice(smtp, alice):
    report = make_report(alice)
    run = ReportRun.objects.create(report=report, trigger="manual")

    report_run_execute(run_id=run.pk)
    report_run_execute(run_id=run.pk)

    assert len(smtp.to("ops@example.com")) == 1
