"""PostgreSQL stopped for 5 s, Redis stopped for 30 s, while events keep coming and KPIs are read.

Stopped the way an operator stops them (pg_ctl stop -m fast; Redis SHUTDOWN) and started again
the way `make run` starts them (config.embedded), under the running app: nothing of the app is
restarted by the drill. A sender retries what was not acknowledged, with the same ids.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.drills import checks
from tests.drills.app import DrillApp
from tests.drills.conftest import Drill
from tests.drills.traffic import Api, BackgroundSender

pytestmark = pytest.mark.drill

POSTGRES_DOWN_SECONDS = 5
REDIS_DOWN_SECONDS = 30
# After PostgreSQL is back: web sessions reconnect on their next request (CONN_HEALTH_CHECKS),
# the worker's next task and beat's next tick too; the events that waited are applied by the
# next processing run (the sweep, every minute, at the latest).
POSTGRES_RECOVERY_SECONDS = 90
# After Redis is back: the worker and beat reconnect to the broker (with backoff), heartbeats
# resume, the sweep applies what ingestion could not ask for while the broker was down.
REDIS_RECOVERY_SECONDS = 120


class Reader(threading.Thread):
    """Reads a KPI and /health/ twice a second, as a dashboard and a monitor would."""

    def __init__(self, admin: Api) -> None:
        super().__init__(daemon=True, name="reader")
        self.admin = admin
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.admin.get("/api/v1/analytics/pipeline/", timeout=15)
            self.admin.get("/health/", timeout=15)
            self._halt.wait(0.5)

    def stop(self) -> None:
        self._halt.set()
        self.join(30)


def _through_outage(app: DrillApp, drill: Drill, stop, down_seconds: float) -> tuple[float, float]:
    """Traffic before, during and after the outage; returns (outage seconds, restart seconds)."""
    sender = BackgroundSender(drill.sender, drill.ledger, triplets=10, interval=0.25)
    reader = Reader(drill.admin)
    sender.start()
    reader.start()
    time.sleep(3)
    stopped_at = time.monotonic()
    stop()
    time.sleep(down_seconds)
    restart_at = time.monotonic()
    app.services("start")  # starts what is not running, as `make run` would
    restarted = time.monotonic() - restart_at
    time.sleep(10)  # traffic goes on after the restart too
    reader.stop()
    sender.stop()
    return time.monotonic() - stopped_at - 10, restarted


def _check_after_outage(app: DrillApp, drill: Drill, *, outage: float, restarted: float, within: float) -> None:
    fault_at = app.value("SELECT now()")
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    applied = drill.expect("applied", checks.processed, app, drill.ledger, within=within)
    drill.expect("stored once", checks.stored_once, app, drill.ledger)
    drill.expect("no run stuck", checks.no_stuck_runs, app, before=fault_at, within=within)
    probe = drill.expect("recovered", checks.recovered, app, drill.sender, drill.ledger, within=within)
    answers = drill.traffic.answers
    drill.figure(
        f"down {outage:.0f}s (started again in {restarted:.1f}s); {len(drill.ledger.acked)} events acknowledged, "
        f"{drill.ledger.gave_up} given up by the sender; "
        f"{sum(1 for a in answers if a.status == 503 and a.retry_after)} answers 503 with Retry-After, "
        f"{sum(1 for a in answers if a.status == 500)} answers 500, "
        f"{len(drill.traffic.connection_errors())} without an answer; backlog applied "
        f"{'-' if applied is None else f'{applied:.0f}s'} later, new events in {'-' if probe is None else f'{probe:.1f}s'}"
    )
    drill.conclude()


def test_postgres_stopped(app: DrillApp, drill: Drill) -> None:
    outage, restarted = _through_outage(app, drill, app.stop_postgres, POSTGRES_DOWN_SECONDS)
    _check_after_outage(app, drill, outage=outage, restarted=restarted, within=POSTGRES_RECOVERY_SECONDS)


@pytest.mark.nightly
def test_redis_stopped(app: DrillApp, drill: Drill) -> None:
    outage, restarted = _through_outage(app, drill, app.stop_redis, REDIS_DOWN_SECONDS)
    _check_after_outage(app, drill, outage=outage, restarted=restarted, within=REDIS_RECOVERY_SECONDS)
