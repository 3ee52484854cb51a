"""A grant or revocation takes effect on the next request in a long-running server process."""

import pytest

from accounts.models import Role
from accounts.principals import Actor
from accounts.services import user_set_access
from tests.factories import PASSWORD
from tests.http import call

pytestmark = pytest.mark.django_db(transaction=True)


def test_grant_then_revoke_in_a_running_server(web_process, mallory, facility_a):
    status, tokens = call(f"{web_process.url}/api/v1/auth/token/", body={"username": "mallory", "password": PASSWORD})
    assert status == 200
    token = tokens["access"]
    detail = f"{web_process.url}/api/v1/facilities/{facility_a.code}/"
    by = Actor.system("tests")

    assert call(detail, token=token)[0] == 404  # warm: the process has answered this before

    user_set_access(by=by, user=mallory, role=Role.RECRUITER, facilities=[facility_a])
    assert call(detail, token=token)[0] == 200

    user_set_access(by=by, user=mallory, role=Role.RECRUITER, facilities=[])
    assert call(detail, token=token)[0] == 404


def test_deactivation_takes_effect_in_a_running_server(web_process, alice):
    token = call(f"{web_process.url}/api/v1/auth/token/", body={"username": "alice", "password": PASSWORD})[1]["access"]
    assert call(f"{web_process.url}/api/v1/auth/me/", token=token)[0] == 200

    alice.is_active = False
    alice.save()

    assert call(f"{web_process.url}/api/v1/auth/me/", token=token)[0] == 401
