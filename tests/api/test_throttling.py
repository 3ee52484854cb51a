"""Throttles count in Redis and answer 429 with Retry-After."""

import pytest
from rest_framework.test import APIClient

from tests.factories import jwt_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


def test_a_user_over_its_rate_gets_429_with_retry_after(rates, alice):
    rates(user="3/min")
    api = jwt_client(alice)

    statuses = [api.get("/api/v1/facilities/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert 0 < int(api.get("/api/v1/facilities/")["Retry-After"]) <= 60


def test_token_requests_have_a_stricter_scope(rates, alice):
    rates(auth="2/min")
    client = APIClient()

    statuses = [
        client.post("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_users_are_counted_separately(rates, alice, bob):
    rates(user="1/min")

    assert jwt_client(alice).get("/api/v1/facilities/").status_code == 200
    assert jwt_client(bob).get("/api/v1/facilities/").status_code == 200


@pytest.fixture
def at(monkeypatch):
    """Set the throttles' clock: seconds into a minute-aligned window far from any other test's."""
    from api import throttling

    base = (int(throttling.time.time()) // 60 + 1000) * 60

    def set_time(seconds: float) -> None:
        monkeypatch.setattr(throttling, "clock", lambda: base + seconds)

    return set_time


def test_the_last_minute_is_a_sliding_window_not_a_calendar_minute(rates, alice, at):
    rates(user="10/min")
    api = jwt_client(alice)
    at(54)  # late in one window
    assert [api.get("/api/v1/facilities/").status_code for _ in range(10)] == [200] * 10

    at(66)  # 6 s into the next: 90% of the last window still counts, 9 of 10 used
    statuses = [api.get("/api/v1/facilities/").status_code for _ in range(2)]
    refused = api.get("/api/v1/facilities/")

    assert statuses == [200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    at(115)  # the last window now weighs 8%: room again
    assert api.get("/api/v1/facilities/").status_code == 200


def test_refused_requests_do_not_count(rates, alice, at):
    rates(user="2/min")
    api = jwt_client(alice)
    at(1)
    assert [api.get("/api/v1/facilities/").status_code for _ in range(6)] == [200, 200, 429, 429, 429, 429]

    at(61)  # the last window weighs 98%: its two allowed requests count (1.97), the four refused do not
    assert [api.get("/api/v1/facilities/").status_code for _ in range(2)] == [200, 429]
