"""The console's one enforcement point: every ModelAdmin derives from ScopedAdminMixin.

The API narrows every queryset in its base viewset (api.base); the console does the
same here, from the same rules, none of them restated:

- a caller's facilities are ``facilities_for`` (read through accounts.scope's per-process cache,
  so a grant or a revocation takes effect on the next request, as in the API);
- rows of a facility are row-level data, which need the personal-data permission there
  (``accounts.selectors.ROW_LEVEL``): a Viewer, who holds it nowhere, gets no rows at all and
  keeps the dashboard (aggregates, through the KPI catalog) and its own reports;
- who counts as an Admin, and who may own reports, is ``accounts.roles.CAPABILITY_HOLDERS``.

Each model admin declares its ``scope``:

- ``FacilityRows("facility_id")``: rows of the facilities where the caller may see rows;
- ``OwnRows("owner_id")``: the caller's own rows (reports, their runs and deliveries);
- ``AdminOnly()``: Admins only (users, grants, keys, the audit log, schedules, the refresh log).

Admins see every row whatever the scope. The base applies the scope to the changelist and every
lookup of an object (``get_queryset``: change, history and delete pages, object actions, and the
autocomplete and raw-id pop-ups of the model), to the module, view, add, change and delete
permissions (model permissions may narrow them, never widen them: a caller the scope does not
reach does not see the model at all), to the facilities a list filter or a form offers, to the
choices of a relation to another scoped model, and to admin actions (an action gets the scoped
queryset again, and only a caller who may view the model runs one). A subclass may not override
those methods (a TypeError on import) and a system check (``accounts.E001``) refuses a registered
ModelAdmin that does not derive from the base or declares no scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.admin.sites import all_sites
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import ForeignKey, ManyToManyField, QuerySet
from django.http import HttpRequest

from accounts.models import Facility
from accounts.principals import principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability
from accounts.scope import caller_scope
from accounts.selectors import ROW_LEVEL, FacilityPermission, facility_ids_for


class ScopeCaller:
    """Who asks, with its facilities resolved once: what a scope reads of a console request."""

    def __init__(self, user) -> None:
        self.user = user
        self.role = principal_role(user)
        self._ids: dict[FacilityPermission, list[int]] = {}

    @property
    def is_admin(self) -> bool:
        return self.role in CAPABILITY_HOLDERS[Capability.ADMIN]

    def holds(self, capability: Capability) -> bool:
        return self.role in CAPABILITY_HOLDERS[capability]

    def facility_ids(self, permission: FacilityPermission) -> list[int]:
        """The caller's facilities for ``permission`` (``facilities_for``, cached per process)."""
        permission = FacilityPermission(permission)
        if permission not in self._ids:
            if self.role is None:
                self._ids[permission] = []
            elif permission == FacilityPermission.VIEW_DATA:
                self._ids[permission] = list(caller_scope(self.user).all_ids)
            elif permission == FacilityPermission.VIEW_PERSONAL_DATA:
                self._ids[permission] = sorted(caller_scope(self.user).personal)
            else:
                self._ids[permission] = facility_ids_for(self.user, permission)
        return self._ids[permission]

    def facilities(self, permission: FacilityPermission) -> QuerySet[Facility]:
        if self.is_admin:
            return Facility.objects.all()
        return Facility.objects.filter(id__in=self.facility_ids(permission))


def scope_caller(request) -> ScopeCaller:
    """The request's caller, made once per request (and again if the user changes)."""
    caller = getattr(request, "_scope_caller", None)
    if caller is None or caller.user is not request.user:
        caller = ScopeCaller(request.user)
        request._scope_caller = caller
    return caller


class ConsoleScope:
    """How a model admin's rows are narrowed for a caller. Admins always see every row."""

    def restrict(self, queryset: QuerySet, caller: ScopeCaller) -> QuerySet:
        raise NotImplementedError

    def reaches(self, caller: ScopeCaller) -> bool:
        """Whether any row can be the caller's: if not, the model is not shown to it at all."""
        raise NotImplementedError

    def facilities(self, caller: ScopeCaller) -> QuerySet[Facility]:
        """The facilities the caller's rows may belong to: what a filter or a form offers."""
        raise NotImplementedError


class FacilityRows(ConsoleScope):
    """Rows of the facilities where the caller holds ``permission`` (row-level data by default:
    the personal-data permission). ``lookup`` is the path to the row's facility id."""

    def __init__(self, lookup: str = "facility_id", permission: FacilityPermission = ROW_LEVEL) -> None:
        self.lookup = lookup
        self.permission = FacilityPermission(permission)

    def restrict(self, queryset: QuerySet, caller: ScopeCaller) -> QuerySet:
        if caller.is_admin:
            return queryset  # every facility, and rows that name none (events of an unknown sender)
        return queryset.filter(**{f"{self.lookup}__in": caller.facility_ids(self.permission)})

    def reaches(self, caller: ScopeCaller) -> bool:
        return caller.is_admin or bool(caller.facility_ids(self.permission))

    def facilities(self, caller: ScopeCaller) -> QuerySet[Facility]:
        return caller.facilities(self.permission)


