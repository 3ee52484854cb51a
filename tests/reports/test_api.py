"""The report API of api.md: owner-scoped definitions, run now, runs with deliveries, download."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from reports.models import Report, ReportRun
from reports.services.runs import report_run_execute
from tests.factories import jwt_client
from tests.reports.conftest import make_report

WEEKLY = {
    "name": "Weekly pipeline",
    "kpi": "pipeline",
    "period": "last_7_days",
    "facilities": ["MERCY-01"],
    "group_by": "facility",
    "format": "xlsx",
    "recipients": ["ops@example.com"],
    "schedule": {"crontab": "0 7 * * 1", "time_zone": "America/New_York"},
    "enabled": True,
}


def test_a_recruiter_defines_a_weekly_report(alice):
    response = jwt_client(alice).post("/api/v1/reports/", WEEKLY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in WEEKLY} == WEEKLY
    assert body["owner"] == "alice" and body["next_run_at"]
    report = Report.objects.get(pk=body["id"])
    assert report.schedule.periodic_task.enabled
    assert AuditEvent.objects.filter(action="report.create", object_id=str(report.pk)).exists()


def test_the_schedule_can_be_changed_and_removed(alice):
    api = jwt_client(alice)
    report_id = api.post("/api/v1/reports/", WEEKLY, format="json").json()["id"]

    changed = api.patch(f"/api/v1/reports/{report_id}/", {"schedule": {"crontab": "30 6 * * *", "time_zone": "UTC"}},
                        format="json")  # fmt: skip
    removed = api.patch(f"/api/v1/reports/{report_id}/", {"schedule": None}, format="json")

    assert changed.json()["schedule"] == {"crontab": "30 6 * * *", "time_zone": "UTC"}
    assert removed.json()["schedule"] is None and removed.json()["next_run_at"] is None
    from django_celery_beat.models import PeriodicTask

    assert not PeriodicTask.objects.filter(task="reports.run_scheduled").exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kpi": "happiness"}, "kpi", "not a valid choice"),
        ({"period": "last_century"}, "period", "not a valid choice"),
        ({"facilities": ["STJ-02"]}, "facilities", "Facility not found: STJ-02"),
        ({"facilities": ["NOPE-99"]}, "facilities", "Facility not found: NOPE-99"),
        ({"recipients": ["not-an-email"]}, "recipients", "valid email"),
        ({"recipients": []}, "recipients", "needs at least one recipient"),
        ({"schedule": {"crontab": "0 25 * * *", "time_zone": "UTC"}}, "schedule", "Invalid crontab"),
        ({"schedule": {"crontab": "0 7 * * 1", "time_zone": "Mars/Olympus"}}, "schedule", "IANA"),
        ({"format": "pdf"}, "format", "not a valid choice"),
        ({"period": "custom"}, "start_date", "both start_date and end_date"),
        ({"period": "custom", "start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date", "before start_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-01-31"}, "period", "not both"),
        ({"kpi": "applications", "group_by": "facility"}, "group_by", "cannot be grouped"),
        ({"kpi": "trends", "group_by": None, "options": {"metric": "mood"}}, "options", "Must be one of"),
        ({"options": {"colour": "red"}}, "options", "Unknown option"),
        (
            {
                "kpi": "trends",
                "group_by": None,
                "period": "custom",
                "start_date": "2026-01-01",
                "end_date": "2026-03-31",
                "options": {"granularity": "hour"},
            },
            "options",
            "at most 31 days",
        ),
    ],
)
def test_bad_definitions_get_a_message_per_field(alice, change, field, message):
    response = jwt_client(alice).post("/api/v1/reports/", {**WEEKLY, **change}, format="json")

    assert response.status_code == 400
    assert message in str(response.json()[field]), response.json()


def test_each_caller_sees_its_own_reports_and_admins_see_all(alice, bob, carol, ada):
    mine, theirs = make_report(alice, name="Alice's"), make_report(bob, name="Bob's")

    assert [r["name"] for r in jwt_client(alice).get("/api/v1/reports/").json()["results"]] == ["Alice's"]
    assert jwt_client(carol).get(f"/api/v1/reports/{mine.pk}/").status_code == 404
    assert jwt_client(alice).patch(f"/api/v1/reports/{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert jwt_client(alice).delete(f"/api/v1/reports/{theirs.pk}/").status_code == 404
    assert {r["name"] for r in jwt_client(ada).get("/api/v1/reports/").json()["results"]} == {"Alice's", "Bob's"}


def test_a_viewer_may_own_a_report(carol):
    response = jwt_client(carol).post("/api/v1/reports/", {**WEEKLY, "schedule": None}, format="json")

    assert response.status_code == 201, response.json()


def test_run_now_answers_202_with_the_queued_run(alice, django_capture_on_commit_callbacks):
    report = make_report(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = jwt_client(alice).post(f"/api/v1/reports/{report.pk}/run/")

    assert response.status_code == 202
    run = ReportRun.objects.get(report=report)
    assert response.json() == {"run": {"id": run.pk, "status": "queued"}}
    assert len(callbacks) == 1, "the worker is asked once the run is committed"


def test_runs_list_with_deliveries_and_filter_by_report(smtp, alice, bob, facility_a):
    report, other = make_report(alice), make_report(bob, name="Bob's")
    run = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    ReportRun.objects.create(report=other, trigger="manual")
    api = jwt_client(alice)

    listed = api.get("/api/v1/report-runs/", {"report": report.pk}).json()["results"]
    detail = api.get(f"/api/v1/report-runs/{run.pk}/").json()

    assert [r["id"] for r in listed] == [run.pk]
    assert api.get("/api/v1/report-runs/").json()["count"] == 1, "Bob's run is not Alice's to see"
    assert detail["status"] == "succeeded" and detail["rows"] == run.rows and detail["bytes"] == run.bytes
    assert detail["deliveries"][0]["recipient"] == "ops@example.com"
    assert detail["deliveries"][0]["status"] == "sent" and detail["deliveries"][0]["sent_at"]
    assert api.get("/api/v1/report-runs/", {"colour": "red"}).status_code == 400


def test_the_file_downloads_for_the_owner_and_admins_only_and_each_download_is_audited(smtp, alice, bob, ada,
                                                                                    facility_a):  # fmt: skip
    run = report_run_execute(run_id=ReportRun.objects.create(report=make_report(alice), trigger="manual").pk)
    url = f"/api/v1/report-runs/{run.pk}/download/"

    owner, admin = jwt_client(alice).get(url), jwt_client(ada).get(url)

    assert owner.status_code == admin.status_code == 200
    assert owner["Content-Disposition"].startswith("attachment")
    assert jwt_client(bob).get(url).status_code == 404
    assert AuditEvent.objects.filter(action="report.download", object_id=str(run.pk)).count() == 2


def test_deleting_a_report_removes_its_schedule_and_files(smtp, alice, facility_a,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    from pathlib import Path

    from django_celery_beat.models import PeriodicTask

    report = make_report(alice, schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"})
    run = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    path = Path(run.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_client(alice).delete(f"/api/v1/reports/{report.pk}/")

    assert response.status_code == 204
    assert not PeriodicTask.objects.filter(task="reports.run_scheduled").exists()
    assert not ReportRun.objects.filter(pk=run.pk).exists()
    assert not path.exists()


def test_deleting_the_owner_removes_their_reports_beat_entries_and_files(smtp, alice, ada,
                                                                       django_capture_on_commit_callbacks):  # fmt: skip
    from pathlib import Path

    from django_celery_beat.models import PeriodicTask

    from accounts.principals import Actor
    from accounts.services import user_delete

    report = make_report(alice, schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"})
    kept = make_report(ada, name="Ada's", schedule={"crontab": "0 8 * * 1", "time_zone": "UTC"})
    run = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    path = Path(run.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(by=Actor.system("tests"), user=alice)

    assert not Report.objects.filter(pk=report.pk).exists()
    assert list(PeriodicTask.objects.filter(task="reports.run_scheduled").values_list("kwargs", flat=True)) == [
        f'{{"report_id": {kept.pk}}}'
    ]
    assert not path.exists()


def test_a_file_past_its_retention_is_removed_and_the_download_says_so(smtp, alice, settings):
    from datetime import timedelta
    from pathlib import Path

    from django.utils import timezone

    from reports.tasks import sweep

    settings.REPORT_FILE_RETENTION_DAYS = 30
    report = make_report(alice)
    old = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    recent = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)
    ReportRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    old_path, recent_path = Path(old.file.path), Path(recent.file.path)

    assert sweep()["files_removed"] == 1
    assert sweep()["files_removed"] == 0

    old.refresh_from_db()
    assert not old_path.exists() and recent_path.exists()
    assert old.file.name == "" and old.file_removed_at is not None and old.rows is not None
    api = jwt_client(alice)
    gone = api.get(f"/api/v1/report-runs/{old.pk}/download/")
    assert gone.status_code == 404
    assert "files are kept 30 days" in gone.json()["detail"]
    listed = api.get(f"/api/v1/report-runs/{old.pk}/").json()
    assert listed["download_url"] is None and listed["file_removed_at"]
    assert api.get(f"/api/v1/report-runs/{recent.pk}/download/").status_code == 200


def test_switching_a_report_back_on_clears_why_it_stopped(alice):
    report = make_report(alice, schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"})
    Report.objects.filter(pk=report.pk).update(enabled=False, disabled_reason="Disabled after 3 ...",
                                               consecutive_failures=3)  # fmt: skip

    body = jwt_client(alice).patch(f"/api/v1/reports/{report.pk}/", {"enabled": True}, format="json").json()

    assert body["enabled"] is True and body["disabled_reason"] == "" and body["consecutive_failures"] == 0
    report.refresh_from_db()
    assert report.schedule.periodic_task.enabled


def test_the_migration_removes_beat_entries_left_by_reports_deleted_before(alice):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    kept = make_report(alice, schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"})
    crontab = CrontabSchedule.objects.create(minute="0", hour="7")
    PeriodicTask.objects.create(name="Report #999: gone", task="reports.run_scheduled", crontab=crontab,
                                kwargs='{"report_id": 999}')  # fmt: skip
    sweep = PeriodicTask.objects.get(task="reports.sweep")

    importlib.import_module("reports.migrations.0004_orphan_beat_entries").remove_orphans(apps, None)

    assert set(PeriodicTask.objects.values_list("pk", flat=True)) >= {kept.schedule.periodic_task_id, sweep.pk}
    assert not PeriodicTask.objects.filter(name="Report #999: gone").exists()


@pytest.mark.parametrize("status", ["queued", "running"])
def test_downloading_a_run_still_at_work_says_so(alice, status):
    run = ReportRun.objects.create(report=make_report(alice), trigger="manual", status=status)

    response = jwt_client(alice).get(f"/api/v1/report-runs/{run.pk}/download/")

    assert response.status_code == 409
    assert f"still {status}" in response.json()["detail"]
