from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_scope import AdminOnly, ScopedModelAdmin
from analytics.models import RefreshRun


@admin.register(RefreshRun)
class RefreshRunAdmin(ScopedModelAdmin):
    """The refresh log. Failures keep the previous data in the views; the error is shown here.
    Admins only, as in the API (who refreshed what, and the database's errors)."""

    scope = AdminOnly()
    allowed_writes = ()

    list_display = ["created_at", "view", "status_badge", "trigger", "requested_by", "duration_ms", "rows",
                    "differences", "concurrent", "short_error"]  # fmt: skip
    list_filter = ["status", "view", "trigger"]
    search_fields = ["=view", "error", "requested_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]
    readonly_fields = ("view", "status", "requested_by", "trigger", "created_at", "claimed_by", "claimed_at",
                       "heartbeat_at", "started_at", "finished_at", "duration_ms", "rows", "differences",
                       "concurrent", "error")  # fmt: skip
    fields = readonly_fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: RefreshRun) -> str:
        colour = {"succeeded": "#2e7d32", "failed": "#c62828", "skipped": "#6d6d6d"}.get(run.status, "#b26a00")
        return format_html('<b style="color:{}">{}</b>', colour, run.status)

    @admin.display(description="error")
    def short_error(self, run: RefreshRun) -> str:
        return run.error[:100]
