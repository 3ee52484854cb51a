"""/api/v1/users/: role and grants in one payload, Admins only, no mass assignment."""

import pytest

from accounts.models import AuditEvent, Role, User
from accounts.selectors import facilities_for
from tests.factories import PASSWORD, jwt_client

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_recruiter_with_facilities(ada, facility_a, facility_b):
    response = jwt_client(ada).post(
        "/api/v1/users/",
        {
            "username": "rita",
            "email": "rita@example.com",
            "role": "recruiter",
            "facilities": ["MERCY-01", "STJ-02"],
            "password": PASSWORD,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "recruiter"
    assert body["facilities"] == ["MERCY-01", "STJ-02"]
    assert "password" not in body
    rita = User.objects.get(username="rita")
    assert rita.check_password(PASSWORD)
    assert set(facilities_for(rita, "view_personal_data").values_list("code", flat=True)) == {"MERCY-01", "STJ-02"}
    assert rita.groups.get().name == "Recruiter"


def test_changing_the_role_changes_the_grants(ada, alice):
    response = jwt_client(ada).patch(f"/api/v1/users/{alice.pk}/", {"role": "viewer"})

    assert response.status_code == 200
    assert response.json()["facilities"] == ["MERCY-01"]
    assert list(facilities_for(alice, "view_personal_data")) == []
    assert alice.groups.get().name == "Viewer"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"user.role", "grant.remove"} <= actions


def test_replacing_facilities(ada, alice, facility_b):
    response = jwt_client(ada).patch(f"/api/v1/users/{alice.pk}/", {"facilities": ["STJ-02"]})

    assert response.json()["facilities"] == ["STJ-02"]
    assert list(facilities_for(alice).values_list("code", flat=True)) == ["STJ-02"]


def test_list_and_filter_by_role_and_facility(ada, alice, carol, mallory):
    api = jwt_client(ada)

    assert [u["username"] for u in api.get("/api/v1/users/", {"role": "viewer"}).json()["results"]] == ["carol"]
    assert [u["username"] for u in api.get("/api/v1/users/", {"facility": "MERCY-01"}).json()["results"]] == [
        "alice",
        "carol",
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "x", "role": "overlord", "password": PASSWORD}, "role"),
        ({"username": "x", "role": "viewer", "facilities": ["NOPE-99"], "password": PASSWORD}, "facilities"),
        ({"username": "x", "role": "admin", "facilities": ["MERCY-01"], "password": PASSWORD}, "facilities"),
        ({"username": "x", "role": "viewer"}, "password"),
        ({"username": "x", "role": "viewer", "password": "123"}, "password"),
        ({"role": "viewer", "password": PASSWORD}, "username"),
    ],
)
def test_bad_input_is_400_with_the_field_named(ada, facility_a, payload, field):
    response = jwt_client(ada).post("/api/v1/users/", payload)

    assert response.status_code == 400
    assert field in response.json()


def test_a_recruiter_cannot_raise_itself(alice, facility_b):
    api = jwt_client(alice)

    for payload in ({"role": "admin"}, {"facilities": ["MERCY-01", "STJ-02"]}, {"is_superuser": True}):
        assert api.patch(f"/api/v1/users/{alice.pk}/", payload).status_code == 403
    alice.refresh_from_db()
    assert alice.role == Role.RECRUITER
    assert not alice.is_superuser
    assert list(facilities_for(alice).values_list("code", flat=True)) == ["MERCY-01"]


def test_superuser_and_staff_flags_are_not_writable_over_the_api(ada, alice):
    response = jwt_client(ada).patch(f"/api/v1/users/{alice.pk}/", {"is_superuser": True, "is_staff": True})

    assert response.status_code == 200
    alice.refresh_from_db()
    assert not alice.is_superuser
    assert not alice.is_staff


def test_an_admin_cannot_delete_itself(ada):
    assert jwt_client(ada).delete(f"/api/v1/users/{ada.pk}/").status_code == 400


def test_deleting_a_user_keeps_its_audit_trail(ada, alice):
    assert jwt_client(ada).delete(f"/api/v1/users/{alice.pk}/").status_code == 204

    event = AuditEvent.objects.get(action="user.delete")
    assert event.object_repr == "alice"
    assert event.actor_label == "ada"
