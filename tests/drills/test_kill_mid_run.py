"""kill -9 of the worker process that is refreshing a view, or building a report.

To kill it mid-run every time, the drill holds a lock on the one table the run reads
(ACCESS EXCLUSIVE, in a transaction of its own) so the run waits inside its statement; it kills
the process whose database session waits, then lets go. The run must not stay `running`: it is
found and settled or done again, and the next refresh or run of the same thing works.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from psycopg import sql

from tests.drills import checks
from tests.drills.app import REFRESH_STALE_SECONDS, DrillApp, wait_until
from tests.drills.conftest import Drill

pytestmark = pytest.mark.drill

# A refresh whose executor died is found by its liveness (its heartbeat stops) and settled or
# retried: the stale threshold of the copy, plus the recovery sweep's minute, plus slack.
REFRESH_RECOVERY_SECONDS = REFRESH_STALE_SECONDS + 60 + 25
# A report run whose executor died: found by the reports sweep (every minute) once stale, built
# and emailed again. "In minutes": three, with the copy's default settings.
REPORT_RECOVERY_SECONDS = 180
# A refresh or report asked for after the recovery finishes within this (small data).
RUN_AGAIN_SECONDS = 60

REFRESH_VIEW, REFRESH_TABLE = "compliance_daily", "events_compliancecheck"  # the view reads only this table
REPORT_TABLE = "events_application"  # the `applications` report streams its rows


@contextmanager
def _table_locked(app: DrillApp, table: str) -> Iterator[int]:
    """Hold ACCESS EXCLUSIVE on ``table``; yields the holding session's backend pid."""
    with app.db() as conn:
        conn.execute("BEGIN")
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))
        try:
            yield conn.info.backend_pid
        finally:
            conn.execute("ROLLBACK")


def _waiting_on(app: DrillApp, table: str, holder: int) -> int | None:
    """The backend, other than ours, waiting for a lock on ``table``."""
    return app.value(
        "SELECT pid FROM pg_locks WHERE relation = %s::regclass AND NOT granted AND pid <> %s LIMIT 1", [table, holder]
    )


def _kill_waiting_executor(app: DrillApp, table: str, holder: int) -> int:
    backend, _ = wait_until(lambda: _waiting_on(app, table, holder), 60, interval=0.1)
    assert backend, f"no run started reading {table} within 60s"
    executor = app.client_of_backend(backend)
    assert executor in app.pool(), f"the run's session belongs to {executor}, not to a pool process {app.pool()}"
    os.kill(executor, signal.SIGKILL)
    time.sleep(0.5)  # the kill lands before the table is let go
    return executor


def _refresh(drill: Drill) -> list[dict]:
    answer = drill.admin.post("/api/v1/analytics/refresh/", {"views": [REFRESH_VIEW]})
    assert answer.status == 202, answer.describe()
    return answer.body["runs"]


def _refresh_run(drill: Drill, run_id: int) -> dict:
    answer = drill.admin.get(f"/api/v1/analytics/refresh-runs/{run_id}/")
    assert answer.status == 200, answer.describe()
    return answer.body


def test_kill_mid_refresh(app: DrillApp, drill: Drill) -> None:
    with _table_locked(app, REFRESH_TABLE) as holder:
        runs = _refresh(drill)
        _kill_waiting_executor(app, REFRESH_TABLE, holder)
    fault_at = app.value("SELECT now()")

    settled = drill.expect("no run stuck", checks.no_stuck_runs, app, before=fault_at, within=REFRESH_RECOVERY_SECONDS)
    outcome = [_refresh_run(drill, run["id"]) for run in runs]
    took = drill.expect("the next refresh succeeds", _refresh_again, drill)
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    drill.expect("recovered", checks.recovered, app, drill.sender, drill.ledger, within=RUN_AGAIN_SECONDS)
    drill.figure(f"the killed run: {[(r['id'], r['status'], r['error'][:80]) for r in outcome]}, settled "
                 f"{'-' if settled is None else f'{settled:.0f}s'} after the kill; the next refresh succeeded in "
                 f"{'-' if took is None else f'{took:.1f}s'}")  # fmt: skip
    drill.conclude()


def _refresh_again(drill: Drill) -> float:
    again = _refresh(drill)
    done, took = wait_until(
        lambda: all(_refresh_run(drill, r["id"])["status"] not in ("queued", "running") for r in again),
        RUN_AGAIN_SECONDS, interval=0.5,
    )  # fmt: skip
    runs = [_refresh_run(drill, r["id"]) for r in again]
    assert done and {r["status"] for r in runs} == {"succeeded"}, f"{RUN_AGAIN_SECONDS}s later: {runs}"
    return took


@pytest.mark.nightly
def test_kill_mid_report_build(app: DrillApp, drill: Drill) -> None:
    report = drill.admin.post("/api/v1/reports/", {
        "name": f"Drill {drill.ledger.tag}", "kpi": "applications", "period": "last_30_days", "format": "csv",
        "recipients": ["drill@example.com"],
    })  # fmt: skip
    assert report.status == 201, report.describe()
    with _table_locked(app, REPORT_TABLE) as holder:
        started = drill.admin.post(f"/api/v1/reports/{report.body['id']}/run/")
        assert started.status == 202, started.describe()
        _kill_waiting_executor(app, REPORT_TABLE, holder)
    fault_at = app.value("SELECT now()")
    killed_at = time.monotonic()
    run_id = started.body["run"]["id"]

    settled = drill.expect("no run stuck", checks.no_stuck_runs, app, before=fault_at, within=REPORT_RECOVERY_SECONDS)
    run = drill.admin.get(f"/api/v1/report-runs/{run_id}/").body
    deliveries = app.query(
        "SELECT recipient, count(*) FROM reports_reportdelivery WHERE run_id = %s GROUP BY recipient", [run_id]
    )
    drill.expect("one email per recipient", _once_each, deliveries)
    if run["status"] != "succeeded":  # settled as failed (or still stuck): running it again must work
        drill.expect("the next run succeeds", _run_again, drill, report.body["id"])
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    drill.figure(f"the killed run: {run['status']} {run.get('error', '')[:80]!r}, settled "
                 f"{'-' if settled is None else f'{settled:.0f}s'} after the kill "
                 f"({time.monotonic() - killed_at:.0f}s in all)")  # fmt: skip
    drill.conclude()


def _once_each(deliveries: list[tuple]) -> None:
    assert all(count == 1 for _, count in deliveries), f"a recipient got the run more than once: {deliveries}"


def _run_again(drill: Drill, report_id: int) -> None:
    again = drill.admin.post(f"/api/v1/reports/{report_id}/run/")
    assert again.status == 202, again.describe()
    run_id = again.body["run"]["id"]
    wait_until(
        lambda: drill.admin.get(f"/api/v1/report-runs/{run_id}/").body["status"] in ("succeeded", "failed"),
        RUN_AGAIN_SECONDS, interval=1,
    )  # fmt: skip
    run = drill.admin.get(f"/api/v1/report-runs/{run_id}/").body
    assert run["status"] == "succeeded", f"{RUN_AGAIN_SECONDS}s later: {run}"
