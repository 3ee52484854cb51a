"""Read side of events."""

from __future__ import annotations

from django.db import connection

from events.models import EventStatus


def event_queue_counts(*, facility_ids: list[int]) -> dict[str, int]:
    """Pending and failed events of the given facilities, from the small queue only (cheap at
    any size of the log: what the console's status tiles show)."""
    counts: dict[str, int] = {EventStatus.PENDING: 0, EventStatus.FAILED: 0}
    if facility_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT state, count(*) FROM events_eventqueueentry WHERE facility_id = ANY(%s) GROUP BY state",
                [facility_ids],
            )
            counts.update(dict(cursor.fetchall()))
    return counts


def event_stats(*, facility_ids: list[int]) -> dict[str, int]:
    """Counts of events by status over the given facilities (events without a facility are
    not counted: they belong to no one's scope). Pending and failed come from the small
    queue; the total from the log's facility index."""
    counts = dict.fromkeys(EventStatus.values, 0)
    if not facility_ids:
        return {**counts, "total": 0}
    counts.update(event_queue_counts(facility_ids=facility_ids))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_event WHERE facility_id = ANY(%s)", [facility_ids])
        total = cursor.fetchone()[0]
    counts[EventStatus.PROCESSED] = total - counts[EventStatus.PENDING] - counts[EventStatus.FAILED]
    return {**counts, "total": total}
