"""Retention: old activity months are dropped whole; recruiting events stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, EventKey
from events.services.partitions import partitions_create_ahead, retention_apply
from tests.factories import make_event

pytestmark = pytest.mark.django_db(transaction=True)  # retention runs in its own transactions


def test_old_activity_is_dropped_and_recruiting_kept(facility_a, settings):
    settings.EVENT_RETENTION_DAYS = 365
    now = timezone.now()
    old_activity = make_event(facility_a, occurred_at=(now - timedelta(days=500)).isoformat())
    recent_activity = make_event(facility_a, occurred_at=(now - timedelta(days=30)).isoformat())
    old_recruiting = make_event(
        facility_a, type="job.cancelled", occurred_at=(now - timedelta(days=500)).isoformat(), data={"job_id": "J-1"}
    )

    report = retention_apply(now=now)

    assert report["partitions_dropped"] >= 1
    remaining = set(Event.objects.values_list("id", flat=True))
    assert old_activity.id not in remaining
    assert {recent_activity.id, old_recruiting.id} <= remaining
    assert not EventKey.objects.filter(id=old_activity.id).exists()
    assert EventKey.objects.filter(id=old_recruiting.id).exists()


def test_partitions_are_made_ahead():
    from django.db import connection

    partitions_create_ahead(months_ahead=2)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'events_event_recruiting_2%%'")
        assert cursor.fetchone()[0] >= 3
