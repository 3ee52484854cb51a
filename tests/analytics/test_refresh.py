"""Refreshing the views: logged, never twice at once, failures keep the old data."""

import pytest
from django.db import connection, connections

from accounts.models import AuditEvent
from analytics.models import RefreshRun
from analytics.registry import BY_KEY
from analytics.services.refresh import refresh_request, refresh_run_execute, refresh_runs_execute
from analytics.storage import view_lock_key
from tests.factories import jwt_client
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db


def test_admins_ask_for_a_refresh_and_get_202_with_the_runs(ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = jwt_client(ada).post("/api/v1/analytics/refresh/", {"views": ["pipeline"]}, format="json")

    assert response.status_code == 202
    runs = response.json()["runs"]
    assert [run["view"] for run in runs] == [
        "pipeline_cohort", "hires", "hires_daily", "hire_histogram", "offers", "jobs", "recruiter_daily", "recruiter_totals"
    ]  # fmt: skip
    assert {run["status"] for run in runs} == {"queued"}
    assert len(callbacks) == 1  # one task enqueued after commit


def test_a_refresh_asked_for_by_a_person_is_audited(ada):
    runs = jwt_client(ada).post("/api/v1/analytics/refresh/", {"views": ["hires"]}, format="json").json()["runs"]

    audit = AuditEvent.objects.get(action="analytics.refresh")
    assert (audit.actor, audit.object_repr, audit.details["trigger"]) == (ada, "hires", "api")
    assert audit.details["runs"] == [run["id"] for run in runs]


def test_a_scheduled_refresh_is_not_audited():
    refresh_request(views=["hires"], by=None, trigger="schedule", enqueue=False)

    assert not AuditEvent.objects.filter(action="analytics.refresh").exists()


def test_a_view_already_queued_is_not_queued_twice(ada):
    first = jwt_client(ada).post("/api/v1/analytics/refresh/", {"views": ["hires"]}, format="json").json()
    second = jwt_client(ada).post("/api/v1/analytics/refresh/", {"views": ["hires"]}, format="json").json()

    assert first["runs"][0]["id"] == second["runs"][0]["id"]
    assert RefreshRun.objects.filter(view="hires").count() == 1


def test_unknown_views_are_400_and_other_roles_403(ada, alice):
    response = jwt_client(ada).post("/api/v1/analytics/refresh/", {"views": ["nope"]}, format="json")
    assert response.status_code == 400
    assert "Unknown view(s): nope" in response.json()["views"][0]
    assert jwt_client(alice).post("/api/v1/analytics/refresh/", {}, format="json").status_code == 403


def test_runs_are_logged_with_rows_and_duration(ada, facility_a):
    refresh_all()
    refresh_all()  # the second one refreshes concurrently: the views hold data now

    body = jwt_client(ada).get("/api/v1/analytics/refresh-runs/", {"view": "compliance_daily"}).json()["results"]
    assert [run["status"] for run in body] == ["succeeded", "succeeded"]
    assert body[0]["rows"] == 0 and body[0]["duration_ms"] is not None
    assert RefreshRun.objects.filter(view="compliance_daily").order_by("id").last().concurrent is True


def test_an_overlapping_refresh_is_skipped(facility_a):
    (run,) = refresh_request(views=["offers"], by=None, trigger="tests", enqueue=False)
    holder = connections.create_connection("default")  # another session holds the view's lock
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [view_lock_key(BY_KEY["offers"])])
        result = refresh_run_execute(run=run)
    finally:
        holder.close()

    assert result.status == "skipped"
    assert "another refresh" in result.error


def test_a_failed_refresh_keeps_the_previous_data_and_says_why(ada, build_a, monkeypatch):
    from analytics import registry

    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    broken = registry.View("offers", "analytics_no_such_view", "SELECT 1", "pipeline")
    monkeypatch.setitem(registry.BY_KEY, "offers", broken)
    import analytics.services.refresh as refresh_module

    monkeypatch.setitem(refresh_module.BY_KEY, "offers", broken)
    (run,) = refresh_request(views=["offers"], by=None, trigger="tests", enqueue=False)

    (result,) = refresh_runs_execute(run_ids=[run.pk])

    assert result.status == "failed"
    assert "analytics_no_such_view" in result.error
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_pipeline_cohort")
        assert cursor.fetchone()[0] == 1  # still serving the last good data


def test_a_redelivered_run_is_not_run_twice(facility_a):
    (run,) = refresh_request(views=["offers"], by=None, trigger="tests", enqueue=False)
    refresh_runs_execute(run_ids=[run.pk])
    finished = RefreshRun.objects.get(pk=run.pk).finished_at

    refresh_runs_execute(run_ids=[run.pk])

    assert RefreshRun.objects.get(pk=run.pk).finished_at == finished
