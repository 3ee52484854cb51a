"""Recruiting records, projected from events and upserted by the sender's ids.

Each record keeps the facility it belongs to and, next to each timestamp the KPIs bucket by,
the day of that timestamp in the reporting time zone (``*_date``), so aggregation never has
to convert time zones row by row.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Cast, Floor, Random

from accounts.models import Facility


class JobStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"


class ApplicationStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    SCREENING = "screening", "Screening"
    INTERVIEWING = "interviewing", "Interviewing"
    OFFERED = "offered", "Offered"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Pipeline stages in order; rejected and withdrawn are outcomes, not stages.
STAGES: dict[str, int] = {"applied": 0, "screening": 1, "interviewing": 2, "offered": 3, "hired": 4}


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone"
    LINKEDIN = "linkedin", "LinkedIn"
    WHATSAPP = "whatsapp", "WhatsApp"


class ComplianceStatus(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    MISSING = "missing", "Missing"
    VIOLATION = "violation", "Violation"


class ComplianceSeverity(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


def privacy_key_field() -> models.IntegerField:
    """A record's privacy key: a random integer in [0, 2^31) that PostgreSQL draws when the row is
    inserted and nothing ever changes. The KPI views sum the keys of the records in each bucket;
    the sum is the cell key of the cell key method (docs/privacy.md)."""
    return models.IntegerField(
        db_default=Cast(Floor(Random() * 2147483648), models.IntegerField()),
        editable=False,
        help_text="Random, fixed at creation; drives the consistent perturbation of counts.",
    )


class Record(models.Model):
    """What every record has: the sender's id, its facility, and the event that made it."""

    external_id = models.CharField(max_length=128, unique=True, help_text="The sender's id.")
    # No index of its own: every record type has a composite index led by facility (Meta.indexes),
    # which serves the same lookups, and one index fewer per row is cheaper to write.
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    privacy_key = privacy_key_field()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.external_id


class Job(Record):
    title = models.CharField(max_length=200)
    specialty = models.CharField(max_length=100, blank=True)
    skills = ArrayField(models.CharField(max_length=100), default=list, blank=True, help_text="lower-case, trimmed")
    positions = models.PositiveIntegerField(default=1)
    bill_rate = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True, help_text="per hour")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.OPEN)
    opened_at = models.DateTimeField()
    opened_date = models.DateField()
    filled_at = models.DateTimeField(null=True, blank=True)
    filled_date = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["facility", "opened_date"], name="job_facility_opened"),
            models.Index(fields=["facility", "filled_date"], name="job_facility_filled"),
        ]


class Candidate(Record):
    """Personal data: names, email and phone are masked for callers without the grant."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    skills = ArrayField(models.CharField(max_length=100), default=list, blank=True, help_text="lower-case, trimmed")
    source = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField()
    registered_date = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["facility", "registered_date"], name="candidate_facility_registered")]

    PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone")


class Application(Record):
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="applications")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="applications")
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.APPLIED)
    furthest_stage = models.PositiveSmallIntegerField(default=0, help_text="0 applied … 4 hired")
    applied_at = models.DateTimeField()
    applied_date = models.DateField()
    offered_at = models.DateTimeField(null=True, blank=True, help_text="first offer")
    offered_date = models.DateField(null=True, blank=True)
    hired_at = models.DateTimeField(null=True, blank=True, help_text="first move to hired")
    hired_date = models.DateField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["facility", "applied_date"], name="app_facility_applied"),
            models.Index(fields=["facility", "hired_date"], name="app_facility_hired"),
            models.Index(fields=["facility", "offered_date"], name="app_facility_offered"),
        ]


class ApplicationStatusChange(models.Model):
    """The status history. One row per status_changed event (idempotent by event id)."""

    event_id = models.UUIDField(unique=True)
    # Both served by the composite indexes below, which lead with them.
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="history", db_index=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    occurred_at = models.DateTimeField()
    occurred_date = models.DateField()
    actor = models.CharField(max_length=128, blank=True)
    privacy_key = privacy_key_field()

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(fields=["application", "occurred_at"], name="history_application"),
            models.Index(fields=["facility", "occurred_date"], name="history_facility_date"),
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Placement(Record):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="placements")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="empty: still active")
    bill_rate = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    started_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["facility", "start_date", "end_date"], name="placement_facility_dates")]


class Invoice(Record):
    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    issued_at = models.DateTimeField()
    issued_date = models.DateField(help_text="revenue is dated on this day")

    class Meta:
        indexes = [models.Index(fields=["facility", "issued_date"], name="invoice_facility_issued")]


class OutreachMessage(Record):
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    sent_at = models.DateTimeField()
    sent_date = models.DateField()
    replied_at = models.DateTimeField(null=True, blank=True, help_text="first reply")
    actor = models.CharField(max_length=128, blank=True)

    class Meta:
        indexes = [models.Index(fields=["facility", "sent_date"], name="outreach_facility_sent")]


class ComplianceCheck(Record):
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="compliance_checks")
    credential = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=ComplianceStatus.choices)
    severity = models.CharField(max_length=16, choices=ComplianceSeverity.choices, default=ComplianceSeverity.NONE)
    score = models.PositiveSmallIntegerField()
    expires_on = models.DateField(null=True, blank=True)
    checked_at = models.DateTimeField()
    checked_date = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["facility", "checked_date"], name="compliance_facility_checked")]
