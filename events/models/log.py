"""The event log: every accepted event, as sent, forever (recruiting) or for a retention
period (activity). The table is created by SQL in the migrations (partitioned); these models
map it for the ORM and the admin."""

from __future__ import annotations

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


class EventQuerySet(models.QuerySet):
    def with_status(self, status: str) -> EventQuerySet:
        """Events in ``status``, which is where they are: pending and failed ones in the queue,
        processed ones out of it. Driven from the small queue for pending and failed."""
        queued = EventQueueEntry.objects.filter(
            event_id=models.OuterRef("id"), occurred_at=models.OuterRef("occurred_at")
        )
        if status == EventStatus.PROCESSED:
            return self.exclude(models.Exists(queued))
        if status in (EventStatus.PENDING, EventStatus.FAILED):
            return self.filter(models.Exists(queued.filter(state=status)))
        return self.none()


class Event(models.Model):
    """An event as received. Partitioned by category, then by month of ``occurred_at``.

    The database primary key is (id, category, occurred_at); ``id`` is unique across all
    partitions through EventKey, so the ORM may treat it as the primary key.

    The log is append-only: an event's processing state lives in the queue
    (``EventQueueEntry``) while it is pending or failed, and an event no longer in the queue
    (every activity event, every applied recruiting event) is processed.
    """

    id = models.UUIDField(primary_key=True)
    category = models.CharField(max_length=16, choices=EventCategory.choices)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    local_date = models.DateField(
        help_text="Day of occurred_at at its facility (in its time zone); in REPORTING_TIME_ZONE for an event of "
        "no facility."
    )
    received_at = models.DateTimeField()
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 - absent differs from ""
    data = models.JSONField(default=dict)
    content_hash = models.BinaryField(max_length=32)
    sender = models.CharField(max_length=200, blank=True, help_text="API key or user that sent it.")
    # No column: the event's queue entry, if it has one (joined on id and occurred_at, so a
    # lookup from the queue reaches one partition of the log).
    queue_entry = models.ForeignObject(
        "EventQueueEntry",
        from_fields=["id", "occurred_at"],
        to_fields=["event_id", "occurred_at"],
        on_delete=models.DO_NOTHING,
        null=True,
        related_name="+",
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        # The table is created by SQL (events/migrations/0001_initial.py): partitioned, with
        # a composite primary key. Django's state matches it column for column.
        db_table = "events_event"
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def queued(self) -> EventQueueEntry | None:
        if self.category != EventCategory.RECRUITING:
            return None
        try:
            return self.queue_entry
        except EventQueueEntry.DoesNotExist:
            return None

    @property
    def status(self) -> str:
        entry = self.queued
        return entry.state if entry is not None else EventStatus.PROCESSED

    @property
    def attempts(self) -> int:
        """Tries so far of an event still in the queue (0 once processed)."""
        entry = self.queued
        return entry.attempts if entry is not None else 0

    @property
    def last_error(self) -> str:
        entry = self.queued
        return entry.last_error if entry is not None else ""

    @property
    def next_attempt_at(self):
        entry = self.queued
        return entry.due_at if entry is not None and entry.state == EventStatus.PENDING else None


class EventQueueEntry(models.Model):
    """A recruiting event not applied yet: pending (waiting its turn or a retry), or failed
    until someone reprocesses it. Applied events leave this small table, which is how they
    are known to be processed; the log itself is never updated."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed"

    event_id = models.UUIDField(primary_key=True)
    occurred_at = models.DateTimeField()
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+", db_index=False)
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
            models.Index(fields=["occurred_at"], condition=models.Q(state="failed"), name="queue_failed_order"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.state})"
