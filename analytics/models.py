from django.conf import settings
from django.db import models
from django.db.models.functions import Now

ACTIVE_STATUSES = ("queued", "running")


class RefreshRun(models.Model):
    """One refresh of one materialized view: requested, run (or skipped), and its outcome.

    A view has at most one queued or running run (a partial unique index). A run is taken by
    one executor (``claimed_by``, host:pid) with a conditional UPDATE from queued to running,
    and the executor proves it is alive by moving ``heartbeat_at`` while it works; a running
    run whose heartbeat stopped is settled as failed and its view queued again
    (analytics.services.refresh, docs/decisions.md "Claims, liveness and beat slots").
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    view = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=32, default="schedule", help_text="schedule, api, admin, recovery")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rows = models.BigIntegerField(null=True, blank=True)
    concurrent = models.BooleanField(default=False, help_text="refreshed without blocking readers")
    error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=255, blank=True, help_text="host:pid of the process that ran it")
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of its executor")
    differences = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="rows the rebuild found different from the rows kept up to date as events applied (should be 0; "
        "empty for a view not kept up to date that way)",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["view", "status", "-finished_at"], name="refresh_latest")]
        constraints = [
            # Two requests at once, two beats or a retry can never queue a view twice.
            models.UniqueConstraint(
                fields=["view"], condition=models.Q(status__in=ACTIVE_STATUSES), name="refresh_one_active_per_view"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.view} {self.status} {self.created_at:%Y-%m-%d %H:%M}"


class StaleBucket(models.Model):
    """A bucket of a view (a facility's local day; a day of every facility for a view without
    facilities) whose records changed since the view's rows for it were computed. Left by the
    record tables' statement triggers in the transaction of the change (analytics.marks), taken
    by the rollup step that recomputes those rows (analytics.services.rollups), usually seconds
    later. Marks may repeat; a bucket is recomputed once however many times it was marked."""

    view = models.CharField(max_length=64)
    facility_id = models.BigIntegerField(null=True, blank=True)
    day = models.DateField()
    marked_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["view", "marked_at"], name="stale_bucket_view")]

    def __str__(self) -> str:
        return f"{self.view} {self.facility_id or 'every facility'} {self.day}"
