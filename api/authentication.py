"""API-key authentication: `Authorization: Api-Key <key>`. Keys are looked up by prefix and
checked against their stored hash; a revoked or expired key fails at once."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ServiceAPIKey
from accounts.principals import ServicePrincipal


class APIKeyAuthentication(authentication.BaseAuthentication):
    keyword = KeyParser.keyword

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, ServiceAPIKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None  # not ours: let the other authenticators look
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("No API key given.")
        try:
            api_key = cast(ServiceAPIKey, ServiceAPIKey.objects.get_from_key(key))
        except ServiceAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return ServicePrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def key_scheme(target_class: str, *, name: str, where: str, parameter: str, description: str) -> type:
    """Document an authentication class whose credential is one header or query value as an OpenAPI
    ``apiKey`` scheme. drf-spectacular registers an extension when its class is made."""
    definition = {"type": "apiKey", "in": where, "name": parameter, "description": description}

    def get_security_definition(self: Any, auto_schema: Any) -> dict[Any, Any]:
        return dict(definition)

    attributes = {"target_class": target_class, "name": name, "get_security_definition": get_security_definition}
    return type(f"{name}Scheme", (OpenApiAuthenticationExtension,), attributes)


APIKeyAuthenticationScheme = key_scheme(
    "api.authentication.APIKeyAuthentication",
    name="ApiKeyAuth",
    where="header",
    parameter="Authorization",
    description="For services: `Api-Key <key>`. A key may only write events for its facilities.",
)
