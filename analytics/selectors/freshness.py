"""How fresh the stored views are: read from the refresh log, and for the views kept up to date as
events apply, from the marks of buckets not recomputed yet."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from analytics.models import RefreshRun
from analytics.registry import BY_KEY


def views_data_as_of(keys: list[str]) -> datetime | None:
    """The moment up to which the oldest of these views holds its data (None: a view was never
    built). A refreshed view holds the data as of its last successful refresh; a view kept up to
    date as events apply holds every applied event except those whose buckets are still marked,
    so the moment of its oldest mark, or now when there is none. One round trip: each view's
    latest success is one probe of the ``refresh_latest`` index, its oldest mark one of
    ``stale_bucket_view``."""
    if not keys:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT key,
                   (SELECT finished_at FROM analytics_refreshrun
                    WHERE view = key AND status = %s ORDER BY finished_at DESC LIMIT 1),
                   (SELECT min(marked_at) FROM analytics_stalebucket WHERE view = key),
                   statement_timestamp()
            FROM unnest(%s::text[]) AS key
            """,
            [RefreshRun.Status.SUCCEEDED, sorted(set(keys))],
        )
        found = cursor.fetchall()
    moments: list[datetime] = []
    for key, refreshed, oldest_mark, now in found:
        if refreshed is None:
            return None
        view = BY_KEY.get(key)
        if view is not None and view.rollup is not None:
            moments.append(oldest_mark or now)
        else:
            moments.append(refreshed)
    return min(moments) if moments else timezone.now()
