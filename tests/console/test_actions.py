"""Buttons on an object's page: the same admin action, permission and service as the list's,
for the one object, with a message to say what happened."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import AuditEvent, Role
from accounts.principals import Actor
from accounts.roles import ADMIN_APPS
from events.models import Event
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from reports.models import DeliveryStatus, Report, ReportDelivery, ReportRun
from reports.services.definitions import report_save
from tests.events.helpers import Stream
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_event(ada, facility_a, facility_b) -> Event:
    """A job.filled sent by facility B for facility A's job: refused, so failed at once."""
    a, b = Stream("MERCY-01"), Stream("STJ-02")
    intruder = b.event("steal", "job.filled", 3, job_id="J-1")
    events_ingest(by=Actor(principal=ada), items=[a.job("J-1"), intruder])
    events_process_pending()
    event = Event.objects.get(id=intruder["id"])
    assert event.status == "failed"
    return event


@pytest.fixture
def rita(facility_a, facility_b):
    """A Recruiter of both facilities who may use the console."""
    return make_user("rita", Role.RECRUITER, [facility_a, facility_b], is_staff=True)


def event_page(event: Event) -> str:
    return reverse("admin:events_event_change", args=[event.pk])


def test_a_failed_events_page_offers_reprocess_and_the_button_does_it(client, ada, failed_event):
    client.force_login(ada)
    page = client.get(event_page(failed_event)).content.decode()

    response = client.post(reverse("admin:events_event_object_action", args=[failed_event.pk, "reprocess"]),
                           follow=True)  # fmt: skip

    assert 'data-action="reprocess"' in page
    assert "1 failed event(s) queued again" in response.content.decode()
    assert response.redirect_chain[-1][0] == event_page(failed_event)
    event = Event.objects.get(pk=failed_event.pk)
    assert (event.status, event.attempts) == ("pending", 0)
    assert AuditEvent.objects.get(action="event.reprocess").actor == ada


def test_a_processed_event_offers_no_reprocess(client, ada, failed_event):
    processed = Event.objects.exclude(pk=failed_event.pk).get()
    client.force_login(ada)

    assert 'data-action="reprocess"' not in client.get(event_page(processed)).content.decode()


def test_reprocessing_is_for_admins_in_the_console_as_in_the_api(client, rita, failed_event):
    client.force_login(rita)
    page = client.get(event_page(failed_event))

    response = client.post(reverse("admin:events_event_object_action", args=[failed_event.pk, "reprocess"]))

    assert page.status_code == 200 and 'data-action="reprocess"' not in page.content.decode()
    assert response.status_code == 403
    assert Event.objects.get(pk=failed_event.pk).status == "failed"


def test_an_object_action_takes_posts_and_known_actions_only(client, ada, failed_event):
    client.force_login(ada)

    assert client.get(reverse("admin:events_event_object_action", args=[failed_event.pk, "reprocess"])).status_code \
        == 405  # fmt: skip
    assert client.post(reverse("admin:events_event_object_action", args=[failed_event.pk, "delete"])).status_code \
        == 404  # fmt: skip


@pytest.fixture
def weekly(ada) -> Report:
    return report_save(by=Actor.system("tests"), owner=ada, name="Weekly", kpi="pipeline", period="last_7_days",
                       format="csv", recipients=["a@example.com"],
                       schedule={"crontab": "0 7 * * 1", "time_zone": "Europe/Berlin"})  # fmt: skip


def report_action(report: Report, action: str) -> str:
    return reverse("admin:reports_report_object_action", args=[report.pk, action])


def test_a_schedule_is_switched_off_and_on_from_the_reports_page(client, ada, weekly):
    client.force_login(ada)

    off = client.post(report_action(weekly, "switch_off"), follow=True).content.decode()
    paused = Report.objects.select_related("schedule__periodic_task").get(pk=weekly.pk)
    page = client.get(reverse("admin:reports_report_change", args=[weekly.pk])).content.decode()
    on = client.post(report_action(weekly, "switch_on"), follow=True).content.decode()
    resumed = Report.objects.select_related("schedule__periodic_task").get(pk=weekly.pk)

    assert "Switched off 1 report(s)" in off and "Switched on 1 report(s)" in on
    assert (paused.enabled, paused.schedule.periodic_task.enabled) == (False, False)
    assert paused.disabled_reason == "Switched off by ada in the console."
    assert 'data-action="switch_on"' in page and 'data-action="switch_off"' not in page
    assert (resumed.enabled, resumed.schedule.periodic_task.enabled, resumed.disabled_reason) == (True, True, "")
    actions = list(AuditEvent.objects.filter(object_type="reports.report").values_list("action", flat=True))
    assert "report.disable" in actions and actions.count("report.update") == 1


def test_run_now_from_the_reports_page_queues_a_run(client, ada, weekly, django_capture_on_commit_callbacks):
    client.force_login(ada)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(report_action(weekly, "run_now"), follow=True)

    run = ReportRun.objects.get(report=weekly)
    assert f"#{run.pk}" in response.content.decode()
    assert AuditEvent.objects.filter(action="report.run_manual", actor=ada).exists()


def test_a_failed_delivery_is_resent_from_its_page(client, ada, weekly, django_capture_on_commit_callbacks):
    run = ReportRun.objects.create(report=weekly, status="failed")
    failed = ReportDelivery.objects.create(run=run, recipient="a@example.com", status=DeliveryStatus.FAILED,
                                           attempts=5, error="550 mailbox unavailable")  # fmt: skip
    client.force_login(ada)
    page = client.get(reverse("admin:reports_reportdelivery_change", args=[failed.pk])).content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("admin:reports_reportdelivery_object_action", args=[failed.pk, "resend"]),
                               follow=True)  # fmt: skip

    assert 'data-action="resend"' in page
    assert "Resending 1 failed delivery(ies)" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)
    assert ReportRun.objects.get(pk=run.pk).status == "running"
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "model", [m for m in admin.site._registry if m._meta.app_label in ADMIN_APPS], ids=lambda m: m._meta.label_lower
)
def test_every_changelist_renders_for_an_admin_in_a_few_queries(client, ada, failed_event, weekly, model,
                                                                 django_assert_max_num_queries):  # fmt: skip
    client.force_login(ada)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    with django_assert_max_num_queries(25):
        response = client.get(url)

    assert response.status_code == 200
