from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from guardian.models import UserObjectPermissionBase
from rest_framework_api_key.models import AbstractAPIKey


class Role(models.TextChoices):
    """What a user may do. Which facilities it may do it for is a separate matter (grants)."""

    ADMIN = "admin", "Admin"
    RECRUITER = "recruiter", "Recruiter"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    """A person who signs in: staff in the admin, or a front end's user of the API.

    ``role`` is kept in step with membership of the role's group (which carries the model
    permissions the admin uses) by accounts.services; set it only through them.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER, db_index=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class Facility(models.Model):
    """A hospital or clinic: the unit of access (grants are per facility)."""

    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$", "Use upper-case letters, digits, '-' and '_'.")],
        help_text="Stable code used by upstream systems, for example MERCY-01.",
    )
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        choices=_time_zone_choices,
        help_text="Its days, weeks, months and hours are counted in this zone. Changing it re-dates the facility's "
        "history in the background at once (before the next refresh at the latest); the KPIs show "
        "the new days once the views are refreshed.",
    )
    #: The zone the local dates of its records and events are in now: differs from ``time_zone``
    #: until they are re-dated (events.services.redating).
    dated_time_zone = models.CharField(max_length=64, blank=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "facilities"
        permissions = [
            ("view_facility_data", "See KPIs and records of the facility"),
            ("view_personal_data", "See candidates' personal data at the facility"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            if not self.dated_time_zone:
                self.dated_time_zone = self.time_zone  # nothing to re-date yet
        elif kwargs.get("update_fields") is None:
            # Only the re-dating writes dated_time_zone: an instance loaded before a re-date must not
            # put the old value back when it is saved.
            kwargs["update_fields"] = [field.name for field in self._meta.concrete_fields
                                       if not field.primary_key and field.name != "dated_time_zone"]  # fmt: skip
        super().save(*args, **kwargs)


class FacilityGrant(UserObjectPermissionBase):
    """django-guardian object permission on a facility, with a real foreign key.

    A direct foreign key (instead of guardian's generic object id) lets a user's scope be
    one indexed join, which every request resolves.
    """

    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="grants")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "facility grant"

    def __str__(self) -> str:
        return f"{self.user} · {self.permission.codename} · {self.content_object.code}"


class ServiceAPIKey(AbstractAPIKey):
    """An API key for another service. Only its hash is stored; it may only write events
    for its facilities."""

    facilities = models.ManyToManyField(Facility, related_name="api_keys")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    @property
    def audit_id(self) -> str:
        return self.prefix  # the primary key embeds the hash; the prefix is enough to name it


class AuditEvent(models.Model):
    """Append-only record of who did what. A database trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No database constraint: the record outlives the user it names (actor_label keeps the name).
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"


class BeatSlot(models.Model):
    """A scheduled entry's slot, taken by the beat process that sends its task (config/beat.py).

    Beat may run on two machines for failover: both fire the same entry at about the same
    moment, and only the one whose insert of (entry, slot) succeeds sends it. Rows are kept a
    day, for looking back; nothing reads older ones.
    """

    name = models.CharField(max_length=200, help_text="the periodic task's name")
    slot = models.DateTimeField(help_text="start of the slot: the minute of a crontab, a multiple of an interval")
    claimed_by = models.CharField(max_length=255, help_text="host:pid of the beat that sent it")
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="beat_slot_once")]
        indexes = [models.Index(fields=["slot"], name="beat_slot_age")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M:%S}"
