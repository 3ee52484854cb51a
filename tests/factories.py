"""factory_boy factories. Users get their role and grants through the real services."""

from __future__ import annotations

import factory
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Facility, Role, User
from accounts.principals import Actor
from accounts.services import api_key_create, user_create

PASSWORD = "correct-horse-battery-staple"


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FAC-{n:03d}")
    name = factory.LazyAttribute(lambda o: f"{o.code} Hospital")
    region = "Northeast"
    time_zone = "UTC"


def make_user(username: str, role: str = Role.VIEWER, facilities=(), **extra) -> User:
    return user_create(
        by=Actor.system("tests"),
        username=username,
        password=PASSWORD,
        email=f"{username}@example.com",
        role=role,
        facilities=list(facilities),
        **extra,
    )


def make_api_key(name: str, facilities) -> str:
    _, key = api_key_create(by=Actor.system("tests"), name=name, facilities=list(facilities))
    return key


def jwt_client(user: User) -> APIClient:
    """An API client that sends a real access token for ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# --- records, made directly (the event path is tested on its own) -----------------------

_counter = iter(range(1, 10**9))


def _next(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def make_job(facility, **fields):
    from django.utils import timezone

    from events.models import Job

    now = timezone.now()
    defaults = {"external_id": _next("J"), "title": "Registered Nurse", "specialty": "ICU", "skills": ["icu"],
                "positions": 1, "bill_rate": "80.00", "opened_at": now, "opened_date": now.date()}  # fmt: skip
    return Job.objects.create(facility=facility, **{**defaults, **fields})


def make_candidate(facility, **fields):
    from django.utils import timezone

    from events.models import Candidate

    now = timezone.now()
    defaults = {"external_id": _next("C"), "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com",
                "phone": "+1 555 010 1234", "skills": ["icu"], "source": "referral", "registered_at": now,
                "registered_date": now.date()}  # fmt: skip
    return Candidate.objects.create(facility=facility, **{**defaults, **fields})


def make_application(facility, **fields):
    from django.utils import timezone

    from events.models import Application

    now = timezone.now()
    job = fields.pop("job", None) or make_job(facility)
    candidate = fields.pop("candidate", None) or make_candidate(facility)
    defaults = {"external_id": _next("A"), "source": "referral", "applied_at": now, "applied_date": now.date()}
    return Application.objects.create(facility=facility, job=job, candidate=candidate, **{**defaults, **fields})


def make_placement(facility, **fields):
    from events.models import Placement

    application = fields.pop("application", None) or make_application(facility)
    defaults = {"external_id": _next("P"), "start_date": application.applied_date, "bill_rate": "90.00",
                "started_at": application.applied_at}  # fmt: skip
    return Placement.objects.create(facility=facility, application=application, **{**defaults, **fields})


def make_outreach(facility, **fields):
    from django.utils import timezone

    from events.models import OutreachMessage

    now = timezone.now()
    candidate = fields.pop("candidate", None) or make_candidate(facility)
    defaults = {"external_id": _next("M"), "channel": "sms", "sent_at": now, "sent_date": now.date()}
    return OutreachMessage.objects.create(facility=facility, candidate=candidate, **{**defaults, **fields})


def make_compliance_check(facility, **fields):
    from django.utils import timezone

    from events.models import ComplianceCheck

    now = timezone.now()
    candidate = fields.pop("candidate", None) or make_candidate(facility)
    defaults = {"external_id": _next("K"), "credential": "BLS", "status": "compliant", "severity": "none",
                "score": 90, "checked_at": now, "checked_date": now.date()}  # fmt: skip
    return ComplianceCheck.objects.create(facility=facility, candidate=candidate, **{**defaults, **fields})


def make_event(facility, **fields):
    """An event stored through the real ingestion service, as the Admin's service would send it."""
    import uuid

    from django.utils import timezone

    from accounts.principals import Actor, SystemPrincipal
    from events.models import Event
    from events.services.ingestion import events_ingest

    item = {
        "id": str(uuid.uuid4()),
        "type": "user.login",
        "occurred_at": timezone.now().isoformat(),
        "facility": facility.code,
        "actor": "someone",
        "data": {},
        **fields,
    }
    (result,) = events_ingest(by=Actor(principal=SystemPrincipal("tests")), items=[item])
    assert result.status == "created", result
    return Event.objects.get(id=item["id"])
