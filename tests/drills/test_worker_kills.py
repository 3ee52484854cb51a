"""kill -9 of the worker while it applies a batch of events: its main process, then one of its
pool processes. Nothing acknowledged is lost or applied twice, supervisord restarts what died,
and the other processes never notice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.drills import checks
from tests.drills.app import PROCESSING_LOCK, RESTART_SECONDS, DrillApp, wait_until
from tests.drills.conftest import Drill
from tests.drills.traffic import BackgroundSender, send

pytestmark = pytest.mark.drill

# After the worker's main process is killed, its busy pool process finishes the batch on its own
# (or dies with it, and the batch returns to the queue); the restarted worker takes the rest,
# asked by the next ingestion or the beat sweep (every minute). A sweep, two batches, slack.
MAIN_KILL_RECOVERY_SECONDS = 100
# A killed pool process's task is given back at once (acks_late, reject_on_worker_lost) and the
# main process starts a new pool process: one batch again, plus slack.
CHILD_KILL_RECOVERY_SECONDS = 60


def _lock_holder(app: DrillApp) -> int | None:
    """The backend holding the event processor's lock: a batch is being applied."""
    return app.value("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
                     [PROCESSING_LOCK])  # fmt: skip


def _mid_batch(app: DrillApp, drill: Drill) -> bool:
    pending, _, _ = checks._backlog(app, drill.ledger)
    return pending > 0 and _lock_holder(app) is not None


def _send_backlog(drill: Drill, requests: int = 4, triplets: int = 150) -> None:
    """1,800 events in four requests: one batch, held open BATCH_PAUSE_SECONDS per part."""
    for _ in range(requests):
        answer = send(drill.sender, drill.ledger, drill.ledger.batch(triplets))
        assert answer.status == 200, answer.describe()


def _not_restarted(before: dict[str, int], after: dict[str, int], names: tuple[str, ...]) -> None:
    changed = {name: (before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)}
    assert not changed, f"restarted too (old pid, new pid): {changed}"


def test_kill_worker_main_mid_batch(app: DrillApp, drill: Drill) -> None:
    before = app.programs()
    _send_backlog(drill)
    hit, _ = wait_until(lambda: _mid_batch(app, drill), 60, interval=0.1)
    assert hit, "no processing batch of the drill's events started within 60s"

    os.kill(before["worker"], signal.SIGKILL)
    killed_at = time.monotonic()
    sender = BackgroundSender(drill.sender, drill.ledger, triplets=10, interval=1)
    sender.start()  # ingestion goes on while the worker is down
    restarted = app.wait_restarted("worker", before["worker"])
    time.sleep(3)
    sender.stop()

    drill.expect("worker restarted in time", _restarted_within, restarted, RESTART_SECONDS)
    drill.expect("web and beat kept running", _not_restarted, before, app.programs(), ("web", "beat"))
    applied = drill.expect("applied", checks.processed, app, drill.ledger, within=MAIN_KILL_RECOVERY_SECONDS)
    drill.expect("stored once", checks.stored_once, app, drill.ledger)
    drill.expect("no run stuck", checks.no_stuck_runs, app, before=app.value("SELECT now()"),
                 within=MAIN_KILL_RECOVERY_SECONDS)  # fmt: skip
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    probe = drill.expect("recovered", checks.recovered, app, drill.sender, drill.ledger,
                         within=MAIN_KILL_RECOVERY_SECONDS)  # fmt: skip
    drill.figure(
        f"worker back in {_seconds(restarted)}, web and beat untouched; {len(drill.ledger.acked)} events "
        f"all applied {_seconds(applied and time.monotonic() - killed_at)} after the kill; "
        f"new events then applied in {_seconds(probe)}"
    )
    drill.conclude()


def test_kill_worker_child_mid_batch(app: DrillApp, drill: Drill) -> None:
    before = app.programs()
    _send_backlog(drill)
    hit, _ = wait_until(lambda: _mid_batch(app, drill), 60, interval=0.1)
    assert hit, "no processing batch of the drill's events started within 60s"
    busy = app.client_of_backend(_lock_holder(app))
    assert busy in app.pool(), f"the batch's session belongs to {busy}, not to a pool process {app.pool()}"

    os.kill(busy, signal.SIGKILL)
    killed_at = time.monotonic()
    applied = drill.expect("applied", checks.processed, app, drill.ledger, within=CHILD_KILL_RECOVERY_SECONDS)
    total = time.monotonic() - killed_at
    drill.expect("no program restarted", _not_restarted, before, app.programs(), ("web", "worker", "beat"))
    drill.expect("stored once", checks.stored_once, app, drill.ledger)
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    probe = drill.expect("recovered", checks.recovered, app, drill.sender, drill.ledger,
                         within=CHILD_KILL_RECOVERY_SECONDS)  # fmt: skip
    drill.figure(f"{len(drill.ledger.acked)} events all applied {_seconds(applied and total)} after the kill "
                 f"(the task came back); new events then applied in {_seconds(probe)}")  # fmt: skip
    drill.conclude()


def _restarted_within(seconds: float | None, limit: float) -> None:
    assert seconds is not None and seconds <= limit, f"not running again within {limit}s (took {seconds})"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"
