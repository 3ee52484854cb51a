"""The audit log: who changed what, from where; append-only."""

import pytest
from django.db import DatabaseError, transaction

from accounts.models import AuditEvent
from tests.factories import jwt_client

pytestmark = pytest.mark.django_db


def test_grants_and_role_changes_name_actor_object_and_ip(ada, alice, facility_b):
    jwt_client(ada).patch(f"/api/v1/users/{alice.pk}/", {"facilities": ["MERCY-01", "STJ-02"]}, REMOTE_ADDR="10.1.2.3")

    added = AuditEvent.objects.filter(action="grant.add", details__facility="STJ-02")
    assert {(e.actor_label, e.object_repr, e.ip, e.details["permission"]) for e in added} == {
        ("ada", "alice", "10.1.2.3", "view_facility_data"),
        ("ada", "alice", "10.1.2.3", "view_personal_data"),
    }


def test_the_database_refuses_to_change_or_delete_an_audit_row(alice):
    event = AuditEvent.objects.first()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_admin_shows_but_never_edits_the_audit_log(admin_client, alice):
    event = AuditEvent.objects.first()

    assert admin_client.get("/admin/accounts/auditevent/").status_code == 200
    assert admin_client.get(f"/admin/accounts/auditevent/{event.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "x"}).status_code == 403
    assert admin_client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/accounts/auditevent/add/").status_code == 403


def test_there_is_no_api_to_change_the_audit_log(ada):
    from tests.accounts.test_permission_walk import walk

    assert not [r for r in walk() if "audit" in r.path and r.path.startswith("/api/")]
