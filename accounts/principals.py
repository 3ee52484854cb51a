"""Who is calling: a signed-in user, or another service holding an API key."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest

from accounts.models import Role, ServiceAPIKey, User


class ServicePrincipal:
    """request.user for a request authenticated with an API key. Not a person: it has no
    role, only the facilities its key was issued for, and may only write events."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    role = "service"

    def __init__(self, api_key: ServiceAPIKey) -> None:
        self.api_key = api_key
        self.pk = f"key:{api_key.pk}"  # what DRF's throttles key on
        self.username = f"api-key:{api_key.name}"

    def __str__(self) -> str:
        return self.username


class SystemPrincipal:
    """request.user-like principal for commands run by an operator with shell access
    (imports, demo data): Admin reach, and a name for the audit log."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = True
    role = Role.ADMIN
    pk = None

    def __init__(self, name: str) -> None:
        self.username = name

    def __str__(self) -> str:
        return self.username


def principal_role(principal) -> str | None:
    """The role that decides capabilities: superusers act as Admins."""
    if isinstance(principal, ServicePrincipal):
        return "service"
    if not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return None
    if principal.is_superuser:
        return Role.ADMIN
    return principal.role


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address. Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn
    --forwarded-allow-ips with a proxy-protocol aware setup); forwarded headers are not trusted."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Actor:
    """Who performs a change, and from where: what the audit log records."""

    principal: User | ServicePrincipal | SystemPrincipal | None
    ip: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = getattr(request, "user", None)
        return cls(principal=user if getattr(user, "is_authenticated", False) else None, ip=client_ip(request))

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(principal=None, extra={"label": label})

    @property
    def user(self) -> User | None:
        return self.principal if isinstance(self.principal, User) else None

    @property
    def label(self) -> str:
        if self.principal is None:
            return self.extra.get("label", "anonymous")
        return str(self.principal.username)
