"""Property: for random small datasets, the views answer exactly what the base tables do."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Application, Candidate, Job
from tests.factories import jwt_client
from tests.kpi_data import Builder, refresh_all

pytestmark = pytest.mark.django_db
JANUARY = date(2026, 1, 1)

day = st.integers(min_value=-10, max_value=40).map(lambda n: (JANUARY + timedelta(days=n)).isoformat())
application = st.tuples(
    day,  # applied
    st.integers(min_value=0, max_value=4),  # furthest stage
    st.sampled_from(["applied", "screening", "rejected", "withdrawn", "hired"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=30)),  # days to offer
    st.one_of(st.none(), st.integers(min_value=0, max_value=30)),  # days to hire
    st.integers(min_value=0, max_value=2),  # which job
)
job = st.tuples(
    day, st.integers(min_value=1, max_value=3), st.one_of(st.none(), st.integers(min_value=1, max_value=60))
)


def shift(iso: str, days: int | None) -> str | None:
    return None if days is None else (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=st.lists(job, min_size=3, max_size=3), applications=st.lists(application, max_size=25))
def test_views_equal_fresh(alice, facility_a, jobs, applications):
    Application.objects.all().delete()
    Candidate.objects.all().delete()
    Job.objects.all().delete()
    build = Builder(facility_a)
    made = [build.job(opened, positions=positions, filled=shift(opened, filled)) for opened, positions, filled in jobs]
    for applied, stage, status, offer, hire, which in applications:
        hired = shift(applied, hire) if stage == 4 else None
        build.application(made[which], applied, status=status, stage=stage, offered=shift(applied, offer), hired=hired)
    refresh_all()
    params = {"start_date": "2026-01-01", "end_date": "2026-01-31"}

    from_views = jwt_client(alice).get("/api/v1/analytics/pipeline/", params).json()
    fresh = jwt_client(alice).get("/api/v1/analytics/pipeline/", {**params, "fresh": "true"}).json()

    assert from_views["metrics"] == fresh["metrics"]
