"""Roles: what each may do, and the model permissions its group carries for the admin.

Scope (which facilities) is separate: see accounts.selectors.facilities_for.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from accounts.models import Role

# Apps whose models an Admin manages in full.
ADMIN_APPS = ["accounts", "events", "analytics", "reports", "django_celery_beat", "axes"]
# Apps whose records a Recruiter may look at in the admin (within its facilities).
RECRUITER_VIEW_APPS = ["events", "analytics", "reports"]
VIEWER_VIEW_APPS = ["analytics", "reports"]


class Capability(StrEnum):
    """What an API action needs. Every action of every API view names one."""

    READ = "read"  # any signed-in role; data limited to the caller's facilities
    WRITE_EVENTS = "write_events"  # Admin, Recruiter, API keys
    OWN = "own"  # any signed-in role, on objects it owns (reports)
    READ_FRESH = "read_fresh"  # KPIs computed from the base tables now (?fresh=true)
    ADMIN = "admin"  # Admin only
    DOWNLOAD = "download"  # a report file: its owner, Admins, or a signed emailed link


# Which principals hold each capability. "service" is an API key.
CAPABILITY_HOLDERS: dict[Capability, frozenset[str]] = {
    Capability.READ: frozenset({Role.ADMIN, Role.RECRUITER, Role.VIEWER}),
    Capability.WRITE_EVENTS: frozenset({Role.ADMIN, Role.RECRUITER, "service"}),
    Capability.OWN: frozenset({Role.ADMIN, Role.RECRUITER, Role.VIEWER}),
    Capability.READ_FRESH: frozenset({Role.ADMIN, Role.RECRUITER}),
    Capability.ADMIN: frozenset({Role.ADMIN}),
    Capability.DOWNLOAD: frozenset({Role.ADMIN, Role.RECRUITER, Role.VIEWER, "link"}),
}


def group_name(role: str) -> str:
    return Role(role).label


def role_permissions(role: str) -> list[Permission]:
    perms = Permission.objects.select_related("content_type")
    if role == Role.ADMIN:
        return list(perms.filter(content_type__app_label__in=ADMIN_APPS))
    apps = RECRUITER_VIEW_APPS if role == Role.RECRUITER else VIEWER_VIEW_APPS
    return list(perms.filter(Q(content_type__app_label__in=apps, codename__startswith="view_")))


def roles_sync_groups() -> None:
    """Create the role groups if missing and give each exactly its permissions. Idempotent."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set(role_permissions(role))