class OwnRows(ConsoleScope):
    """The caller's own rows; ``lookup`` is the path to the owner's id."""

    def __init__(self, lookup: str = "owner_id") -> None:
        self.lookup = lookup

    def restrict(self, queryset: QuerySet, caller: ScopeCaller) -> QuerySet:
        if caller.is_admin:
            return queryset
        if not caller.holds(Capability.OWN) or caller.user.pk is None:
            return queryset.none()
        return queryset.filter(**{self.lookup: caller.user.pk})

    def reaches(self, caller: ScopeCaller) -> bool:
        return caller.holds(Capability.OWN)

    def facilities(self, caller: ScopeCaller) -> QuerySet[Facility]:
        return caller.facilities(FacilityPermission.VIEW_DATA)  # what the owner's reports may cover


class AdminOnly(ConsoleScope):
    """Admins only: nothing here is any other role's (accounts, schedules, logs)."""

    def restrict(self, queryset: QuerySet, caller: ScopeCaller) -> QuerySet:
        return queryset if caller.is_admin else queryset.none()

    def reaches(self, caller: ScopeCaller) -> bool:
        return caller.is_admin

    def facilities(self, caller: ScopeCaller) -> QuerySet[Facility]:
        return Facility.objects.all() if caller.is_admin else Facility.objects.none()


def facility_filter(path: str) -> type[admin.SimpleListFilter]:
    """A list filter by facility code over ``path`` (a relation to Facility) that offers only
    the facilities of the model admin's scope, read from the small facility table."""

    class ScopedFacilityFilter(admin.SimpleListFilter):
        title = "facility"
        parameter_name = path

        def lookups(self, request, model_admin):
            codes = model_admin.scope.facilities(scope_caller(request)).order_by("code").values_list("code", flat=True)
            return [(code, code) for code in codes]

        def queryset(self, request, queryset):
            return queryset.filter(**{f"{path}__code": self.value()}) if self.value() else queryset

    return ScopedFacilityFilter


# What the base decides; a subclass (or a mixin placed before the base) overriding one of these
# would bypass the scope.
GUARDED = (
    "get_queryset",
    "get_object",
    "get_actions",
    "get_field_queryset",
    "get_list_filter",
    "has_module_permission",
    "has_view_permission",
    "has_add_permission",
    "has_change_permission",
    "has_delete_permission",
)
WRITES = ("add", "change", "delete")

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]  # what the mixin is mixed into
else:
    _ModelAdminBase = object


