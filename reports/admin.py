"""Reports in the operator console: definitions with their schedule and recent runs, runs and
deliveries with their errors, and the actions an operator needs (run now, test email to me,
resend). Every write goes through reports.services."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_celery_beat.models import PeriodicTask

from accounts.admin_actions import ObjectActionsMixin
from accounts.admin_scope import OwnRows, ScopedModelAdmin
from accounts.principals import Actor
from api.base import aggregates_only_reason, owner_or_you
from reports.building import definition_rows_refused
from reports.models import DeliveryStatus, Report, ReportDelivery, ReportRun, RunTrigger
from reports.schedules import cron_parse, zone_parse
from reports.services.definitions import (
    FIELDS,
    report_definition_errors,
    report_disable,
    report_period_settle,
    report_save,
)
from reports.services.delivery import report_delivery_resend
from reports.services.runs import report_run_request

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class LastRun(TypedDict):
        """What ReportAdmin.base_queryset annotates each report with."""

        last_run_id: int | None
        last_run_status: str | None


STATUS_COLOURS = {"succeeded": "#2e7d32", "sent": "#2e7d32", "failed": "#c62828", "running": "#1565c0"}


def badge(status: str) -> str:
    return format_html('<b style="color:{}">{}</b>', STATUS_COLOURS.get(status, "#b26a00"), status)


class ReportForm(forms.ModelForm):
    schedule_crontab = forms.CharField(
        label="Crontab", required=False, help_text="minute hour day-of-month month day-of-week, e.g. 0 7 * * 1 "
        "(Mondays 07:00). Empty: run by hand only."
    )  # fmt: skip
    schedule_time_zone = forms.CharField(label="Time zone", required=False, initial="UTC",
                                         help_text="IANA name, e.g. America/New_York")  # fmt: skip

    class Meta:
        model = Report
        fields = ["owner", "name", "kpi", "period", "start_date", "end_date", "facilities", "group_by", "options",
                  "format", "recipients", "enabled"]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        schedule = self.instance.schedule_or_none
        if schedule:
            self.initial.setdefault("schedule_crontab", schedule.crontab)
            self.initial.setdefault("schedule_time_zone", schedule.time_zone)

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Django's forms return their cleaned_data
        crontab, zone = data.get("schedule_crontab", "").strip(), data.get("schedule_time_zone", "").strip() or "UTC"
        if crontab:
            try:
                cron_parse(crontab)
            except ValueError as exc:
                self.add_error("schedule_crontab", str(exc))
            try:
                zone_parse(zone)
            except ValueError as exc:
                self.add_error("schedule_time_zone", str(exc))
        named = {name: data.get(name) for name in ("period", "start_date", "end_date")}
        settled, period_errors = report_period_settle(named)
        data.update(settled)
        for message in period_errors:
            self.add_error("period", message)
        errors = report_definition_errors(
            kpi=data.get("kpi"), period=data.get("period"), start_date=data.get("start_date"),
            end_date=data.get("end_date"), group_by=data.get("group_by"), options=data.get("options"),
            recipients=data.get("recipients"), scheduled=bool(crontab),
        )  # fmt: skip
        for field, messages_ in errors.items():
            for message in messages_:
                self.add_error(field, message)
        owner, kind = data.get("owner"), data.get("kpi")
        if owner is not None and kind and "facilities" not in self.errors:
            refused = definition_rows_refused(owner=owner, kind=kind, facilities=data.get("facilities") or [])
            if refused:
                self.add_error("kpi", aggregates_only_reason(refused, who=owner_or_you(owner)))
        data["schedule"] = {"crontab": " ".join(crontab.split()), "time_zone": zone} if crontab else None
        return data


class RecentRunsInline(admin.TabularInline):
    model = ReportRun
    fields = ["run_link", "trigger", "status_badge", "scheduled_for", "finished_at", "rows", "bytes", "error"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "runs of the last 60 days"
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(created_at__gte=timezone.now() - timedelta(days=60))

    @admin.display(description="run")
    def run_link(self, run: ReportRun) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:reports_reportrun_change", args=[run.pk]), run.pk)

    @admin.display(description="status")
    def status_badge(self, run: ReportRun) -> str:
        return badge(run.status)


@admin.register(Report)
class ReportAdmin(ObjectActionsMixin, ScopedModelAdmin):
    """Each caller's own reports (Admins: all), as in the API."""

    scope = OwnRows("owner_id")
    form = ReportForm
    list_display = ["name", "owner", "kpi", "format", "period", "schedule_display", "enabled", "last_run",
                    "disabled_reason"]  # fmt: skip
    list_filter = ["kpi", "format", "enabled", "period"]
    search_fields = ["name", "owner__username", "recipients"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["owner"]
    filter_horizontal = ["facilities"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "beat_entry", "beat_state", "created_at",
                       "updated_at"]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["owner", "name", "kpi", "options", "format", "enabled"]}),
        ("Data", {"fields": ["period", "start_date", "end_date", "facilities", "group_by"]}),
        ("Delivery", {"fields": ["recipients", "schedule_crontab", "schedule_time_zone", "beat_entry"]}),
        ("State", {"fields": ["consecutive_failures", "disabled_reason", "created_at", "updated_at"]}),
    ]
    inlines = [RecentRunsInline]
    actions: list[str] = ["run_now", "send_test_email_to_me", "switch_on", "switch_off"]
    object_actions = actions

    def base_queryset(self, request) -> QuerySet:
        latest = ReportRun.objects.filter(report=OuterRef("pk")).order_by("-created_at", "-id")
        return (
            super().base_queryset(request).select_related("owner", "schedule__periodic_task")
            .annotate(last_run_id=Subquery(latest.values("id")[:1]),
                      last_run_status=Subquery(latest.values("status")[:1]))
        )  # fmt: skip

    def get_changeform_initial_data(self, request) -> dict:
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description="schedule")
    def schedule_display(self, report: Report) -> str:
        schedule = report.schedule_or_none
        if schedule is None:
            return "by hand"
        paused = schedule.periodic_task is not None and not schedule.periodic_task.enabled
        return f"{schedule.crontab} ({schedule.time_zone})" + (" — paused" if paused else "")

    @admin.display(description="last run")
    def last_run(self, report: WithAnnotations[Report, LastRun]) -> str:
        if report.last_run_id is None:  # annotated in base_queryset: one query for the whole page
            return "—"
        assert report.last_run_status is not None  # the same run's
        url = reverse("admin:reports_reportrun_change", args=[report.last_run_id])
        return format_html('<a href="{}">#{} {}</a>', url, report.last_run_id, badge(report.last_run_status))

    @admin.display(description="beat entry")
    def beat_entry(self, report: Report) -> str:
        schedule = report.schedule_or_none
        if schedule is None or schedule.periodic_task_id is None:
            return "—"
        assert schedule.periodic_task is not None  # periodic_task_id is set
        url = reverse("admin:django_celery_beat_periodictask_change", args=[schedule.periodic_task_id])
        state = "enabled" if schedule.periodic_task.enabled else "paused"
        return format_html('<a href="{}">{}</a> ({})', url, schedule.periodic_task.name, state)

    @admin.display(description="beat entry")
    def beat_state(self, report: Report) -> str:
        """The beat entry without a link to it, for callers who may not open the schedules."""
        schedule = report.schedule_or_none
        if schedule is None or schedule.periodic_task_id is None:
            return "—"
        assert schedule.periodic_task is not None  # periodic_task_id is set
        return f"{schedule.periodic_task.name} ({'enabled' if schedule.periodic_task.enabled else 'paused'})"

    def get_fieldsets(self, request, obj=None):
        """The beat entry links to the schedules, which are Admins' own: others see its state."""
        schedules = self.admin_site._registry.get(PeriodicTask)
        if schedules is not None and schedules.has_view_permission(request):
            return self.fieldsets
        return [(name, {**options, "fields": ["beat_state" if field == "beat_entry" else field
                                              for field in options["fields"]]})
                for name, options in self.fieldsets]  # fmt: skip

    def save_model(self, request, obj: Report, form, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in FIELDS if name in form.cleaned_data}
        current = Report.objects.get(pk=obj.pk) if change else None
        saved = report_save(
            by=Actor.from_request(request),
            report=current,
            owner=None if change else form.cleaned_data["owner"],
            facilities=list(form.cleaned_data.get("facilities") or []),
            schedule=form.cleaned_data.get("schedule"),
            **values,
        )
        obj.pk = saved.pk
        form.instance = saved

    def save_related(self, request, form, formsets, change: bool) -> None:
        """Facilities and the schedule were saved by report_save; the runs inline is read-only
        (saving it changes nothing, and lets the admin log what happened)."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Run now (send to the recipients)")
    def run_now(self, request, queryset: QuerySet) -> None:
        runs = [report_run_request(report=r, by=Actor.from_request(request)) for r in queryset]
        self.message_user(request, f"Queued {len(runs)} run(s): " + ", ".join(f"#{run.pk}" for run in runs)
                          + ". They appear under Report runs as they progress.", messages.SUCCESS)  # fmt: skip

    def object_action_applies(self, request, obj: Report, action: str) -> bool:
        if action == "switch_on":
            return not obj.enabled
        if action == "switch_off":
            return obj.enabled
        return True

    @admin.action(description="Switch on (schedule runs again)")
    def switch_on(self, request, queryset: QuerySet) -> None:
        off = list(queryset.filter(enabled=False))
        for report in off:
            report_save(by=Actor.from_request(request), report=report, enabled=True)
        self.message_user(request, f"Switched on {len(off)} report(s); their schedules run from the next slot on "
                          "(missed slots are not sent late).", messages.SUCCESS)  # fmt: skip

    @admin.action(description="Switch off (pause the schedule)")
    def switch_off(self, request, queryset: QuerySet) -> None:
        on = list(queryset.filter(enabled=True))
        for report in on:
            report_disable(report=report, reason=f"Switched off by {request.user.get_username()} in the console.",
                           by=Actor.from_request(request))  # fmt: skip
        self.message_user(request, f"Switched off {len(on)} report(s).", messages.SUCCESS)

    @admin.action(description="Send a test email to me")
    def send_test_email_to_me(self, request, queryset: QuerySet) -> None:
        if not request.user.email:
            self.message_user(request, "Your account has no email address; add one first.", messages.ERROR)
            return
        runs = [report_run_request(report=r, by=Actor.from_request(request), trigger=RunTrigger.TEST) for r in queryset]
        self.message_user(request, f"Queued {len(runs)} test run(s) to {request.user.email}.", messages.SUCCESS)


class DeliveryInline(admin.TabularInline):
    model = ReportDelivery
    fields = ["recipient", "status_badge", "attempts", "sent_at", "error"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    extra = 0
    max_num = 0
    can_delete = False

    @admin.display(description="status")
    def status_badge(self, delivery: ReportDelivery) -> str:
        return badge(delivery.status)


class HistoryAdmin(ScopedModelAdmin):
    """History: nothing here is edited by hand."""

    allowed_writes = ()


@admin.register(ReportRun)
class ReportRunAdmin(ObjectActionsMixin, HistoryAdmin):
    """Runs of the caller's own reports (Admins: all)."""

    scope = OwnRows("report__owner_id")
    list_display = ["id", "report_link", "trigger", "status_badge", "scheduled_for", "started_at", "finished_at",
                    "rows", "size", "short_error"]  # fmt: skip
    list_filter = ["status", "trigger", "report__kpi"]
    search_fields = ["report__name", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["report"]
    fields = ["report_link", "trigger", "status", "scheduled_for", "requested_by", "created_at", "started_at",
              "finished_at", "period_start", "period_end", "facilities", "rows", "bytes", "download", "data_as_of",
              "summary", "error"]  # fmt: skip
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    inlines = [DeliveryInline]
    actions: list[str] = ["resend_failed"]
    object_actions = actions

    def object_action_applies(self, request, obj: ReportRun, action: str) -> bool:
        return obj.deliveries.filter(status=DeliveryStatus.FAILED).exists()

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: ReportRun) -> str:
        return badge(run.status)

    @admin.display(description="size", ordering="bytes")
    def size(self, run: ReportRun) -> str:
        return f"{run.bytes / 1024:,.0f} KB" if run.bytes else "—"

    @admin.display(description="error")
    def short_error(self, run: ReportRun) -> str:
        return run.error[:120]

    @admin.display(description="report")
    def report_link(self, run: ReportRun) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:reports_report_change", args=[run.report_id]),
                           run.report)  # fmt: skip

    @admin.display(description="file")
    def download(self, run: ReportRun) -> str:
        if run.file_removed_at:
            return f"removed {run.file_removed_at:%Y-%m-%d} (kept {settings.REPORT_FILE_RETENTION_DAYS} days)"
        if not run.file:
            return "—"
        return format_html('<a href="{}">download</a>', reverse("api:report-run-download", args=[run.pk]))

    @admin.action(description="Resend failed deliveries")
    def resend_failed(self, request, queryset: QuerySet) -> None:
        failed = ReportDelivery.objects.filter(run__in=queryset, status=DeliveryStatus.FAILED)
        resent = [report_delivery_resend(delivery=d, by=Actor.from_request(request)) for d in failed]
        self.message_user(request, f"Resending {len(resent)} failed delivery(ies).", messages.SUCCESS)


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(ObjectActionsMixin, HistoryAdmin):
    """Deliveries of the caller's own reports (Admins: all)."""

    scope = OwnRows("run__report__owner_id")
    list_display = ["recipient", "run_link", "status_badge", "attempts", "sent_at", "updated_at", "error"]
    list_filter = ["status"]
    search_fields = ["recipient", "run__report__name"]
    date_hierarchy = "updated_at"
    list_select_related = ["run__report"]
    fields = ["run", "recipient", "status", "attempts", "sent_at", "updated_at", "error"]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs type `fields` as nested groups
    actions: list[str] = ["resend"]
    object_actions = actions

    def object_action_applies(self, request, obj: ReportDelivery, action: str) -> bool:
        return obj.status == DeliveryStatus.FAILED

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: ReportDelivery) -> str:
        return badge(delivery.status)

    @admin.display(description="run", ordering="run")
    def run_link(self, delivery: ReportDelivery) -> str:
        return format_html('<a href="{}">#{} {}</a>', reverse("admin:reports_reportrun_change", args=[delivery.run_id]),
                           delivery.run_id, delivery.run.report.name)  # fmt: skip

    @admin.action(description="Resend (failed deliveries only)")
    def resend(self, request, queryset: QuerySet) -> None:
        failed = queryset.filter(status=DeliveryStatus.FAILED)
        resent = [report_delivery_resend(delivery=d, by=Actor.from_request(request)) for d in failed]
        self.message_user(request, f"Resending {len(resent)} failed delivery(ies).", messages.SUCCESS)
