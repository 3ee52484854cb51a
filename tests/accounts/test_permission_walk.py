"""One walk over every route the project serves.

Routes are discovered from the URL configuration, so a new endpoint is covered the day it
is added: it must go through the enforcement point, refuse anonymous callers, and keep a
caller inside its facilities. A facility-scoped collection needs an entry in SAMPLES (how to
make one of its objects at a given facility); the walk fails until it has one. The same walk
finds the row-level routes a Viewer is refused (tests/privacy/test_aggregates_only.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from accounts.models import Facility
from accounts.roles import CAPABILITY_HOLDERS, Capability
from api.base import AdminScope, FacilityScope, ScopedGenericViewSet, ScopedViewMixin
from events.models import Application, Candidate, ComplianceCheck, Event, Job, OutreachMessage, Placement
from tests.factories import (
    jwt_client,
    key_client,
    make_api_key,
    make_application,
    make_candidate,
    make_compliance_check,
    make_event,
    make_job,
    make_outreach,
    make_placement,
)

pytestmark = pytest.mark.django_db

# Routes anyone may call: health, API docs, and signing in.
PUBLIC = {
    "/health/",
    "/api/schema/",
    "/api/docs/",
    "/api/redoc/",
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
}
ADMIN_PUBLIC = {"/admin/login/", "/admin/logout/", "/admin/jsi18n/"}

# model -> function(facility) creating one object of that model at that facility.
SAMPLES: dict[type, Callable[[Facility], object]] = {
    Facility: lambda facility: facility,
    Event: make_event,
    Job: make_job,
    Candidate: make_candidate,
    Application: make_application,
    Placement: make_placement,
    OutreachMessage: make_outreach,
    ComplianceCheck: make_compliance_check,
}
# The field of a serialized object that names its facility.
FACILITY_FIELD = {Facility: "code"}


@dataclass
class Route:
    path: str  # with <name> placeholders
    name: str | None
    view: Callable
    numeric: bool = False  # its placeholder only matches numbers (<int:pk>)

    @property
    def cls(self):
        return getattr(self.view, "cls", None) or getattr(self.view, "view_class", None)

    @property
    def actions(self) -> dict[str, str]:
        return getattr(self.view, "actions", None) or {}

    @property
    def is_detail(self) -> bool:
        return "<" in self.path

    def url(self, value: str = "0") -> str:
        return re.sub(r"<[^>]+>", value, self.path)


def _pattern_text(pattern) -> str:
    text = str(pattern.pattern)
    text = text.lstrip("^").rstrip("$").replace("\\.", ".")
    text = re.sub(r"\(\?P<(\w+)>[^)]+\)", r"<\1>", text)  # regex groups (DRF router)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", text)  # path converters
    return text


def walk(patterns=None, prefix: str = "/") -> Iterator[Route]:
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + _pattern_text(pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            if "(?P<format>" in str(pattern.pattern) or text.endswith(".<format>"):
                continue  # format-suffix duplicates of the same view
            yield Route(text, pattern.name, pattern.callback, numeric="<int:" in str(pattern.pattern))


def api_routes() -> list[Route]:
    return [r for r in walk() if r.path.startswith("/api/") and r.path not in PUBLIC]


def admin_routes() -> list[Route]:
    return [r for r in walk() if r.path.startswith("/admin/") and r.path not in ADMIN_PUBLIC]


def methods_of(route: Route) -> list[str]:
    if route.actions:
        return sorted(m.upper() for m in route.actions if m not in ("head", "options"))
    cls = route.cls
    return sorted(m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m))


def ids(routes: list[Route]) -> list[str]:
    return [r.path for r in routes]


def test_the_walk_finds_the_api():
    paths = {r.path for r in api_routes()}
    assert "/api/v1/facilities/" in paths
    assert "/api/v1/facilities/<code>/" in paths
    assert "/api/v1/users/" in paths


@pytest.mark.parametrize("route", api_routes(), ids=ids(api_routes()))
def test_every_api_view_goes_through_the_enforcement_point(route):
    cls = route.cls
    assert cls is not None and issubclass(cls, APIView), f"{route.path} is not a DRF view"
    assert issubclass(cls, ScopedViewMixin), f"{route.path} bypasses api.base"
    for method, action in route.actions.items():
        if method in ("head", "options"):
            continue
        assert action in cls.capabilities, f"{route.path} {method}: action {action!r} declares no capability"
    if not route.actions:
        for method in methods_of(route):
            assert method.lower() in cls.capabilities, f"{route.path} {method} declares no capability"


@pytest.mark.parametrize("route", api_routes(), ids=ids(api_routes()))
def test_anonymous_callers_get_401(client, route):
    for method in methods_of(route):
        response = client.generic(method, route.url(), content_type="application/json", data="{}")
        assert response.status_code == 401, f"{method} {route.path}: {response.status_code}"
        assert response.has_header("WWW-Authenticate")


@pytest.mark.parametrize("route", admin_routes(), ids=ids(admin_routes()))
def test_anonymous_callers_are_sent_to_the_admin_login(client, route):
    response = client.get(route.url("1"))
    assert response.status_code in (302, 404), route.path
    if response.status_code == 302:
        assert response["Location"].startswith("/admin/login/")


def _scoped_viewset_routes() -> list[Route]:
    return [
        r
        for r in api_routes()
        if r.cls
        and issubclass(r.cls, ScopedGenericViewSet)
        and isinstance(r.cls.scope, FacilityScope)
        and r.actions.get("get") in ("list", "retrieve")
    ]


def _sample(route: Route, facility: Facility):
    model = route.cls.queryset.model
    assert model in SAMPLES, f"add a SAMPLES entry for {model.__name__} so the walk can test {route.path}"
    return SAMPLES[model](facility)


def _lookup_value(route: Route, obj) -> str:
    return str(getattr(obj, route.cls.lookup_field))


def _facilities_in(route: Route, body) -> set[str]:
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    field = FACILITY_FIELD.get(route.cls.queryset.model, "facility")
    return {row[field] for row in rows}


@pytest.mark.parametrize("route", _scoped_viewset_routes(), ids=ids(_scoped_viewset_routes()))
def test_a_user_with_no_grants_sees_nothing(route, mallory, facility_a):
    api = jwt_client(mallory)
    obj = _sample(route, facility_a)
    if route.is_detail:
        assert api.get(route.url(_lookup_value(route, obj))).status_code == 404
    else:
        response = api.get(route.url())
        assert response.status_code == 200
        assert response.json()["results"] == []


@pytest.mark.parametrize("route", _scoped_viewset_routes(), ids=ids(_scoped_viewset_routes()))
def test_a_recruiter_of_a_never_sees_b(route, alice, facility_a, facility_b):
    api = jwt_client(alice)
    in_a, in_b = _sample(route, facility_a), _sample(route, facility_b)
    if route.is_detail:
        assert api.get(route.url(_lookup_value(route, in_a))).status_code == 200
        assert api.get(route.url(_lookup_value(route, in_b))).status_code == 404
        return

    response = api.get(route.url())
    assert response.status_code == 200
    assert _facilities_in(route, response.json()) == {facility_a.code}

    cls = route.cls
    filterset = cls.filterset_class.base_filters if getattr(cls, "filterset_class", None) else {}
    if "facility" in filterset:
        response = api.get(route.url(), {"facility": facility_b.code})
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            assert _facilities_in(route, response.json()) <= {facility_a.code}
    if getattr(cls, "search_fields", None):
        for term in (facility_b.code, facility_b.name):
            response = api.get(route.url(), {"search": term})
            assert response.status_code == 200
            assert facility_b.code not in _facilities_in(route, response.json())
    for field in getattr(cls, "ordering_fields", None) or []:
        for order in (field, f"-{field}"):
            response = api.get(route.url(), {"ordering": order})
            assert response.status_code == 200
            assert _facilities_in(route, response.json()) == {facility_a.code}


def _sample_value(route: Route, facility) -> str:
    return "1" if route.numeric else facility.code


@pytest.mark.parametrize("route", api_routes(), ids=ids(api_routes()))
def test_a_viewer_cannot_write(route, carol, facility_a):
    """Except what a Viewer owns (its reports; tests/reports/test_api.py scopes those)."""
    api = jwt_client(carol)
    value = _sample_value(route, facility_a) if route.is_detail else ""
    for method in methods_of(route):
        capability = route.cls.capabilities.get(route.actions.get(method.lower(), method.lower()))
        if method == "GET" or capability == Capability.OWN:
            continue
        response = api.generic(
            method, route.url(value) if value else route.url(), data="{}", content_type="application/json"
        )
        assert response.status_code in (403, 405), f"{method} {route.path}: {response.status_code}"


def _key_may(route: Route, method: str) -> bool:
    action = route.actions.get(method.lower(), method.lower())
    capability = route.cls.capabilities.get(action)
    return capability is not None and "service" in CAPABILITY_HOLDERS[capability]


@pytest.mark.parametrize("route", api_routes(), ids=ids(api_routes()))
def test_an_api_key_may_only_write_events(route, facility_a):
    api = key_client(make_api_key("ingest", [facility_a]))
    for method in methods_of(route):
        if _key_may(route, method):
            assert route.path.startswith("/api/v1/events/"), f"{method} {route.path} admits API keys"
            continue
        response = api.generic(
            method, route.url(_sample_value(route, facility_a)), data="{}", content_type="application/json"
        )
        assert response.status_code in (403, 405), f"{method} {route.path}: {response.status_code}"


@pytest.mark.parametrize(
    "route",
    [
        r
        for r in api_routes()
        if r.cls and issubclass(r.cls, ScopedGenericViewSet) and isinstance(r.cls.scope, AdminScope)
    ],
    ids=lambda r: r.path,
)
def test_admin_only_collections_refuse_other_roles(route, alice, ada):
    assert jwt_client(alice).get(route.url("1")).status_code == 403
    assert jwt_client(ada).get(route.url("1")).status_code in (200, 404)
