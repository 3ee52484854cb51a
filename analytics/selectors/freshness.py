"""How fresh the stored views are: read from the refresh log."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from analytics.models import RefreshRun


def views_data_as_of(keys: list[str]) -> datetime | None:
    """When the oldest of these views was last refreshed successfully (None: never). One round
    trip: each view's latest success is one probe of the ``refresh_latest`` index."""
    if not keys:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT finished_at FROM analytics_refreshrun
                    WHERE view = key AND status = %s ORDER BY finished_at DESC LIMIT 1)
            FROM unnest(%s::text[]) AS key
            """,
            [RefreshRun.Status.SUCCEEDED, sorted(set(keys))],
        )
        latest: list[datetime | None] = [row[0] for row in cursor.fetchall()]
    found = [finished for finished in latest if finished is not None]
    return min(found) if len(found) == len(latest) else None
