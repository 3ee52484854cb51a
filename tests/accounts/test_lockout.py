"""Repeated failed sign-ins lock the account, on the token endpoint and in the admin alike."""

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def token(username: str, password: str):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def admin_login(client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_token_endpoint_locks_after_the_failure_limit(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token("alice", "wrong").status_code == 401
    assert token("alice", "wrong").status_code == 429  # the failure that reaches the limit

    locked = token("alice", PASSWORD)  # even the right password is refused now

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert "locked" in locked.json()["detail"]


def test_the_admin_login_locks_after_the_failure_limit(ada, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_login(client, "ada", "wrong").status_code == 200  # the form again, with an error
    assert admin_login(client, "ada", "wrong").status_code == 429

    locked = admin_login(client, "ada", PASSWORD)

    assert locked.status_code == 429
    assert "Retry-After" in locked
    assert b"locked" in locked.content
    assert "_auth_user_id" not in client.session


def test_failures_on_one_path_lock_the_other(ada, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token("ada", "wrong")

    assert admin_login(client, "ada", PASSWORD).status_code == 429


def test_a_success_before_the_limit_resets_the_count(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        token("alice", "wrong")
    assert token("alice", PASSWORD).status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        token("alice", "wrong")

    assert token("alice", PASSWORD).status_code == 200


def test_sign_ins_and_failures_are_audited(alice, client, ada):
    token("alice", "wrong")
    token("alice", PASSWORD)
    admin_login(client, "ada", PASSWORD)

    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "ip"))
    assert ("auth.login_failed", "alice", "127.0.0.1") in events
    assert ("auth.login", "alice", "127.0.0.1") in events
    assert ("auth.login", "ada", "127.0.0.1") in events


def token_from(address: str, username: str, password: str, **headers):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def test_nobody_can_lock_out_another_user(alice, bob, settings):
    """Failures lock a username from the address they came from, not the address for everyone,
    and not the username from everywhere."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_from("203.0.113.9", "alice", "wrong")

    assert token_from("203.0.113.9", "alice", PASSWORD).status_code == 429
    assert token_from("203.0.113.9", "bob", PASSWORD).status_code == 200  # another user, same address
    assert token_from("198.51.100.7", "alice", PASSWORD).status_code == 200  # the user, from her own address


def test_the_lockout_message_says_what_is_locked(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_from("203.0.113.9", "alice", "wrong")

    detail = token_from("203.0.113.9", "alice", PASSWORD).json()["detail"]

    assert "this username from your address" in detail


def test_a_forged_forwarded_header_does_not_change_the_locked_address(alice, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        token_from("203.0.113.9", "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")

    assert token_from("203.0.113.9", "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
