"""The KPI endpoints remember a caller's scope between requests, and forget it on every change to
users, grants or facilities: in this process, and in a running server's."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Facility, Role
from accounts.principals import Actor
from accounts.scope import caller_scope
from accounts.services import facility_save, user_set_access
from tests.factories import PASSWORD, jwt_client
from tests.http import call

BY = Actor.system("tests")


@pytest.mark.django_db
def test_a_second_question_reads_no_scope_from_the_database(alice, facility_a, django_assert_num_queries):
    first = caller_scope(alice)

    with django_assert_num_queries(0):
        again = caller_scope(alice)

    assert again == first
    assert first.visible == {facility_a.id: facility_a.code}
    assert first.personal == {facility_a.id}


@pytest.mark.django_db
def test_a_grant_and_a_revocation_change_the_next_answer(alice, facility_a, facility_b):
    assert set(caller_scope(alice).visible) == {facility_a.id}

    user_set_access(by=BY, user=alice, role=Role.RECRUITER, facilities=[facility_a, facility_b])
    assert set(caller_scope(alice).visible) == {facility_a.id, facility_b.id}

    user_set_access(by=BY, user=alice, role=Role.VIEWER, facilities=[facility_b])
    scope = caller_scope(alice)
    assert set(scope.visible) == {facility_b.id}
    assert scope.personal == frozenset()  # a Viewer: small cells suppressed from now on


@pytest.mark.django_db
def test_a_new_facility_is_in_an_admins_next_scope(ada, facility_a):
    assert set(caller_scope(ada).visible) == {facility_a.id}

    added = facility_save(by=BY, facility=Facility(code="NEW-09", name="New"))

    assert set(caller_scope(ada).visible) == {facility_a.id, added.id}


@pytest.mark.django_db
def test_a_revoked_kpi_scope_is_a_404_at_once(alice, facility_a):
    api = jwt_client(alice)
    assert api.get("/api/v1/analytics/pipeline/", {"facility": facility_a.code}).status_code == 200

    user_set_access(by=BY, user=alice, role=Role.RECRUITER, facilities=[])

    assert api.get("/api/v1/analytics/pipeline/", {"facility": facility_a.code}).status_code == 404
    assert api.get("/api/v1/analytics/pipeline/").json()["facilities"] == []


@pytest.mark.django_db(transaction=True)
def test_kpi_scope_follows_grants_in_a_running_server(web_process, mallory, facility_a):
    status, tokens = call(f"{web_process.url}/api/v1/auth/token/", body={"username": "mallory", "password": PASSWORD})
    assert status == 200
    token = tokens["access"]
    pipeline = f"{web_process.url}/api/v1/analytics/pipeline/?facility={facility_a.code}"

    assert call(pipeline, token=token)[0] == 404  # and the server remembers that scope

    user_set_access(by=BY, user=mallory, role=Role.VIEWER, facilities=[facility_a])
    status, body = call(pipeline, token=token)
    assert status == 200 and body["facilities"] == [facility_a.code]
    assert call(pipeline, token=token)[0] == 200  # remembered now

    user_set_access(by=BY, user=mallory, role=Role.VIEWER, facilities=[])
    assert call(pipeline, token=token)[0] == 404

    mallory.is_active = False  # the user row is remembered too, and forgotten as the scope is
    mallory.save()
    assert call(pipeline, token=token)[0] == 401


@pytest.mark.django_db
def test_a_remembered_token_is_refused_once_it_expires(alice, facility_a, monkeypatch):
    token = RefreshToken.for_user(alice).access_token
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/analytics/pipeline/").status_code == 200  # checked, and remembered

    later = token["exp"] + 1
    monkeypatch.setattr("accounts.scope.time.time", lambda: later)
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow",
                        lambda: datetime.fromtimestamp(later, tz=UTC))  # fmt: skip

    assert api.get("/api/v1/analytics/pipeline/").status_code == 401


@pytest.mark.django_db
def test_a_token_with_another_signature_is_not_taken_for_a_remembered_one(alice, facility_a):
    token = str(RefreshToken.for_user(alice).access_token)
    assert jwt_client(alice).get("/api/v1/analytics/pipeline/").status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/analytics/pipeline/").status_code == 200

    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api.get("/api/v1/analytics/pipeline/").status_code == 401
