"""Report definitions and runs as api.md shapes them. Validation lives here; writes go
through reports.services."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from accounts.models import Facility
from accounts.selectors import FacilityPermission, facility_ids_for
from analytics.params import MAX_SPAN_DAYS
from reports.building import kpi_options_clean
from reports.models import APPLICATIONS, Period, Report, ReportDelivery, ReportFormat, ReportKind, ReportRun
from reports.schedules import cron_parse, next_slot, zone_parse

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
        data["facilities"] = sorted(instance.facilities.values_list("code", flat=True))
        data["group_by"] = instance.group_by or None
        schedule = getattr(instance, "schedule", None) if hasattr(instance, "schedule") else None
        data["schedule"] = {"crontab": schedule.crontab, "time_zone": schedule.time_zone} if schedule else None
        return data

    def get_next_run_at(self, instance: Report) -> datetime | None:
        if not instance.enabled or not hasattr(instance, "schedule"):
            return None
        schedule = instance.schedule
        if schedule.periodic_task_id and schedule.periodic_task and not schedule.periodic_task.enabled:
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
        merged = {
            name: attrs.get(name, getattr(current, name, None) if current else None)
            for name in ("kpi", "period", "start_date", "end_date", "group_by", "options", "recipients", "enabled")
        }
        errors: dict[str, list[str]] = {}
        start, end = merged["start_date"], merged["end_date"]
        dated = attrs.get("start_date") or attrs.get("end_date")
        if dated and attrs.get("period") not in (None, Period.CUSTOM):
            errors["period"] = ["Give a period or start_date/end_date, not both."]
        if dated and "period" not in attrs:
            merged["period"] = attrs["period"] = Period.CUSTOM
        if not merged["period"]:
            merged["period"] = attrs["period"] = Period.LAST_7_DAYS
        if merged["period"] == Period.CUSTOM:
            if not start or not end:
                errors["start_date"] = ["Fixed dates need both start_date and end_date."]
            elif end < start:
                errors["end_date"] = ["Must not be before start_date."]
            elif (end - start) > timedelta(days=MAX_SPAN_DAYS - 1):
                errors["end_date"] = [f"The period may span at most {MAX_SPAN_DAYS} days."]
        elif "period" in attrs:
            attrs["start_date"] = attrs["end_date"] = None
        options = merged["options"] or {}
        if not isinstance(options, dict):
            errors["options"] = ["Must be an object."]
        elif merged["kpi"] == APPLICATIONS:
            if options:
                errors["options"] = ["The applications list takes no options."]
            if merged["group_by"]:
                errors["group_by"] = ["The applications list has a facility column; it cannot be grouped."]
        else:
            try:
                kpi_options_clean(merged["kpi"], options)
            except ValueError as exc:
                errors["options"] = [str(exc)]
        schedule = attrs.get("schedule", getattr(current, "schedule", None) if current and hasattr(current, "schedule")
                             else None)  # fmt: skip
        if schedule and not merged["recipients"]:
            errors["recipients"] = ["A scheduled report needs at least one recipient."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


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
            "download_url",
        ]  # fmt: skip

    def get_download_url(self, run: ReportRun) -> str | None:
        if not run.file:
            return None
        return self.context["request"].build_absolute_uri(f"/api/v1/report-runs/{run.pk}/download/")


class RunStartedSerializer(serializers.Serializer):
    run = serializers.DictField(help_text='{"id", "status"}')
