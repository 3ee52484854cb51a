"""A signed-in user's resolved scope, cached in each process under a version that every change to
users, grants and facilities moves.

``facilities_for`` stays the one place a scope is decided; this only remembers its answer. The
version is a random token in Redis, replaced on each change (at once, and again when the change
commits, so a process that read the old rows in between does not keep them), so every process
sees a revocation on the caller's next request. Without Redis nothing is cached. Entries are
also keyed by the user's role and flags as authentication loaded them, so a role change or a
deactivation misses even before the version moves.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.models import Facility, FacilityGrant, User
from accounts.selectors import FacilityPermission, facilities_for

logger = logging.getLogger(__name__)

VERSION_KEY = "accounts:scope:version"
VERSION_ATTRIBUTE = "_scope_version"  # set on a user by ScopeCachedJWTAuthentication: read once a request
CONFIRMED_ATTRIBUTE = "_scope_confirmed"  # False on a user whose version is still to be confirmed
MISSING, UNAVAILABLE = object(), object()  # scope_settle's reply: not read yet / Redis down
MAX_ENTRIES = 10_000  # per process; the whole map is dropped past it (and on every new version)


@dataclass(frozen=True)
class CallerScope:
    """What KPI questions need of a caller's scope: the facilities it may see (id -> code), those
    whose personal data it may see, and each visible facility's time zone (id -> IANA name)."""

    visible: dict[int, str]
    personal: frozenset[int]
    zones: dict[int, str] = field(default_factory=dict)

    @cached_property
    def all_ids(self) -> tuple[int, ...]:
        """Every visible facility id, sorted (the question that names no facility)."""
        return tuple(sorted(self.visible))

    @cached_property
    def all_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.visible.values()))

    @cached_property
    def personal_everywhere(self) -> bool:
        """Whether personal data may be seen at every visible facility."""
        return self.personal.issuperset(self.visible)


_entries: dict[tuple, CallerScope] = {}
_entries_version: list[str | None] = [None]
# Access tokens whose signature and claims were checked: raw token -> (expiry, token). A token
# string cannot change, so only its expiry needs checking again (access tokens are never
# blacklisted; a revoked user is caught by the user lookup below).
_tokens: dict[bytes, tuple[float, object]] = {}


def scope_version() -> str | None:
    """The current version token (made when missing); None when Redis cannot be read."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:
        logger.warning("scope version unavailable; scopes are read from the database", exc_info=True)
        return None


def scope_bump() -> None:
    """Move every process's cached scopes to a new version."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # Redis down: no process can read the version either, so none serves from its cache.
        logger.warning("could not bump the scope version", exc_info=True)


def _remembered(key: tuple, version: str, resolve):
    """The entry ``key`` of this process's cache under ``version``, resolved and kept if missing."""
    if _entries_version[0] != version or len(_entries) >= MAX_ENTRIES:
        _entries.clear()
        _entries_version[0] = version
    found = _entries.get(key)
    if found is None:
        found = resolve()
        if _entries_version[0] == version:
            _entries[key] = found
    return found


def caller_scope(principal, *, version: str | None = None) -> CallerScope:
    """``principal``'s scope as ``facilities_for`` decides it, from this process's cache when it
    holds the current version. ``version`` is the token if the caller read it already."""
    if not isinstance(principal, User) or principal.pk is None:
        return _resolve(principal)
    version = version or getattr(principal, VERSION_ATTRIBUTE, None) or scope_version()
    if version is None:
        return _resolve(principal)
    key = ("scope", principal.pk, principal.role, principal.is_active, principal.is_superuser)
    return _remembered(key, version, lambda: _resolve(principal))


