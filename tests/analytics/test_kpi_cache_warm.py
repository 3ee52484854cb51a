"""Cached answers are the bytes the API sends, and a refresh computes the answers asked for lately
before it moves the cache to a new version: readers do not all miss at once after a refresh."""

import json

import pytest

from analytics.cache import kpi_cache_stats
from analytics.services.refresh import refresh_request, refresh_runs_execute
from tests.factories import jwt_client
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db
PERIOD = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


def refresh_keeping_warm_list() -> None:
    runs = refresh_request(views=None, by=None, trigger="tests", enqueue=False)
    assert {run.status for run in refresh_runs_execute(run_ids=[run.pk for run in runs])} == {"succeeded"}


def test_a_cached_answer_is_the_same_json_as_a_computed_one(alice, build_a):
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    api = jwt_client(alice)

    computed = api.get("/api/v1/analytics/pipeline/", PERIOD)
    cached = api.get("/api/v1/analytics/pipeline/", PERIOD)

    assert computed["Content-Type"] == cached["Content-Type"] == "application/json"
    assert cached.content == computed.content
    assert json.loads(cached.content)["metrics"]["applications"] == 1


def test_after_a_refresh_the_answers_asked_for_lately_are_already_cached(alice, build_a):
    job = build_a.job("2026-01-01")
    build_a.application(job, "2026-01-02")
    refresh_all()
    api = jwt_client(alice)
    assert api.get("/api/v1/analytics/pipeline/", PERIOD).json()["metrics"]["applications"] == 1  # a miss
    build_a.application(job, "2026-01-03")

    refresh_keeping_warm_list()
    before = kpi_cache_stats()
    answer = api.get("/api/v1/analytics/pipeline/", PERIOD).json()
    after = kpi_cache_stats()

    assert answer["metrics"]["applications"] == 2  # the new data, not the answer cached before
    assert after["hit"] == before["hit"] + 1 and after["miss"] == before["miss"]


def test_a_question_not_asked_before_is_computed_on_first_request(alice, build_a):
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_keeping_warm_list()
    before = kpi_cache_stats()

    assert jwt_client(alice).get("/api/v1/analytics/compliance/", PERIOD).status_code == 200

    assert kpi_cache_stats()["miss"] == before["miss"] + 1
