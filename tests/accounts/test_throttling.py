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
