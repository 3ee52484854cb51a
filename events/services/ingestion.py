"""Accepting events: validate, check scope, store set-based, answer per item.

Every accepted event is committed before the caller gets its answer. Ids are the senders'
idempotency keys: the same id with the same content is a duplicate (stored once), the same
id with other content is rejected.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.principals import Actor
from accounts.selectors import FacilityPermission, facilities_for
from events.models import EventCategory, EventStatus
from events.schema import ValidEvent, validate_event
from events.services.partitions import month_of, partitions_ensure
from events.services.processing import processing_request

logger = logging.getLogger(__name__)

CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"
FACILITY_REFUSED = "Unknown facility, or not one this caller may send events for."
ID_REUSED = "This id was already used for an event with different content."

INSERT_SQL = """
WITH input AS (
    SELECT *
    FROM unnest(
        %(ids)b::uuid[], %(categories)b::text[], %(types)b::text[], %(occurred)b::timestamptz[],
        %(dates)b::date[], %(facilities)b::bigint[], %(actors)b::text[], %(data)b::text[],
        %(hashes)b::bytea[], %(statuses)b::text[]
    ) AS t(id, category, type, occurred_at, local_date, facility_id, actor, data, content_hash, status)
),
new_keys AS (
    INSERT INTO events_eventkey (id, content_hash, category, occurred_at)
    SELECT id, content_hash, category, occurred_at FROM input
    ON CONFLICT (id) DO NOTHING
    RETURNING id
),
queued AS (
    -- Recruiting events also enter the small queue the processor reads.
    INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state, attempts,
                                        last_error)
    SELECT i.id, i.occurred_at, i.facility_id, i.type, i.actor, i.data::jsonb, 'pending', 0, ''
    FROM input i JOIN new_keys USING (id)
    WHERE i.status = 'pending'
    ON CONFLICT (event_id) DO NOTHING
)
INSERT INTO events_event (
    id, category, type, occurred_at, local_date, received_at, facility_id, actor, data, content_hash, sender
)
SELECT i.id, i.category, i.type, i.occurred_at, i.local_date, now(), i.facility_id, i.actor, i.data::jsonb,
       i.content_hash, %(sender)s
FROM input i JOIN new_keys USING (id)
RETURNING id
"""


@dataclass
class ItemResult:
    id: str | None
    status: str
    errors: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        body: dict = {"id": self.id, "status": self.status}
        if self.errors:
            body["errors"] = self.errors
        return body


def _raw_id(item) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def events_ingest(*, by: Actor, items: list) -> list[ItemResult]:
    """Validate and store ``items`` (already parsed JSON) for ``by.principal``.

    Returns one result per item, in input order. Runs the insert as one statement per call.
    """
    now = timezone.now()
    report_tz = ZoneInfo(settings.REPORTING_TIME_ZONE)
    allowed = dict(facilities_for(by.principal, FacilityPermission.WRITE_EVENTS).values_list("code", "id"))

    results: list[ItemResult | None] = [None] * len(items)
    accepted: dict[uuid.UUID, tuple[int, ValidEvent]] = {}
    repeats: list[tuple[int, ValidEvent]] = []  # same id twice in one request
    for index, item in enumerate(items):
        event, errors = validate_event(item, now=now)
        if event is not None and event.facility_code is not None and event.facility_code not in allowed:
            event, errors = None, {"facility": [FACILITY_REFUSED]}
        if event is None:
            results[index] = ItemResult(_raw_id(item), REJECTED, errors)
        elif event.id in accepted:
            repeats.append((index, event))
        else:
            accepted[event.id] = (index, event)

    created: set[uuid.UUID] = set()
    if accepted:
        events = [event for _, event in accepted.values()]
        partitions_ensure(months={(_category(e), month_of(e.occurred_at)) for e in events})
        with transaction.atomic():
            created = _insert(events, allowed=allowed, sender=by.label, report_tz=report_tz)
            known = _stored_hashes([event_id for event_id in accepted if event_id not in created])
            if any(e.is_recruiting for e in events if e.id in created):
                transaction.on_commit(processing_request)

        for event_id, (index, event) in accepted.items():
            if event_id in created:
                results[index] = ItemResult(str(event_id), CREATED)
            elif known.get(event_id) == event.content_hash:
                results[index] = ItemResult(str(event_id), DUPLICATE)
            else:
                results[index] = ItemResult(str(event_id), REJECTED, {"id": [ID_REUSED]})

    for index, event in repeats:
        first = accepted[event.id][1]
        if first.content_hash == event.content_hash:
            results[index] = ItemResult(str(event.id), DUPLICATE)
        else:
            results[index] = ItemResult(str(event.id), REJECTED, {"id": [ID_REUSED]})

    logger.info(
        "ingested %d events from %s: %d created, %d rejected",
        len(items),
        by.label,
        len(created),
        sum(1 for r in results if r and r.status == REJECTED),
    )
    return results  # type: ignore[return-value]


def _category(event: ValidEvent) -> str:
    return EventCategory.RECRUITING if event.is_recruiting else EventCategory.ACTIVITY


def _insert(events: list[ValidEvent], *, allowed: dict[str, int], sender: str, report_tz: ZoneInfo) -> set[uuid.UUID]:
    params = {
        "ids": [e.id for e in events],
        "categories": [_category(e) for e in events],
        "types": [e.type for e in events],
        "occurred": [e.occurred_at for e in events],
        "dates": [e.occurred_at.astimezone(report_tz).date() for e in events],
        "facilities": [allowed[e.facility_code] if e.facility_code else None for e in events],
        "actors": [e.actor for e in events],
        "data": [json.dumps(e.data, separators=(",", ":")) for e in events],
        "hashes": [e.content_hash for e in events],
        # Activity events change no record: nothing to apply, so they are processed on arrival.
        "statuses": [EventStatus.PENDING if e.is_recruiting else EventStatus.PROCESSED for e in events],
        "sender": sender[:200],
    }
    connection.ensure_connection()
    # Bound by the server, in binary: Django's cursors inline parameters as SQL literals, which
    # for ten arrays of a thousand values (the data as escaped JSON text) cost more Python time
    # than the rest of the request. Same connection, so the same transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(INSERT_SQL, params)
        return {row[0] for row in cursor.fetchall()}


def _stored_hashes(ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, content_hash FROM events_eventkey WHERE id = ANY(%s)", [ids])
        return {row[0]: bytes(row[1]) for row in cursor.fetchall()}
