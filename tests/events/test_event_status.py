"""An event's status is where it is: in the queue pending or failed, out of it processed.

The log is never rewritten by processing; the API, the stats and the admin still show each
event's status, tries and last error.
"""

import pytest
from django.db import connection

from accounts.models import Role
from accounts.principals import Actor
from events.models import Event
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from tests.events.helpers import Stream
from tests.factories import jwt_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def s():
    return Stream("MERCY-01")


@pytest.fixture
def story(facility_a, s, settings):
    """A job applied, an activity event, a status change that failed (its application never
    came) and one still waiting its next try."""
    settings.EVENT_MAX_ATTEMPTS = 2
    settings.EVENT_RETRY_BASE_SECONDS = 0
    admin = make_user("svc", Role.ADMIN)
    events = {
        "job": s.job("J-1"),
        "login": s.event("login", "user.login", 0),
        "orphan": s.status("A-404", "hired", 2),
    }
    events_ingest(by=Actor(principal=admin), items=list(events.values()))
    events_process_pending()
    events_process_pending()  # the orphan's second and last try
    settings.EVENT_RETRY_BASE_SECONDS = 3600
    events["waiting"] = s.status("A-405", "screening", 3)
    events_ingest(by=Actor(principal=admin), items=[events["waiting"]])
    events_process_pending()
    return {name: event["id"] for name, event in events.items()}


def log_row_locations() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text, ctid::text FROM events_event")
        return dict(cursor.fetchall())


def test_processing_never_rewrites_the_log(facility_a, s, settings):
    settings.EVENT_MAX_ATTEMPTS = 2
    settings.EVENT_RETRY_BASE_SECONDS = 0
    events_ingest(
        by=Actor(principal=make_user("svc", Role.ADMIN)),
        items=[s.job("J-1"), s.candidate("C-1"), s.status("A-404", "hired", 2)],
    )
    before = log_row_locations()

    events_process_pending()
    events_process_pending()

    assert log_row_locations() == before  # an UPDATE, even a HOT one, moves a row version


def test_each_event_shows_its_status(story):
    assert {name: Event.objects.get(id=event_id).status for name, event_id in story.items()} == {
        "job": "processed",
        "login": "processed",
        "orphan": "failed",
        "waiting": "pending",
    }
    orphan = Event.objects.get(id=story["orphan"])
    assert (orphan.attempts, orphan.last_error, orphan.next_attempt_at) == (
        2,
        "application_id A-404 not seen yet",
        None,
    )
    waiting = Event.objects.get(id=story["waiting"])
    assert (waiting.attempts, waiting.last_error) == (1, "application_id A-405 not seen yet")
    assert waiting.next_attempt_at is not None


def test_the_status_filter_finds_each_kind(story):
    found = {status: set(Event.objects.with_status(status).values_list("id", flat=True)) for status in
             ("pending", "processed", "failed")}  # fmt: skip

    assert {status: {str(i) for i in ids} for status, ids in found.items()} == {
        "pending": {story["waiting"]},
        "processed": {story["job"], story["login"]},
        "failed": {story["orphan"]},
    }


def test_stats_count_processed_failed_and_pending(story, ada):
    assert jwt_client(ada).get("/api/v1/events/stats/").json() == {
        "pending": 1,
        "processed": 2,
        "failed": 1,
        "total": 4,
    }


def test_the_api_lists_failed_events_with_their_reason(story, ada):
    response = jwt_client(ada).get("/api/v1/events/", {"status": "failed"})

    assert response.status_code == 200
    (listed,) = response.json()["results"]
    assert (listed["id"], listed["status"], listed["attempts"]) == (story["orphan"], "failed", 2)
    assert listed["last_error"] == "application_id A-404 not seen yet"
    processed = jwt_client(ada).get("/api/v1/events/", {"status": "processed"}).json()["results"]
    assert {e["id"] for e in processed} == {story["job"], story["login"]}
    assert {e["status"] for e in processed} == {"processed"}
    assert jwt_client(ada).get("/api/v1/events/", {"status": "lost"}).status_code == 400


def test_the_admin_filters_by_status(admin_client, story):
    pending = admin_client.get("/admin/events/event/", {"status": "pending"})
    processed = admin_client.get("/admin/events/event/", {"status": "processed"})

    assert pending.status_code == processed.status_code == 200
    assert story["waiting"].encode() in pending.content
    assert story["orphan"].encode() not in pending.content
    assert story["job"].encode() in processed.content
    assert story["waiting"].encode() not in processed.content
