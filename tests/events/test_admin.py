"""The operator console for events and records."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import AuditEvent, Role
from events.models import Event
from tests.events.helpers import Stream
from tests.factories import make_candidate, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_event(facility_a, settings):
    from accounts.principals import Actor
    from events.services.ingestion import events_ingest
    from events.services.processing import events_process_pending

    settings.EVENT_MAX_ATTEMPTS = 1
    event = Stream("MERCY-01").status("A-404", "hired", 1)
    events_ingest(by=Actor(principal=make_user("svc", Role.ADMIN)), items=[event])
    events_process_pending()
    return Event.objects.get(id=event["id"])


def test_the_event_log_lists_failures_with_their_reason(admin_client, failed_event):
    page = admin_client.get("/admin/events/event/", {"status": "failed"})

    assert page.status_code == 200
    assert b"application_id A-404 not seen yet" in page.content


def test_failed_events_are_reprocessed_from_the_admin(admin_client, failed_event):
    response = admin_client.post(
        "/admin/events/event/", {"action": "reprocess", "_selected_action": [str(failed_event.id)]}, follow=True
    )

    assert response.status_code == 200
    event = Event.objects.get(id=failed_event.id)
    assert (event.status, event.attempts, event.last_error) == ("pending", 0, "")
    assert AuditEvent.objects.filter(action="event.reprocess").exists()


def test_the_event_log_is_read_only(admin_client, failed_event):
    assert admin_client.get("/admin/events/event/add/").status_code == 403
    response = admin_client.post(f"/admin/events/event/{failed_event.id}/change/", {"type": "x.y"})
    assert response.status_code == 403


def test_staff_without_the_personal_data_grant_see_no_candidates_even_with_the_model_permission(client, facility_a):
    candidate = make_candidate(facility_a, first_name="Jane", last_name="Doe", email="jane.doe@example.com")
    viewer = make_user("staff-viewer", Role.VIEWER, [facility_a], is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_candidate"))
    client.force_login(viewer)

    listing = client.get("/admin/events/candidate/")
    page = client.get(f"/admin/events/candidate/{candidate.pk}/change/")

    assert listing.status_code == 403 and page.status_code == 403  # rows are row-level data: aggregates only
    assert b"Doe" not in listing.content + page.content


def test_the_console_audits_every_candidate_page_it_shows_unmasked(admin_client, facility_a):
    jane = make_candidate(facility_a, external_id="C-1", last_name="Doe")
    make_candidate(facility_a, external_id="C-2", last_name="Roe")

    listing = admin_client.get("/admin/events/candidate/")
    page = admin_client.get(f"/admin/events/candidate/{jane.pk}/change/")

    assert b"Doe" in listing.content and b"Doe" in page.content
    reads = AuditEvent.objects.filter(action="personal_data.read").order_by("id")
    assert [(sorted(read.details["candidates"]), read.details["path"]) for read in reads] == [
        (["C-1", "C-2"], "/admin/events/candidate/"),
        (["C-1"], f"/admin/events/candidate/{jane.pk}/change/"),
    ]


def test_staff_only_see_their_facilities(client, facility_a, facility_b):
    make_candidate(facility_b, external_id="C-B")
    recruiter = make_user("staff-recruiter", Role.RECRUITER, [facility_a], is_staff=True)
    client.force_login(recruiter)

    page = client.get("/admin/events/candidate/")

    assert page.status_code == 200
    assert b"C-B" not in page.content


@pytest.mark.parametrize("model", ["event", "job", "candidate", "application", "placement", "invoice",
                                   "outreachmessage", "compliancecheck"])  # fmt: skip
def test_every_changelist_renders(admin_client, model, facility_a):
    assert admin_client.get(f"/admin/events/{model}/").status_code == 200


def test_admins_reprocess_a_failed_event_over_the_api(ada, alice, failed_event):
    from tests.factories import jwt_client

    assert jwt_client(alice).post(f"/api/v1/events/{failed_event.id}/reprocess/").status_code == 403
    response = jwt_client(ada).post(f"/api/v1/events/{failed_event.id}/reprocess/")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert AuditEvent.objects.filter(action="event.reprocess", actor_label="ada").exists()
    again = jwt_client(ada).post(f"/api/v1/events/{failed_event.id}/reprocess/")
    assert again.status_code == 400  # it is pending now, not failed
