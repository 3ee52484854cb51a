"""Signed download links: the emailed link is the credential, for one run's file only."""

from __future__ import annotations

from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from api.authentication import key_scheme
from reports.services.delivery import download_token_read


class LinkPrincipal:
    """request.user for a signed link: may download one run's file, nothing else."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    role = "link"

    def __init__(self, run_id: int, recipient: str) -> None:
        self.run_id = run_id
        self.recipient = recipient
        self.pk = f"link:{run_id}:{recipient}"  # what throttles key on
        self.username = f"link:{recipient or 'unknown'}"

    def __str__(self) -> str:
        return self.username


class SignedLinkAuthentication(BaseAuthentication):
    """``?token=`` on the download path. Absent: the next authenticator decides. Present but
    tampered or expired: refused outright."""

    def authenticate(self, request: Request):
        token = request.query_params.get("token")
        if not token:
            return None
        try:
            run_id, recipient = download_token_read(token)
        except signing.SignatureExpired as exc:
            raise exceptions.AuthenticationFailed("This download link has expired; ask for the report again.") from exc
        except signing.BadSignature as exc:
            raise exceptions.AuthenticationFailed("This download link is not valid.") from exc
        return LinkPrincipal(run_id, recipient), None

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="report download link"'


SignedLinkScheme = key_scheme(
    "reports.api.authentication.SignedLinkAuthentication",
    name="SignedLink",
    where="query",
    parameter="token",
    description="The signed, expiring token of a report email's download link.",
)
