"""Analytics listens to the event processor: after each round, the marked buckets of the views
kept up to date as events apply are recomputed (analytics.services.rollups)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from analytics.services.refresh import rollups_catch_up
from events.signals import events_applied


@receiver(events_applied, dispatch_uid="analytics.rollups_after_processing")
def _rollups_after_processing(sender: Any, applied: int, **kwargs: Any) -> None:
    rollups_catch_up()
