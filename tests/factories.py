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
