"""What every drill asserts once the fault is over, each with the evidence a failure needs.

- every acknowledged event is stored exactly once (counted by the drill's tag in the event log);
- the drill's events were applied to records (none left pending or failed);
- no refresh or report run that existed at the fault is still queued or running;
- no answer was a 500 (a 503 with Retry-After is allowed: a database outage);
- the app recovered by itself: /health/ all ok, and events sent after the fault are applied.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from tests.drills.app import DrillApp, wait_until
from tests.drills.traffic import Api, Ledger, Traffic, send

# Events sent after a fault are applied within this: a processing run is asked for on commit,
# and each batch waits BATCH_PAUSE_SECONDS twice before committing.
PROBE_SECONDS = 45


def stored_once(app: DrillApp, ledger: Ledger) -> None:
    rows = app.query("SELECT id::text, count(*) FROM events_event WHERE actor = %s GROUP BY id", [ledger.actor])
    stored = {event_id for event_id, _ in rows}
    twice = sorted(event_id for event_id, count in rows if count > 1)
    missing = sorted(ledger.acked - stored)
    unknown = sorted(stored - ledger.sent)
    assert not ledger.rejected, f"items rejected: {ledger.rejected[:3]}"
    assert not twice, f"{len(twice)} acknowledged events stored more than once, e.g. {twice[:3]}"
    assert not missing, f"{len(missing)} of {len(ledger.acked)} acknowledged events are not stored, e.g. {missing[:3]}"
    assert not unknown, f"{len(unknown)} stored events were never sent: {unknown[:3]}"


def _backlog(app: DrillApp, ledger: Ledger) -> tuple[int, int, list[str]]:
    """(pending, failed, a few errors) of the drill's events still in the queue."""
    rows = app.query(
        """
        SELECT q.state, count(*), (array_agg(DISTINCT left(q.last_error, 160)))[1:3]
        FROM events_eventqueueentry q JOIN events_event e ON e.id = q.event_id AND e.occurred_at = q.occurred_at
        WHERE e.actor = %s GROUP BY q.state
        """,
        [ledger.actor],
    )
    states = {state: (count, errors) for state, count, errors in rows}
    pending, failed = states.get("pending", (0, []))[0], states.get("failed", (0, []))[0]
    errors = [e for _, errs in states.values() for e in errs if e]
    return pending, failed, errors


def _applications(app: DrillApp, ledger: Ledger) -> int:
    return app.value("SELECT count(*) FROM events_application WHERE external_id LIKE %s", [f"{ledger.tag}-%"])


def processed(app: DrillApp, ledger: Ledger, *, within: float) -> float:
    """Seconds until every acknowledged event of the drill is applied; fails after ``within``."""

    def done() -> bool:
        try:
            pending, failed, _ = _backlog(app, ledger)
            return pending == failed == 0 and _applications(app, ledger) == len(ledger.applications)
        except psycopg.OperationalError:
            return False  # the database is still coming back

    ok, waited = wait_until(done, within, interval=0.5)
    if not ok:
        pending, failed, errors = _backlog(app, ledger)
        raise AssertionError(
            f"{within:.0f}s after the fault, {pending} events of {ledger.tag} are pending and {failed} failed "
            f"({errors}); {_applications(app, ledger)} of {len(ledger.applications)} applications exist"
        )
    return waited


def active_runs(app: DrillApp, before: datetime) -> list[tuple]:
    """Refresh and report runs created before ``before`` that are still queued or running."""
    return app.query(
        """
        SELECT 'refresh', id, view, status, created_at, started_at FROM analytics_refreshrun
        WHERE status IN ('queued', 'running') AND created_at <= %s
        UNION ALL
        SELECT 'report', id, report_id::text, status, created_at, started_at FROM reports_reportrun
        WHERE status IN ('queued', 'running') AND created_at <= %s
        ORDER BY 5
        """,
        [before, before],
    )


def no_stuck_runs(app: DrillApp, *, before: datetime, within: float) -> float:
    def settled() -> bool:
        try:
            return not active_runs(app, before)
        except psycopg.OperationalError:
            return False

    ok, waited = wait_until(settled, within, interval=1)
    assert ok, f"{within:.0f}s after the fault these runs are still active: {active_runs(app, before)}"
    return waited


def no_server_errors(traffic: Traffic) -> None:
    bad = traffic.server_errors()
    assert not bad, f"{len(bad)} answers broke the rules (500, or 503 without Retry-After): " + "; ".join(
        answer.describe() for answer in bad[:3]
    )


def recovered(app: DrillApp, api: Api, ledger: Ledger, *, within: float) -> float:
    """/health/ all ok, then a new batch sent now is applied: the app came back by itself.
    Returns the seconds until the new events were applied."""
    ok, _ = wait_until(app.healthy, within, interval=1)
    assert ok, f"not healthy {within:.0f}s after the fault: {app.health().describe()}"
    probe = Ledger(f"{ledger.tag}p")
    answer = send(api, probe, probe.batch(5), patience=30)
    assert answer.status == 200, f"a batch sent after the fault was not taken: {answer.describe()}"
    waited = processed(app, probe, within=PROBE_SECONDS)
    stored_once(app, probe)
    return waited
