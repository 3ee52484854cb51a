"""100 bulk requests at the same moment, each batch sent twice by two of them: every event is
stored once and answered `created` exactly once, the other answer `duplicate`."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.drills import checks
from tests.drills.app import DrillApp
from tests.drills.conftest import Drill
from tests.drills.traffic import Answer

pytestmark = pytest.mark.drill

REQUESTS = 100
TRIPLETS = 20  # 60 events a request: 50 distinct batches, 3,000 events
# 3,000 events are one processing batch (two, if it starts mid-burst).
CONCURRENT_RECOVERY_SECONDS = 60


def test_hundred_concurrent_bulk_requests(app: DrillApp, drill: Drill) -> None:
    batches = [drill.ledger.batch(TRIPLETS) for _ in range(REQUESTS // 2)]
    bodies = batches + batches  # request i and i + 50 carry the same events
    for batch in batches:
        drill.ledger.sent.update(event["id"] for event in batch)
    answers: list[Answer | None] = [None] * REQUESTS
    barrier = threading.Barrier(REQUESTS)

    def post(index: int) -> None:
        barrier.wait()
        answers[index] = drill.sender.post("/api/v1/events/bulk/", bodies[index], timeout=120)

    started = time.monotonic()
    threads = [threading.Thread(target=post, args=(index,)) for index in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    took = time.monotonic() - started

    statuses = Counter(answer.status if answer else "none" for answer in answers)
    drill.expect("every request answered 200", _all_200, statuses)
    created: Counter[str] = Counter()
    results: Counter[str] = Counter()
    for body, answer in zip(bodies, answers, strict=True):
        if answer is not None and drill.ledger.settle(body, answer):
            for event, result in zip(body, answer.body["results"], strict=False):
                results[result["status"]] += 1
                created[event["id"]] += result["status"] == "created"
    twice = [event_id for event_id, count in created.items() if count != 1]
    drill.expect("each event created exactly once", _none, twice, f"{len(twice)} events not created exactly once")
    drill.expect("stored once", checks.stored_once, app, drill.ledger)
    applied = drill.expect("applied", checks.processed, app, drill.ledger, within=CONCURRENT_RECOVERY_SECONDS)
    drill.expect("no 500", checks.no_server_errors, drill.traffic)
    drill.expect("recovered", checks.recovered, app, drill.sender, drill.ledger, within=CONCURRENT_RECOVERY_SECONDS)
    drill.figure(f"{REQUESTS} requests ({sum(len(b) for b in bodies)} events, {len(drill.ledger.acked)} distinct) "
                 f"answered in {took:.1f}s: {dict(statuses)}, {dict(results)}; applied "
                 f"{'-' if applied is None else f'{applied:.0f}s'} later")  # fmt: skip
    drill.conclude()


def _all_200(statuses: Counter) -> None:
    assert set(statuses) == {200}, f"answers: {dict(statuses)}"


def _none(items: list, message: str) -> None:
    assert not items, f"{message}: {items[:3]}"
