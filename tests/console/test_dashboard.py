"""The console's home page: the last 30 days against the 30 before, from the API's own answers,
suppressed for the people whose API answers are suppressed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from accounts.models import Role
from analytics.params import reporting_today
from console.selectors import Headline, console_dashboard
from tests.factories import jwt_client, make_user
from tests.kpi_data import Builder, refresh_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def recent(facility_a):
    """Three applications at facility A within the last 30 days and twelve in the 30 before."""
    today, build_a = reporting_today(), Builder(facility_a)
    job = build_a.job((today - timedelta(days=70)).isoformat(), positions=5)
    for offset in (1, 2, 3):
        build_a.application(job, (today - timedelta(days=offset)).isoformat())
    for offset in range(35, 47):
        build_a.application(job, (today - timedelta(days=offset)).isoformat())
    refresh_all()


def test_the_headline_compares_the_last_30_days_with_the_30_before(ada, recent):
    dashboard = console_dashboard(user=ada)

    applications = next(item for item in dashboard.headline if item.key == "applications")
    assert (applications.current, applications.previous) == (3, 12)
    assert applications.change == -0.75 and applications.change_display == "-75.0%"
    assert dashboard.end - dashboard.start == timedelta(days=29)
    assert dashboard.previous_end == dashboard.start - timedelta(days=1)
    assert len(dashboard.daily) == 30 and sum(day["applications"] for day in dashboard.daily) == 3


def test_a_viewers_home_page_shows_the_suppressed_numbers_of_its_api(client, facility_a, recent):
    vera = make_user("vera", Role.VIEWER, [facility_a], is_staff=True)
    api = jwt_client(vera).get("/api/v1/analytics/dashboard/").json()

    dashboard = console_dashboard(user=vera)
    client.force_login(vera)
    page = client.get("/admin/").content.decode()

    assert api["metrics"]["applications"] is None  # 3 is a small cell
    assert next(item for item in dashboard.headline if item.key == "applications").current is None
    assert {item.key: item.current for item in dashboard.headline} == {
        item.key: api["metrics"][item.key] for item in dashboard.headline
    }
    assert dashboard.suppressed
    assert "small counts are suppressed" in page


def test_the_home_page_renders_the_dashboard_and_the_system_tiles(client, ada, recent):
    client.force_login(ada)

    page = client.get("/admin/").content.decode()

    assert 'data-metric="applications"' in page and "Applications per day" in page
    assert page.count('<figure class="console-chart') == 5  # four daily series and the funnel
    assert 'id="status-tiles"' in page


def test_rates_change_in_points_and_counts_relatively():
    assert Headline("hire_rate", "Hire rate", "rate", 0.25, 0.2).change_display == "+5.0 pts"
    assert Headline("hires", "Hires", "count", 15, 10).change_display == "+50.0%"
    assert Headline("hires", "Hires", "count", 15, 0).change_display == "—"  # no base to compare with
    assert Headline("hires", "Hires", "count", None, 10).display == "—"  # suppressed


def test_a_period_with_nothing_in_it_is_zero_not_an_error(ada, facility_a):
    refresh_all()

    dashboard = console_dashboard(user=ada, today=date(2026, 1, 31))

    assert next(item for item in dashboard.headline if item.key == "applications").current == 0
