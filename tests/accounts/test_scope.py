"""facilities_for: the one function that decides a caller's facilities."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from accounts.models import ServiceAPIKey
from accounts.principals import ServicePrincipal
from accounts.selectors import FacilityPermission, facilities_for
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db

VIEW, PERSONAL, WRITE = (
    FacilityPermission.VIEW_DATA,
    FacilityPermission.VIEW_PERSONAL_DATA,
    FacilityPermission.WRITE_EVENTS,
)


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_an_admin_holds_every_facility(ada, facility_a, facility_b):
    assert codes(facilities_for(ada, VIEW)) == {"MERCY-01", "STJ-02"}
    assert codes(facilities_for(ada, PERSONAL)) == {"MERCY-01", "STJ-02"}


def test_a_recruiter_holds_data_and_personal_data_of_its_facilities(alice, facility_b):
    assert codes(facilities_for(alice, VIEW)) == {"MERCY-01"}
    assert codes(facilities_for(alice, PERSONAL)) == {"MERCY-01"}
    assert codes(facilities_for(alice, WRITE)) == {"MERCY-01"}


def test_a_viewer_holds_data_but_not_personal_data(carol):
    assert codes(facilities_for(carol, VIEW)) == {"MERCY-01"}
    assert codes(facilities_for(carol, PERSONAL)) == set()


def test_a_global_permission_never_widens_the_scope(carol, facility_b):
    for codename in ("view_facility_data", "view_personal_data", "view_facility"):
        carol.user_permissions.add(Permission.objects.get(codename=codename))

    assert codes(facilities_for(carol, VIEW)) == {"MERCY-01"}
    assert codes(facilities_for(carol, PERSONAL)) == set()


def test_an_inactive_user_holds_nothing(alice):
    alice.is_active = False
    alice.save()

    assert codes(facilities_for(alice, VIEW)) == set()


def test_anonymous_holds_nothing(facility_a):
    assert codes(facilities_for(AnonymousUser(), VIEW)) == set()


def test_an_api_key_may_only_write_events_for_its_facilities(facility_a, facility_b):
    key = make_api_key("ats", [facility_a])
    principal = ServicePrincipal(ServiceAPIKey.objects.get_from_key(key))

    assert codes(facilities_for(principal, WRITE)) == {"MERCY-01"}
    assert codes(facilities_for(principal, VIEW)) == set()
    assert codes(facilities_for(principal, PERSONAL)) == set()


def test_the_scope_is_one_query(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        list(facilities_for(alice, VIEW))
