"""Report definitions and runs as api.md shapes them. Validation lives here; writes go
through reports.services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Facility
from accounts.selectors import FacilityPermission, facility_ids_for
from api.base import AggregatesOnly, aggregates_only_reason, owner_or_you
from reports.building import definition_rows_refused
from reports.models import Period, Report, ReportDelivery, ReportFormat, ReportKind, ReportRun
from reports.schedules import cron_parse, next_slot, zone_parse
from reports.services.definitions import report_definition_errors, report_period_settle

MAX_RECIPIENTS = 50


class ScheduleSerializer(serializers.Serializer):
    crontab = serializers.CharField(max_length=100, help_text="five fields, e.g. '0 7 * * 1' (Mondays 07:00)")
    time_zone = serializers.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. America/New_York")

    def validate_crontab(self, value: str) -> str:
        try:
            cron_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return " ".join(value.split())

    def validate_time_zone(self, value: str) -> str:
        try:
            zone_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class ReportSerializer(serializers.ModelSerializer):
    kpi = serializers.ChoiceField(choices=ReportKind.choices, help_text="a KPI of kpis.md, or `applications`")
    period = serializers.ChoiceField(choices=Period.choices, required=False)
    facilities = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        write_only=True,
        help_text="codes; empty = all of yours",
    )
    group_by = serializers.ChoiceField(choices=["facility"], allow_null=True, required=False)
    recipients = serializers.ListField(child=serializers.EmailField(), required=False, max_length=MAX_RECIPIENTS)
    schedule = ScheduleSerializer(allow_null=True, required=False, write_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    next_run_at = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "name", "kpi", "period", "start_date", "end_date", "facilities", "group_by", "options", "format",
            "recipients", "schedule", "enabled", "owner", "disabled_reason", "consecutive_failures", "next_run_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["disabled_reason", "consecutive_failures", "created_at", "updated_at"]
        extra_kwargs = {"format": {"default": ReportFormat.XLSX}}

    def to_representation(self, instance: Report) -> dict:
        data = super().to_representation(instance)
        data["facilities"] = sorted(facility.code for facility in instance.facilities.all())  # prefetched
        data["group_by"] = instance.group_by or None
        schedule = instance.schedule_or_none
        data["schedule"] = {"crontab": schedule.crontab, "time_zone": schedule.time_zone} if schedule else None
        return data

    def get_next_run_at(self, instance: Report) -> datetime | None:
        schedule = instance.schedule_or_none
        if not instance.enabled or schedule is None:
            return None
        if schedule.periodic_task is not None and not schedule.periodic_task.enabled:
            return None
        return next_slot(cron_parse(schedule.crontab), zone_parse(schedule.time_zone), timezone.now())

    def validate_facilities(self, codes: list[str]) -> list[Facility]:
        user = self.context["request"].user
        visible = Facility.objects.filter(id__in=facility_ids_for(user, FacilityPermission.VIEW_DATA))
        found = {facility.code: facility for facility in visible.filter(code__in=codes)}
        missing = sorted(set(codes) - set(found))
        if missing:  # unknown and not-yours read alike
            raise serializers.ValidationError(f"Facility not found: {', '.join(missing)}.")
        return list(found.values())

    def validate_group_by(self, value):
        return value or ""

    def validate(self, attrs: dict) -> dict:
        current = self.instance
        merged: dict[str, Any] = {
            name: attrs.get(name, getattr(current, name, None) if current else None)
            for name in ("kpi", "period", "start_date", "end_date", "group_by", "options", "recipients", "enabled")
        }
        errors: dict[str, list[str]] = {}
        named = {name: attrs[name] for name in ("period", "start_date", "end_date") if name in attrs}
        settled, period_errors = report_period_settle(named, current_period=current.period if current else None)
        attrs.update(settled)
        merged.update(settled)
        if period_errors:
            errors["period"] = period_errors
        schedule = attrs.get("schedule", current.schedule_or_none if current else None)
        errors.update(
            report_definition_errors(
                kpi=merged["kpi"], period=merged["period"], start_date=merged["start_date"],
                end_date=merged["end_date"], group_by=merged["group_by"], options=merged["options"],
                recipients=merged["recipients"], scheduled=bool(schedule),
            )
        )  # fmt: skip
        if errors:
            raise serializers.ValidationError(errors)
        self._refuse_rows(attrs, kind=merged["kpi"])
        return attrs

    def _refuse_rows(self, attrs: dict, *, kind: str) -> None:
        """A row-level report (`applications`) over a facility whose rows its owner may not see is
        refused (403, aggregates only); switching such a report off is always allowed."""
        current = self.instance
        if current is not None and set(attrs) <= {"enabled"} and attrs.get("enabled") is False:
            return
        caller = self.context["request"].user
        owner = current.owner if current is not None else caller
        if "facilities" in attrs:
            facilities = attrs["facilities"]
        else:
            facilities = current.facilities.all() if current is not None else []
        refused = definition_rows_refused(owner=owner, kind=kind, facilities=facilities)
        if refused:
            raise AggregatesOnly(detail=aggregates_only_reason(refused, who=owner_or_you(owner, caller)))


class ReportDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportDelivery
        fields = ["recipient", "status", "attempts", "sent_at", "error"]


class ReportRunSerializer(serializers.ModelSerializer):
    deliveries = ReportDeliverySerializer(many=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportRun
        fields = [
            "id", "report", "trigger", "status", "scheduled_for", "created_at", "started_at", "finished_at",
            "period_start", "period_end", "facilities", "rows", "bytes", "data_as_of", "error", "deliveries",
            "download_url", "file_removed_at",
        ]  # fmt: skip

    def get_download_url(self, run: ReportRun) -> str | None:
        if not run.file:
            return None
        return self.context["request"].build_absolute_uri(reverse("api:report-run-download", args=[run.pk]))


class RunStartedSerializer(serializers.Serializer):
    run = serializers.DictField(help_text='{"id", "status"}')
