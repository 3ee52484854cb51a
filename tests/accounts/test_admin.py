"""The operator console for accounts: role and grants on one page, keys shown once."""

import pytest

from accounts.models import AuditEvent, Facility, Role, ServiceAPIKey, User
from accounts.selectors import facilities_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, ada):
    client.force_login(ada)
    return client


def user_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "access_role": user.role,
        "access_facilities": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_role_and_facilities_are_edited_on_the_user_page(staff_client, carol, facility_a, facility_b):
    page = staff_client.get(f"/admin/accounts/user/{carol.pk}/change/")
    assert page.status_code == 200
    assert b"access_facilities" in page.content

    response = staff_client.post(
        f"/admin/accounts/user/{carol.pk}/change/",
        user_form(carol, access_role=Role.RECRUITER, access_facilities=[facility_a.pk, facility_b.pk]),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    carol.refresh_from_db()
    assert carol.role == Role.RECRUITER
    assert set(facilities_for(carol, "view_personal_data").values_list("code", flat=True)) == {"MERCY-01", "STJ-02"}
    assert AuditEvent.objects.filter(action="user.role", actor_label="ada", object_id=str(carol.pk)).exists()


def test_an_admin_with_facilities_is_refused(staff_client, carol, facility_a):
    response = staff_client.post(
        f"/admin/accounts/user/{carol.pk}/change/",
        user_form(carol, access_role=Role.ADMIN, access_facilities=[facility_a.pk]),
    )

    assert response.status_code == 200
    assert b"Admins see every facility" in response.content


def test_members_are_granted_from_the_facility_page(staff_client, mallory, facility_a):
    response = staff_client.post(
        f"/admin/accounts/facility/{facility_a.pk}/change/",
        {
            "name": facility_a.name,
            "region": "",
            "time_zone": "UTC",
            "active": "on",
            "members": [mallory.pk],
            "grants-TOTAL_FORMS": "0",
            "grants-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(facilities_for(mallory).values_list("code", flat=True)) == ["MERCY-01"]


def test_a_new_api_key_is_shown_once(staff_client, facility_a):
    response = staff_client.post(
        "/admin/accounts/serviceapikey/add/", {"name": "ATS", "facilities": [facility_a.pk]}, follow=True
    )

    key = ServiceAPIKey.objects.get(name="ATS")
    messages = [str(m) for m in response.context["messages"]]
    assert any(key.prefix in m and "will not be shown again" in m for m in messages)
    assert list(key.facilities.values_list("code", flat=True)) == ["MERCY-01"]
    assert AuditEvent.objects.filter(action="admin.add.serviceapikey").exists()


def test_changelists_render(staff_client, alice):
    for model in ("user", "facility", "serviceapikey", "auditevent"):
        assert staff_client.get(f"/admin/accounts/{model}/").status_code == 200, model


def test_a_recruiter_without_staff_status_cannot_use_the_admin(client, alice):
    client.force_login(alice)

    assert client.get("/admin/").status_code == 302


def test_facility_codes_cannot_change_in_the_admin(staff_client, facility_a):
    staff_client.post(
        f"/admin/accounts/facility/{facility_a.pk}/change/",
        {"code": "HACKED", "name": "x", "time_zone": "UTC", "grants-TOTAL_FORMS": "0", "grants-INITIAL_FORMS": "0"},
    )

    assert Facility.objects.filter(code="MERCY-01").exists()
