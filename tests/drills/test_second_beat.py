"""A second `celery beat` beside the first, as a failover beat on another machine would run: each
scheduled slot's work is still done once, not twice and not never.

The drill adds a beat entry that refreshes the `jobs` view every minute and a report scheduled
every minute, starts the second beat, lets a minute boundary pass with both beats running, then
counts: one successful refresh of `jobs` and one report run (one email per recipient) for that
slot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta

import pytest

from tests.drills import checks
from tests.drills.app import DRILLS_DIR, ROOT, DrillApp, wait_until
from tests.drills.conftest import Drill
from tests.drills.traffic import send

pytestmark = pytest.mark.drill

ENTRY = "Drill: refresh jobs every minute"
# Both beats must have read the drill's entries before the slot: beat reads schedule changes
# at least every CELERY_BEAT_MAX_LOOP_INTERVAL (10 s); a new beat reads them as it starts.
LEAD_SECONDS = 15
# The slot's refresh and report run finish within this after the boundary (small data); a
# second execution of the same slot would come right after the first.
SLOT_SECONDS = 45
# After the slot's work is done, how long the drill keeps looking for a second execution.
DUPLICATE_WATCH_SECONDS = 15

CREATE_ENTRY = f"""
import json
from django_celery_beat.models import CrontabSchedule, PeriodicTask
every_minute, _ = CrontabSchedule.objects.get_or_create(
    minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
PeriodicTask.objects.update_or_create(name={ENTRY!r}, defaults={{
    "task": "analytics.refresh_scheduled", "crontab": every_minute, "interval": None,
    "kwargs": json.dumps({{"views": ["jobs"]}}), "enabled": True}})
"""


def _start_second_beat(app: DrillApp) -> subprocess.Popen:
    log = open(DRILLS_DIR / "second-beat.log", "wb")  # noqa: SIM115 - open for the beat's life
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "beat", "--loglevel", "INFO", "--pidfile="],
        cwd=ROOT, env=app.service_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _next_boundary(app: DrillApp) -> datetime:
    now: datetime = app.value("SELECT now()")
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return boundary if (boundary - now).total_seconds() >= LEAD_SECONDS else boundary + timedelta(minutes=1)


def _refreshes(app: DrillApp, view: str, slot: datetime) -> list[tuple]:
    return app.query(
        "SELECT id, status, created_at FROM analytics_refreshrun WHERE view = %s AND trigger = 'schedule' "
        "AND created_at >= %s AND created_at < %s ORDER BY id",
        [view, slot, slot + timedelta(minutes=1)],
    )


def _report_runs(app: DrillApp, report_id: int, slot: datetime) -> list[tuple]:
    return app.query(
        "SELECT r.id, r.status, (SELECT count(*) FROM reports_reportdelivery d WHERE d.run_id = r.id) "
        "FROM reports_reportrun r WHERE r.report_id = %s AND r.scheduled_for = %s ORDER BY r.id",
        [report_id, slot],
    )


def _twice_in_a_minute(app: DrillApp, since: datetime) -> list[tuple]:
    """Any view refreshed successfully more than once within one minute by the schedule."""
    return app.query(
        "SELECT view, date_trunc('minute', created_at) AS slot, count(*) FROM analytics_refreshrun "
        "WHERE trigger = 'schedule' AND status = 'succeeded' AND created_at >= %s "
        "GROUP BY view, slot HAVING count(*) > 1",
        [since],
    )


def test_second_beat(app: DrillApp, drill: Drill) -> None:
    since = app.value("SELECT now()")
    app.manage("shell", "-c", CREATE_ENTRY)
    report = drill.admin.post("/api/v1/reports/", {
        "name": f"Drill {drill.ledger.tag} every minute", "kpi": "pipeline", "period": "last_7_days", "format": "csv",
        "recipients": ["beat-drill@example.com"], "schedule": {"crontab": "* * * * *", "time_zone": "UTC"},
    })  # fmt: skip
    assert report.status == 201, report.describe()
    second = _start_second_beat(app)
    try:
        slot = _next_boundary(app)
        time.sleep(max(0.0, (slot - app.value("SELECT now()")).total_seconds()))
        send(drill.sender, drill.ledger, drill.ledger.batch(10))  # events go on being applied with two beats
        done, _ = wait_until(
            lambda: any(status == "succeeded" for _, status, _ in _refreshes(app, "jobs", slot))
            and any(status in ("succeeded", "failed") for _, status, _ in _report_runs(app, report.body["id"], slot)),
            SLOT_SECONDS, interval=1,
        )  # fmt: skip
        time.sleep(DUPLICATE_WATCH_SECONDS)
        assert second.poll() is None, "the second beat exited:\n" + (DRILLS_DIR / "second-beat.log").read_text()[-3000:]
        refreshes = _refreshes(app, "jobs", slot)
        runs = _report_runs(app, report.body["id"], slot)  # before the report, and its runs, are deleted
        twice = _twice_in_a_minute(app, since)
    finally:
        _stop(second)
        app.query(
            "UPDATE django_celery_beat_periodictask SET enabled = false WHERE name = %s RETURNING id", [ENTRY]
        )  # fmt: skip
        app.query("UPDATE django_celery_beat_periodictasks SET last_update = now() RETURNING ident")
        drill.admin.call("DELETE", f"/api/v1/reports/{report.body['id']}/")

    succeeded = [run for run in refreshes if run[1] == "succeeded"]
    at = f"{slot:%H:%M}"
    drill.expect(
        "the slot's refresh ran exactly once", _equal, len(succeeded), 1, f"refreshes of jobs at {at}: {refreshes}"
    )
    drill.expect("the slot's report ran exactly once", _equal, len(runs), 1, f"report runs at {at}: {runs}")
    drill.expect("one email per recipient", _equal, [count for _, _, count in runs], [1] * len(runs), f"{runs}")
    drill.expect("no view refreshed twice in a minute by the schedule", _equal, twice, [], "")
    drill.expect("stored once", checks.stored_once, app, drill.ledger)
    drill.expect("applied", checks.processed, app, drill.ledger, within=checks.PROBE_SECONDS)
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    drill.expect("healthy", checks.recovered, app, drill.sender, drill.ledger, within=30)
    left = (DRILLS_DIR / "second-beat.log").read_text(errors="replace").count("was sent by another beat")
    drill.figure(f"slot {slot:%H:%M} with two beats: {len(succeeded)} successful refresh of jobs "
                 f"({[status for _, status, _ in refreshes]}), {len(runs)} report run, its work done in time: "
                 f"{bool(done)}; the second beat found {left} slots already sent by the first")  # fmt: skip
    drill.conclude()


def _equal(actual: object, expected: object, evidence: str) -> None:
    assert actual == expected, f"{actual!r} instead of {expected!r}. {evidence}"
