"""Applying pending events to records, set-based, one batch per transaction.

A batch is taken in ``occurred_at`` order under a transaction-scoped advisory lock, so two
workers never apply the same events and a worker that dies mid-batch leaves nothing behind
(its transaction rolls back and the lock goes with its connection). Within a batch, events
are applied by type in dependency order (jobs and candidates, then applications, their
status changes, placements, invoices, outreach, compliance), each type with a few
statements. Every write is an upsert keyed by the sender's id or by the event id, so applying
the same events again changes nothing.

An event that refers to a record not seen yet waits: it stays pending with a growing delay
until EVENT_MAX_ATTEMPTS, then fails with the reason. An event that can never apply (it
names a record of another facility) fails at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from accounts.principals import Actor
from accounts.services import audit_record
from events.models.records import STAGES

logger = logging.getLogger(__name__)

PROCESSING_LOCK = 0x5A_E7E7  # pg advisory lock key: "the event processor"


@dataclass
class Pending:
    id: object
    type: str
    occurred_at: datetime
    facility_id: int
    actor: str | None
    data: dict
    attempts: int


@dataclass
class BatchOutcome:
    """Per event id: None applied, ("wait", reason) or ("fail", reason)."""

    problems: dict = field(default_factory=dict)

    def wait(self, event: Pending, reason: str) -> None:
        self.problems[event.id] = ("wait", reason)

    def fail(self, event: Pending, reason: str) -> None:
        self.problems[event.id] = ("fail", reason)


@dataclass
class ProcessingReport:
    batches: int = 0
    applied: int = 0
    waiting: int = 0
    failed: int = 0
    skipped: bool = False  # another processor held the lock
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def events_process_pending(*, batch_size: int | None = None, time_budget: float = 50.0) -> ProcessingReport:
    """Apply due pending events, batch after batch, until none are left or time runs out."""
    batch_size = batch_size or settings.EVENT_BATCH_SIZE
    report = ProcessingReport()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PROCESSING_LOCK])
                if not cursor.fetchone()[0]:
                    report.skipped = True
                    break
            batch = _take_batch(batch_size)
            if not batch:
                break
            outcome = _apply_isolating_errors(batch)
            _mark(batch, outcome)
            if settings.EVENT_BATCH_PAUSE_SECONDS:
                time.sleep(settings.EVENT_BATCH_PAUSE_SECONDS)  # tests: a window to kill the worker
        report.batches += 1
        waits = sum(1 for kind, _ in outcome.problems.values() if kind == "wait")
        fails = len(outcome.problems) - waits
        report.applied += len(batch) - len(outcome.problems)
        report.waiting += waits
        report.failed += fails
        if len(batch) < batch_size:
            break
    report.seconds = round(time.monotonic() - started, 3)
    if report.batches:
        logger.info("event processing: %s", report.as_dict())
    return report


def _take_batch(batch_size: int) -> list[Pending]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT event_id, type, occurred_at, facility_id, actor, data, attempts
            FROM events_eventqueueentry
            WHERE state = 'pending' AND (due_at IS NULL OR due_at <= now())
            ORDER BY occurred_at, event_id
            LIMIT %s
            """,
            [batch_size],
        )
        rows = cursor.fetchall()
    # Django reads jsonb as text with psycopg 3; decode here.
    return [Pending(*row[:5], json.loads(row[5]) if isinstance(row[5], str) else row[5], row[6]) for row in rows]