class ScopeCachedJWTAuthentication(JWTAuthentication):
    """JWT authentication whose user row is remembered like the scope: under the same version,
    which any change to a user moves, so a deactivated user, a changed password or role is read
    again on the next request in every process. A user that fails the checks is never kept.
    A token's signature is checked once per process and its expiry on every request.

    The user is taken under the version this process saw last, without asking Redis, and is
    *provisional* until the view confirms that version (``scope_settle``). The one enforcement
    point (api.base) does so before any handler runs, in the same Redis round trip as
    the throttle count; if the version moved, the caller is authenticated again under the new
    one, so a revocation still takes effect on the next request."""

    #: Set by scope_settle to authenticate again: the version just read, or no cache at all.
    current_version: str | None = None
    without_cache: bool = False

    def get_validated_token(self, raw_token: bytes):
        found = _tokens.get(raw_token)
        if found is not None and found[0] > time.time():
            return found[1]
        token = super().get_validated_token(raw_token)
        expires = token.get("exp")
        if isinstance(expires, (int, float)):
            if len(_tokens) >= MAX_ENTRIES:
                _tokens.clear()
            _tokens[raw_token] = (float(expires), token)
        return token

    def get_user(self, validated_token):
        if self.without_cache:
            return super().get_user(validated_token)
        version, confirmed = self.current_version, True
        if version is None:
            version, confirmed = _entries_version[0], False  # the last one seen here: to be confirmed
        if version is None:  # nothing seen yet in this process
            version, confirmed = scope_version(), True
            if version is None:
                return super().get_user(validated_token)
        claim = validated_token.get(jwt_settings.USER_ID_CLAIM)
        revoke = validated_token.get(jwt_settings.REVOKE_TOKEN_CLAIM) if jwt_settings.CHECK_REVOKE_TOKEN else None
        user = _remembered(("user", claim, revoke), version, lambda: super(ScopeCachedJWTAuthentication, self)
                           .get_user(validated_token))  # fmt: skip
        user = copy.copy(user)  # each request its own object
        setattr(user, VERSION_ATTRIBUTE, version)
        setattr(user, CONFIRMED_ATTRIBUTE, confirmed)
        return user


def scope_pending(request) -> bool:
    """Whether ``request.user`` was taken under a scope version not confirmed yet."""
    return getattr(request.user, CONFIRMED_ATTRIBUTE, True) is False


def scope_settle(request, reply: object = MISSING) -> bool:
    """Confirm a provisional ``request.user`` against the current scope version. ``reply`` is
    the reply to a read of VERSION_KEY (api.roundtrip), ``UNAVAILABLE`` when Redis could not be read, or left out
    to read it now. If the user was taken under another version, authenticate again under the
    current one (from the database alone when Redis cannot say). Returns whether it did."""
    if not scope_pending(request):
        return False
    if reply is UNAVAILABLE:
        version = None
    elif reply is MISSING or reply is None:
        version = scope_version()  # read now (None without Redis); made if it was never set
    else:
        version = cache.client.decode(reply)  # type: ignore[attr-defined]  # django-redis's cache (CACHES) has a client
    if version is not None and version == getattr(request.user, VERSION_ATTRIBUTE, None):
        setattr(request.user, CONFIRMED_ATTRIBUTE, True)
        return False
    for authenticator in request.authenticators:
        if isinstance(authenticator, ScopeCachedJWTAuthentication):
            authenticator.current_version = version
            authenticator.without_cache = version is None
    request._authenticate()  # DRF's own step: sets the user, or raises 401 for an inactive one
    return True


def _resolve(principal) -> CallerScope:
    rows = facilities_for(principal, FacilityPermission.VIEW_DATA).values_list("id", "code", "time_zone")
    personal = frozenset(facilities_for(principal, FacilityPermission.VIEW_PERSONAL_DATA).values_list("id", flat=True))
    return CallerScope(visible={facility_id: code for facility_id, code, _ in rows}, personal=personal,
                       zones={facility_id: zone for facility_id, _, zone in rows})  # fmt: skip


def _changed(**kwargs) -> None:
    scope_bump()
    transaction.on_commit(scope_bump)


# Users (role, active, superuser), grants and facilities (Admins see them all) decide a scope.
for _model in (User, FacilityGrant, Facility):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"accounts.scope.save.{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"accounts.scope.delete.{_model.__name__}")
