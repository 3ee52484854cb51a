"""Audit sign-ins and failed sign-ins, whichever path they take (admin or token endpoint)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts.principals import Actor, client_ip


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def _audit_login(sender, request, user, **kwargs) -> None:
    from accounts.services import audit_record

    path = getattr(request, "path", "") if request is not None else ""
    audit_record(by=Actor(principal=user, ip=client_ip(request)), action="auth.login", obj=user, path=path)


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def _audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from accounts.services import audit_record

    username = str(credentials.get("username", ""))[:150]
    path = getattr(request, "path", "") if request is not None else ""
    audit_record(
        by=Actor(principal=None, ip=client_ip(request), extra={"label": username or "anonymous"}),
        action="auth.login_failed",
        object_repr=username,
        username=username,
        path=path,
    )
