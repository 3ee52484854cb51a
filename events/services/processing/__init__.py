"""Applying pending events to records, set-based, one batch per transaction.

A batch is taken in ``occurred_at`` order under a transaction-scoped advisory lock, so two
workers never apply the same events and a worker that dies mid-batch leaves nothing behind
(its transaction rolls back and the lock goes with its connection). The batch is staged in a
temporary table and applied there by type in dependency order (jobs and candidates, then
applications, their status changes, placements, invoices, outreach, compliance), each type
with one or two statements (``events.services.processing.handlers``): the events' data never
travels to Python and back. Every write is an upsert keyed by the sender's id or by the event
id, so applying the same events again changes nothing.

An event's status is where it is: in the queue it is pending or failed, out of it processed.
A batch takes its events out of the queue and puts back only those that did not apply; the
log itself is never updated.

An event that refers to a record not seen yet waits: it stays pending with a growing delay
until EVENT_MAX_ATTEMPTS, then fails with the reason. An event that can never apply (it
names a record of another facility) fails at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from accounts.principals import Actor
from accounts.services import audit_record
from events.services.processing.handlers import APPLY_ORDER, statements_for

logger = logging.getLogger(__name__)

PROCESSING_LOCK = 0x5A_E7E7  # pg advisory lock key: "the event processor"

# The tables a batch is planned on: the queue it takes events from and the records it writes.
PLANNED_TABLES = (
    "events_eventqueueentry", "events_job", "events_candidate", "events_application",
    "events_applicationstatuschange", "events_placement", "events_invoice", "events_outreachmessage",
    "events_compliancecheck",
)  # fmt: skip
STALE_MIN_ROWS = 10_000  # a table is analyzed again once this many rows, and as many as it holds, changed


@dataclass
class ProcessingReport:
    batches: int = 0
    applied: int = 0
    waiting: int = 0
    failed: int = 0
    skipped: bool = False  # another processor held the lock
    seconds: float = 0.0
    analyzed: list[str] = field(default_factory=list)  # tables whose statistics were out of date

    def as_dict(self) -> dict:
        return {**self.__dict__, "analyzed": list(self.analyzed)}


def events_process_pending(*, batch_size: int | None = None, time_budget: float = 50.0) -> ProcessingReport:
    """Apply due pending events, batch after batch, until none are left or time runs out."""
    batch_size = batch_size or settings.EVENT_BATCH_SIZE
    report = ProcessingReport()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        report.analyzed.extend(statistics_refresh())  # outside the batch: no lock is kept
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PROCESSING_LOCK])
            if not cursor.fetchone()[0]:
                report.skipped = True
                break
            # The records' indexes are hot in memory: an index probe costs about what a page in
            # a sequential scan does. At the default (4) the planner hashes whole records tables
            # per batch, and the foreign-key checks run at commit keep plans they made while
            # the tables were small.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            types = _stage(cursor, batch_size)
            if not types:
                break
            _apply_isolating_errors(cursor, types)
            size, waits, fails = _settle(cursor)
            # Dropped here, not only at commit: inside an outer transaction (tests) the next batch
            # stages again before anything commits.
            cursor.execute("DROP TABLE IF EXISTS processing_batch, processing_problem, processing_one")
            if settings.EVENT_BATCH_PAUSE_SECONDS:
                time.sleep(settings.EVENT_BATCH_PAUSE_SECONDS)  # tests: a window to kill the worker
        report.batches += 1
        report.applied += size - waits - fails
        report.waiting += waits
        report.failed += fails
        if size < batch_size:
            break
    report.seconds = round(time.monotonic() - started, 3)
    if report.batches:
        logger.info("event processing: %s", report.as_dict())
    return report


def statistics_refresh() -> list[str]:
    """ANALYZE the tables a batch is planned on whose statistics are out of date; return their
    names. Right after a bulk import the queue holds a million rows the planner has not seen
    (it would plan taking the oldest events as for an empty table: a scan and a sort of the
    whole queue per batch), and during a back-fill the records tables grow from nothing.
    Autovacuum gets there too, but a minute or more later, and every batch meanwhile is planned
    on the old numbers. A table is out of date once it changed by as many rows as it holds (so
    a table growing from nothing to a million is analyzed about seven times); the check is one
    read of the statistics view per batch."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND relname = ANY(%s)
              AND n_mod_since_analyze >= greatest(%s, n_live_tup)
            ORDER BY relname
            """,
            [list(PLANNED_TABLES), STALE_MIN_ROWS],
        )
        stale = [row[0] for row in cursor.fetchall()]
        for table in stale:
            cursor.execute(f'ANALYZE "{table}"')
    return stale


def _stage(cursor, batch_size: int) -> list[str]:
    """Take the oldest due pending events out of the queue into ``processing_batch`` and
    return the types it holds, in the order they apply. Taking them out is part of the batch's
    transaction: if the batch does not commit, they are back in the queue as they were."""
    cursor.execute(
        """
        CREATE TEMP TABLE processing_batch (
            event_id uuid NOT NULL, type varchar(64) NOT NULL, occurred_at timestamptz NOT NULL, day date NOT NULL,
            facility_id bigint NOT NULL, actor varchar(128), data jsonb NOT NULL, attempts smallint NOT NULL
        ) ON COMMIT DROP
        """
    )
    cursor.execute(
        """
        WITH taken AS (
            DELETE FROM events_eventqueueentry
            WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM events_eventqueueentry
                WHERE state = 'pending' AND (due_at IS NULL OR due_at <= now())
                ORDER BY occurred_at, event_id
                LIMIT %(size)s
            ))
            RETURNING event_id, type, occurred_at, facility_id, actor, data, attempts
        )
        INSERT INTO processing_batch
        SELECT event_id, type, occurred_at, (occurred_at AT TIME ZONE %(zone)s)::date, facility_id, actor, data,
               attempts
        FROM taken
        """,
        {"size": batch_size, "zone": settings.REPORTING_TIME_ZONE},
    )
    if not cursor.rowcount:
        cursor.execute("DROP TABLE processing_batch")
        return []
    cursor.execute(
        "CREATE TEMP TABLE processing_problem (event_id uuid PRIMARY KEY, kind text NOT NULL, reason text NOT NULL) "
        "ON COMMIT DROP"
    )
    cursor.execute("SELECT DISTINCT type FROM processing_batch")
    present = {row[0] for row in cursor.fetchall()}
    return [event_type for event_type in APPLY_ORDER if event_type in present]


def _apply(cursor, types: list[str], source: str) -> None:
    for event_type in types:
        for statement in statements_for(event_type, source):
            cursor.execute(statement)


def _apply_isolating_errors(cursor, types: list[str]) -> None:
    """Apply the staged batch; if it breaks (a bug, bad data the checks missed), apply its
    events one by one so a single poisonous event fails alone instead of blocking the queue."""
    try:
        with transaction.atomic():
            _apply(cursor, types, "processing_batch")
        return
    except Exception:
        logger.exception("event batch failed; applying its events one by one")
    cursor.execute("SELECT event_id, type FROM processing_batch ORDER BY occurred_at, event_id")
    events = cursor.fetchall()
    cursor.execute("CREATE TEMP TABLE processing_one ON COMMIT DROP AS SELECT * FROM processing_batch LIMIT 0")
    for event_id, event_type in events:
        try:
            with transaction.atomic():
                cursor.execute("DELETE FROM processing_one")
                cursor.execute(
                    "INSERT INTO processing_one SELECT * FROM processing_batch WHERE event_id = %s", [event_id]
                )
                _apply(cursor, [event_type], "processing_one")
        except Exception as exc:
            logger.exception("event %s could not be applied", event_id)
            cursor.execute(
                """
                INSERT INTO processing_problem (event_id, kind, reason) VALUES (%s, 'fail', %s)
                ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason
                """,
                [event_id, f"could not be applied: {type(exc).__name__}: {exc}"],
            )


def _settle(cursor) -> tuple[int, int, int]:
    """Applied events stay out of the queue; the others go back in, with one more attempt,
    waiting (with a doubling delay) or failed. Returns (events in the batch, waiting, failed)."""
    cursor.execute(
        """
        WITH settled AS (
            INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state,
                                                attempts, last_error, due_at)
            SELECT event_id, occurred_at, facility_id, type, actor, data,
                   CASE WHEN final THEN 'failed' ELSE 'pending' END, attempts + 1, left(reason, 2000),
                   CASE WHEN final THEN NULL
                        ELSE now() + make_interval(secs => least(%(base)s * power(2, attempts), 3600)) END
            FROM (
                SELECT b.*, p.reason, (p.kind = 'fail' OR b.attempts + 1 >= %(max)s) AS final
                FROM processing_problem p JOIN processing_batch b USING (event_id)
            ) u
        )
        SELECT (SELECT count(*) FROM processing_batch),
               count(*) FILTER (WHERE kind = 'wait'), count(*) FILTER (WHERE kind <> 'wait')
        FROM processing_problem
        """,
        {"base": float(settings.EVENT_RETRY_BASE_SECONDS), "max": settings.EVENT_MAX_ATTEMPTS},
    )
    size, waits, fails = cursor.fetchone()
    return size, waits, fails


def processing_request(countdown: int = 0) -> None:
    """Ask a worker to process soon. Debounced through Redis: a burst of ingestion requests
    enqueues one task, not one per request. Without Redis the beat sweep catches up."""
    try:
        if cache.add("events:processing:requested", 1, timeout=1):
            current_app.send_task("events.process_pending", countdown=countdown)
    except Exception:  # a broker or cache outage must not fail ingestion that already committed
        logger.warning("could not enqueue event processing; the next sweep will run it", exc_info=True)


def events_reprocess(*, event_ids: list | None = None, failed_only: bool = True, by: Actor | None = None) -> int:
    """Queue events again with their attempts reset (failed ones, or any recruiting event with
    failed_only=False). Returns how many; audited when ``by`` names who asked."""
    params: list = []
    with transaction.atomic(), connection.cursor() as cursor:
        if failed_only:
            # Failed events are still in the queue: put them back in line.
            where = "state = 'failed'"
            if event_ids is not None:
                where += " AND event_id = ANY(%s)"
                params.append(list(event_ids))
            cursor.execute(
                "UPDATE events_eventqueueentry SET state = 'pending', attempts = 0, last_error = '', due_at = NULL "  # noqa: S608 - the condition is built from constants; values are parameters
                f"WHERE {where}",
                params,
            )
        else:
            where = "category = 'recruiting'"
            if event_ids is not None:
                where += " AND id = ANY(%s)"
                params.append(list(event_ids))
            cursor.execute(
                f"""
                INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state,
                                                    attempts, last_error, due_at)
                SELECT id, occurred_at, facility_id, type, actor, data, 'pending', 0, '', NULL
                FROM events_event WHERE {where}
                ON CONFLICT (event_id) DO UPDATE SET state = 'pending', attempts = 0, last_error = '', due_at = NULL
                """,  # noqa: S608 - the condition is built from constants; values are parameters
                params,
            )
        count = cursor.rowcount
        if count:
            transaction.on_commit(processing_request)
            if by is not None:
                audit_record(
                    by=by,
                    action="event.reprocess",
                    object_repr=f"{count} event(s)",
                    events=[str(event_id) for event_id in (event_ids or [])[:500]],
                )
    return count
