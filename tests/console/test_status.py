"""The status panel: views against their schedules, heartbeats, the queue, failures; and the
refresh an Admin asks for from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Role
from analytics.models import RefreshRun
from console.selectors import ViewStatus, console_status, refresh_intervals
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita(facility_a):
    """A Recruiter who may use the console."""
    return make_user("rita", Role.RECRUITER, [facility_a], is_staff=True)


def test_the_seeded_schedules_give_each_view_its_interval():
    intervals = refresh_intervals()

    assert intervals["hires"] == timedelta(minutes=30)  # the pipeline group: every 30 minutes
    assert intervals["actor_days"] == timedelta(hours=1)  # everything: hourly
    assert intervals.keys() >= {"pipeline_cohort", "revenue_daily", "event_types_daily"}


def test_a_view_is_stale_once_it_is_a_whole_interval_late():
    now = timezone.now()
    hourly = timedelta(hours=1)

    assert not ViewStatus("v", "g", hourly, last_success=now - timedelta(minutes=90)).stale
    assert ViewStatus("v", "g", hourly, last_success=now - timedelta(minutes=130)).stale
    assert ViewStatus("v", "g", hourly, last_success=None).stale  # never refreshed
    assert ViewStatus("v", "g", None, last_success=now).stale  # no schedule refreshes it


def test_the_panel_reports_each_views_last_refresh_and_newest_run(ada):
    finished = timezone.now() - timedelta(minutes=5)
    RefreshRun.objects.create(view="hires", status="succeeded", finished_at=finished, duration_ms=31, rows=49)
    RefreshRun.objects.create(view="hires", status="failed", finished_at=timezone.now(), error="disk full")

    hires = next(view for view in console_status(user=ada).views if view.key == "hires")

    assert (hires.last_success, hires.duration_ms, hires.rows) == (finished, 31, 49)
    assert (hires.last_status, hires.last_error) == ("failed", "disk full")
    assert not hires.stale


def test_a_view_kept_up_to_date_shows_its_waiting_days_and_the_differences_its_rebuild_found(ada, client):
    from analytics.models import StaleBucket

    RefreshRun.objects.create(view="hires", status="succeeded", finished_at=timezone.now(), differences=0)
    RefreshRun.objects.create(view="offers", status="succeeded", finished_at=timezone.now(), differences=3)
    StaleBucket.objects.create(view="hires", facility_id=1, day="2026-03-02")
    StaleBucket.objects.filter(view="hires").update(marked_at=timezone.now() - timedelta(minutes=2))

    views = {view.key: view for view in console_status(user=ada).views}

    hires, offers = views["hires"], views["offers"]
    assert (hires.kept_up, hires.marked, hires.differences, hires.stale) == (True, 1, 0, False)
    assert (offers.differences, offers.stale) == (3, True)  # a rebuild that disagreed is a fault to look at
    StaleBucket.objects.filter(view="hires").update(marked_at=timezone.now() - timedelta(minutes=6))
    assert next(view for view in console_status(user=ada).views if view.key == "hires").stale  # waited too long
    assert not views["actor_days"].kept_up
    client.force_login(ada)
    page = client.get("/admin/status/").content.decode()
    assert "1 day waiting" in page and "3 rows differed at the last rebuild" in page


def test_failures_of_the_last_week_are_counted_in_the_callers_scope(ada, rita, facility_a):
    from accounts.principals import Actor
    from reports.models import ReportRun
    from reports.services.definitions import report_save

    mine = report_save(by=Actor.system("tests"), owner=rita, name="mine", kpi="pipeline", period="last_7_days",
                       format="csv", recipients=["r@example.com"])  # fmt: skip
    theirs = report_save(by=Actor.system("tests"), owner=ada, name="theirs", kpi="pipeline", period="last_7_days",
                         format="csv", recipients=["a@example.com"])  # fmt: skip
    ReportRun.objects.create(report=mine, status="failed", error="x")
    ReportRun.objects.create(report=theirs, status="failed", error="y")
    old = ReportRun.objects.create(report=theirs, status="failed", error="z")
    ReportRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))

    assert console_status(user=ada).failed_runs == 2
    assert console_status(user=rita).failed_runs == 1


def test_an_admin_refreshes_a_view_from_the_panel(client, ada, django_capture_on_commit_callbacks):
    client.force_login(ada)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/admin/status/refresh/", {"view": "hires"}, follow=True)

    run = RefreshRun.objects.get(view="hires")
    assert (run.status, run.trigger, run.requested_by) == ("queued", "admin", ada)
    assert f"hires #{run.pk} (queued)" in response.content.decode()
    assert f'data-run="{run.pk}"' in response.content.decode()  # the run is in the panel's list
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(action="analytics.refresh").actor == ada


def test_only_admins_refresh_and_only_known_views(client, ada, rita):
    client.force_login(rita)
    page = client.get("/admin/status/").content.decode()
    refused = client.post("/admin/status/refresh/", {"view": "hires"}, follow=True).content.decode()
    client.force_login(ada)
    unknown = client.post("/admin/status/refresh/", {"view": "nope"}, follow=True).content.decode()

    assert "Refresh now" not in page and 'id="views-table"' in page
    assert "Only Admins may refresh views." in refused
    assert "Unknown view" in unknown
    assert not RefreshRun.objects.exists()


def test_the_refresh_endpoint_takes_posts_only(client, ada):
    client.force_login(ada)

    assert client.get("/admin/status/refresh/").status_code == 405


def test_the_panel_is_for_staff_only(client, alice):
    client.force_login(alice)  # a Recruiter without staff status

    response = client.get("/admin/status/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_intervals_read_as_an_operator_says_them():
    assert ViewStatus("v", "g", timedelta(minutes=30)).interval_display == "every 30 min"
    assert ViewStatus("v", "g", timedelta(hours=1)).interval_display == "every 1 h"
    assert ViewStatus("v", "g", timedelta(days=7)).interval_display == "every 7 d"
