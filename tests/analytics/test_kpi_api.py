"""The KPI API: parameters, scope, privacy per role, freshness, cache."""

import pytest
from django.core.cache import cache

from analytics.cache import STATS_KEYS
from tests.factories import jwt_client, key_client, make_api_key
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/pipeline/"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start_date": "2026-13-01"}, "start_date", "Use a date as YYYY-MM-DD."),
        ({"end_date": "yesterday"}, "end_date", "Use a date as YYYY-MM-DD."),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date", "Must not be before start_date."),
        ({"start_date": "2024-01-01", "end_date": "2026-01-01"}, "end_date", "The period may span at most 731 days."),
        ({"group_by": "region"}, "group_by", "The only grouping is 'facility'."),
        ({"fresh": "maybe"}, "fresh", "Use true or false."),
        ({"fresh": "true", "start_date": "2026-01-01", "end_date": "2026-03-01"}, "fresh",
         "Fresh numbers are computed for periods of at most 31 days."),
    ],
)  # fmt: skip
def test_bad_parameters_are_400_with_the_field(alice, params, field, message):
    response = jwt_client(alice).get(URL, params)

    assert response.status_code == 400
    assert response.json()[field] == [message]


def test_an_unknown_parameter_is_400(alice):
    assert jwt_client(alice).get(URL, {"facilty": "MERCY-01"}).status_code == 400


def test_the_default_period_is_the_30_days_ending_today(alice):
    from analytics.params import reporting_today

    period = jwt_client(alice).get(URL).json()["period"]

    assert period["end_date"] == reporting_today().isoformat()
    from datetime import date

    assert (date.fromisoformat(period["end_date"]) - date.fromisoformat(period["start_date"])).days == 29


@pytest.mark.parametrize("code", ["STJ-02", "NOPE-99", "MERCY-01,STJ-02"])
def test_a_facility_not_yours_and_one_that_does_not_exist_are_the_same_404(alice, facility_b, code):
    response = jwt_client(alice).get(URL, {"facility": code})

    assert response.status_code == 404
    assert response.json() == {"detail": f"Facility not found: {'NOPE-99' if code == 'NOPE-99' else 'STJ-02'}."}


def test_anonymous_401_api_key_403(facility_a, client):
    assert client.get(URL).status_code == 401
    assert key_client(make_api_key("ats", [facility_a])).get(URL).status_code == 403


def test_a_viewer_gets_suppressed_numbers_a_recruiter_does_not(alice, carol, build_a, settings):
    settings.PRIVACY_MAX_NOISE = 0  # suppression alone here (tests/privacy/ perturbs)
    job = build_a.job("2026-01-01", positions=20)
    for _ in range(14):
        build_a.application(job, "2026-01-02", status="rejected", stage=1)
    for _ in range(3):
        build_a.application(job, "2026-01-02", status="hired", stage=4, hired="2026-01-09")
    refresh_all()
    params = {"start_date": "2026-01-01", "end_date": "2026-01-31"}

    recruiter = jwt_client(alice).get(URL, params).json()
    viewer = jwt_client(carol).get(URL, params).json()

    assert recruiter["metrics"]["hires"] == 3 and recruiter["suppressed"] == []
    assert viewer["metrics"]["applications"] == 17
    assert viewer["metrics"]["hires"] is None
    assert viewer["metrics"]["by_status"]["hired"] is None
    assert viewer["metrics"]["by_status"]["rejected"] is None  # the complement: 17 - 14 would reveal 3
    assert viewer["metrics"]["hire_rate"] is None
    assert viewer["metrics"]["time_to_hire_days"] == {"mean": None, "median": None}
    assert "metrics.by_status.rejected" in viewer["suppressed"]


def test_privacy_mode_off_shows_everything(carol, build_a, settings):
    settings.PRIVACY_MODE = False
    build_a.application(build_a.job("2026-01-01"), "2026-01-02", status="hired", stage=4, hired="2026-01-05")
    refresh_all()

    body = jwt_client(carol).get(URL, {"start_date": "2026-01-01", "end_date": "2026-01-31"}).json()

    assert body["metrics"]["hires"] == 1


def test_fresh_is_for_admins_and_recruiters(alice, carol):
    assert jwt_client(carol).get(URL, {"fresh": "true"}).status_code == 403
    fresh = jwt_client(alice).get(URL, {"fresh": "true"})
    assert fresh.status_code == 200
    assert fresh.json()["data_as_of"] == "now"


def test_the_views_answer_until_refreshed_and_fresh_sees_new_rows_at_once(alice, build_a):
    refresh_all()
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    params = {"start_date": "2026-01-01", "end_date": "2026-01-31"}

    assert jwt_client(alice).get(URL, params).json()["metrics"]["applications"] == 0
    assert jwt_client(alice).get(URL, {**params, "fresh": "true"}).json()["metrics"]["applications"] == 1
    refresh_all()
    assert jwt_client(alice).get(URL, params).json()["metrics"]["applications"] == 1


def test_answers_are_cached_and_a_refresh_invalidates_them(alice, build_a):
    refresh_all()
    params = {"start_date": "2026-01-01", "end_date": "2026-01-31"}
    hits = int(cache.get(STATS_KEYS["hit"]) or 0)

    first = jwt_client(alice).get(URL, params).json()
    second = jwt_client(alice).get(URL, params).json()

    assert first == second
    assert int(cache.get(STATS_KEYS["hit"]) or 0) == hits + 1
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    assert jwt_client(alice).get(URL, params).json()["metrics"]["applications"] == 1


def test_the_cache_never_serves_a_recruiters_answer_to_a_viewer(alice, carol, build_a):
    job = build_a.job("2026-01-01")
    for _ in range(3):
        build_a.application(job, "2026-01-02")
    refresh_all()
    params = {"start_date": "2026-01-01", "end_date": "2026-01-31"}

    assert jwt_client(alice).get(URL, params).json()["metrics"]["applications"] == 3
    assert jwt_client(carol).get(URL, params).json()["metrics"]["applications"] is None


def test_with_redis_down_the_api_still_answers_from_postgresql(alice, build_a, settings):
    import socket

    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{closed}/0",
            "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }

    response = jwt_client(alice).get(URL, {"start_date": "2026-01-01", "end_date": "2026-01-31"})

    assert response.status_code == 200
    assert response.json()["metrics"]["applications"] == 1


def test_cache_stats_for_admins(ada, alice):
    assert set(jwt_client(ada).get("/api/v1/analytics/cache-stats/").json()) == {"hit", "miss", "error"}
    assert jwt_client(alice).get("/api/v1/analytics/cache-stats/").status_code == 403


def test_concurrent_misses_compute_once(alice, build_a):
    import threading

    from analytics.cache import kpi_cached

    calls = []
    barrier = threading.Barrier(5)

    def compute():
        calls.append(1)
        import time

        time.sleep(0.3)
        return {"answer": 42}

    answers = []

    def ask():
        barrier.wait()
        answers.append(kpi_cached(kpi="probe", parts={"unique": id(barrier)}, compute=compute))

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [{"answer": 42}] * 5
    assert len(calls) == 1
