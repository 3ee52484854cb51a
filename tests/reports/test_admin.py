"""Reports in the operator console: define with a schedule, run now, test email, runs and resends."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from reports.models import Report, ReportDelivery, ReportRun
from reports.services.runs import report_run_execute
from tests.factories import jwt_client
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def form(owner, facility, **changes) -> dict:
    data = {
        "owner": owner.pk, "name": "Weekly revenue", "kpi": "revenue", "period": "previous_week", "start_date": "",
        "end_date": "", "facilities": [facility.pk], "group_by": "", "options": "{}", "format": "xlsx",
        "recipients": "cfo@example.com", "enabled": "on", "schedule_crontab": "0 7 * * 1",
        "schedule_time_zone": "Europe/Paris", "runs-TOTAL_FORMS": "0", "runs-INITIAL_FORMS": "0",
    }  # fmt: skip
    return {**data, **changes}


def test_an_operator_defines_a_scheduled_report_on_one_page(admin_client, alice, facility_a):
    response = admin_client.post("/admin/reports/report/add/", form(alice, facility_a))

    assert response.status_code == 302, response.content.decode()[:3000]
    report = Report.objects.get(name="Weekly revenue")
    assert report.owner == alice and list(report.facilities.all()) == [facility_a]
    assert (report.schedule.crontab, report.schedule.time_zone) == ("0 7 * * 1", "Europe/Paris")
    assert report.schedule.periodic_task.enabled
    assert AuditEvent.objects.filter(action="report.create", object_id=str(report.pk)).exists()
    page = admin_client.get(f"/admin/reports/report/{report.pk}/change/")
    assert b"0 7 * * 1" in page.content and b"Report #" in page.content


def test_a_bad_schedule_is_refused_with_its_reason(admin_client, alice, facility_a):
    response = admin_client.post("/admin/reports/report/add/", form(alice, facility_a, schedule_crontab="0 7 * *"))

    assert response.status_code == 200
    assert b"Use five fields" in response.content
    assert not Report.objects.exists()


def test_run_now_and_test_email_actions_queue_runs(admin_client, alice, facility_a):
    report = make_report(alice)

    admin_client.post("/admin/reports/report/", {"action": "run_now", "_selected_action": [report.pk]})
    page = admin_client.post(
        "/admin/reports/report/", {"action": "send_test_email_to_me", "_selected_action": [report.pk]}, follow=True
    )

    assert sorted(ReportRun.objects.values_list("trigger", flat=True)) == ["manual", "test"]
    assert b"Queued 1 test run(s) to admin@example.com" in page.content


def test_runs_show_deliveries_and_errors_and_failed_ones_can_be_resent(smtp, admin_client, alice, facility_a):
    smtp.refused.add("gone@example.com")
    run = report_run_execute(
        run_id=ReportRun.objects.create(report=make_report(alice, recipients=["gone@example.com"]), trigger="manual").pk
    )

    listing = admin_client.get("/admin/reports/reportrun/", {"status": "failed"})
    detail = admin_client.get(f"/admin/reports/reportrun/{run.pk}/change/")
    admin_client.post("/admin/reports/reportrun/", {"action": "resend_failed", "_selected_action": [run.pk]})

    assert b"gone@example.com: 550" in listing.content
    assert b"mailbox unavailable" in detail.content
    delivery = ReportDelivery.objects.get(run=run)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert AuditEvent.objects.filter(action="report.delivery_resend").exists()


@pytest.mark.parametrize("path", ["/admin/reports/reportrun/add/", "/admin/reports/reportdelivery/add/"])
def test_runs_and_deliveries_are_history_not_forms(admin_client, path):
    assert admin_client.get(path).status_code == 403


def test_every_reports_page_loads(admin_client, alice, facility_a):
    report = make_report(alice, schedule={"crontab": "0 7 * * *", "time_zone": "UTC"})
    for path in ["/admin/reports/report/", f"/admin/reports/report/{report.pk}/change/", "/admin/reports/report/add/",
                 "/admin/reports/reportrun/", "/admin/reports/reportdelivery/"]:  # fmt: skip
        assert admin_client.get(path).status_code == 200, path


def test_the_admin_applies_the_apis_definition_rules(admin_client, alice, facility_a):
    response = admin_client.post(
        "/admin/reports/report/add/",
        form(alice, facility_a, period="custom", start_date="2026-02-01", end_date="2026-01-01"),
    )

    assert response.status_code == 200
    assert b"Must not be before start_date." in response.content
    assert not Report.objects.exists()


def test_the_admin_reads_the_period_as_the_api_does(admin_client, alice, facility_a):
    """A named period with dates is refused on both (the console's form always names a period:
    fixed dates are `custom`, which keeps them)."""
    both = admin_client.post("/admin/reports/report/add/",
                             form(alice, facility_a, start_date="2026-01-01", end_date="2026-01-31"))  # fmt: skip
    api = jwt_client(alice).post("/api/v1/reports/", {"name": "R", "kpi": "revenue", "period": "previous_week",
                                 "start_date": "2026-01-01", "end_date": "2026-01-31"}, format="json")  # fmt: skip
    fixed = admin_client.post("/admin/reports/report/add/",
                              form(alice, facility_a, period="custom", start_date="2026-01-01", end_date="2026-01-31"))  # fmt: skip

    message = "Give a period or start_date/end_date, not both."
    assert both.status_code == 200 and message in both.content.decode()
    assert api.status_code == 400 and api.json()["period"] == [message]
    assert fixed.status_code == 302, fixed.content.decode()[:2000]
    report = Report.objects.get()
    assert (report.period, str(report.start_date), str(report.end_date)) == ("custom", "2026-01-01", "2026-01-31")


def test_the_admin_refuses_a_row_level_report_for_an_owner_who_sees_aggregates_only(admin_client, carol, facility_a):
    """Carol is a Viewer of facility A: an `applications` list there would hand her rows."""
    response = admin_client.post("/admin/reports/report/add/", form(carol, facility_a, kpi="applications"))

    assert response.status_code == 200
    assert b"Aggregates only at MERCY-01" in response.content
    assert not Report.objects.exists()


def test_the_admin_lets_a_viewer_own_a_kpi_report(admin_client, carol, facility_a):
    response = admin_client.post("/admin/reports/report/add/", form(carol, facility_a))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Report.objects.get().owner == carol
