"""Read side of events."""

from __future__ import annotations

from django.db import connection

from events.models import EventStatus


def event_stats(*, facility_ids: list[int]) -> dict[str, int]:
    """Counts of events by status over the given facilities (events without a facility are
    not counted: they belong to no one's scope)."""
    counts = dict.fromkeys(EventStatus.values, 0)
    if facility_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT status, count(*) FROM events_event WHERE facility_id = ANY(%s) GROUP BY status",
                [facility_ids],
            )
            counts.update(dict(cursor.fetchall()))
    return {**counts, "total": sum(counts.values())}
