"""Compliance, revenue, outreach, skills, engagement, performance and trends against
hand-built data; each expected number is worked out in the test."""

from datetime import date
from decimal import Decimal

import pytest

from events.models import Invoice
from tests.factories import (
    jwt_client,
    make_application,
    make_candidate,
    make_compliance_check,
    make_event,
    make_outreach,
    make_placement,
)
from tests.kpi_data import at, refresh_all

pytestmark = pytest.mark.django_db


def kpi(user, name, **params):
    response = jwt_client(user).get(f"/api/v1/analytics/{name}/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def invoice(facility, placement, day: str, amount: str, number: str):
    return Invoice.objects.create(
        facility=facility, placement=placement, external_id=number, amount=Decimal(amount), issued_at=at(day),
        issued_date=date.fromisoformat(day),
    )  # fmt: skip


def test_month_growth_uses_the_month_before_the_period(alice, facility_a):
    placement = make_placement(facility_a, start_date=date(2025, 11, 1))
    invoice(facility_a, placement, "2025-12-10", "1000.00", "I-1")  # before the period
    invoice(facility_a, placement, "2026-01-10", "1500.00", "I-2")
    invoice(facility_a, placement, "2026-02-05", "750.00", "I-3")
    refresh_all()

    body = kpi(alice, "revenue", start_date="2026-01-01", end_date="2026-02-28")["metrics"]

    assert body["by_month"] == [
        {"month": "2026-01", "revenue": 1500.0, "growth": 0.5},  # 1500 / 1000 - 1
        {"month": "2026-02", "revenue": 750.0, "growth": -0.5},
    ]
    assert (body["total_revenue"], body["invoices"], body["placements_invoiced"]) == (2250.0, 2, 1)
    assert body["avg_revenue_per_placement"] == 2250.0


def test_growth_is_null_after_an_empty_month_and_active_placements_overlap(alice, facility_a):
    open_ended = make_placement(facility_a, start_date=date(2025, 6, 1), end_date=None)
    make_placement(facility_a, start_date=date(2025, 6, 1), end_date=date(2025, 12, 31))  # ended before
    make_placement(facility_a, start_date=date(2026, 1, 31), end_date=date(2026, 3, 1))  # starts on the last day
    invoice(facility_a, open_ended, "2026-01-20", "100.00", "I-1")
    refresh_all()

    body = kpi(alice, "revenue", start_date="2026-01-01", end_date="2026-01-31")["metrics"]

    assert body["by_month"] == [{"month": "2026-01", "revenue": 100.0, "growth": None}]
    assert body["active_placements"] == 2


def test_compliance_counts_rates_and_expiring_after_the_period(alice, facility_a):
    candidate = make_candidate(facility_a)
    checks = [
        ("compliant", "none", 90, "2026-03-01"),  # expires 29 days after end: counts
        ("compliant", "none", 80, "2026-03-03"),  # 31 days after: does not
        ("violation", "high", 20, None),
        ("violation", "low", 30, "2026-01-15"),  # already expired at end: no
    ]
    for status, severity, score, expires in checks:
        make_compliance_check(
            facility_a, candidate=candidate, status=status, severity=severity, score=score,
            expires_on=date.fromisoformat(expires) if expires else None, checked_at=at("2026-01-10"),
            checked_date=date(2026, 1, 10),
        )  # fmt: skip
    refresh_all()

    body = kpi(alice, "compliance", start_date="2026-01-01", end_date="2026-01-31")["metrics"]

    assert (body["checks"], body["compliant"], body["violations"]) == (4, 2, 2)
    assert body["compliance_rate"] == 0.5
    assert body["violations_by_severity"] == {"low": 1, "medium": 0, "high": 1}
    assert body["avg_score"] == 55.0
    assert body["by_status"] == {"compliant": 2, "expiring": 0, "expired": 0, "missing": 0, "violation": 2}
    assert body["expiring_within_30_days"] == 1


def test_outreach_rates_median_and_conversion(alice, facility_a):
    jane, john, ann = (make_candidate(facility_a) for _ in range(3))
    make_outreach(facility_a, candidate=jane, channel="sms", sent_at=at("2026-01-05", 9), sent_date=date(2026, 1, 5),
                  replied_at=at("2026-01-05", 11))  # 2 h  # fmt: skip
    make_outreach(facility_a, candidate=jane, channel="email", sent_at=at("2026-01-06", 9), sent_date=date(2026, 1, 6))
    make_outreach(facility_a, candidate=john, channel="sms", sent_at=at("2026-01-07", 9), sent_date=date(2026, 1, 7),
                  replied_at=at("2026-01-08", 1))  # 16 h  # fmt: skip
    make_outreach(facility_a, candidate=ann, channel="phone", sent_at=at("2026-01-08", 9), sent_date=date(2026, 1, 8),
                  replied_at=at("2026-01-08", 10))  # 1 h  # fmt: skip
    make_application(facility_a, candidate=jane, applied_at=at("2026-02-01"), applied_date=date(2026, 2, 1))  # 27 d
    make_application(facility_a, candidate=john, applied_at=at("2026-02-20"), applied_date=date(2026, 2, 20))  # 44 d
    refresh_all()

    body = kpi(alice, "outreach", start_date="2026-01-01", end_date="2026-01-31")["metrics"]

    assert (body["sent"], body["replied"], body["response_rate"]) == (4, 3, 0.75)
    assert body["median_response_hours"] == 2.0
    assert body["by_channel"]["sms"] == {"sent": 2, "replied": 2, "response_rate": 1.0}
    assert body["by_channel"]["whatsapp"] == {"sent": 0, "replied": 0, "response_rate": None}
    assert body["outreach_to_application_rate"] == 0.3333  # jane of jane, john, ann


def test_skills_demand_ties_and_gap_ratio(alice, build_a, facility_a):
    build_a.job("2026-01-02", skills=["icu", "bls"], specialty="ICU", bill_rate="90.00")
    build_a.job("2026-01-03", skills=["bls", "acls"], specialty="ICU", bill_rate="100.00")
    make_candidate(facility_a, skills=["bls"], registered_date=date(2025, 12, 1))
    make_candidate(facility_a, skills=["bls", "icu"], registered_date=date(2026, 1, 15))
    make_candidate(facility_a, skills=["icu"], registered_date=date(2026, 2, 15))  # after end_date
    refresh_all()

    body = kpi(alice, "skills", start_date="2026-01-01", end_date="2026-01-31")["metrics"]

    assert body["demand"] == [
        {"skill": "bls", "jobs": 2, "candidates": 2, "gap_ratio": 1.0},
        {"skill": "acls", "jobs": 1, "candidates": 0, "gap_ratio": None},
        {"skill": "icu", "jobs": 1, "candidates": 1, "gap_ratio": 1.0},
    ]
    assert body["bill_rate_by_specialty"] == [{"specialty": "ICU", "jobs": 2, "mean_bill_rate": 95.0}]


def test_dau_counts_empty_days_and_distinct_actors(alice, facility_a):
    for actor, day in [("r1", "2026-01-01"), ("r1", "2026-01-01"), ("r2", "2026-01-01"), ("r1", "2026-01-03")]:
        make_event(facility_a, actor=actor, occurred_at=f"{day}T10:00:00+00:00")
    make_event(facility_a, actor="r3", occurred_at="2025-12-20T10:00:00+00:00")  # before: in MAU only
    refresh_all()

    body = kpi(alice, "engagement", start_date="2026-01-01", end_date="2026-01-04")["metrics"]

    assert body["dau"] == 0.75  # (2 + 0 + 1 + 0) / 4 days
    assert (body["wau"], body["mau"]) == (2, 3)
    assert body["stickiness"] == 0.25
    assert body["events_by_type"] == {"user.login": 4}


def test_trends_fill_every_bucket(alice, build_a):
    job = build_a.job("2026-01-01")
    build_a.application(job, "2026-01-06")
    build_a.application(job, "2026-01-20")
    build_a.application(job, "2026-01-21")
    refresh_all()

    weekly = kpi(alice, "trends", metric="applications", granularity="week", start_date="2026-01-01",
                 end_date="2026-01-31")["metrics"]["series"]  # fmt: skip
    monthly = kpi(alice, "trends", metric="applications", granularity="month", start_date="2025-12-15",
                  end_date="2026-02-02")["metrics"]["series"]  # fmt: skip

    assert weekly == [
        {"bucket": "2025-12-29", "value": 0},
        {"bucket": "2026-01-05", "value": 1},
        {"bucket": "2026-01-12", "value": 0},
        {"bucket": "2026-01-19", "value": 2},
        {"bucket": "2026-01-26", "value": 0},
    ]
    assert monthly == [
        {"bucket": "2025-12", "value": 0},
        {"bucket": "2026-01", "value": 3},
        {"bucket": "2026-02", "value": 0},
    ]


def test_bad_trend_metric_and_metric_types_are_400(alice):
    assert jwt_client(alice).get("/api/v1/analytics/trends/", {"metric": "vibes"}).status_code == 400
    response = jwt_client(alice).get("/api/v1/analytics/metrics/", {"metric_types": "time_to_hire,vibes"})
    assert response.status_code == 400
    assert "time_to_hire, fill_rate, candidate_pipeline" in response.json()["metric_types"][0]


def test_metrics_compatibility_shape(alice, build_a):
    job = build_a.job("2026-01-01")
    build_a.application(job, "2026-01-02", status="applied")
    build_a.application(job, "2026-01-02", status="screening", stage=1)
    refresh_all()

    body = kpi(alice, "metrics", metric_types="candidate_pipeline", start_date="2026-01-01", end_date="2026-01-31")

    assert body["metrics"] == {"candidate_pipeline": {"new": 1, "screening": 1, "interviewing": 0, "offered": 0}}


def test_performance_by_source_sorted_by_hires(alice, build_a):
    job = build_a.job("2026-01-01", positions=5)
    build_a.application(job, "2026-01-02", source="website", status="hired", stage=4, hired="2026-01-12")
    build_a.application(job, "2026-01-02", source="agency", status="hired", stage=4, hired="2026-01-06")
    build_a.application(job, "2026-01-02", source="agency", status="hired", stage=4, hired="2026-01-08")
    build_a.application(job, "2026-01-03", source="website", status="rejected", stage=1)
    refresh_all()

    by_source = kpi(alice, "performance", start_date="2026-01-01", end_date="2026-01-31")["metrics"]["by_source"]

    assert by_source == [
        {"source": "agency", "applications": 2, "hires": 2, "hire_rate": 1.0, "time_to_hire_days": 5.0},
        {"source": "website", "applications": 2, "hires": 1, "hire_rate": 0.5, "time_to_hire_days": 10.0},
    ]


@pytest.mark.parametrize("name", ["kpis", "dashboard", "performance", "compliance", "revenue", "outreach", "skills",
                                  "engagement", "trends", "metrics"])  # fmt: skip
def test_every_kpi_endpoint_answers_the_envelope_and_hides_other_facilities(alice, facility_b, name):
    body = kpi(alice, name, group_by="facility")

    assert set(body) >= {"kpi", "period", "facilities", "data_as_of", "metrics", "suppressed", "rows"}
    assert body["facilities"] == ["MERCY-01"]
    assert [row["facility"] for row in body["rows"]] == ["MERCY-01"]
    assert jwt_client(alice).get(f"/api/v1/analytics/{name}/", {"facility": "STJ-02"}).status_code == 404


@pytest.mark.parametrize("name", ["kpis", "dashboard", "pipeline", "performance", "compliance", "revenue",
                                  "outreach", "skills", "engagement", "trends", "metrics"])  # fmt: skip
def test_after_a_refresh_every_answer_says_when_its_data_is_from(alice, name):
    """``data_as_of`` is the oldest of the answer's views: null only while one was never refreshed."""
    assert kpi(alice, name)["data_as_of"] is None
    refresh_all()

    assert kpi(alice, name)["data_as_of"] is not None
