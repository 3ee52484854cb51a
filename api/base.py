"""The one enforcement point of the API.

Every API view derives from ScopedGenericViewSet or ScopedAPIView. Before any handler runs:

1. DRF authenticates (JWT, API key, session) and refuses anonymous callers (401);
2. the action's Capability is checked against the caller's role (403); an action that does
   not declare one is refused;
3. querysets are restricted by the view's ``scope`` (facilities via ``facilities_for``,
   Admin-only, or owner) before filtering, searching, ordering or lookup; objects outside it
   are 404;
4. rows of a facility are row-level data (``FacilityScope``): a caller without the
   personal-data permission of a facility gets its aggregates only (the KPIs), and is refused
   its rows with a 403 that says so (``AggregatesOnly``);
5. ordering, filtering or searching by a field masked for the caller (``masked_fields``) at
   any facility the request covers is a 400 naming the field.

Subclasses may not override ``get_queryset``; they declare ``scope`` and may refine the
base queryset with ``base_queryset``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.models import Facility, Role
from accounts.principals import principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability
from accounts.scope import scope_settle
from accounts.selectors import ROW_LEVEL, FacilityPermission, facility_ids_for
from api.roundtrip import OneRoundTrip

if TYPE_CHECKING:
    _View = APIView  # what the mixin is mixed into
else:
    _View = object

AGGREGATES_ONLY = "aggregates_only"


def aggregates_only_reason(codes: Iterable[str], *, who: str = "you") -> str:
    """Why rows of ``codes`` are refused, for a person."""
    listed = ", ".join(sorted(codes))
    return (
        f"Aggregates only at {listed}: {who} {'do' if who == 'you' else 'does'} not hold the personal-data "
        "permission there, and row-level data (records, events, row-level reports and their files) needs it. "
        "Their KPIs (/api/v1/analytics/) remain open."
    )


def owner_or_you(owner: Any, caller: Any = None) -> str:
    """Who lacks the permission, as a refusal names them: "you" when the caller is the owner."""
    if caller is not None and owner.pk == getattr(caller, "pk", None):
        return "you"
    return f"the report's owner ({owner.username})"


class AggregatesOnly(exceptions.PermissionDenied):
    """403: the rows asked for belong to facilities whose aggregates only the caller may see.
    The body is ``{"detail": <reason>, "code": "aggregates_only"}``."""

    default_code = AGGREGATES_ONLY

    def __init__(self, codes: Iterable[str] = (), *, detail: str | None = None) -> None:
        super().__init__({"detail": detail or aggregates_only_reason(codes), "code": AGGREGATES_ONLY})


class Scope:
    """How a view's queryset is narrowed to what the caller may see."""

    def restrict(self, queryset: QuerySet[Any], view: ScopedViewMixin) -> QuerySet[Any]:
        raise NotImplementedError

    def refuse_hidden(self, view: ScopedGenericViewSet) -> None:
        """The object looked up is not among the rows the caller may see: raise the refusal
        that explains it, if any (the lookup is then a 404)."""


