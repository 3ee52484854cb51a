"""Who the client is: the peer, unless TRUSTED_PROXIES says which forwarded addresses to believe.
Throttles, lockouts and the audit log all read the one address this decides."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from api.middleware import client_address, trusted_proxies

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "client"),
    [
        ("", "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # no trusted proxy: the header is ignored
        ("1", "10.0.0.2", "198.51.100.7", "198.51.100.7"),  # one load balancer
        ("1", "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote itself is not believed
        ("2", "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        ("2", "10.0.0.2", "198.51.100.7", "198.51.100.7"),  # fewer hops than proxies
        ("10.0.0.0/8", "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        ("10.0.0.0/8", "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # the peer is no trusted proxy
        ("10.0.0.0/8", "10.0.0.2", "not-an-address, 10.0.0.3", "10.0.0.3"),
        ("10.0.0.0/8,2001:db8::/32", "2001:db8::1", "[2001:db8::5]:443, 198.51.100.7", "198.51.100.7"),
        ("1", "10.0.0.2", "198.51.100.7:5123", "198.51.100.7"),
    ],
)
def test_the_client_is_read_through_trusted_proxies_only(proxies, peer, forwarded, client):
    assert client_address(peer, forwarded, trusted_proxies(proxies)) == client


def test_a_bad_setting_is_refused_at_start():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        trusted_proxies("10.0.0.0/33")


def anonymous_calls(count: int, *, forwarded=lambda n: f"10.0.{n // 250}.{n % 250}") -> list[int]:
    client = APIClient()
    return [
        client.post(
            "/api/v1/auth/token/", {}, format="json", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=forwarded(n)
        ).status_code
        for n in range(count)
    ]


def test_a_forged_forwarded_header_does_not_escape_the_throttle(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "5/min"}}  # fmt: skip

    statuses = anonymous_calls(8)

    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429] * 3


def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "5/min"}}  # fmt: skip
    with override_settings(TRUSTED_PROXIES="203.0.113.0/24"):
        statuses = anonymous_calls(8)

    assert statuses == [400] * 8  # eight clients, one call each


def test_the_audit_log_records_the_resolved_client(ada, alice, settings):
    from accounts.models import AuditEvent
    from tests.factories import jwt_client

    with override_settings(TRUSTED_PROXIES="1"):
        jwt_client(ada).patch(
            f"/api/v1/users/{alice.pk}/", {"email": "a@example.com"}, format="json",
            REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
        )  # fmt: skip

    assert AuditEvent.objects.filter(action="user.update").latest("at").ip == "198.51.100.7"