class ScopedAdminMixin(_ModelAdminBase):
    """The base of every ModelAdmin of the console (see the module's docstring).

    Declare ``scope``; refine the rows with ``base_queryset`` (annotations, prefetching), never
    ``get_queryset``; say which writes the admin allows at all with ``allowed_writes`` (history
    and logs: none); model permissions then decide who may make them, within the scope.
    """

    scope: ConsoleScope
    allowed_writes: tuple[str, ...] = WRITES

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for klass in cls.__mro__:
            if klass is ScopedAdminMixin:
                break
            overridden = sorted(set(GUARDED) & set(vars(klass)))
            if overridden:
                raise TypeError(
                    f"{cls.__name__}: {klass.__name__} overrides {', '.join(overridden)}, which the scope decides; "
                    "declare `scope`, `base_queryset` or `allowed_writes` instead"
                )
        unknown = set(cls.allowed_writes) - set(WRITES)
        if unknown:
            raise TypeError(f"{cls.__name__}.allowed_writes: unknown {sorted(unknown)}")

    # --- rows -------------------------------------------------------------------------------

    def base_queryset(self, request: HttpRequest) -> QuerySet:
        """The rows before scoping: override to annotate or prefetch."""
        return super().get_queryset(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope.restrict(self.base_queryset(request), scope_caller(request))

    def in_scope(self, request: HttpRequest, obj) -> bool:
        """Whether ``obj`` is one of the caller's rows (asked once per request and object)."""
        caller = scope_caller(request)
        if obj is None or obj.pk is None or caller.is_admin:
            return True  # nothing stored to guard (an add form), or an Admin's: every row is
        seen = caller.__dict__.setdefault("_in_scope", {})
        key = (self.model._meta.label_lower, obj.pk)
        if key not in seen:
            rows = self.model._default_manager.filter(pk=obj.pk)
            seen[key] = self.scope.restrict(rows, caller).exists()
        return seen[key]

    # --- permissions ------------------------------------------------------------------------

    def scope_reaches(self, request: HttpRequest) -> bool:
        return self.scope.reaches(scope_caller(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) and self.scope_reaches(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self.scope_reaches(request) and self.in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest, *args, **kwargs) -> bool:
        allowed = "add" in self.allowed_writes and super().has_add_permission(request, *args, **kwargs)
        return allowed and self.scope_reaches(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return (
            "change" in self.allowed_writes
            and super().has_change_permission(request, obj)
            and self.scope_reaches(request)
            and self.in_scope(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return (
            "delete" in self.allowed_writes
            and super().has_delete_permission(request, obj)
            and self.scope_reaches(request)
            and self.in_scope(request, obj)
        )

    # --- filters, choices, actions ----------------------------------------------------------

    def get_list_filter(self, request: HttpRequest):
        """A filter named by a relation to Facility offers the scope's facilities only."""
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry):
        if isinstance(entry, str):
            try:
                field = self.model._meta.get_field(entry)
            except FieldDoesNotExist:  # a lookup path (a__b): Django's own filter, on the scoped rows
                return entry
            if isinstance(field, ForeignKey | ManyToManyField) and field.related_model is Facility:
                return facility_filter(entry)
        return entry

    def get_field_queryset(self, db, db_field, request: HttpRequest):
        """Choices of a relation: facilities of the scope; rows of another scoped model as its
        admin scopes them for this caller."""
        model = db_field.remote_field.model
        if model is Facility:
            return self.scope.facilities(scope_caller(request)).using(db).order_by("code")
        related = self.admin_site._registry.get(model)
        if isinstance(related, ScopedAdminMixin):
            return related.get_queryset(request).using(db)
        return super().get_field_queryset(db, db_field, request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django's get_actions never maps a name to None (the stubs allow it).
        return {name: (self._scoped_action(func), name, description)  # type: ignore[misc]  # never None
                for name, (func, _, description) in super().get_actions(request).items()}  # fmt: skip

    def _scoped_action(self, func: Callable) -> Callable:
        @wraps(func)
        def run(modeladmin, request, queryset):
            if not modeladmin.has_view_permission(request):
                raise PermissionDenied
            return func(modeladmin, request, modeladmin.scope.restrict(queryset, scope_caller(request)))

        return run


class ScopedModelAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """admin.ModelAdmin with the console's scope."""


# --- outside the changelists: the console's own pages ----------------------------------------


def scoped_admin(model, site: admin.AdminSite | None = None) -> ScopedAdminMixin:
    """The scoped model admin of ``model`` on the console's site."""
    model_admin = (site or admin.site)._registry.get(model)
    if not isinstance(model_admin, ScopedAdminMixin):
        raise LookupError(f"{model._meta.label} has no scoped model admin")
    return model_admin


def admin_scope_restrict(queryset: QuerySet, *, user) -> QuerySet:
    """``queryset`` narrowed for ``user`` as the console's admin of its model narrows it: what a
    page outside the changelists (the dashboard, the status panel) may count or show."""
    return scoped_admin(queryset.model).scope.restrict(queryset, ScopeCaller(user))


def admin_scope_facility_ids(model, *, user) -> list[int]:
    """The facilities whose rows of ``model`` ``user`` may see in the console."""
    return list(scoped_admin(model).scope.facilities(ScopeCaller(user)).values_list("id", flat=True))


def admin_may_view(model, *, user) -> bool:
    """Whether ``user`` may open ``model``'s pages in the console (so a page may link to them)."""
    try:
        model_admin = scoped_admin(model)
    except LookupError:
        return False
    return model_admin.has_view_permission(cast(HttpRequest, SimpleNamespace(user=user)))  # only the user is read


# --- the check that no admin is left out ------------------------------------------------------


def unscoped_admins(sites=None) -> list[str]:
    """Registered model admins (of every site) that do not derive from the base or declare no scope."""
    problems = []
    for site in all_sites if sites is None else sites:
        for model, model_admin in site._registry.items():
            name = f"{model._meta.label}: {type(model_admin).__name__}"
            if not isinstance(model_admin, ScopedAdminMixin):
                problems.append(f"{name} does not derive from ScopedAdminMixin")
            elif not isinstance(getattr(model_admin, "scope", None), ConsoleScope):
                problems.append(f"{name} declares no scope")
    return problems


def check_admins_are_scoped(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem, hint="Derive it from accounts.admin_scope.ScopedModelAdmin and declare `scope`.",
                     id="accounts.E001")
        for problem in unscoped_admins()
    ]  # fmt: skip
