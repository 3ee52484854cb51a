"""Read side of accounts. `facilities_for` is the one place a caller's scope is decided."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from accounts.models import Facility, Role, User
from accounts.principals import ServicePrincipal, principal_role


class FacilityPermission(StrEnum):
    VIEW_DATA = "view_facility_data"  # KPIs and records
    VIEW_PERSONAL_DATA = "view_personal_data"  # candidates' names, emails, phones unmasked
    WRITE_EVENTS = "write_events"  # post events for the facility


#: What row-level data of a facility needs: its records, its events, row-level reports and their
#: files. Rows are personal data even with names masked (one row can be the small cell that the
#: KPIs suppress), so a caller without the personal-data permission of a facility gets its
#: aggregates only (the KPIs).
ROW_LEVEL = FacilityPermission.VIEW_PERSONAL_DATA


def facilities_for(
    principal: Any, permission: FacilityPermission | str = FacilityPermission.VIEW_DATA
) -> QuerySet[Facility]:
    """The facilities ``principal`` holds ``permission`` for.

    - Admins (and superusers) hold every permission on every facility.
    - Other users hold exactly their object-level grants; a global (model-level) permission
      never widens the scope.
    - Users may write events where they may view data (the role decides whether they may
      write at all).
    - An API key holds only WRITE_EVENTS, for the facilities it was issued for.
    - Anyone else, and inactive users, hold nothing.
    """
    permission = FacilityPermission(permission)
    role = principal_role(principal)
    if role is None:
        return Facility.objects.none()
    if isinstance(principal, ServicePrincipal):
        if permission != FacilityPermission.WRITE_EVENTS:
            return Facility.objects.none()
        return principal.api_key.facilities.all()
    if role == Role.ADMIN:
        return Facility.objects.all()
    codename = FacilityPermission.VIEW_DATA if permission == FacilityPermission.WRITE_EVENTS else permission
    return Facility.objects.filter(grants__user=principal, grants__permission__codename=codename).distinct()


def facility_ids_for(principal: Any, permission: FacilityPermission | str = FacilityPermission.VIEW_DATA) -> list[int]:
    return list(facilities_for(principal, permission).values_list("id", flat=True))


def facilities_without_rows(principal: Any, codes: Iterable[str]) -> list[str]:
    """Those of the facility ``codes`` whose rows ``principal`` may not see (aggregates only
    there), sorted. Codes outside its scope altogether count as refused too."""
    codes = set(codes)
    allowed = set(facilities_for(principal, ROW_LEVEL).filter(code__in=codes).values_list("code", flat=True))
    return sorted(codes - allowed)


def user_facility_codes(user: User) -> list[str]:
    """The facilities a user was granted (its view grants), by code; Admins need none."""
    return list(
        Facility.objects.filter(grants__user=user, grants__permission__codename=FacilityPermission.VIEW_DATA)
        .order_by("code")
        .values_list("code", flat=True)
        .distinct()
    )