def _mark(batch: list[Pending], outcome: BatchOutcome) -> None:
    applied = [e for e in batch if e.id not in outcome.problems]
    retry: list[tuple[Pending, str]] = []
    failed: list[tuple[Pending, str]] = []
    for event in batch:
        problem = outcome.problems.get(event.id)
        if problem is None:
            continue
        kind, reason = problem
        if kind == "fail" or event.attempts + 1 >= settings.EVENT_MAX_ATTEMPTS:
            failed.append((event, reason))
        else:
            retry.append((event, reason))
    with connection.cursor() as cursor:
        if applied:
            cursor.execute("DELETE FROM events_eventqueueentry WHERE event_id = ANY(%s)", [[e.id for e in applied]])
        # The log is updated for display. One statement per month: a constant range on
        # occurred_at lets PostgreSQL touch one partition instead of probing all of them.
        for month, events in _by_month(applied).items():
            cursor.execute(
                """
                UPDATE events_event e
                SET status = 'processed', processed_at = now(), attempts = e.attempts + 1, last_error = '',
                    next_attempt_at = NULL
                FROM unnest(%s::uuid[], %s::timestamptz[]) AS u(id, occurred_at)
                WHERE e.category = 'recruiting' AND e.occurred_at >= %s AND e.occurred_at < %s
                  AND e.id = u.id AND e.occurred_at = u.occurred_at
                """,
                [[e.id for e in events], [e.occurred_at for e in events], *month],
            )
        for rows, state in ((retry, "pending"), (failed, "failed")):
            if not rows:
                continue
            params = [
                state,
                [e.id for e, _ in rows],
                [e.occurred_at for e, _ in rows],
                [reason[:2000] for _, reason in rows],
                [_retry_delay(e.attempts) if state == "pending" else None for e, _ in rows],
            ]
            cursor.execute(
                """
                UPDATE events_eventqueueentry q
                SET state = %s, attempts = q.attempts + 1, last_error = u.reason,
                    due_at = now() + make_interval(secs => u.delay)
                FROM unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::float8[])
                    AS u(id, occurred_at, reason, delay)
                WHERE q.event_id = u.id
                """,
                params,
            )
            cursor.execute(
                """
                UPDATE events_event e
                SET status = %s, attempts = e.attempts + 1, last_error = u.reason,
                    next_attempt_at = now() + make_interval(secs => u.delay)
                FROM unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::float8[])
                    AS u(id, occurred_at, reason, delay)
                WHERE e.category = 'recruiting' AND e.id = u.id AND e.occurred_at = u.occurred_at
                """,
                params,
            )


def _by_month(events: list[Pending]) -> dict[tuple[datetime, datetime], list[Pending]]:
    groups: dict[tuple[datetime, datetime], list[Pending]] = defaultdict(list)
    for event in events:
        moment = event.occurred_at.astimezone(UTC)
        start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
        groups[(start, end)].append(event)
    return groups


def _retry_delay(attempts: int) -> float:
    """30 s, 1 min, 2 min, ... at most an hour (EVENT_RETRY_BASE_SECONDS doubles each time)."""
    return float(min(settings.EVENT_RETRY_BASE_SECONDS * 2**attempts, 3600))


# --- applying ---------------------------------------------------------------------------

APPLY_ORDER = [
    "job.opened",
    "candidate.created",
    "application.created",
    "application.status_changed",
    "job.filled",
    "job.cancelled",
    "placement.started",
    "invoice.issued",
    "outreach.sent",
    "outreach.replied",
    "compliance.checked",
]


def _apply(batch: list[Pending]) -> BatchOutcome:
    outcome = BatchOutcome()
    by_type: dict[str, list[Pending]] = defaultdict(list)
    for event in batch:
        by_type[event.type].append(event)
    tz = ZoneInfo(settings.REPORTING_TIME_ZONE)
    with connection.cursor() as cursor:
        for event_type in APPLY_ORDER:
            events = by_type.get(event_type)
            if events:
                HANDLERS[event_type](cursor, events, outcome, tz)
    return outcome


def _apply_isolating_errors(batch: list[Pending]) -> BatchOutcome:
    """Apply a batch; if it breaks (a bug, bad data the checks missed), apply its events one
    by one so a single poisonous event fails alone instead of blocking the queue forever."""
    try:
        with transaction.atomic():
            return _apply(batch)
    except Exception:
        logger.exception("event batch of %d failed; applying its events one by one", len(batch))
    outcome = BatchOutcome()
    for event in batch:
        try:
            with transaction.atomic():
                single = _apply([event])
            outcome.problems.update(single.problems)
        except Exception as exc:
            logger.exception("event %s could not be applied", event.id)
            outcome.fail(event, f"could not be applied: {type(exc).__name__}: {exc}")
    return outcome


