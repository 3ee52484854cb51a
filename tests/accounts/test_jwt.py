"""JWT: every way a token can be wrong is a 401."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


def sign_in(username: str, password: str = PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def me_with(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_password_gets_a_token_pair_that_works(alice):
    response = sign_in("alice")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = me_with(response.json()["access"])
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["role"] == "recruiter"
    assert me.json()["facilities"] == ["MERCY-01"]


def test_a_wrong_password_is_401(alice):
    assert sign_in("alice", "wrong-password").status_code == 401


def test_an_expired_access_token_is_401(alice):
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=1))

    assert me_with(str(token)).status_code == 401


def test_a_tampered_token_is_401(alice, bob):
    header, payload, signature = str(AccessToken.for_user(alice)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["user_id"] = str(bob.pk)

    assert me_with(f"{header}.{b64(claims)}.{signature}").status_code == 401


def test_an_unsigned_alg_none_token_is_401(alice):
    claims = json.loads(base64.urlsafe_b64decode(str(AccessToken.for_user(alice)).split(".")[1] + "=="))

    assert me_with(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.").status_code == 401


def test_a_refresh_token_is_not_an_access_token(alice):
    assert me_with(str(RefreshToken.for_user(alice))).status_code == 401


def test_refresh_rotates_and_the_old_refresh_token_stops_working(alice):
    refresh = sign_in("alice").json()["refresh"]

    rotated = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != refresh

    reused = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert reused.status_code == 401


def test_a_deactivated_user_is_refused_at_once(alice):
    access = sign_in("alice").json()["access"]
    alice.is_active = False
    alice.save()

    assert me_with(access).status_code == 401


def test_garbage_in_the_header_is_401():
    assert me_with("not-a-token").status_code == 401


def test_a_superuser_is_told_it_acts_as_an_admin(db):
    from accounts.models import Role
    from tests.factories import jwt_client, make_user

    root = make_user("root", Role.VIEWER)
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])

    me = jwt_client(root).get("/api/v1/auth/me/").json()

    assert me["role"] == "admin"
