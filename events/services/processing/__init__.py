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
until EVENT_MAX_ATTEMPTS, then fails with the reason. The first wait is short
(FIRST_RETRY_SECONDS, followed by a run of its own): the record it names is most often in a
request that committed a moment later, while this batch was being applied. An event that can never apply (it
names a record of another facility) fails at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from psycopg import sql

from accounts.principals import Actor
from accounts.services import audit_record
from events.services.processing.handlers import APPLY_ORDER, statements_for
from events.signals import events_applied

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from django.db.backends.utils import CursorWrapper

    Horizon = tuple[datetime, UUID]  # the last (occurred_at, event id) of a batch

# Records that events of any facility may name (a candidate applies anywhere): they apply first.
ROOT_TYPES = ["job.opened", "candidate.created"]
# An event's first wait for a record not seen yet (at most EVENT_RETRY_BASE_SECONDS); the later
# ones double from EVENT_RETRY_BASE_SECONDS.
FIRST_RETRY_SECONDS = 2.0
LANE_TYPES = [event_type for event_type in APPLY_ORDER if event_type not in ROOT_TYPES]

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

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "analyzed": list(self.analyzed)}


def events_process_pending(*, batch_size: int | None = None, time_budget: float = 50.0) -> ProcessingReport:
    """Apply due pending events, batch after batch, until none are left or time runs out.

    A batch is the ``batch_size`` oldest due events. Its jobs and candidates, which events of
    any facility may name, apply first in one transaction; then the rest applies in
    EVENT_PROCESSING_LANES transactions side by side, each for its share of the facilities
    (everything else an event names belongs to its own facility, so the lanes never wait for
    each other). Under a session advisory lock: one processor at a time."""
    batch_size = batch_size or settings.EVENT_BATCH_SIZE
    report = ProcessingReport()
    started = time.monotonic()
    if not _lock(PROCESSING_LOCK):
        report.skipped = True
        return report
    try:
        while time.monotonic() - started < time_budget:
            report.analyzed.extend(statistics_refresh())
            horizon, due = _horizon(batch_size)
            if not due:
                break
            assert horizon is not None  # there are due events
            parts = [_apply_part(horizon=horizon, types=ROOT_TYPES)]
            lanes = max(1, settings.EVENT_PROCESSING_LANES)
            parts += _side_by_side([partial(_apply_part, horizon=horizon, types=LANE_TYPES, lane=(number, lanes))
                                    for number in range(lanes)])  # fmt: skip
            report.batches += 1
            applied = 0
            for size, waits, fails in parts:
                applied += size - waits - fails
                report.waiting += waits
                report.failed += fails
            report.applied += applied
            if applied:
                _announce(applied)
            if due < batch_size:
                break
    finally:
        _unlock(PROCESSING_LOCK)
    report.seconds = round(time.monotonic() - started, 3)
    if report.batches:
        logger.info("event processing: %s", report.as_dict())
    return report


def _announce(applied: int) -> None:
    """Tell whoever keeps figures from the records that a round applied (events.signals)."""
    for receiver, result in events_applied.send_robust(sender=ProcessingReport, applied=applied):
        if isinstance(result, Exception):
            logger.error("after events applied, %s failed", receiver, exc_info=result)


def _lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _unlock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _horizon(batch_size: int) -> tuple[Horizon | None, int]:
    """The last (occurred_at, event id) of the ``batch_size`` oldest due pending events, and how
    many there are: the batch every part of this round stays within."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), max(occurred_at), (array_agg(event_id ORDER BY occurred_at DESC, event_id DESC))[1]
            FROM (
                SELECT occurred_at, event_id FROM events_eventqueueentry
                WHERE state = 'pending' AND (due_at IS NULL OR due_at <= now())
                ORDER BY occurred_at, event_id
                LIMIT %s
            ) batch
            """,
            [batch_size],
        )
        due, last_at, last_id = cursor.fetchone()
    return ((last_at, last_id) if due else None), due


