"""The one enforcement point of the API.

Every API view derives from ScopedGenericViewSet or ScopedAPIView. Before any handler runs:

1. DRF authenticates (JWT, API key, session) and refuses anonymous callers (401);
2. the action's Capability is checked against the caller's role (403); an action that does
   not declare one is refused;
3. querysets are restricted by the view's ``scope`` (facilities via ``facilities_for``,
   Admin-only, or owner) before filtering, searching, ordering or lookup; objects outside it
   are 404.

Subclasses may not override ``get_queryset``; they declare ``scope`` and may refine the
base queryset with ``base_queryset``.
"""

from __future__ import annotations

import logging

from django.db.models import QuerySet
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.models import Role
from accounts.principals import principal_role
from accounts.redis_batch import Call, redis_batch
from accounts.roles import CAPABILITY_HOLDERS, Capability
from accounts.scope import UNAVAILABLE, scope_pending, scope_settle, scope_version_call
from accounts.selectors import FacilityPermission, facility_ids_for

logger = logging.getLogger(__name__)


class Scope:
    """How a view's queryset is narrowed to what the caller may see."""

    def restrict(self, queryset: QuerySet, view: ScopedViewMixin) -> QuerySet:
        raise NotImplementedError


class FacilityScope(Scope):
    """Rows whose facility is in the caller's scope for ``permission``."""

    def __init__(self, lookup: str = "facility_id", permission: FacilityPermission = FacilityPermission.VIEW_DATA):
        self.lookup = lookup
        self.permission = permission

    def restrict(self, queryset: QuerySet, view: ScopedViewMixin) -> QuerySet:
        return queryset.filter(**{f"{self.lookup}__in": view.facility_ids(self.permission)})


class AdminScope(Scope):
    """Everything, for Admins; nothing for anyone else (capabilities refuse them first)."""

    def restrict(self, queryset: QuerySet, view: ScopedViewMixin) -> QuerySet:
        return queryset if principal_role(view.request.user) == Role.ADMIN else queryset.none()


class OwnerScope(Scope):
    """The caller's own objects; Admins see all."""

    def __init__(self, lookup: str = "owner_id"):
        self.lookup = lookup

    def restrict(self, queryset: QuerySet, view: ScopedViewMixin) -> QuerySet:
        user = view.request.user
        if principal_role(user) == Role.ADMIN:
            return queryset
        if principal_role(user) is None or not hasattr(user, "_meta"):
            return queryset.none()
        return queryset.filter(**{self.lookup: user.pk})


class ScopedViewMixin:
    """Capability check and per-request scope, shared by viewsets and plain API views."""

    #: action (viewsets) or lower-case HTTP method (plain views) -> what it needs
    capabilities: dict[str, Capability] = {}
    request: Request

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authentication (401), throttles (429)
        if scope_settle(request):  # a provisional user not confirmed by check_throttles: now
            self.check_permissions(request)
        self.check_capability(request)

    def check_throttles(self, request: Request) -> None:
        """DRF's throttle check, with every Redis call this step needs in one round trip: each
        throttle's count, the confirmation of a provisional user (accounts.scope) and what the
        view wants read early (``prefetch_calls``). The prefetched replies are kept only if the
        user was confirmed as it was; a caller authenticated again gets none."""
        counted = [(throttle, throttle.count_call(request, self)) for throttle in self.get_throttles()]
        counted = [(throttle, call) for throttle, call in counted if call is not None]
        pending = scope_pending(request)
        prefetch = self.prefetch_calls(request)
        calls = [call for _, call in counted] + ([scope_version_call()] if pending else []) + prefetch
        try:
            replies = redis_batch(calls)
        except Exception:  # Redis down: throttles allow, as DRF's would fail open here too
            logger.warning("Redis unavailable for throttles and scope; requests allowed", exc_info=True)
            replies = None
        if pending:
            version_reply = UNAVAILABLE if replies is None else replies[len(counted)]
            if scope_settle(request, version_reply):  # authenticated again: checked again, nothing prefetched
                self.check_permissions(request)
                prefetch = []
        if replies is not None and prefetch:
            self.prefetched(request, replies[len(calls) - len(prefetch) :])
        refused = []
        for (throttle, _), reply in zip(counted, replies or [], strict=False):
            if not throttle.counted(reply):
                refused.append(throttle.wait())
        if refused:
            self.throttled(request, max((wait for wait in refused if wait is not None), default=None))

    def prefetch_calls(self, request: Request) -> list[Call]:
        """Redis calls whose replies the handler will want, sent with the throttle counts."""
        return []

    def prefetched(self, request: Request, replies: list) -> None:
        """The replies to ``prefetch_calls``, once the caller is confirmed."""

    def check_capability(self, request: Request) -> None:
        method = request.method.lower()
        action = getattr(self, "action", None)
        if action is None and not hasattr(self, method):
            return  # no handler: DRF answers 405 and touches no data
        capability = self.capabilities.get(action or method)
        if capability is None and method in ("head", "options"):
            capability = Capability.READ
        role = principal_role(request.user)
        if capability is None or role not in CAPABILITY_HOLDERS[capability]:
            raise exceptions.PermissionDenied("Your role may not do this.")

    def facility_ids(self, permission: FacilityPermission = FacilityPermission.VIEW_DATA) -> list[int]:
        """The caller's facility ids for ``permission``, resolved once per request."""
        cache = self.__dict__.setdefault("_facility_ids", {})
        if permission not in cache:
            cache[permission] = facility_ids_for(self.request.user, permission)
        return cache[permission]


class ScopedGenericViewSet(ScopedViewMixin, GenericViewSet):
    scope: Scope
    capabilities = {"list": Capability.READ, "retrieve": Capability.READ, "metadata": Capability.READ}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override get_queryset; declare `scope` and `base_queryset`")
        if not isinstance(getattr(cls, "scope", None), Scope):
            raise TypeError(f"{cls.__name__} must declare a `scope`")

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        return self.scope.restrict(self.base_queryset(), self)


class ScopedAPIView(ScopedViewMixin, APIView):
    """For endpoints that are not a model collection (KPIs, stats). They read through
    ``self.facility_ids()`` and declare ``capabilities`` per HTTP method."""
