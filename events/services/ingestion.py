"""Accepting events: validate, check scope, store set-based, answer per item.

Every accepted event is committed before the caller gets its answer. Ids are the senders'
idempotency keys: the same id with the same content is a duplicate (stored once), the same
id with other content is rejected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.principals import Actor
from accounts.selectors import FacilityPermission, facilities_for
from events.models import EventCategory
from events.schema import RECRUITING_TYPES, Errors, ValidEvent, event_time, quoted, validate_event
from events.services.partitions import month_of, partitions_ensure
from events.services.processing import processing_request

logger = logging.getLogger(__name__)

CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"
FACILITY_REFUSED = "Unknown facility, or not one this caller may send events for."
ID_REUSED = "This id was already used for an event with different content."
CHUNK_SIZE = 250  # events per insert statement

# The chunk arrives as one JSON array of rows (see _rows): PostgreSQL parses it in C, and each
# event's data, already canonical JSON, is embedded as it is and becomes jsonb once.
INSERT_SQL = """
WITH input AS MATERIALIZED (
    SELECT (e->>0)::uuid AS id, e->>1 AS category, e->>2 AS type, (e->>3)::timestamptz AS occurred_at,
           (e->>4)::date AS local_date, (e->>5)::bigint AS facility_id, e->>6 AS actor, e->7 AS data,
           decode(e->>8, 'hex') AS content_hash
    FROM jsonb_array_elements(%(rows)s::jsonb) AS e
),
new_keys AS (
    INSERT INTO events_eventkey (id, content_hash, category, occurred_at)
    SELECT id, content_hash, category, occurred_at FROM input
    ON CONFLICT (id) DO NOTHING
    RETURNING id
),
queued AS (
    -- Recruiting events also enter the small queue the processor reads. Activity events change
    -- no record: nothing to apply, so they are processed on arrival.
    INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state, attempts,
                                        last_error)
    SELECT i.id, i.occurred_at, i.facility_id, i.type, i.actor, i.data, 'pending', 0, ''
    FROM input i JOIN new_keys USING (id)
    WHERE i.category = 'recruiting'
    ON CONFLICT (event_id) DO NOTHING
)
INSERT INTO events_event (
    id, category, type, occurred_at, local_date, received_at, facility_id, actor, data, content_hash, sender
)
SELECT i.id, i.category, i.type, i.occurred_at, i.local_date, now(), i.facility_id, i.actor, i.data,
       i.content_hash, %(sender)s
