"""How fresh the stored views are: read from the refresh log."""

from __future__ import annotations

from datetime import datetime

from analytics.models import RefreshRun


def views_data_as_of(keys: list[str]) -> datetime | None:
    """When the oldest of these views was last refreshed successfully (None: never)."""
    latest = []
    for key in keys:
        run = (
            RefreshRun.objects.filter(view=key, status=RefreshRun.Status.SUCCEEDED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if run is None:
            return None
        latest.append(run)
    return min(latest) if latest else None
