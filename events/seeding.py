"""Load the demo history through the ingestion service, the way any sender would."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable

from accounts.models import Facility
from accounts.principals import Actor, SystemPrincipal
from events.demo import DemoHistory, DemoSize
from events.models import EventKey
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending


def demo_history_load(
    *, seed: int = 7, scale: float = 1.0, batch_size: int = 1000, progress: Callable[[str], None] = print
) -> dict | None:
    """Send the demo history (unless this seed's history is already there), then apply it.

    Returns counts and timings, or None when the history was loaded before.
    """
    facilities = list(Facility.objects.order_by("code").values_list("code", flat=True))
    history = DemoHistory(facilities, seed=seed, size=DemoSize().scaled(scale))
    if EventKey.objects.filter(id=history.first_id()).exists():
        return None
    by = Actor(principal=SystemPrincipal("seed_demo"))
    counts: Counter[str] = Counter()
    started = time.monotonic()
    events = history.events()
    while batch := list(itertools.islice(events, batch_size)):
        for result in events_ingest(by=by, items=batch):
            counts[result.status] += 1
        if sum(counts.values()) % (batch_size * 50) == 0:
            progress(f"  … {sum(counts.values()):,} events sent")
    ingest_seconds = time.monotonic() - started
    started = time.monotonic()
    report = events_process_pending(time_budget=float("inf"))
    return {
        "sent": sum(counts.values()),
        **counts,
        "ingest_seconds": round(ingest_seconds, 1),
        "applied": report.applied,
        "waiting": report.waiting,
        "failed": report.failed,
        "process_seconds": round(time.monotonic() - started, 1),
    }
