"""Buttons on an object's admin page for the actions an operator takes on that one object.

A button runs the model admin's own action on a queryset of that single object, so it has
the same permission check, the same service call and the same message as the action in the
changelist. Operational actions that the API keeps for Admins declare
``permissions=["operate"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from accounts.principals import principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]  # what the mixin is mixed into
else:
    _ModelAdminBase = object


class ObjectActionsMixin(_ModelAdminBase):
    #: names of the admin's actions offered as buttons on an object's page
    object_actions: list[str] = []
    change_form_template = "admin/console/change_form.html"

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return principal_role(request.user) in CAPABILITY_HOLDERS[Capability.ADMIN]

    def object_action_applies(self, request: HttpRequest, obj: Any, action: str) -> bool:
        """Whether the button makes sense for ``obj`` now (e.g. reprocess: only failed events)."""
        return True

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_object_action"
        view = self.admin_site.admin_view(self.object_action_view)
        return [path("<path:object_id>/actions/<str:action>/", view, name=name), *super().get_urls()]

    def _object_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        available = self.get_actions(request)  # filtered by each action's permissions
        # Django's get_actions never maps a name to None (the stubs allow it).
        return [
            {"name": name, "label": available[name][2], "url": reverse(  # type: ignore[index]  # never None
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_object_action",
                args=[obj.pk, name])}
            for name in self.object_actions
            if name in available and self.object_action_applies(request, obj, name)
        ]  # fmt: skip

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        buttons = self._object_buttons(request, obj) if obj is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "object_buttons": buttons})

    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))  # within the admin's (scoped) queryset
        if obj is None or action not in self.object_actions:
            raise Http404
        available = self.get_actions(request)
        if action not in available:
            raise PermissionDenied
        func = available[action][0]  # type: ignore[index]  # Django's get_actions holds no None (the stubs allow one)
        func(self, request, self.get_queryset(request).filter(pk=obj.pk))
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        )
