"""Scheduled reports: what to send (Report), when (ReportSchedule, mirrored into
django-celery-beat), each sending (ReportRun) and each recipient's copy (ReportDelivery)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from accounts.models import Facility

APPLICATIONS = "applications"


class ReportKind(models.TextChoices):
    KPIS = "kpis", "Headline KPIs"
    DASHBOARD = "dashboard", "Dashboard (daily series)"
    PIPELINE = "pipeline", "Pipeline"
    PERFORMANCE = "performance", "Hiring performance"
    COMPLIANCE = "compliance", "Compliance"
    REVENUE = "revenue", "Revenue"
    OUTREACH = "outreach", "Outreach"
    SKILLS = "skills", "Skills"
    ENGAGEMENT = "engagement", "Engagement"
    TRENDS = "trends", "Trends"
    METRICS = "metrics", "Metrics"
    APPLICATIONS = APPLICATIONS, "Applications (row-level list)"


class Period(models.TextChoices):
    YESTERDAY = "yesterday", "Yesterday"
    LAST_7_DAYS = "last_7_days", "Last 7 days"
    LAST_30_DAYS = "last_30_days", "Last 30 days"
    PREVIOUS_WEEK = "previous_week", "Previous week (Monday to Sunday)"
    PREVIOUS_MONTH = "previous_month", "Previous calendar month"
    MONTH_TO_DATE = "month_to_date", "Month to date"
    CUSTOM = "custom", "Fixed dates"


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel (.xlsx)"
    CSV = "csv", "CSV"


class Report(models.Model):
    """A report definition. Its data is what its owner may see when it runs."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    name = models.CharField(max_length=200)
    kpi = models.CharField("contents", max_length=32, choices=ReportKind.choices)
    period = models.CharField(max_length=32, choices=Period.choices, default=Period.LAST_7_DAYS)
    start_date = models.DateField(null=True, blank=True, help_text="fixed dates only")
    end_date = models.DateField(null=True, blank=True, help_text="fixed dates only")
    facilities = models.ManyToManyField(
        Facility, blank=True, related_name="+", help_text="none = every facility the owner may see when it runs"
    )
    group_by = models.CharField(max_length=16, blank=True, choices=[("", "none"), ("facility", "facility")])
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"metric": "hires", "granularity": "week"}')
    format = models.CharField(max_length=8, choices=ReportFormat.choices, default=ReportFormat.XLSX)
    recipients = ArrayField(models.EmailField(), default=list, blank=True)
    enabled = models.BooleanField(default=True, help_text="a disabled report's schedule does not run")
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="report_owner_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_or_none(self) -> ReportSchedule | None:
        """The schedule, or None for a report run by hand (or not saved yet)."""
        if self.pk is None:
            return None
        try:
            return self.schedule
        except ReportSchedule.DoesNotExist:
            return None


class ReportSchedule(models.Model):
    """When a report runs: a crontab read in an IANA time zone. The beat entry it owns
    (``periodic_task``) is what operators see and pause under Periodic tasks."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="schedule")
    crontab = models.CharField(max_length=100, help_text="minute hour day-of-month month day-of-week, e.g. 0 7 * * 1")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. America/New_York")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: slots before this instant are never run (no back-fill when a schedule is created or resumed)
    active_since = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.crontab} ({self.time_zone})"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Run now"
    TEST = "test", "Test email"


class ReportRun(models.Model):
    """One building and sending of a report. A scheduled slot has at most one run."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="the schedule's slot (scheduled runs)")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    facilities = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="reports/%Y/%m/", max_length=300, blank=True)
    file_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="when the file was removed, REPORT_FILE_RETENTION_DAYS after the run"
    )
    data_as_of = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="headline numbers shown in the email")
    error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=255, blank=True, help_text="host:pid of the worker that last built it")
    #: set while a worker builds and sends the run, moved every few seconds; empty once it let go
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of the worker building it")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two beats, a retry or a redelivered task can never make a second run of one slot.
            models.UniqueConstraint(fields=["report", "scheduled_for"], name="report_run_once_per_slot"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="report_run_status"),
            models.Index(fields=["report", "-created_at"], name="report_run_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.report} #{self.pk}"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReportDelivery(models.Model):
    """One recipient's email of a run, with its attempts."""

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.EmailField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run_id", "recipient"]
        constraints = [models.UniqueConstraint(fields=["run", "recipient"], name="report_delivery_once")]
        indexes = [models.Index(fields=["status", "updated_at"], name="report_delivery_status")]

    def __str__(self) -> str:
        return f"{self.recipient} ({self.status})"
