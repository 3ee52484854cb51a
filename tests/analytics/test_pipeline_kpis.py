"""Pipeline KPIs against hand-built data; every expected number is worked out here."""

import pytest

from tests.factories import jwt_client
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db

JANUARY = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


def pipeline(user, **params):
    response = jwt_client(user).get("/api/v1/analytics/pipeline/", {**JANUARY, **params})
    assert response.status_code == 200, response.json()
    return response.json()


def test_cohort_is_by_applied_date_and_hires_by_hired_date(alice, build_a):
    job = build_a.job("2025-12-01")
    build_a.application(job, "2025-12-20", status="hired", stage=4, hired="2026-01-10")  # hire in Jan, cohort Dec
    build_a.application(job, "2026-01-05", status="screening", stage=1)
    build_a.application(job, "2026-01-06", status="hired", stage=4, hired="2026-02-03")  # cohort Jan, hire Feb
    refresh_all()

    metrics = pipeline(alice)["metrics"]

    assert metrics["applications"] == 2
    assert metrics["hires"] == 1
    assert metrics["by_status"] == {"applied": 0, "screening": 1, "interviewing": 0, "offered": 0, "hired": 1,
                                    "rejected": 0, "withdrawn": 0}  # fmt: skip
    assert metrics["hire_rate"] == 0.5  # the cohort hire reached hired (in Feb): 1 of 2


def test_the_funnel_counts_skipped_stages_as_passed(alice, build_a):
    job = build_a.job("2026-01-01")
    build_a.application(job, "2026-01-02", status="hired", stage=4, hired="2026-01-09")  # applied -> hired
    build_a.application(job, "2026-01-02", status="rejected", stage=2)  # rejected after interviewing
    build_a.application(job, "2026-01-03", status="withdrawn", stage=0)
    build_a.application(job, "2026-01-03", status="screening", stage=1)
    refresh_all()

    funnel = pipeline(alice)["metrics"]["funnel"]

    assert [(s["stage"], s["count"]) for s in funnel] == [
        ("applied", 4), ("screening", 3), ("interviewing", 2), ("offered", 1), ("hired", 1),
    ]  # fmt: skip
    assert [s["conversion"] for s in funnel] == [None, 0.75, 0.6667, 0.5, 1.0]


def test_time_to_hire_mean_and_exact_median(alice, build_a):
    job = build_a.job("2025-12-01", positions=5)
    for applied, hired in [("2025-12-31", "2026-01-02"), ("2026-01-01", "2026-01-05"), ("2026-01-01", "2026-01-11"),
                           ("2026-01-01", "2026-01-31")]:  # 2, 4, 10, 30 days  # fmt: skip
        build_a.application(job, applied, status="hired", stage=4, hired=hired)
    refresh_all()

    assert pipeline(alice)["metrics"]["time_to_hire_days"] == {"mean": 11.5, "median": 7.0}


def test_fill_rate_counts_at_most_the_positions_of_each_job(alice, build_a):
    two_seats = build_a.job("2026-01-02", positions=2, filled="2026-01-20")
    one_seat = build_a.job("2026-01-03", positions=1)
    for _ in range(3):  # three hires for two seats count as two
        build_a.application(two_seats, "2026-01-05", status="hired", stage=4, hired="2026-01-15")
    build_a.application(one_seat, "2026-01-06", status="rejected", stage=1)
    refresh_all()

    metrics = pipeline(alice)["metrics"]

    assert (metrics["jobs_opened"], metrics["positions_opened"], metrics["jobs_filled"]) == (2, 3, 1)
    assert metrics["fill_rate"] == 0.6667  # (2 + 0) / 3
    assert metrics["time_to_fill_days"] == {"mean": 18.0, "median": 18.0}


def test_offer_acceptance_counts_first_offers_in_the_period_later_hired(alice, build_a):
    job = build_a.job("2025-12-01", positions=3)
    build_a.application(job, "2025-12-10", status="hired", stage=4, offered="2026-01-04", hired="2026-02-01")
    build_a.application(job, "2025-12-11", status="rejected", stage=3, offered="2026-01-05")
    build_a.application(job, "2025-12-12", status="hired", stage=4, offered="2025-12-30", hired="2026-01-03")
    refresh_all()

    assert pipeline(alice)["metrics"]["offer_acceptance_rate"] == 0.5


def test_rates_over_nothing_are_null(alice, facility_a):
    refresh_all()

    metrics = pipeline(alice)["metrics"]

    assert metrics["applications"] == 0
    assert metrics["hire_rate"] is None
    assert metrics["time_to_hire_days"] == {"mean": None, "median": None}


def test_group_by_facility_adds_a_row_per_facility(bob, build_a, build_b):
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    build_b.application(build_b.job("2026-01-01"), "2026-01-03")
    build_b.application(build_b.job("2026-01-01"), "2026-01-04")
    refresh_all()

    body = pipeline(bob, group_by="facility")

    assert body["facilities"] == ["MERCY-01", "STJ-02"]
    assert [(row["facility"], row["metrics"]["applications"]) for row in body["rows"]] == [("MERCY-01", 1),
                                                                                          ("STJ-02", 2)]  # fmt: skip
    assert body["metrics"]["applications"] == 3


def test_the_envelope(alice, build_a):
    refresh_all()

    body = pipeline(alice)

    assert body["kpi"] == "pipeline"
    assert body["period"] == {"start_date": "2026-01-01", "end_date": "2026-01-31", "time_zone": "UTC"}
    assert body["facilities"] == ["MERCY-01"]
    assert body["data_as_of"].endswith("Z")
    assert body["suppressed"] == []
    assert "rows" not in body


@pytest.mark.parametrize("extra_hours", [[], [30]])  # an odd and an even number of hires
def test_every_facilitys_median_comes_from_the_histogram_and_equals_the_hires_own(build_a, build_b, extra_hours):
    """Over every facility the mean and median are read from ``hire_histogram`` (whole days to
    hire) and two lookups; they equal the median and mean of the hires themselves, with values
    sharing a day bucket and the middle falling between buckets."""
    from datetime import timedelta
    from statistics import mean, median

    from accounts.models import Role
    from events.models import Application
    from tests.factories import make_user

    admin = make_user("median-admin", Role.ADMIN)
    hours = [2, 5, 26, 27, 30, 49, 200, 400, *extra_hours]
    for number, hour in enumerate(hours):
        build = build_a if number % 2 else build_b
        app = build.application(build.job("2025-12-01"), "2026-01-02", status="hired", stage=4, hired="2026-01-02")
        Application.objects.filter(pk=app.pk).update(hired_at=app.applied_at + timedelta(hours=hour))
    refresh_all()

    days = [hour / 24 for hour in hours]
    figures = pipeline(admin)["metrics"]["time_to_hire_days"]
    assert figures == {"mean": round(mean(days), 2), "median": round(median(days), 2)}
    assert pipeline(admin)["metrics"]["hires"] == len(hours)
