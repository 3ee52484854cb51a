"""API keys: shown once, stored hashed, tied to facilities, revoked at once."""

import pytest

from accounts.models import AuditEvent, ServiceAPIKey
from tests.factories import jwt_client, key_client

pytestmark = pytest.mark.django_db


def test_an_admin_issues_a_key_that_is_shown_once(ada, facility_a):
    response = jwt_client(ada).post("/api/v1/api-keys/", {"name": "ATS", "facilities": ["MERCY-01"]})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "facilities", "key"}
    stored = ServiceAPIKey.objects.get(prefix=body["id"])
    assert body["key"] not in stored.hashed_key and body["key"].split(".")[1] not in stored.hashed_key
    assert "key" not in jwt_client(ada).get(f"/api/v1/api-keys/{body['id']}/").json()
    assert AuditEvent.objects.filter(action="api_key.create", object_id=body["id"]).exists()


def test_a_key_needs_facilities(ada):
    response = jwt_client(ada).post("/api/v1/api-keys/", {"name": "ATS", "facilities": []})

    assert response.status_code == 400
    assert "facilities" in response.json()


def test_a_key_authenticates_but_may_not_read(ada, facility_a):
    key = jwt_client(ada).post("/api/v1/api-keys/", {"name": "ATS", "facilities": ["MERCY-01"]}).json()["key"]

    assert key_client(key).get("/api/v1/facilities/").status_code == 403


def test_a_revoked_key_stops_working_at_once(ada, facility_a):
    created = jwt_client(ada).post("/api/v1/api-keys/", {"name": "ATS", "facilities": ["MERCY-01"]}).json()
    assert key_client(created["key"]).get("/api/v1/facilities/").status_code == 403  # known, just not allowed

    assert jwt_client(ada).delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204

    assert key_client(created["key"]).get("/api/v1/facilities/").status_code == 401
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1


@pytest.mark.parametrize("header", ["Api-Key nope.nope", "Api-Key ", "Api-Key abc"])
def test_a_wrong_key_is_401(header, facility_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/facilities/").status_code == 401


def test_only_admins_issue_keys(alice, facility_a):
    assert jwt_client(alice).post("/api/v1/api-keys/", {"name": "x", "facilities": ["MERCY-01"]}).status_code == 403
