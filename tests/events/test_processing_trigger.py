"""No event waits for the sweep: the "process now" trigger is debounced, and a run that started
lets the next request through, so the last events of a burst are applied within seconds. No beat
runs in these tests: the sweep never comes."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from accounts.principals import Actor
from events.models import Event, EventQueueEntry
from events.services.ingestion import events_ingest
from events.services.processing import REQUESTED_KEY
from tests.conftest import wait_for
from tests.events.helpers import Stream
from tests.factories import make_user

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ingester(facility_a):
    cache.delete(REQUESTED_KEY)  # no request of an earlier test's in the way
    return Actor(principal=make_user("ingester", "admin"))


def applied(count: int) -> bool:
    return Event.objects.count() == count and not EventQueueEntry.objects.exists()


def test_the_last_events_of_a_burst_are_applied_within_seconds(celery_worker_process, ingester):
    stream = Stream("MERCY-01")
    sent = 0
    for request in range(30):  # three seconds of small requests, as an upstream sends them
        result = events_ingest(by=ingester, items=[stream.job(f"J-{request}-{n}") for n in range(5)])
        assert {item.status for item in result} == {"created"}
        sent += len(result)
        time.sleep(0.1)
    last = time.monotonic()

    wait_for(lambda: applied(sent), timeout=15, interval=0.1, what="every event of the burst to be applied")

    assert time.monotonic() - last < 15


def test_an_event_accepted_just_after_a_run_is_applied_by_a_run_of_its_own(celery_worker_process, ingester):
    stream = Stream("MERCY-01")
    events_ingest(by=ingester, items=[stream.job("J-1")])
    wait_for(lambda: applied(1), timeout=15, interval=0.05, what="the first event to be applied")

    events_ingest(by=ingester, items=[stream.job("J-2")])  # the first request's window may still be open

    wait_for(lambda: applied(2), timeout=15, interval=0.1, what="the second event to be applied")


def test_an_event_whose_record_arrives_a_moment_later_does_not_wait_for_the_sweep(
    celery_worker_process, ingester, settings
):
    """The record an event names is most often in a request that committed while the event's
    batch was applied: its first wait is short and followed by a run of its own."""
    stream = Stream("MERCY-01")
    events_ingest(by=ingester, items=[stream.job("J-1"), stream.application("A-1", "J-1", "C-1")])
    wait_for(
        lambda: EventQueueEntry.objects.filter(attempts=1, state="pending").exists(),
        timeout=15, interval=0.05, what="the application to wait for its candidate",
    )  # fmt: skip

    events_ingest(by=ingester, items=[stream.candidate("C-1")])
    arrived = time.monotonic()

    wait_for(lambda: applied(3), timeout=15, interval=0.1, what="the application to be applied")
    assert time.monotonic() - arrived < 15  # the retry base is 30 s and the sweep a minute: neither came
