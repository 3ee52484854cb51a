"""An operator's day in the console, in a real browser: sign in, read the dashboard (its
numbers are the API's), open the status panel, refresh a view and watch the run, reprocess a
failed event, run a report and find its run. Every page is saved as a screenshot."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent, Facility, Role, User
from accounts.principals import Actor
from analytics.models import RefreshRun
from console.selectors import HEADLINE, show
from events.models import Event, EventStatus, Job
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from reports.models import ReportRun
from reports.services.definitions import report_save
from tests.conftest import wait_for
from tests.console.conftest import screenshot, sign_in
from tests.factories import jwt_client, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def demo():
    """A small demo history (about 5,000 events up to today), applied, with every view refreshed."""
    call_command("seed_demo", scale=0.02, verbosity=0)


@pytest.fixture
def operator(demo) -> User:
    return make_user("olivia", Role.ADMIN)


def test_the_dashboard_shows_the_apis_numbers(page, operator):
    sign_in(page, "olivia")

    api = jwt_client(operator).get("/api/v1/analytics/dashboard/").json()
    previous = (
        jwt_client(operator)
        .get(
            "/api/v1/analytics/kpis/",
            {"start_date": api["period"]["start_date"], "end_date": api["period"]["end_date"]},
        )
        .json()
    )
    assert previous["metrics"]["applications"] == api["metrics"]["applications"]  # same headline, same numbers
    for key, _label, kind in HEADLINE:
        card = page.locator(f'#headline [data-metric="{key}"] .value')
        assert card.inner_text() == show(api["metrics"][key], kind), key
    assert api["metrics"]["applications"] > 0  # the demo history reaches today: a real comparison
    assert page.locator(".console-chart svg").count() == 5  # four daily series and the funnel
    funnel = page.locator(".console-funnel").inner_text()
    assert "applied" in funnel and "hired" in funnel
    screenshot(page, "01-dashboard")


def test_the_status_panel_refreshes_a_view_and_shows_the_run(page, operator, celery_worker_process):
    sign_in(page, "olivia")
    page.click("text=open the status panel")
    page.wait_for_selector("#views-table")
    assert page.locator("#views-table tbody tr").count() >= 20
    screenshot(page, "02-status-panel")

    page.click('[aria-label="Refresh hires now"]')

    page.wait_for_selector(".messagelist .success")
    assert "Refresh of hires queued" in page.locator(".messagelist").inner_text()
    run = RefreshRun.objects.filter(view="hires", trigger="admin").latest("created_at")
    assert page.locator(f'#refresh-runs tr[data-run="{run.pk}"]').count() == 1
    wait_for(lambda: RefreshRun.objects.get(pk=run.pk).status == "succeeded", timeout=60, what="the refresh")
    page.reload()
    assert page.locator(f'#refresh-runs tr[data-run="{run.pk}"]').inner_text().split("\t")[2].strip() == "succeeded"
    assert AuditEvent.objects.filter(action="analytics.refresh", actor=operator).exists()
    screenshot(page, "03-refresh-done")


def test_an_operator_opens_a_failed_event_and_reprocesses_it(page, operator):
    job = Job.objects.select_related("facility").order_by("id").first()
    other = Facility.objects.exclude(pk=job.facility_id).order_by("code").first()
    event_id = str(uuid.uuid4())
    results = events_ingest(by=Actor(principal=operator), items=[{
        "id": event_id, "type": "job.filled", "occurred_at": timezone.now().isoformat(),
        "facility": other.code, "actor": "recruiter-1", "data": {"job_id": job.external_id},
    }])  # fmt: skip
    assert [r.status for r in results] == ["created"]
    events_process_pending(time_budget=10)  # a record of another facility: failed at once, whoever applies it
    assert Event.objects.get(id=event_id).status == EventStatus.FAILED
    sign_in(page, "olivia")

    page.click("#status-tiles >> text=Failed events")
    page.locator("#result_list tbody tr", has_text=event_id).locator("th a").click()
    assert "belongs to another facility" in page.locator("#content").inner_text()
    screenshot(page, "04-failed-event")
    page.click('button[data-action="reprocess"]')

    page.wait_for_selector(".messagelist .success")
    assert "1 failed event(s) queued again" in page.locator(".messagelist").inner_text()
    audit = AuditEvent.objects.get(action="event.reprocess", actor=operator)
    assert audit.details["events"] == [event_id]
    screenshot(page, "05-event-reprocessed")


def test_an_operator_runs_a_report_now_and_finds_its_run(page, operator, celery_worker_process):
    report = report_save(by=Actor.system("tests"), owner=operator, name="Console weekly pipeline", kpi="pipeline",
                         period="last_7_days", format="xlsx", recipients=["ops@example.com"])  # fmt: skip
    sign_in(page, "olivia")
    page.goto(f"/admin/reports/report/{report.pk}/change/")

    page.click('button[data-action="run_now"]')

    page.wait_for_selector(".messagelist .success")
    run = ReportRun.objects.get(report=report)
    assert f"#{run.pk}" in page.locator(".messagelist").inner_text()
    wait_for(lambda: ReportRun.objects.get(pk=run.pk).status in ("succeeded", "failed"), timeout=90, what="the run")
    page.goto("/admin/reports/reportrun/?q=Console+weekly")
    row = page.locator("#result_list tbody tr").first
    assert "Console weekly pipeline" in row.inner_text() and "succeeded" in row.inner_text()
    screenshot(page, "06-report-runs")
    row.locator("th a").click()
    assert "ops@example.com" in page.locator("#content").inner_text()
    screenshot(page, "07-report-run")