FROM input i JOIN new_keys USING (id)
RETURNING id::text
"""


@dataclass
class ItemResult:
    id: str | None
    status: str
    errors: Errors = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.errors:
            body["errors"] = self.errors
        return body


def _raw_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def events_ingest(*, by: Actor, items: list[Any]) -> list[ItemResult]:
    """Validate and store ``items`` (already parsed JSON) for ``by.principal``.

    Returns one result per item, in input order. The items are validated and inserted in chunks
    of CHUNK_SIZE, one set-based statement each, in pipeline mode: each statement is sent as soon
    as its chunk is validated, so PostgreSQL inserts one chunk while Python validates the next.
    All chunks are one transaction, committed before the answer.
    """
    now = timezone.now()
    allowed = dict(facilities_for(by.principal, FacilityPermission.WRITE_EVENTS).values_list("code", "id"))
    # Partitions are made before the transaction (DDL there would lock the log while it inserts).
    partitions_ensure(months=_months_named(items, now=now))

    results: list[ItemResult | None] = [None] * len(items)
    accepted: dict[str, tuple[int, ValidEvent]] = {}
    repeats: list[tuple[int, ValidEvent]] = []  # same id twice in one request
    with transaction.atomic():
        clocks = _clocks(items, allowed)
        with _Pipeline(allowed=allowed, sender=by.label, clocks=clocks) as pipeline:
            for start in range(0, len(items), CHUNK_SIZE):
                chunk: list[ValidEvent] = []
                for index in range(start, min(start + CHUNK_SIZE, len(items))):
                    item = items[index]
                    event, errors = _checked(item, now=now, allowed=allowed)
                    if event is None:
                        results[index] = ItemResult(_raw_id(item), REJECTED, errors)
                    elif event.id in accepted:
                        repeats.append((index, event))
                    else:
                        accepted[event.id] = (index, event)
                        chunk.append(event)
                pipeline.send(chunk)
        created = pipeline.created()
        known = _stored_hashes([event_id for event_id in accepted if event_id not in created])
        if any(accepted[event_id][1].is_recruiting for event_id in created):
            transaction.on_commit(processing_request)

    for event_id, (index, event) in accepted.items():
        if event_id in created:
            results[index] = ItemResult(event_id, CREATED)
        elif known.get(event_id) == event.content_hash:
            results[index] = ItemResult(event_id, DUPLICATE)
        else:
            results[index] = ItemResult(event_id, REJECTED, {"id": [ID_REUSED]})

    for index, event in repeats:
        first = accepted[event.id][1]
        if first.content_hash == event.content_hash:
            results[index] = ItemResult(event.id, DUPLICATE)
        else:
            results[index] = ItemResult(event.id, REJECTED, {"id": [ID_REUSED]})

    logger.info(
        "ingested %d events from %s: %d created, %d rejected",
        len(items),
        by.label,
        len(created),
        sum(1 for r in results if r and r.status == REJECTED),
    )
    return results  # type: ignore[return-value]


def _checked(item: Any, *, now: datetime, allowed: dict[str, int]) -> tuple[ValidEvent | None, Errors]:
    """The event, or why it is refused: invalid, or for a facility the caller may not write to."""
    event, errors = validate_event(item, now=now)
    if event is not None and event.facility_code is not None and event.facility_code not in allowed:
        return None, {"facility": [FACILITY_REFUSED]}
    return event, errors


def _months_named(items: list[Any], *, now: datetime) -> set[tuple[str, date]]:
    """The (category, month) of every item with an acceptable ``occurred_at``: the partitions
    its insert may need. An item rejected later for another reason costs an empty partition at
    most (beat makes the coming months' ahead of time anyway)."""
    months = set()
    for item in items:
        if isinstance(item, dict):
            moment, _ = event_time(item.get("occurred_at"), now=now)
            if moment is not None:
                months.add((_category_of(item.get("type")), month_of(moment)))
    return months


class _Pipeline:
    """The ingestion transaction's inserts, in psycopg's pipeline mode: ``send`` hands a chunk's
    statement to the server without waiting for it, ``created`` (after the block) collects the
    ids each statement inserted. Runs on Django's connection, inside its transaction.

    Bound by the server: Django's cursors inline parameters as SQL literals, which for a chunk's
    rows (the data as escaped JSON text) cost more Python time than the rest of the request."""

    def __init__(self, *, allowed: dict[str, int], sender: str, clocks: dict[str | None, ZoneInfo]) -> None:
        self.allowed, self.sender, self.clocks = allowed, sender[:200], clocks
        self.cursors: list[psycopg.Cursor] = []

    def __enter__(self) -> _Pipeline:
        connection.ensure_connection()
        self.raw = connection.connection
        self.pipeline = self.raw.pipeline()
        self.pipeline.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.pipeline.__exit__(*exc_info)  # waits for every statement; raises what failed

    def send(self, events: list[ValidEvent]) -> None:
        if events:
            cursor = psycopg.Cursor(self.raw)
            rows = _rows(events, allowed=self.allowed, clocks=self.clocks)
            cursor.execute(INSERT_SQL, {"rows": rows, "sender": self.sender})
            self.cursors.append(cursor)

    def created(self) -> set[str]:
        ids = {row[0] for cursor in self.cursors for row in cursor.fetchall()}
        for cursor in self.cursors:
            cursor.close()
        return ids


def _clocks(items: list[Any], allowed: dict[str, int]) -> dict[str | None, ZoneInfo]:
    """The zone of each facility the items name (an event's local day is its facility's), and the
    reporting zone for events of no facility. The facilities' rows are read FOR SHARE, so a time
    zone change and its re-dating (events.services.redating) wait for this transaction, and this
    one waits for theirs: no event is stored with a date in a zone its facility just left."""
    named = {code for item in items if isinstance(item, dict) and isinstance(code := item.get("facility"), str)}
    ids = [facility_id for code, facility_id in allowed.items() if code in named]
    clocks: dict[str | None, ZoneInfo] = {None: ZoneInfo(settings.REPORTING_TIME_ZONE)}
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT code, time_zone FROM accounts_facility WHERE id = ANY(%s) FOR SHARE", [ids])
            clocks.update((code, ZoneInfo(zone)) for code, zone in cursor.fetchall())
    return clocks


def _category_of(event_type: object) -> str:
    """``event_type`` as sent, maybe not a string yet (a list would not even be hashable)."""
    recruiting = isinstance(event_type, str) and event_type in RECRUITING_TYPES
    return EventCategory.RECRUITING if recruiting else EventCategory.ACTIVITY


def _rows(events: list[ValidEvent], *, allowed: dict[str, int], clocks: dict[str | None, ZoneInfo]) -> str:
    """The events as one JSON array of ``[id, category, type, occurred_at, local date, facility
    id, actor, data, content hash]`` rows, written directly: the id, times and hash need no
    escaping, the type and actor are quoted as JSON quotes them, and the data is already
    canonical JSON."""
    rows = []
    for e in events:
        facility = allowed[e.facility_code] if e.facility_code else "null"
        actor = "null" if e.actor is None else quoted(e.actor)
        local_date = e.occurred_at.astimezone(clocks[e.facility_code or None]).date().isoformat()
        rows.append(f'["{e.id}","{_category_of(e.type)}",{quoted(e.type)},"{e.occurred_at.isoformat()}","{local_date}",'
                    f'{facility},{actor},{e.data_json},"{e.content_hash.hex()}"]')  # fmt: skip
    return f"[{','.join(rows)}]"


def _stored_hashes(ids: list[str]) -> dict[str, bytes]:
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text, content_hash FROM events_eventkey WHERE id = ANY(%s::uuid[])", [ids])
        return {row[0]: bytes(row[1]) for row in cursor.fetchall()}