class FacilityScope(Scope):
    """Rows whose facility is in the caller's scope for ``permission``.

    Rows of a facility are row-level data (``row_level``, the default), so a new collection of
    records cannot forget the rule: they are the rows of the facilities where the caller also
    holds the personal-data permission (``ROW_LEVEL``). For the facilities of its scope without
    it the caller gets aggregates only (``AggregatesOnly``, a 403 naming them):

    - a list covers the facilities with the permission; one filtered explicitly (``?facility=``)
      to a facility without it is refused, and so is a list for a caller holding the permission
      at none of its facilities (a caller with no facilities at all gets an empty list);
    - a lookup of an object at a facility without it is refused; one outside the scope stays 404.

    Only a collection that holds no rows about people (the facilities themselves) passes
    ``row_level=False``.

    Whatever the rows, a request may not order, filter or search by a field masked for the
    caller (the view's ``masked_fields``) while any facility it covers (the scope, narrowed by
    ``?facility=``) is masked for the caller: a 400 naming the field, decided per request.
    """

    def __init__(
        self,
        lookup: str = "facility_id",
        permission: FacilityPermission = FacilityPermission.VIEW_DATA,
        *,
        row_level: bool = True,
        filter_param: str = "facility",
    ):
        self.lookup = lookup
        self.permission = permission
        self.row_level = row_level
        self.filter_param = filter_param

    def restrict(self, queryset: QuerySet[Any], view: ScopedViewMixin) -> QuerySet[Any]:
        visible = view.facility_ids(self.permission)
        named = self._named_codes(view.request)
        if not self.row_level:
            self._refuse_masked_terms(view, visible, named)
            return queryset.filter(**{f"{self.lookup}__in": visible})
        personal = set(view.facility_ids(ROW_LEVEL))
        allowed = [facility_id for facility_id in visible if facility_id in personal]
        refused = [facility_id for facility_id in visible if facility_id not in personal]
        if refused and not getattr(view, "detail", False):  # a lookup is answered by refuse_hidden
            refused_codes = view.facility_codes(refused)
            asked = sorted(named & set(refused_codes))
            if asked:
                raise AggregatesOnly(asked)
            if not allowed:
                raise AggregatesOnly(refused_codes)
        self._refuse_masked_terms(view, visible, named)
        return queryset.filter(**{f"{self.lookup}__in": allowed})

    def refuse_hidden(self, view: ScopedGenericViewSet) -> None:
        if not self.row_level:
            return
        personal = set(view.facility_ids(ROW_LEVEL))
        refused = [facility_id for facility_id in view.facility_ids(self.permission) if facility_id not in personal]
        value = view.kwargs.get(view.lookup_url_kwarg or view.lookup_field)
        if not refused or value is None:
            return
        # The lookup alone, without the request's filters: a 403 tells that the object is there,
        # never anything about it.
        try:
            facility_id = (
                view.base_queryset()
                .filter(**{view.lookup_field: value, f"{self.lookup}__in": refused})
                .values_list(self.lookup, flat=True)
                .first()
            )
        except (TypeError, ValueError, DjangoValidationError):
            return
        if facility_id is not None:
            raise AggregatesOnly(view.facility_codes([facility_id]))

    def _named_codes(self, request: Request) -> set[str]:
        """The facility codes the request filters to explicitly (repeated or comma-separated)."""
        return {
            code.strip() for value in request.query_params.getlist(self.filter_param)
            for code in value.split(",") if code.strip()
        }  # fmt: skip

    def _refuse_masked_terms(self, view: ScopedViewMixin, visible: list[int], named: set[str]) -> None:
        terms = masked_terms(view)
        if not terms:
            return
        personal = set(view.facility_ids(ROW_LEVEL))
        masked = view.facility_codes([facility_id for facility_id in visible if facility_id not in personal])
        if named:
            masked = [code for code in masked if code in named]
        if not masked:
            return
        where = ", ".join(masked)
        raise exceptions.ValidationError(
            {
                param: [
                    f"{field} is masked for you at {where} (no personal-data permission there): you may not "
                    f"order, filter or search by it. Narrow the request with {self.filter_param}= to facilities "
                    "whose personal data you may see."
                    for field in fields
                ]
                for param, fields in terms.items()
            }
        )