def _apply_part(*, horizon: Horizon, types: list[str], lane: tuple[int, int] = (0, 1)) -> tuple[int, int, int]:
    """Take this part's events of the batch (``types``, and the facilities of ``lane``: number,
    of how many) out of the queue, apply them, put back those that did not apply, in one
    transaction. Returns (events taken, waiting, failed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The records' indexes are hot in memory: an index probe costs about what a page in
        # a sequential scan does. At the default (4) the planner hashes whole records tables
        # per batch, and the foreign-key checks run at commit keep plans they made while
        # the tables were small.
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        present = _stage(cursor, horizon=horizon, types=types, lane=lane)
        if not present:
            return 0, 0, 0
        _apply_isolating_errors(cursor, present)
        size, waits, fails = _settle(cursor)
        # Dropped here, not only at commit: inside an outer transaction (tests) the next part
        # stages again before anything commits.
        cursor.execute("DROP TABLE IF EXISTS processing_batch, processing_problem, processing_one")
        if settings.EVENT_BATCH_PAUSE_SECONDS:
            time.sleep(settings.EVENT_BATCH_PAUSE_SECONDS)  # tests: a window to kill the worker
    return size, waits, fails


def _side_by_side(parts: list[Callable[[], tuple[int, int, int]]]) -> list[tuple[int, int, int]]:
    """Run ``parts`` at once, each in a thread with a database session of its own. Inside a
    transaction (tests) they must share its session, so they run one after another."""
    if len(parts) == 1 or connection.in_atomic_block:
        return [part() for part in parts]
    results: list[Any] = [None] * len(parts)  # each part's result, or what it raised

    def run(index: int) -> None:
        try:
            results[index] = parts[index]()
        except BaseException as exc:  # re-raised by the caller, in its thread
            results[index] = exc
        finally:
            connection.close()  # this thread's session

    threads = [threading.Thread(target=run, args=(index,), name=f"processing-lane-{index}") for index in
               range(len(parts))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


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
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return stale


def _stage(cursor: CursorWrapper, *, horizon: Horizon, types: list[str], lane: tuple[int, int]) -> list[str]:
    """Take this part's due pending events up to ``horizon`` out of the queue into
    ``processing_batch`` and return the types it holds, in the order they apply. Taking them out
    is part of the part's transaction: if it does not commit, they are back in the queue."""
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
                  AND (occurred_at, event_id) <= (%(last_at)s, %(last_id)s)
                  AND type = ANY(%(types)s) AND facility_id %% %(lanes)s = %(lane)s
                ORDER BY occurred_at, event_id
            ))
            RETURNING event_id, type, occurred_at, facility_id, actor, data, attempts
        )
        INSERT INTO processing_batch  -- each event's day is its facility's local day
        SELECT t.event_id, t.type, t.occurred_at, (t.occurred_at AT TIME ZONE f.time_zone)::date, t.facility_id,
               t.actor, t.data, t.attempts
        FROM taken t JOIN accounts_facility f ON f.id = t.facility_id
        """,
        {
            "last_at": horizon[0],
            "last_id": horizon[1],
            "types": list(types),
            "lane": lane[0],
            "lanes": lane[1],
        },
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


def _apply(cursor: CursorWrapper, types: list[str], source: str) -> None:
    for event_type in types:
        for statement in statements_for(event_type, source):
            cursor.execute(statement)


def _apply_isolating_errors(cursor: CursorWrapper, types: list[str]) -> None:
    """Apply the staged batch; if it breaks (a bug, bad data the checks missed), apply it in
    halves, and a half that breaks in halves again, so a poisonous event ends up failing alone
    with its error while the rest applies: about twice the batch's work, however large it is."""
    try:
        with transaction.atomic():
            _apply(cursor, types, "processing_batch")
        return
    except Exception:
        logger.exception("event batch failed; applying it in halves")
    cursor.execute("SELECT event_id, type FROM processing_batch ORDER BY occurred_at, event_id")
    events = cursor.fetchall()
    cursor.execute("CREATE TEMP TABLE processing_one ON COMMIT DROP AS SELECT * FROM processing_batch LIMIT 0")
    _apply_halves(cursor, events)


def _apply_halves(cursor: CursorWrapper, events: list[tuple[UUID, str]]) -> None:
    middle = len(events) // 2
    for half in (events[:middle], events[middle:]):
        if half:
            _apply_some(cursor, half)


