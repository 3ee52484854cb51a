"""A cached KPI answer costs one Redis round trip: the throttle count, the check that the caller's
remembered scope is current, and the answer are sent together. The remembered user is only
provisional until that check: a change to the user is still seen on the very next request."""

import pytest

from accounts.models import Role
from accounts.principals import Actor
from accounts.services import user_set_access
from tests.factories import jwt_client
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/pipeline/"
PERIOD = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
BY = Actor.system("tests")


@pytest.fixture
def answered(alice, build_a):
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        build_a.application(build_a.job("2026-01-01"), day)
    refresh_all()
    api = jwt_client(alice)
    first = api.get(URL, PERIOD)  # computed and cached; the process now remembers alice
    assert first.status_code == 200 and first.json()["metrics"]["applications"] == 3
    api.get(URL, PERIOD)  # and Redis knows the script of a cached answer's calls
    return api, first


def test_a_cached_answer_costs_one_redis_round_trip(answered, redis_round_trips):
    api, first = answered

    again = api.get(URL, PERIOD)

    assert again.status_code == 200 and again.content == first.content
    assert len(redis_round_trips) == 1


def test_a_deactivated_user_is_refused_on_the_next_request(answered, alice):
    api, _ = answered
    alice.is_active = False
    alice.save()

    assert api.get(URL, PERIOD).status_code == 401


def test_a_role_change_is_seen_on_the_next_request(answered, alice, facility_a):
    api, first = answered
    assert first.json()["suppressed"] == []

    user_set_access(by=BY, user=alice, role=Role.VIEWER, facilities=[facility_a])
    answer = api.get(URL, PERIOD).json()

    assert answer["metrics"]["applications"] is None  # 3 is a small cell for a Viewer
    assert "metrics.applications" in answer["suppressed"]
    assert api.get(URL, {**PERIOD, "fresh": "true"}).status_code == 403  # fresh numbers are not a Viewer's


def test_a_revoked_facility_is_a_404_although_its_answer_is_cached(answered, alice, facility_a):
    api, _ = answered
    assert api.get(URL, {**PERIOD, "facility": facility_a.code}).status_code == 200  # cached too

    user_set_access(by=BY, user=alice, role=Role.RECRUITER, facilities=[])

    assert api.get(URL, {**PERIOD, "facility": facility_a.code}).status_code == 404


def test_the_throttle_still_counts_cached_answers(answered, settings):
    api, _ = answered
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/min"},
    }

    statuses = [api.get(URL, PERIOD).status_code for _ in range(4)]

    assert statuses[-1] == 429 and statuses.count(200) <= 3
    assert 0 < int(api.get(URL, PERIOD)["Retry-After"]) <= 60


def test_a_bad_question_is_refused_as_before(answered):
    api, _ = answered

    response = api.get(URL, {**PERIOD, "granularity": "hour", "fresh": "maybe"})

    assert response.status_code == 400
    assert set(response.json()) == {"fresh", "granularity"}