def _ids(cursor, table: str, external_ids: list[str]) -> dict[str, tuple[int, int]]:
    """external id -> (row id, facility id) for records that exist."""
    if not external_ids:
        return {}
    cursor.execute(
        f"SELECT external_id, id, facility_id FROM {table} WHERE external_id = ANY(%s)",  # noqa: S608 - fixed names
        [list(set(external_ids))],
    )
    return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _claim(cursor, table: str, key: str, events: list[Pending], outcome: BatchOutcome) -> list[Pending]:
    """Events that create a record: refuse those whose id belongs to another facility, and
    keep the last event per id (so one statement never touches a row twice)."""
    existing = _ids(cursor, table, [e.data[key] for e in events])
    latest: dict[str, Pending] = {}
    for event in events:
        owner = existing.get(event.data[key])
        if owner and owner[1] != event.facility_id:
            outcome.fail(event, f"{key} {event.data[key]} belongs to another facility")
            continue
        latest[event.data[key]] = event
    return list(latest.values())


def _resolve(
    cursor, table: str, key: str, events: list[Pending], outcome: BatchOutcome, *, same_facility: bool = True
) -> list[tuple[Pending, int]]:
    """Events that refer to a record: pair each with the record's row id, or wait/fail."""
    found = _ids(cursor, table, [e.data[key] for e in events])
    resolved = []
    for event in events:
        record = found.get(event.data[key])
        if record is None:
            outcome.wait(event, f"{key} {event.data[key]} not seen yet")
        elif same_facility and record[1] != event.facility_id:
            outcome.fail(event, f"{key} {event.data[key]} belongs to another facility")
        else:
            resolved.append((event, record[0]))
    return resolved


def _local(moment: datetime, tz: ZoneInfo):
    return moment.astimezone(tz).date()


def _skills(values: list[str]) -> list[str]:
    return sorted({value.strip().lower() for value in values if value and value.strip()})


