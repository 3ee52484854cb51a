"""The admin site of the operator console: the home page is a dashboard, ``status/`` is the
system status panel, and ``status/refresh/`` refreshes views on an operator's request.

Views here only check who asks, call one selector or service, and render; the numbers come
from the KPI catalog and the writes from the same services as the API.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.principals import Actor, principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability
from analytics.registry import BY_KEY
from analytics.services.refresh import refresh_request
from console import charts
from console.selectors import console_dashboard, console_status

logger = logging.getLogger(__name__)

SERIES = [  # (key in the dashboard's daily rows, chart title, money)
    ("applications", "Applications per day", False),
    ("hires", "Hires per day", False),
    ("revenue", "Revenue per day", True),
    ("replies", "Outreach replies per day", False),
]


def may_operate(request: HttpRequest) -> bool:
    """Refreshing views and reprocessing events are Admin actions, in the console as in the API."""
    return principal_role(request.user) in CAPABILITY_HOLDERS[Capability.ADMIN]


def dashboard_context(request: HttpRequest) -> dict:
    try:
        dashboard = console_dashboard(user=request.user)
    except DatabaseError:  # e.g. views never populated on a new install: say so, don't fail the home page
        logger.exception("console: the dashboard could not be computed")
        return {"dashboard_error": "The KPI views could not be read. Refresh them on the status page."}
    daily = dashboard.daily
    return {
        "dashboard": dashboard,
        "charts": [
            charts.line_chart([charts.Point(row["date"], row.get(key)) for row in daily], title=title, money=money)
            for key, title, money in SERIES
        ],
        "funnel": charts.bar_chart(
            [
                charts.Bar(
                    stage["stage"],
                    stage["count"],
                    "" if stage.get("conversion") is None else f"{stage['conversion']:.1%} of previous",
                )
                for stage in dashboard.funnel
            ],
            title="Pipeline funnel (applications of the period by furthest stage)",
        ),
    }


class OperatorAdminSite(admin.AdminSite):
    site_header = "Staffing Analytics · operator console"
    site_title = "Staffing Analytics"
    index_title = "Dashboard"
    index_template = "admin/console/index.html"

    def get_urls(self):
        return [
            path("status/", self.admin_view(self.status_view), name="console-status"),
            path("status/refresh/", self.admin_view(require_POST(self.refresh_view)), name="console-refresh"),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        context = {**dashboard_context(request), "status": console_status(user=request.user), **(extra_context or {})}
        return super().index(request, context)

    def status_view(self, request: HttpRequest) -> HttpResponse:
        status = console_status(user=request.user)
        context = {
            **self.each_context(request),
            "title": "System status",
            "status": status,
            "may_operate": may_operate(request),
            "busy": any(view.active for view in status.views),
        }
        return TemplateResponse(request, "admin/console/status.html", context)

    def refresh_view(self, request: HttpRequest) -> HttpResponse:
        target = reverse("admin:console-status")
        if not may_operate(request):
            messages.error(request, "Only Admins may refresh views.")
            return HttpResponseRedirect(target)
        view = request.POST.get("view", "")
        if view != "all" and view not in BY_KEY:
            messages.error(request, f"Unknown view {view!r}.")
            return HttpResponseRedirect(target)
        runs = refresh_request(views=None if view == "all" else [view], by=Actor.from_request(request), trigger="admin")
        messages.success(
            request,
            f"Refresh of {'every view' if view == 'all' else view} queued: "
            + ", ".join(f"{run.view} #{run.pk} ({run.status})" for run in runs)
            + ". The runs below show their progress.",
        )
        return HttpResponseRedirect(target)
