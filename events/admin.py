from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.admin import AuditedAdminMixin
from accounts.admin_actions import ObjectActionsMixin
from accounts.admin_scope import FacilityRows, ScopedModelAdmin
from accounts.principals import Actor
from events.models import (
    Application,
    ApplicationStatusChange,
    Candidate,
    ComplianceCheck,
    Event,
    EventStatus,
    Invoice,
    Job,
    OutreachMessage,
    Placement,
)
from events.schema import RECRUITING_TYPES
from events.services.audit import personal_data_read
from events.services.processing import events_reprocess


def link_to(field: str) -> Callable:
    """A list column showing the related record by its sender's id, linked to its admin page."""

    def show(obj) -> str:
        target = getattr(obj, field)
        if target is None:
            return "—"
        url = reverse(f"admin:{target._meta.app_label}_{target._meta.model_name}_change", args=[target.pk])
        return format_html('<a href="{}">{}</a>', url, target.external_id)

    show.short_description = field  # type: ignore[attr-defined]  # the admin reads column options off the function
    show.admin_order_field = f"{field}__external_id"  # type: ignore[attr-defined]  # (as above)
    return show


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: a changelist over a huge table never runs a full COUNT(*)."""

    CAP = 10_000
    object_list: QuerySet[Any]  # a changelist's rows

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


class RecordAdmin(AuditedAdminMixin, ScopedModelAdmin):
    """Rows of a facility are row-level data: staff see those of the facilities whose personal
    data they may see (a Recruiter's), Admins all; a Viewer none (it keeps the dashboard).
    ``"facility"`` in ``list_filter`` offers those facilities only (accounts.admin_scope)."""

    scope = FacilityRows("facility_id")
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50


class EventTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(t, t) for t in RECRUITING_TYPES] + [("_activity", "any activity type")]

    def queryset(self, request, queryset):
        if self.value() == "_activity":
            return queryset.filter(category="activity")
        return queryset.filter(type=self.value()) if self.value() else queryset


class RecentFilter(admin.SimpleListFilter):
    """Date filter for the event log (a date hierarchy would scan it for distinct days)."""

    title = "occurred"
    parameter_name = "occurred"
    SPANS = {"1d": ("last 24 hours", 1), "7d": ("last 7 days", 7), "30d": ("last 30 days", 30)}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.SPANS.items()]

    def queryset(self, request, queryset):
        if self.value() in self.SPANS:
            days = self.SPANS[self.value()][1]  # type: ignore[index]  # value() is one of the keys here
            return queryset.filter(occurred_at__gte=timezone.now() - timedelta(days=days))
        return queryset


class EventStatusFilter(admin.SimpleListFilter):
    """Pending and failed events are found through the queue; processed ones are the rest."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return EventStatus.choices

    def queryset(self, request, queryset):
        return queryset.with_status(self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(ObjectActionsMixin, RecordAdmin):
    """The event log: read-only. Failed events show their reason and can be reprocessed."""

    allowed_writes = ()
    list_display = ["occurred_at", "type", "facility", "status_badge", "attempts", "short_error", "actor", "id"]
    list_filter = [EventStatusFilter, EventTypeFilter, "facility", RecentFilter, "category"]
    search_fields = ["=id", "=actor"]
    list_select_related = ["facility", "queue_entry"]
    actions = ["reprocess"]
    object_actions = ["reprocess"]
    ordering = ["-occurred_at"]
    fields = [
        "id", "type", "category", "occurred_at", "local_date", "received_at", "facility", "actor", "sender",
        "status", "attempts", "last_error", "next_attempt_at", "data",
    ]  # fmt: skip
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups

    @admin.display(description="status")
    def status_badge(self, event: Event) -> str:
        colour = {"pending": "#b26a00", "processed": "#2e7d32", "failed": "#c62828"}[event.status]
        return format_html('<b style="color:{}">{}</b>', colour, event.status)

    @admin.display(description="last error")
    def short_error(self, event: Event) -> str:
        return (event.last_error[:80] + "…") if len(event.last_error) > 80 else event.last_error

    def object_action_applies(self, request, obj: Event, action: str) -> bool:
        return obj.status == EventStatus.FAILED

    @admin.action(description="Reprocess selected failed events", permissions=["operate"])
    def reprocess(self, request, queryset) -> None:
        ids = list(queryset.with_status(EventStatus.FAILED).values_list("id", flat=True)[:10_000])
        count = events_reprocess(event_ids=ids, by=Actor.from_request(request))
        level = messages.SUCCESS if count else messages.WARNING
        self.message_user(request, f"{count} failed event(s) queued again; they are applied within a minute.", level)


@admin.register(Job)
class JobAdmin(RecordAdmin):
    list_display = ["external_id", "title", "facility", "specialty", "positions", "bill_rate", "status", "opened_at"]
    list_filter = ["status", "facility", "specialty"]
    search_fields = ["=external_id", "title"]
    date_hierarchy = "opened_date"
    list_select_related = ["facility"]
    readonly_fields = ["external_id", "facility", "opened_at", "opened_date", "filled_date"]


@admin.register(Candidate)
class CandidateAdmin(RecordAdmin):
    """Candidates of the facilities whose personal data the caller may see (the scope): shown
    unmasked, and each page read is audited."""

    list_display = ["external_id", "first_name", "last_name", "email", "phone", "facility", "source", "registered_at"]
    list_filter = ["facility", "source"]
    search_fields = ["=external_id", "last_name", "email"]
    date_hierarchy = "registered_date"
    list_select_related = ["facility"]
    readonly_fields = ["external_id", "facility", "registered_at", "registered_date"]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")  # absent on a redirect
        if changelist is not None:
            shown = [candidate.external_id for candidate in changelist.result_list]
            personal_data_read(by=Actor.from_request(request), candidates=shown, path=request.get_full_path())
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        candidate = self.get_object(request, object_id)
        if candidate is not None and response.status_code == 200:
            personal_data_read(by=Actor.from_request(request), candidates=[candidate.external_id], path=request.path)
        return response


class StatusHistoryInline(admin.TabularInline):
    model = ApplicationStatusChange
    fields = ["occurred_at", "status", "actor"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(RecordAdmin):
    list_display = ["external_id", "job_link", "candidate_link", "facility", "status", "furthest_stage", "applied_at",
                    "hired_at"]  # fmt: skip
    list_filter = ["status", "facility", "source"]
    search_fields = ["=external_id", "=job__external_id", "=candidate__external_id"]
    date_hierarchy = "applied_date"
    list_select_related = ["facility", "job", "candidate"]
    readonly_fields = ["external_id", "facility", "job", "candidate", "applied_at", "applied_date", "furthest_stage",
                       "offered_at", "hired_at", "status_changed_at"]  # fmt: skip
    inlines = [StatusHistoryInline]

    @admin.display(description="job", ordering="job__external_id")
    def job_link(self, application: Application) -> str:
        return link_to("job")(application)

    @admin.display(description="candidate", ordering="candidate__external_id")
    def candidate_link(self, application: Application) -> str:
        return link_to("candidate")(application)


@admin.register(Placement)
class PlacementAdmin(RecordAdmin):
    list_display = ["external_id", link_to("application"), "facility", "start_date", "end_date", "bill_rate"]
    list_filter = ["facility"]
    search_fields = ["=external_id", "=application__external_id"]
    date_hierarchy = "start_date"
    list_select_related = ["facility", "application"]
    raw_id_fields = ["application"]


@admin.register(Invoice)
class InvoiceAdmin(RecordAdmin):
    list_display = ["external_id", link_to("placement"), "facility", "amount", "issued_at"]
    list_filter = ["facility"]
    search_fields = ["=external_id", "=placement__external_id"]
    date_hierarchy = "issued_date"
    list_select_related = ["facility", "placement"]
    raw_id_fields = ["placement"]


@admin.register(OutreachMessage)
class OutreachMessageAdmin(RecordAdmin):
    list_display = ["external_id", link_to("candidate"), "facility", "channel", "sent_at", "replied_at", "actor"]
    list_filter = ["channel", "facility"]
    search_fields = ["=external_id", "=candidate__external_id", "=actor"]
    date_hierarchy = "sent_date"
    list_select_related = ["facility", "candidate"]
    raw_id_fields = ["candidate"]


@admin.register(ComplianceCheck)
class ComplianceCheckAdmin(RecordAdmin):
    list_display = ["external_id", link_to("candidate"), "facility", "credential", "status", "severity", "score",
                    "expires_on"]  # fmt: skip
    list_filter = ["status", "severity", "facility"]
    search_fields = ["=external_id", "=candidate__external_id", "credential"]
    date_hierarchy = "checked_date"
    list_select_related = ["facility", "candidate"]
    raw_id_fields = ["candidate"]
