"""Creating, changing and deleting report definitions, and keeping each schedule's beat
entry (django-celery-beat) in step with it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.models import Facility, User
from accounts.principals import Actor
from accounts.services import audit_record
from analytics.params import MAX_HOURLY_DAYS, MAX_SPAN_DAYS
from api.boundary import date_problem
from reports.building import kpi_options_clean
from reports.models import APPLICATIONS, Period, Report, ReportSchedule
from reports.schedules import cron_parse


def report_period_settle(
    given: dict[str, Any], *, current_period: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Which period a definition means, from the fields a change names among ``period``,
    ``start_date`` and ``end_date`` (the API and the admin both ask). Dates without a period are
    fixed dates (custom); a named period other than custom drops the dates; with neither, the
    current period stays, or a new definition gets the last 7 days. A named period with dates is
    refused. Returns the values to store and the errors for ``period``."""
    settled, errors = dict(given), []
    dated = given.get("start_date") or given.get("end_date")
    if dated and given.get("period") not in (None, "", Period.CUSTOM):
        errors.append("Give a period or start_date/end_date, not both.")
    if dated and not given.get("period"):
        settled["period"] = Period.CUSTOM
    if not (settled.get("period") or current_period):
        settled["period"] = Period.LAST_7_DAYS
    if settled.get("period") and settled["period"] != Period.CUSTOM:
        settled["start_date"] = settled["end_date"] = None
    return settled, errors


def report_definition_errors(
    *,
    kpi: str | None,
    period: str | None,
    start_date: date | None,
    end_date: date | None,
    group_by: str | None,
    options: Any,
    recipients: list[str] | None,
    scheduled: bool,
) -> dict[str, list[str]]:
    """The rules a definition must meet as a whole, per field (the API and the admin both ask)."""
    errors: dict[str, list[str]] = {}
    if period == Period.CUSTOM:
        if not start_date or not end_date:
            errors["start_date"] = ["Fixed dates need both start_date and end_date."]
        elif out_of_range := {name: [problem] for name, value in (("start_date", start_date), ("end_date", end_date))
                              if (problem := date_problem(value))}:  # fmt: skip
            errors.update(out_of_range)
        elif end_date < start_date:
            errors["end_date"] = ["Must not be before start_date."]
        elif (end_date - start_date).days + 1 > MAX_SPAN_DAYS:
            errors["end_date"] = [f"The period may span at most {MAX_SPAN_DAYS} days."]
    options = {} if options is None else options
    if not isinstance(options, dict):
        errors["options"] = ["Must be an object."]
    elif kpi == APPLICATIONS:
        if options:
            errors["options"] = ["The applications list takes no options."]
        if group_by:
            errors["group_by"] = ["The applications list has a facility column; it cannot be grouped."]
    elif kpi:
        try:
            granularity, _ = kpi_options_clean(kpi, options)
        except ValueError as exc:
            errors["options"] = [str(exc)]
        else:
            fixed_days = (end_date - start_date).days + 1 if period == Period.CUSTOM and start_date and end_date else 0
            if granularity == "hour" and fixed_days > MAX_HOURLY_DAYS:
                errors["options"] = [f"Hourly series cover periods of at most {MAX_HOURLY_DAYS} days; these fixed "
                                     f"dates span {fixed_days}."]  # fmt: skip
    if scheduled and not recipients:
        errors["recipients"] = ["A scheduled report needs at least one recipient."]
    return errors


FIELDS = ("name", "kpi", "period", "start_date", "end_date", "group_by", "options", "format", "recipients", "enabled")
UNSET = object()


@transaction.atomic
def report_save(
    *,
    by: Actor,
    report: Report | None = None,
    owner: User | None = None,
    facilities: list[Facility] | None = None,
    schedule: dict[str, str] | object | None = UNSET,
    **values: Any,
) -> Report:
    """Create (``owner`` given) or change a report. ``schedule`` is {"crontab", "time_zone"},
    None to remove it, or left out to keep it. Values arrive validated (serializer or form)."""
    creating = report is None
    if report is None:  # creating
        report = Report(owner=owner)
    was_enabled = report.enabled
    for name, value in values.items():
        if name not in FIELDS:
            raise TypeError(f"unknown report field {name}")
        setattr(report, name, value)
    if report.enabled and not was_enabled and not creating:
        # Switched back on: forget the failures that stopped it, and do not back-fill.
        report.consecutive_failures = 0
        report.disabled_reason = ""
    report.save()
    if facilities is not None:
        report.facilities.set(facilities)
    if schedule is not UNSET:
        schedule_set(report=report, schedule=cast("dict[str, str] | None", schedule))  # not UNSET here
    elif report.enabled and not was_enabled and (current := report.schedule_or_none):
        current.active_since = timezone.now()
        current.save(update_fields=["active_since"])
    schedule_sync(report)
    audit_record(
        by=by,
        action="report.create" if creating else "report.update",
        obj=report,
        changed=sorted(set(values) | ({"facilities"} if facilities is not None else set())
                       | ({"schedule"} if schedule is not UNSET else set())),
    )  # fmt: skip
    return report


def schedule_set(*, report: Report, schedule: dict[str, str] | None) -> None:
    existing = ReportSchedule.objects.filter(report=report).first()
    if schedule is None:
        if existing:
            existing.delete()  # its beat entry goes with it (reports.signals)
        report._state.fields_cache.pop("schedule", None)
        return
    cron_parse(schedule["crontab"])  # validated before; refuse a bad one here too
    if existing and existing.crontab == schedule["crontab"] and existing.time_zone == schedule["time_zone"]:
        return
    if existing is None:
        existing = ReportSchedule(report=report)
    existing.crontab = " ".join(schedule["crontab"].split())
    existing.time_zone = schedule["time_zone"]
    existing.active_since = timezone.now()  # a new time starts from now: no back-fill
    existing.save()


def schedule_sync(report: Report) -> None:
    """Mirror the schedule into a beat entry: visible and pausable under Periodic tasks."""
    schedule = ReportSchedule.objects.filter(report=report).select_related("periodic_task").first()
    if schedule is None:
        return
    minute, hour, day_of_month, month, day_of_week = schedule.crontab.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week,
        timezone=schedule.time_zone,
    )  # fmt: skip
    task = schedule.periodic_task or PeriodicTask(task="reports.run_scheduled")
    task.name = f"Report #{report.pk}: {report.name}"[:200]
    task.crontab = crontab
    task.kwargs = json.dumps({"report_id": report.pk})
    task.enabled = report.enabled
    task.description = "Sends this report. Pause it here, or switch the report off."
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    report.schedule = schedule  # callers read the report's schedule with its beat entry


@transaction.atomic
def report_delete(*, by: Actor, report: Report) -> None:
    """Delete a report; its beat entry and run files go with it (reports.signals, which also
    covers a report deleted with its owner)."""
    audit_record(by=by, action="report.delete", obj=report)
    report.delete()


@transaction.atomic
def report_disable(*, report: Report, reason: str, by: Actor | None = None) -> None:
    """Stop a report's schedule and say why (shown in the admin and the API)."""
    report.enabled = False
    report.disabled_reason = reason[:500]
    report.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    schedule = ReportSchedule.objects.filter(report=report).select_related("periodic_task").first()
    if schedule and schedule.periodic_task:
        schedule.periodic_task.enabled = False
        schedule.periodic_task.save(update_fields=["enabled"])  # save(): beat notices the change
    audit_record(by=by or Actor.system("reports"), action="report.disable", obj=report, reason=reason[:500])