def apply_job_opened(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_job", "job_id", events, outcome)
    if not events:
        return
    cursor.execute(
        """
        INSERT INTO events_job (external_id, facility_id, title, specialty, skills, positions, bill_rate, status,
                                opened_at, opened_date, created_at, updated_at)
        SELECT u.external_id, u.facility_id, u.title, u.specialty,
               ARRAY(SELECT jsonb_array_elements_text(u.skills)), u.positions, u.bill_rate, 'open',
               u.opened_at, u.opened_date, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::jsonb[], %s::int[], %s::numeric[],
                    %s::timestamptz[], %s::date[])
            AS u(external_id, facility_id, title, specialty, skills, positions, bill_rate, opened_at, opened_date)
        ON CONFLICT (external_id) DO UPDATE SET
            title = EXCLUDED.title, specialty = EXCLUDED.specialty, skills = EXCLUDED.skills,
            positions = EXCLUDED.positions, bill_rate = EXCLUDED.bill_rate, updated_at = now()
        """,
        [
            [e.data["job_id"] for e in events],
            [e.facility_id for e in events],
            [e.data["title"] for e in events],
            [e.data["specialty"] for e in events],
            [_json_list(_skills(e.data["skills"])) for e in events],
            [e.data.get("positions", 1) for e in events],
            [e.data["bill_rate"] for e in events],
            [e.occurred_at for e in events],
            [_local(e.occurred_at, tz) for e in events],
        ],
    )


def apply_candidate_created(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_candidate", "candidate_id", events, outcome)
    if not events:
        return
    cursor.execute(
        """
        INSERT INTO events_candidate (external_id, facility_id, first_name, last_name, email, phone, skills, source,
                                      registered_at, registered_date, created_at, updated_at)
        SELECT u.external_id, u.facility_id, u.first_name, u.last_name, u.email, u.phone,
               ARRAY(SELECT jsonb_array_elements_text(u.skills)), u.source, u.registered_at, u.registered_date,
               now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[],
                    %s::text[], %s::timestamptz[], %s::date[])
            AS u(external_id, facility_id, first_name, last_name, email, phone, skills, source, registered_at,
                 registered_date)
        ON CONFLICT (external_id) DO UPDATE SET
            first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = EXCLUDED.email,
            phone = EXCLUDED.phone, skills = EXCLUDED.skills, source = EXCLUDED.source, updated_at = now()
        """,
        [
            [e.data["candidate_id"] for e in events],
            [e.facility_id for e in events],
            [e.data["first_name"] for e in events],
            [e.data["last_name"] for e in events],
            [e.data["email"] for e in events],
            [e.data["phone"] for e in events],
            [_json_list(_skills(e.data["skills"])) for e in events],
            [e.data["source"] for e in events],
            [e.occurred_at for e in events],
            [_local(e.occurred_at, tz) for e in events],
        ],
    )


def apply_application_created(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_application", "application_id", events, outcome)
    jobs = {e.id: job for e, job in _resolve(cursor, "events_job", "job_id", events, outcome)}
    candidates = {
        e.id: candidate
        for e, candidate in _resolve(cursor, "events_candidate", "candidate_id", events, outcome, same_facility=False)
    }
    ready = [e for e in events if e.id in jobs and e.id in candidates and e.id not in outcome.problems]
    if not ready:
        return
    cursor.execute(
        """
        INSERT INTO events_application (external_id, facility_id, job_id, candidate_id, source, status,
                                        furthest_stage, applied_at, applied_date, created_at, updated_at)
        SELECT u.external_id, u.facility_id, u.job_id, u.candidate_id, u.source, 'applied', 0,
               u.applied_at, u.applied_date, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::date[])
            AS u(external_id, facility_id, job_id, candidate_id, source, applied_at, applied_date)
        ON CONFLICT (external_id) DO UPDATE SET source = EXCLUDED.source, updated_at = now()
        """,
        [
            [e.data["application_id"] for e in ready],
            [e.facility_id for e in ready],
            [jobs[e.id] for e in ready],
            [candidates[e.id] for e in ready],
            [e.data["source"] for e in ready],
            [e.occurred_at for e in ready],
            [_local(e.occurred_at, tz) for e in ready],
        ],
    )


def apply_status_changed(cursor, events, outcome, tz) -> None:
    resolved = _resolve(cursor, "events_application", "application_id", events, outcome)
    if not resolved:
        return
    cursor.execute(
        """
        INSERT INTO events_applicationstatuschange (event_id, application_id, facility_id, status, occurred_at,
                                                    occurred_date, actor)
        SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::date[],
                             %s::text[])
        ON CONFLICT (event_id) DO NOTHING
        """,
        [
            [e.id for e, _ in resolved],
            [app for _, app in resolved],
            [e.facility_id for e, _ in resolved],
            [e.data["status"] for e, _ in resolved],
            [e.occurred_at for e, _ in resolved],
            [_local(e.occurred_at, tz) for e, _ in resolved],
            [e.actor or "" for e, _ in resolved],
        ],
    )
    # Derive status, furthest stage and first offer/hire from the whole history, so the
    # order in which status changes arrive does not matter.
    stage_case = " ".join(f"WHEN '{status}' THEN {stage}" for status, stage in STAGES.items())
    cursor.execute(
        f"""
        UPDATE events_application a SET
            status = h.last_status,
            furthest_stage = h.furthest_stage,
            offered_at = h.offered_at, offered_date = h.offered_date,
            hired_at = h.hired_at, hired_date = h.hired_date,
            status_changed_at = h.last_at,
            updated_at = now()
        FROM (
            SELECT application_id,
                   (array_agg(status ORDER BY occurred_at DESC, id DESC))[1] AS last_status,
                   GREATEST(0, max(CASE status {stage_case} END)) AS furthest_stage,
                   min(occurred_at) FILTER (WHERE status = 'offered') AS offered_at,
                   min(occurred_date) FILTER (WHERE status = 'offered') AS offered_date,
                   min(occurred_at) FILTER (WHERE status = 'hired') AS hired_at,
                   min(occurred_date) FILTER (WHERE status = 'hired') AS hired_date,
                   max(occurred_at) AS last_at
            FROM events_applicationstatuschange
            WHERE application_id = ANY(%s)
            GROUP BY application_id
        ) h
        WHERE a.id = h.application_id
        """,  # noqa: S608 - the CASE is built from constants
        [sorted({app for _, app in resolved})],
    )


def _apply_job_end(cursor, events, outcome, tz, *, status: str) -> None:
    resolved = _resolve(cursor, "events_job", "job_id", events, outcome)
    latest: dict[int, Pending] = {}
    for event, job in resolved:
        if job not in latest or event.occurred_at > latest[job].occurred_at:
            latest[job] = event
    if not latest:
        return
    # A later event wins; an older one arriving late does not undo it.
    cursor.execute(
        """
        UPDATE events_job j SET status = %(status)s,
            filled_at = CASE WHEN %(status)s = 'filled' THEN u.at ELSE j.filled_at END,
            filled_date = CASE WHEN %(status)s = 'filled' THEN u.day ELSE j.filled_date END,
            cancelled_at = CASE WHEN %(status)s = 'cancelled' THEN u.at ELSE j.cancelled_at END,
            updated_at = now()
        FROM unnest(%(ids)s::bigint[], %(ats)s::timestamptz[], %(days)s::date[]) AS u(id, at, day)
        WHERE j.id = u.id AND coalesce(GREATEST(j.filled_at, j.cancelled_at), '-infinity') <= u.at
        """,
        {
            "status": status,
            "ids": list(latest),
            "ats": [event.occurred_at for event in latest.values()],
            "days": [_local(event.occurred_at, tz) for event in latest.values()],
        },
    )


def apply_job_filled(cursor, events, outcome, tz) -> None:
    _apply_job_end(cursor, events, outcome, tz, status="filled")


def apply_job_cancelled(cursor, events, outcome, tz) -> None:
    _apply_job_end(cursor, events, outcome, tz, status="cancelled")


def apply_placement_started(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_placement", "placement_id", events, outcome)
    resolved = _resolve(cursor, "events_application", "application_id", events, outcome)
    if not resolved:
        return
    cursor.execute(
        """
        INSERT INTO events_placement (external_id, facility_id, application_id, start_date, end_date, bill_rate,
                                      started_at, created_at, updated_at)
        SELECT u.*, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::date[], %s::date[], %s::numeric[],
                    %s::timestamptz[]) AS u
        ON CONFLICT (external_id) DO UPDATE SET
            start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, bill_rate = EXCLUDED.bill_rate,
            updated_at = now()
        """,
        [
            [e.data["placement_id"] for e, _ in resolved],
            [e.facility_id for e, _ in resolved],
            [app for _, app in resolved],
            [e.data["start_date"] for e, _ in resolved],
            [e.data.get("end_date") for e, _ in resolved],
            [e.data["bill_rate"] for e, _ in resolved],
            [e.occurred_at for e, _ in resolved],
        ],
    )


def apply_invoice_issued(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_invoice", "invoice_id", events, outcome)
    resolved = _resolve(cursor, "events_placement", "placement_id", events, outcome)
    if not resolved:
        return
    cursor.execute(
        """
        INSERT INTO events_invoice (external_id, facility_id, placement_id, amount, issued_at, issued_date,
                                    created_at, updated_at)
        SELECT u.*, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::numeric[], %s::timestamptz[], %s::date[]) AS u
        ON CONFLICT (external_id) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()
        """,
        [
            [e.data["invoice_id"] for e, _ in resolved],
            [e.facility_id for e, _ in resolved],
            [placement for _, placement in resolved],
            [e.data["amount"] for e, _ in resolved],
            [e.occurred_at for e, _ in resolved],
            [_local(e.occurred_at, tz) for e, _ in resolved],
        ],
    )


def apply_outreach_sent(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_outreachmessage", "message_id", events, outcome)
    resolved = _resolve(cursor, "events_candidate", "candidate_id", events, outcome, same_facility=False)
    if not resolved:
        return
    cursor.execute(
        """
        INSERT INTO events_outreachmessage (external_id, facility_id, candidate_id, channel, sent_at, sent_date,
                                            actor, created_at, updated_at)
        SELECT u.*, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::date[], %s::text[])
            AS u
        ON CONFLICT (external_id) DO UPDATE SET channel = EXCLUDED.channel, updated_at = now()
        """,
        [
            [e.data["message_id"] for e, _ in resolved],
            [e.facility_id for e, _ in resolved],
            [candidate for _, candidate in resolved],
            [e.data["channel"] for e, _ in resolved],
            [e.occurred_at for e, _ in resolved],
            [_local(e.occurred_at, tz) for e, _ in resolved],
            [e.actor or "" for e, _ in resolved],
        ],
    )


def apply_outreach_replied(cursor, events, outcome, tz) -> None:
    resolved = _resolve(cursor, "events_outreachmessage", "message_id", events, outcome)
    if not resolved:
        return
    cursor.execute(
        """
        UPDATE events_outreachmessage m
        SET replied_at = LEAST(coalesce(m.replied_at, u.replied_at), u.replied_at), updated_at = now()
        FROM (SELECT id, min(replied_at) AS replied_at
              FROM unnest(%s::bigint[], %s::timestamptz[]) AS t(id, replied_at) GROUP BY id) u
        WHERE m.id = u.id
        """,
        [[message for _, message in resolved], [e.occurred_at for e, _ in resolved]],
    )


def apply_compliance_checked(cursor, events, outcome, tz) -> None:
    events = _claim(cursor, "events_compliancecheck", "check_id", events, outcome)
    resolved = _resolve(cursor, "events_candidate", "candidate_id", events, outcome, same_facility=False)
    if not resolved:
        return
    cursor.execute(
        """
        INSERT INTO events_compliancecheck (external_id, facility_id, candidate_id, credential, status, severity,
                                            score, expires_on, checked_at, checked_date, created_at, updated_at)
        SELECT u.*, now(), now()
        FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::int[],
                    %s::date[], %s::timestamptz[], %s::date[]) AS u
        ON CONFLICT (external_id) DO UPDATE SET
            credential = EXCLUDED.credential, status = EXCLUDED.status, severity = EXCLUDED.severity,
            score = EXCLUDED.score, expires_on = EXCLUDED.expires_on, updated_at = now()
        """,
        [
            [e.data["check_id"] for e, _ in resolved],
            [e.facility_id for e, _ in resolved],
            [candidate for _, candidate in resolved],
            [e.data["credential"] for e, _ in resolved],
            [e.data["status"] for e, _ in resolved],
            [e.data["severity"] for e, _ in resolved],
            [e.data["score"] for e, _ in resolved],
            [e.data.get("expires_on") for e, _ in resolved],
            [e.occurred_at for e, _ in resolved],
            [_local(e.occurred_at, tz) for e, _ in resolved],
        ],
    )


def _json_list(values: list[str]) -> str:
    return json.dumps(values)


HANDLERS = {
    "job.opened": apply_job_opened,
    "candidate.created": apply_candidate_created,
    "application.created": apply_application_created,
    "application.status_changed": apply_status_changed,
    "job.filled": apply_job_filled,
    "job.cancelled": apply_job_cancelled,
    "placement.started": apply_placement_started,
    "invoice.issued": apply_invoice_issued,
    "outreach.sent": apply_outreach_sent,
    "outreach.replied": apply_outreach_replied,
    "compliance.checked": apply_compliance_checked,
}


def processing_request(countdown: int = 0) -> None:
    """Ask a worker to process soon. Debounced through Redis: a burst of ingestion requests
    enqueues one task, not one per request. Without Redis the beat sweep catches up."""
    try:
        if cache.add("events:processing:requested", 1, timeout=1):
            current_app.send_task("events.process_pending", countdown=countdown)
    except Exception:  # a broker or cache outage must not fail ingestion that already committed
        logger.warning("could not enqueue event processing; the next sweep will run it", exc_info=True)


def events_reprocess(*, event_ids: list | None = None, failed_only: bool = True, by: Actor | None = None) -> int:
    """Queue events again with their attempts reset (failed ones, or any with failed_only=False).
    Returns how many; audited when ``by`` names who asked."""
    where = "category = 'recruiting'" + (" AND status = 'failed'" if failed_only else "")
    params: list = []
    if event_ids is not None:
        where += " AND id = ANY(%s)"
        params.append(list(event_ids))
    with transaction.atomic(), connection.cursor() as cursor:
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
        cursor.execute(
            "UPDATE events_event SET status = 'pending', attempts = 0, last_error = '', next_attempt_at = NULL "  # noqa: S608
            f"WHERE {where}",
            params,
        )
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