def _apply_some(cursor: CursorWrapper, events: list[tuple[UUID, str]]) -> None:
    """Apply these (event id, type) of the staged batch, in a savepoint; halve them if they break."""
    try:
        with transaction.atomic():
            cursor.execute("DELETE FROM processing_one")
            cursor.execute("INSERT INTO processing_one SELECT * FROM processing_batch WHERE event_id = ANY(%s)",
                           [[event_id for event_id, _ in events]])  # fmt: skip
            present = {event_type for _, event_type in events}
            _apply(cursor, [event_type for event_type in APPLY_ORDER if event_type in present], "processing_one")
        return
    except Exception as exc:
        if len(events) > 1:
            _apply_halves(cursor, events)
            return
        event_id = events[0][0]
        logger.exception("event %s could not be applied", event_id)
        cursor.execute(
            """
            INSERT INTO processing_problem (event_id, kind, reason) VALUES (%s, 'fail', %s)
            ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason
            """,
            [event_id, f"could not be applied: {type(exc).__name__}: {exc}"],
        )


def _settle(cursor: CursorWrapper) -> tuple[int, int, int]:
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
                        WHEN attempts = 0 THEN now() + make_interval(secs => least(%(first)s, %(base)s))
                        ELSE now() + make_interval(secs => least(%(base)s * power(2, attempts - 1), 3600)) END
            FROM (
                SELECT b.*, p.reason, (p.kind = 'fail' OR b.attempts + 1 >= %(max)s) AS final
                FROM processing_problem p JOIN processing_batch b USING (event_id)
            ) u
        )
        SELECT (SELECT count(*) FROM processing_batch),
               count(*) FILTER (WHERE kind = 'wait'), count(*) FILTER (WHERE kind <> 'wait')
        FROM processing_problem
        """,
        {
            "base": float(settings.EVENT_RETRY_BASE_SECONDS),
            "first": FIRST_RETRY_SECONDS,
            "max": settings.EVENT_MAX_ATTEMPTS,
        },
    )
    size, waits, fails = cursor.fetchone()
    return size, waits, fails


REQUESTED_KEY = "events:processing:requested"  # a run was asked for and has not started yet
REQUEST_TTL_SECONDS = 10  # the longest a lost task holds back the next request


def processing_request(countdown: int = 0) -> None:
    """Ask a worker to process soon. Debounced through Redis: while a requested run has not
    started, more requests add nothing (it will see their events when it starts); once it
    starts (processing_started), the next request enqueues another. So every event committed
    is followed by a run that starts after it: a burst costs a run or two, and its last event
    waits seconds, never for the sweep. Without Redis the beat sweep catches up."""
    try:
        if not cache.add(REQUESTED_KEY, 1, timeout=REQUEST_TTL_SECONDS):
            return  # a run that has not started yet will see these events
    except Exception:  # a cache outage must not fail ingestion that already committed
        logger.warning("could not request event processing; the next sweep will run it", exc_info=True)
        return
    try:
        current_app.send_task("events.process_pending", countdown=countdown)
    except Exception:  # nothing was sent: let the next request try again
        logger.warning("could not enqueue event processing; the next sweep will run it", exc_info=True)
        processing_started()


def processing_started() -> None:
    """A run is about to look for events: what is requested from now on needs a run of its own."""
    try:
        cache.delete(REQUESTED_KEY)
    except Exception:
        logger.warning("could not clear the processing request; it expires by itself", exc_info=True)


def events_reprocess(
    *, event_ids: Sequence[UUID | str] | None = None, failed_only: bool = True, by: Actor | None = None
) -> int:
    """Queue events again with their attempts reset (failed ones, or any recruiting event with
    failed_only=False). Returns how many; audited when ``by`` names who asked."""
    params: list[Any] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if failed_only:
            # Failed events are still in the queue: put them back in line.
            where: sql.Composable = sql.SQL("state = 'failed'")
            if event_ids is not None:
                where = sql.SQL("{} AND event_id = ANY(%s)").format(where)
                params.append(list(event_ids))
            cursor.execute(
                sql.SQL(
                    "UPDATE events_eventqueueentry SET state = 'pending', attempts = 0, last_error = '', due_at = NULL "
                    "WHERE {}"
                ).format(where),
                params,
            )
        else:
            where = sql.SQL("category = 'recruiting'")
            if event_ids is not None:
                where = sql.SQL("{} AND id = ANY(%s)").format(where)
                params.append(list(event_ids))
            cursor.execute(
                sql.SQL("""
                INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state,
                                                    attempts, last_error, due_at)
                SELECT id, occurred_at, facility_id, type, actor, data, 'pending', 0, '', NULL
                FROM events_event WHERE {}
                ON CONFLICT (event_id) DO UPDATE SET state = 'pending', attempts = 0, last_error = '', due_at = NULL
                """).format(where),
                params,
            )
        count: int = cursor.rowcount
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
