from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models


class User(AbstractUser):
    """A person who signs in: staff in the admin, or a front end's user of the API."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


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
    time_zone = models.CharField(max_length=64, default="UTC", choices=_time_zone_choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"