def masked_terms(view: ScopedViewMixin) -> dict[str, list[str]]:
    """The query parameters of the view's request that order, filter or search by one of its
    ``masked_fields``: parameter -> those fields. A field counts wherever it is named: alone,
    at the end of a relation (``candidate__last_name``) or with a lookup (``email__icontains``)."""
    masked: frozenset[str] = getattr(view, "masked_fields", frozenset())
    params = view.request.query_params
    if not masked or not params:
        return {}

    def named_in(path: str) -> list[str]:
        return [part for part in path.split(LOOKUP_SEP) if part in masked]

    ordering, search = api_settings.ORDERING_PARAM, api_settings.SEARCH_PARAM
    filterset = getattr(view, "filterset_class", None)
    filters = filterset.base_filters if filterset is not None else {}
    found: dict[str, list[str]] = {}
    for param in params:
        if param == ordering:
            terms = [term.strip().lstrip("-") for value in params.getlist(param) for term in value.split(",")]
            fields = [field for term in terms for field in named_in(term)]
        elif param == search:
            searched = any(value.strip() for value in params.getlist(param))
            fields = [
                field for path in (getattr(view, "search_fields", None) or ()) if searched
                for field in named_in(path.lstrip("^=@$"))
            ]  # fmt: skip
        else:
            declared = filters.get(param)
            fields = named_in(param) + (named_in(declared.field_name or "") if declared is not None else [])
        if fields:
            found[param] = list(dict.fromkeys(fields))
    return found


class AdminScope(Scope):
    """Everything, for Admins; nothing for anyone else (capabilities refuse them first)."""

    def restrict(self, queryset: QuerySet[Any], view: ScopedViewMixin) -> QuerySet[Any]:
        return queryset if principal_role(view.request.user) == Role.ADMIN else queryset.none()


class OwnerScope(Scope):
    """The caller's own objects; Admins see all."""

    def __init__(self, lookup: str = "owner_id"):
        self.lookup = lookup

    def restrict(self, queryset: QuerySet[Any], view: ScopedViewMixin) -> QuerySet[Any]:
        user = view.request.user
        if principal_role(user) == Role.ADMIN:
            return queryset
        if principal_role(user) is None or not hasattr(user, "_meta"):
            return queryset.none()
        return queryset.filter(**{self.lookup: user.pk})


class ScopedViewMixin(_View):
    """Capability check and per-request scope, shared by viewsets and plain API views."""

    #: action (viewsets) or lower-case HTTP method (plain views) -> what it needs
    capabilities: dict[str, Capability] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication (401), throttles (429)
        if scope_settle(request):  # a provisional user the throttle round trip did not confirm: now
            self.check_permissions(request)
        self.check_capability(request)

    def check_capability(self, request: Request) -> None:
        method = (request.method or "").lower()
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
        cache: dict[FacilityPermission, list[int]] = self.__dict__.setdefault("_facility_ids", {})
        if permission not in cache:
            cache[permission] = facility_ids_for(self.request.user, permission)
        return cache[permission]

    def facility_codes(self, ids: Iterable[int]) -> list[str]:
        """The codes of facilities ``ids``, sorted."""
        ids = list(ids)
        return sorted(Facility.objects.filter(id__in=ids).values_list("code", flat=True)) if ids else []


class ScopedGenericViewSet(ScopedViewMixin, OneRoundTrip, GenericViewSet):  # type: ignore[type-arg]
    scope: Scope
    capabilities = {"list": Capability.READ, "retrieve": Capability.READ, "metadata": Capability.READ}
    #: Fields shown masked to callers without the personal-data permission of the row's
    #: facility (alone or at the end of a relation): never an ordering, filter or search for them.
    masked_fields: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override get_queryset; declare `scope` and `base_queryset`")
        if not isinstance(getattr(cls, "scope", None), Scope):
            raise TypeError(f"{cls.__name__} must declare a `scope`")

    def base_queryset(self) -> QuerySet[Any]:
        declared = getattr(self, "queryset", None)  # the class's own (the stubs take it for a descriptor)
        assert isinstance(declared, QuerySet), f"{type(self).__name__} declares no queryset"
        return declared.all()

    def get_queryset(self) -> QuerySet[Any]:
        return self.scope.restrict(self.base_queryset(), self)

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except Http404:
            self.scope.refuse_hidden(self)  # a 403 when the scope can say why the object is hidden
            raise


class ScopedAPIView(ScopedViewMixin, OneRoundTrip, APIView):
    """For endpoints that are not a model collection (KPIs, stats). They read through
    ``self.facility_ids()`` and declare ``capabilities`` per HTTP method."""
