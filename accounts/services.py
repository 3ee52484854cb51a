"""Write side of accounts. Every change to a user, role, grant, facility or key is audited here."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

from django.contrib.auth.models import Group
from django.db import models, transaction
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import AuditEvent, Facility, FacilityGrant, Role, ServiceAPIKey, User
from accounts.principals import Actor
from accounts.roles import group_name
from accounts.selectors import FacilityPermission

logger = logging.getLogger(__name__)

# The object permissions a role gets on each facility it is granted.
ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: (),  # Admins see every facility without grants
    Role.RECRUITER: (FacilityPermission.VIEW_DATA, FacilityPermission.VIEW_PERSONAL_DATA),
    Role.VIEWER: (FacilityPermission.VIEW_DATA,),
}


def audit_record(
    *, by: Actor, action: str, obj: models.Model | None = None, object_repr: str = "", **details: Any
) -> AuditEvent:
    """Append one audit event. Runs inside the caller's transaction: a change that rolls back
    leaves no audit row claiming it happened."""
    event = AuditEvent.objects.create(
        actor=by.user,
        actor_label=by.label,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        # A model may name itself by something other than its primary key (API keys: the prefix).
        object_id=str(getattr(obj, "audit_id", obj.pk)) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        details=details,
        ip=by.ip,
    )
    logger.info("audit %s by %s on %s %s", action, by.label, event.object_type, event.object_id)
    return event


# --- users ----------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    by: Actor,
    username: str,
    password: str | None,
    email: str = "",
    role: str = Role.VIEWER,
    facilities: Iterable[Facility] = (),
    is_active: bool = True,
    is_staff: bool = False,
) -> User:
    user = User(username=username, email=email, is_active=is_active, is_staff=is_staff, role=Role(role))
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(by=by, action="user.create", obj=user, username=username, email=email, role=role, is_active=is_active)
    user_set_access(by=by, user=user, role=role, facilities=facilities)
    return user


@transaction.atomic
def user_update(
    *,
    by: Actor,
    user: User,
    email: str | None = None,
    password: str | None = None,
    is_active: bool | None = None,
    role: str | None = None,
    facilities: Iterable[Facility] | None = None,
) -> User:
    changes: dict[str, object] = {}
    if email is not None and email != user.email:
        changes["email"] = [user.email, email]
        user.email = email
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if password:
        user.set_password(password)
        changes["password"] = "changed"  # noqa: S105 - a note that it changed, never the value
    if changes:
        user.save()
        audit_record(by=by, action="user.update", obj=user, changes=changes)
    if role is not None or facilities is not None:
        current = list(Facility.objects.filter(grants__user=user).distinct()) if facilities is None else facilities
        user_set_access(by=by, user=user, role=role or user.role, facilities=current)
    return user


@transaction.atomic
def user_delete(*, by: Actor, user: User) -> None:
    audit_record(by=by, action="user.delete", obj=user, username=user.username)
    user.delete()


ADMIN_FACILITIES_ERROR = "Admins see every facility; leave this empty."


def access_errors(*, role: str | None, facilities: Iterable[Facility]) -> dict[str, str]:
    """What is wrong with giving ``role`` these facilities ({field: message}; empty: nothing).
    The API's serializer and the console's user form both ask before saving."""
    if role == Role.ADMIN and list(facilities):
        return {"facilities": ADMIN_FACILITIES_ERROR}
    return {}


@transaction.atomic
def user_set_access(*, by: Actor, user: User, role: str, facilities: Iterable[Facility]) -> None:
    """Give ``user`` exactly ``role`` and the grants that role has on ``facilities``.

    Idempotent; audits the role change and each grant added or removed.
    """
    role = Role(role)
    if user.role != role:
        audit_record(by=by, action="user.role", obj=user, old=user.role, new=role)
        user.role = role
    if role == Role.ADMIN and not user.is_staff:
        user.is_staff = True  # Admins run the operator console
    user.save(update_fields=["role", "is_staff"])
    user.groups.remove(*Group.objects.filter(name__in=[group_name(r) for r in Role if r != role]))
    user.groups.add(Group.objects.get_or_create(name=group_name(role))[0])

    wanted = {(facility.pk, codename) for facility in facilities for codename in ROLE_GRANTS[role]}
    existing = set(FacilityGrant.objects.filter(user=user).values_list("content_object_id", "permission__codename"))
    codes = dict(Facility.objects.filter(pk__in={pk for pk, _ in wanted | existing}).values_list("pk", "code"))
    for facility_id, codename in sorted(wanted - existing):
        assign_perm(f"accounts.{codename}", user, Facility.objects.get(pk=facility_id))
        audit_record(by=by, action="grant.add", obj=user, facility=codes[facility_id], permission=codename)
    for facility_id, codename in sorted(existing - wanted):
        remove_perm(f"accounts.{codename}", user, Facility.objects.get(pk=facility_id))
        audit_record(by=by, action="grant.remove", obj=user, facility=codes[facility_id], permission=codename)


@transaction.atomic
def facility_set_members(*, by: Actor, facility: Facility, users: Iterable[User]) -> None:
    """Grant ``facility`` to exactly ``users`` (each with its role's permissions)."""
    wanted = {user.pk for user in users}
    current = set(FacilityGrant.objects.filter(content_object=facility).values_list("user_id", flat=True))
    for user in User.objects.filter(pk__in=wanted | current):
        facilities = list(Facility.objects.filter(grants__user=user).exclude(pk=facility.pk).distinct())
        if user.pk in wanted:
            facilities.append(facility)
        user_set_access(by=by, user=user, role=user.role, facilities=facilities)


# --- facilities -------------------------------------------------------------------


@transaction.atomic
def facility_save(*, by: Actor, facility: Facility, changed: Iterable[str] = ()) -> Facility:
    created = facility.pk is None
    facility.full_clean()
    facility.save()
    audit_record(
        by=by,
        action="facility.create" if created else "facility.update",
        obj=facility,
        fields=sorted(changed),
    )
    return facility


@transaction.atomic
def facility_delete(*, by: Actor, facility: Facility) -> None:
    audit_record(by=by, action="facility.delete", obj=facility, code=facility.code)
    facility.delete()


# --- API keys ----------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, by: Actor, name: str, facilities: Iterable[Facility]) -> tuple[ServiceAPIKey, str]:
    """Issue a key. The plain key is returned once; only its hash is stored."""
    # The manager's model is ServiceAPIKey (the library annotates its abstract base).
    api_key, key = cast("tuple[ServiceAPIKey, str]", ServiceAPIKey.objects.create_key(name=name, created_by=by.user))
    facilities = list(facilities)
    api_key.facilities.set(facilities)
    audit_record(by=by, action="api_key.create", obj=api_key, name=name, facilities=sorted(f.code for f in facilities))
    return api_key, key


@transaction.atomic
def api_key_revoke(*, by: Actor, api_key: ServiceAPIKey) -> None:
    if api_key.revoked:
        return
    api_key.revoked = True
    api_key.save(update_fields=["revoked"])
    audit_record(by=by, action="api_key.revoke", obj=api_key, name=api_key.name)
