"""A grant or revocation takes effect on the next request in a long-running server process."""

import json
import urllib.error
import urllib.request

import pytest

from accounts.models import Role
from accounts.principals import Actor
from accounts.services import user_set_access
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def call(url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST" if body is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


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
