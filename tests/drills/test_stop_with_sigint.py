"""Ctrl-C while events are coming in: `make run` stops everything it started, the embedded
PostgreSQL and Redis included, within STOP_SECONDS; what was acknowledged before is stored once.
Runs last: it ends the copy."""

from __future__ import annotations

import time

import pytest

from tests.drills import checks
from tests.drills.app import STOP_SECONDS, DrillApp
from tests.drills.conftest import Drill
from tests.drills.traffic import BackgroundSender

pytestmark = pytest.mark.drill

EMBEDDED_STOPPED = "embedded services stopped: postgres, redis"  # config.embedded, after its command ended


def test_stop_with_sigint(app: DrillApp, drill: Drill) -> None:
    sender = BackgroundSender(drill.sender, drill.ledger, triplets=20, interval=0.2, patience=5)
    sender.start()
    time.sleep(3)
    app.remember()
    seen = dict(app.seen)
    stopped_in = app.interrupt()
    sender.stop(timeout=30)
    strays = app.strays()

    drill.expect("stopped in time", _within, stopped_in, STOP_SECONDS)
    drill.expect("nothing left running", _none, [f"{pid} {seen.get(pid, '')[:120]}" for pid in strays])
    drill.expect("the launcher stopped the embedded servers", _said, app.log_tail(40), EMBEDDED_STOPPED)
    # Count what was stored: the embedded servers start again for the check, then stop.
    app.services("start")
    try:
        drill.expect("stored once", checks.stored_once, app, drill.ledger)
    finally:
        app.services("stop")
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    drill.figure(f"stopped {stopped_in:.1f}s after SIGINT, {len(seen)} processes seen, {len(strays)} left; "
                 f"{len(drill.ledger.acked)} events acknowledged before, {len(drill.traffic.connection_errors())} "
                 "requests without an answer after")  # fmt: skip
    drill.conclude()


def _within(seconds: float, limit: float) -> None:
    assert seconds <= limit, f"still running {limit}s after SIGINT"


def _said(log: str, line: str) -> None:
    assert line in log, f"the log does not end with {line!r}:\n{log}"


def _none(items: list) -> None:
    assert not items, f"{items}"
