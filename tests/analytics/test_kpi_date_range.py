"""Dates a KPI question may ask about: outside 1900-2199 is a 400 naming the field (a day
boundary there is no representable moment in every zone); at the edges every endpoint answers."""

import pytest

from tests.factories import jwt_client

pytestmark = pytest.mark.django_db

KPIS = ["kpis", "dashboard", "pipeline", "performance", "compliance", "revenue", "outreach", "skills", "engagement",
        "trends", "metrics"]  # fmt: skip


@pytest.mark.parametrize("kpi", KPIS)
@pytest.mark.parametrize("fresh", ["false", "true"])
def test_a_date_out_of_range_is_a_400_on_every_kpi(kpi, fresh, ada, facility_a):
    api = jwt_client(ada)
    for start, end, field in [("9999-12-30", "9999-12-31", "end_date"), ("0001-01-01", "0001-01-02", "start_date")]:
        response = api.get(f"/api/v1/analytics/{kpi}/", {"start_date": start, "end_date": end, "fresh": fresh})

        assert response.status_code == 400, response.content[:300]
        assert "between 1900-01-01 and 2199-12-31" in response.json()[field][0]


@pytest.mark.parametrize("kpi", KPIS)
@pytest.mark.parametrize(("start", "end"), [("2199-12-01", "2199-12-31"), ("1900-01-01", "1900-01-31")])
def test_the_edges_of_the_range_answer(kpi, start, end, ada, facility_a):
    params = {"start_date": start, "end_date": end, "fresh": "true"}
    if kpi == "trends":
        params["granularity"] = "week"

    response = jwt_client(ada).get(f"/api/v1/analytics/{kpi}/", params)

    assert response.status_code == 200, response.content[:300]


def test_a_report_with_fixed_dates_out_of_range_is_refused(alice):
    response = jwt_client(alice).post(
        "/api/v1/reports/",
        {"name": "far", "kpi": "pipeline", "start_date": "0001-01-01", "end_date": "0001-01-02"},
        format="json",
    )

    assert response.status_code == 400
    assert "start_date" in response.json()
