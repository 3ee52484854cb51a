"""Request middleware of the front door: who the client is, what input is refused before any view
sees it, and what every API answer says about caching."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from api.boundary import request_problem

API_PREFIX = "/api/"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


@functools.lru_cache(maxsize=8)
def trusted_proxies(value: str) -> int | tuple[Network, ...]:
    """TRUSTED_PROXIES as a count of proxy hops, or as the networks the proxies are in."""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc} (a count of proxy hops, or networks)") from exc


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str, proxies: int | tuple[Network, ...]) -> str:
    """The client's address from the peer and its X-Forwarded-For, trusting only ``proxies``.

    Each proxy appends the address it was reached from, so the chain read from the right is
    [peer, what the nearest proxy saw, ...]. With a count N, the client is N hops from the
    right (fewer hops than that: the leftmost one that was sent). With networks, it is the first
    address from the right that is not in them. An entry that is not an address ends the walk:
    what lies left of it cannot be trusted. Without trusted proxies the header is ignored."""
    if not proxies or not forwarded_for:
        return peer
    chain = [peer, *reversed([part for part in forwarded_for.split(",") if part.strip()])]
    if isinstance(proxies, int):
        hops = chain[: proxies + 1]
        for hop in hops[1:]:
            if _address(hop) is None:
                return peer
        found = _address(hops[-1])
        return str(found) if found else peer
    client = peer
    for hop in chain:
        address = _address(hop)
        if address is None:
            return client
        client = str(address)
        if not any(address in network for network in proxies):
            return client
    return client


class ClientAddressMiddleware:
    """REMOTE_ADDR becomes the client's address, read through TRUSTED_PROXIES only, so throttles,
    lockouts and the audit log all see the same client and none of them believes a header a
    client wrote itself. The peer's own address stays in META["PEER_ADDR"]."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        trusted_proxies(settings.TRUSTED_PROXIES)  # a bad setting fails at start, not per request

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR", "")
        request.META["PEER_ADDR"] = peer
        proxies = trusted_proxies(settings.TRUSTED_PROXIES)
        request.META["REMOTE_ADDR"] = client_address(peer, request.META.get("HTTP_X_FORWARDED_FOR", ""), proxies)
        return self.get_response(request)


class InputBoundaryMiddleware:
    """A path, query parameter or header value that cannot be stored or looked up (NUL,
    unpaired surrogates, control characters in the path, over-long values) is a 400 before any
    view, form or query sees it (api.boundary)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        headers = {
            key: value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str)
        }
        found = request_problem(request.path_info, dict(request.GET.lists()), headers)
        if found:
            where, message = found
            if is_api(request):
                return JsonResponse({where: [message]}, status=400)
            return HttpResponse(
                f"Bad request: {where}: {message}\n", status=400, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


class ApiCacheControlMiddleware:
    """API answers carry personal data and per-caller scope: no shared or browser cache keeps them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api(request) and not request.path_info.startswith(("/api/docs/", "/api/redoc/")):
            patch_cache_control(response, no_store=True, private=True)
            patch_vary_headers(response, ["Authorization"])
        return response
