"""/api/v1/facilities/: everyone reads theirs, Admins write."""

import pytest

from accounts.models import AuditEvent, Facility
from tests.factories import jwt_client

pytestmark = pytest.mark.django_db


def test_a_recruiter_lists_its_facilities(bob, facility_a, facility_b):
    body = jwt_client(bob).get("/api/v1/facilities/").json()

    assert [f["code"] for f in body["results"]] == ["MERCY-01", "STJ-02"]
    assert set(body["results"][0]) == {"code", "name", "region", "time_zone", "active"}


def test_an_admin_creates_updates_and_deletes(ada):
    api = jwt_client(ada)

    created = api.post("/api/v1/facilities/", {"code": "NEW-01", "name": "New Clinic", "time_zone": "Europe/Berlin"})
    assert created.status_code == 201, created.json()
    updated = api.patch("/api/v1/facilities/NEW-01/", {"name": "Renamed Clinic", "code": "OTHER"})
    assert updated.status_code == 200
    assert updated.json()["code"] == "NEW-01"  # the code never changes
    assert updated.json()["name"] == "Renamed Clinic"
    assert api.delete("/api/v1/facilities/NEW-01/").status_code == 204
    assert not Facility.objects.filter(code="NEW-01").exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True))[-3:] == [
        "facility.create",
        "facility.update",
        "facility.delete",
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"code": "lower-case", "name": "x"}, "code"),
        ({"code": "OK-1", "name": "x", "time_zone": "Mars/Base"}, "time_zone"),
        ({"code": "MERCY-01", "name": "duplicate"}, "code"),
        ({"name": "no code"}, "code"),
    ],
)
def test_bad_facilities_are_400(ada, facility_a, payload, field):
    response = jwt_client(ada).post("/api/v1/facilities/", payload)

    assert response.status_code == 400
    assert field in response.json()


def test_a_recruiter_may_not_write(alice, facility_a):
    assert jwt_client(alice).patch("/api/v1/facilities/MERCY-01/", {"name": "x"}).status_code == 403
    assert jwt_client(alice).post("/api/v1/facilities/", {"code": "X-1", "name": "x"}).status_code == 403


def test_an_unknown_query_parameter_is_400(alice, facility_a):
    response = jwt_client(alice).get("/api/v1/facilities/", {"regoin": "South"})

    assert response.status_code == 400
    assert "regoin" in response.json()


def test_filters_search_and_ordering(ada, facility_a, facility_b):
    api = jwt_client(ada)

    assert [f["code"] for f in api.get("/api/v1/facilities/", {"region": "south"}).json()["results"]] == ["STJ-02"]
    assert [f["code"] for f in api.get("/api/v1/facilities/", {"search": "mercy"}).json()["results"]] == ["MERCY-01"]
    assert [f["code"] for f in api.get("/api/v1/facilities/", {"ordering": "-code"}).json()["results"]] == [
        "STJ-02",
        "MERCY-01",
    ]
    assert api.get("/api/v1/facilities/", {"active": "maybe"}).status_code == 400


def test_page_size_is_capped(ada, facility_a):
    assert jwt_client(ada).get("/api/v1/facilities/", {"page_size": 100000}).status_code == 200
    assert jwt_client(ada).get("/api/v1/facilities/", {"page": 99}).status_code == 404
