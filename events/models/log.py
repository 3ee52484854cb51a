"""The event log: every accepted event, as sent, forever (recruiting) or for a retention
period (activity). The table is created by SQL in the migrations (partitioned); these models
map it for the ORM and the admin."""

from django.db import models

from accounts.models import Facility


class EventCategory(models.TextChoices):
    RECRUITING = "recruiting", "Recruiting (projected into records)"
    ACTIVITY = "activity", "Activity (engagement only)"


class EventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class EventKey(models.Model):
    """One row per accepted event id: the global idempotency index of the partitioned log.

    A partitioned table can only enforce uniqueness within a partition, so the id's
    uniqueness (and the content hash that tells a true duplicate from a reused id) lives here.
    """

    id = models.UUIDField(primary_key=True)
    content_hash = models.BinaryField(max_length=32)
    category = models.CharField(max_length=16, choices=EventCategory.choices)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["category", "occurred_at"], name="events_key_retention")]

    def __str__(self) -> str:
        return str(self.id)


class Event(models.Model):
    """An event as received. Partitioned by category, then by month of ``occurred_at``.

    The database primary key is (id, category, occurred_at); ``id`` is unique across all
    partitions through EventKey, so the ORM may treat it as the primary key.
    """

    id = models.UUIDField(primary_key=True)
    category = models.CharField(max_length=16, choices=EventCategory.choices)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    local_date = models.DateField(help_text="Day of occurred_at in the reporting time zone.")
    received_at = models.DateTimeField()
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 - absent differs from ""
    data = models.JSONField(default=dict)
    content_hash = models.BinaryField(max_length=32)
    sender = models.CharField(max_length=200, blank=True, help_text="API key or user that sent it.")
    status = models.CharField(max_length=16, choices=EventStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table is created by SQL (events/migrations/0001_initial.py): partitioned, with
        # a composite primary key. Django's state matches it column for column.
        db_table = "events_event"
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class EventQueueEntry(models.Model):
    """A recruiting event not applied yet: pending (waiting its turn or a retry), or failed
    until someone reprocesses it. Applied events leave this small table; the log itself is
    only updated in place for display (status, attempts, last error)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed"

    event_id = models.UUIDField(primary_key=True)
    occurred_at = models.DateTimeField()
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=64)
    actor = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 - as in the log
    data = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="empty: as soon as possible")

    class Meta:
        verbose_name = "queued event"
        indexes = [
            models.Index(fields=["occurred_at"], condition=models.Q(state="pending"), name="queue_pending_order"),
            models.Index(fields=["facility", "state"], name="queue_facility_state"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.state})"
