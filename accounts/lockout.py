"""What a locked-out caller sees, on the admin login and the token endpoint alike.

django-axes counts failed sign-ins per username and address together (AXES_FAILURE_LIMIT within
AXES_COOLOFF_TIME); past the limit that username is locked from that address until the cool-off
ends. Nobody can lock another person out: their sign-ins from their own address still work.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with Retry-After: JSON for the API, a page for the admin."""
    seconds = lockout_seconds()
    message = (
        f"Too many failed sign-ins for this username from your address: signing in as it from here is locked "
        f"for {max(1, seconds // 60)} minutes. Other addresses and other usernames are not affected."
    )
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "accounts/locked.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response
