"""Viewers get aggregates only: rows of a facility (records, events, row-level reports and their
files) need the personal-data permission there, and nobody orders, filters or searches by what
it sees masked.

The cast: `carol` a Viewer at A (MERCY-01); `alice` a Recruiter at A; `mia` a Recruiter at A
whose personal-data grant at B (STJ-02) was taken away, so a Viewer there; `ada` an Admin.
LAKE-03 is nobody's but Ada's.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone
from guardian.shortcuts import remove_perm
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Facility, Role
from accounts.principals import Actor
from accounts.selectors import FacilityPermission
from accounts.services import user_set_access
from api.base import FacilityScope, ScopedGenericViewSet
from events.api.views import CandidateViewSet
from events.masking import MASKERS
from events.models import Candidate
from reports.models import ReportRun
from reports.services.delivery import download_token, report_delivery_attempt
from reports.services.runs import report_run_execute
from tests.accounts.test_permission_walk import Route, _lookup_value, _sample, _scoped_viewset_routes, api_routes
from tests.factories import FacilityFactory, jwt_client, make_application, make_candidate, make_job, make_user
from tests.reports.conftest import attachment, loopback_smtp, make_report

pytestmark = pytest.mark.django_db

ROW_LEVEL_ROUTES = [route for route in _scoped_viewset_routes() if route.cls.scope.row_level]


@pytest.fixture
def smtp(settings, tmp_path):
    """Report email goes to a real SMTP server on loopback (as in tests/reports)."""
    yield from loopback_smtp(settings, tmp_path)


@pytest.fixture
def facility_c(db):
    return FacilityFactory(code="LAKE-03", name="Lakeside Clinic")


@pytest.fixture
def mia(facility_a, facility_b):
    """A Recruiter at A; at B her personal-data grant was taken away: aggregates only there."""
    user = make_user("mia", Role.RECRUITER, [facility_a, facility_b])
    remove_perm(f"accounts.{FacilityPermission.VIEW_PERSONAL_DATA}", user, facility_b)
    return user


def refused(response, *codes: str) -> bool:
    """A 403 saying why: aggregates only, at exactly these facilities."""
    body = response.json()
    assert response.status_code == 403, (response.status_code, body)
    assert body["code"] == "aggregates_only", body
    assert body["detail"].startswith(f"Aggregates only at {', '.join(codes)}:"), body
    return "personal-data permission" in body["detail"]


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- every row-level route, found from the URL configuration ------------------------------------


def test_the_walk_finds_every_row_level_route():
    paths = {re.sub(r"<\w+>", "<id>", route.path) for route in ROW_LEVEL_ROUTES}
    for name in ("jobs", "candidates", "applications", "placements", "outreach", "compliance-checks", "events"):
        assert f"/api/v1/{name}/" in paths and f"/api/v1/{name}/<id>/" in paths, name


@pytest.mark.parametrize("route", _scoped_viewset_routes(), ids=[r.path for r in _scoped_viewset_routes()])
def test_only_the_facilities_themselves_are_not_row_level(route: Route):
    """A new collection scoped by facility is row-level unless it says otherwise, and must also
    name the fields it masks, so neither rule can be forgotten."""
    scope = route.cls.scope
    assert isinstance(scope, FacilityScope)
    if route.cls.queryset.model is Facility:
        assert not scope.row_level
    else:
        assert scope.row_level, f"{route.path} lists rows of facilities"
        assert route.cls.masked_fields >= set(MASKERS) == set(Candidate.PERSONAL_FIELDS)


@pytest.mark.parametrize("route", ROW_LEVEL_ROUTES, ids=[r.path for r in ROW_LEVEL_ROUTES])
def test_a_viewer_gets_403_on_every_row_level_route(route: Route, carol, facility_a, facility_c):
    api = jwt_client(carol)
    if not route.is_detail:
        assert refused(api.get(route.url()), "MERCY-01")
        assert refused(api.get(route.url(), {"facility": "MERCY-01"}), "MERCY-01")
        return
    mine, elsewhere = _sample(route, facility_a), _sample(route, facility_c)

    assert refused(api.get(route.url(_lookup_value(route, mine))), "MERCY-01")
    assert api.get(route.url(_lookup_value(route, elsewhere))).status_code == 404, "outside the scope stays 404"
    assert api.get(route.url("nope")).status_code == 404


@pytest.mark.parametrize("route", ROW_LEVEL_ROUTES, ids=[r.path for r in ROW_LEVEL_ROUTES])
def test_a_recruiter_still_reads_its_rows(route: Route, alice, facility_a):
    obj = _sample(route, facility_a)
    response = jwt_client(alice).get(route.url(_lookup_value(route, obj)) if route.is_detail else route.url())

    assert response.status_code == 200


def test_a_refusal_tells_nothing_about_the_row(carol, facility_a):
    make_application(facility_a, external_id="A-1", status="hired")
    api = jwt_client(carol)

    # Filters apply to a lookup too; the refusal does not depend on them, so they probe nothing.
    for status in ("hired", "rejected"):
        assert refused(api.get("/api/v1/applications/A-1/", {"status": status}), "MERCY-01")


def test_a_user_with_no_facilities_still_gets_an_empty_list(mallory, facility_a):
    make_job(facility_a)

    assert ids_of(jwt_client(mallory).get("/api/v1/jobs/")) == []


def test_every_row_level_read_documents_the_refusal():
    from tests.api.openapi import openapi

    paths = openapi()["paths"]
    for route in ROW_LEVEL_ROUTES:
        path = re_path(route)
        forbidden = paths[path]["get"]["responses"]["403"]["description"]
        assert "aggregates only" in forbidden and "aggregates_only" in forbidden, path
        assert "masked" in paths[path]["get"]["responses"]["400"]["description"], path
    for path, method in [("/api/v1/reports/", "post"), ("/api/v1/reports/{id}/", "patch"),
                         ("/api/v1/report-runs/{id}/download/", "get")]:  # fmt: skip
        assert "aggregates only" in paths[path][method]["responses"]["403"]["description"], (method, path)


def re_path(route: Route) -> str:
    return re.sub(r"<\w+>", "{id}", route.path)  # as the schema names a lookup


def test_every_route_over_records_has_a_row_level_scope():
    record_models = {route.cls.queryset.model for route in ROW_LEVEL_ROUTES}
    for route in api_routes():
        model = getattr(getattr(route.cls, "queryset", None), "model", None)
        if model in record_models:
            assert issubclass(route.cls, ScopedGenericViewSet), route.path
            assert isinstance(route.cls.scope, FacilityScope) and route.cls.scope.row_level, route.path


# --- a caller with the permission at some facilities and not others -----------------------------


def test_a_mixed_callers_list_covers_the_facilities_with_the_permission(mia, facility_a, facility_b, facility_c):
    for facility in (facility_a, facility_b, facility_c):
        make_job(facility, external_id=f"J-{facility.code}")
    api = jwt_client(mia)

    assert ids_of(api.get("/api/v1/jobs/")) == ["J-MERCY-01"]
    assert ids_of(api.get("/api/v1/jobs/", {"facility": "MERCY-01"})) == ["J-MERCY-01"]
    assert refused(api.get("/api/v1/jobs/", {"facility": "STJ-02"}), "STJ-02")
    assert refused(api.get("/api/v1/jobs/", {"facility": "MERCY-01,STJ-02"}), "STJ-02")
    assert refused(api.get("/api/v1/jobs/?facility=MERCY-01&facility=STJ-02"), "STJ-02")
    assert ids_of(api.get("/api/v1/jobs/", {"facility": "LAKE-03"})) == [], "not hers: filters to nothing"
    assert api.get("/api/v1/jobs/J-MERCY-01/").status_code == 200
    assert refused(api.get("/api/v1/jobs/J-STJ-02/"), "STJ-02")
    assert api.get("/api/v1/jobs/J-LAKE-03/").status_code == 404


def test_a_mixed_callers_event_log_is_that_of_its_row_level_facilities(mia, facility_a, facility_b):
    from tests.factories import make_event

    here, there = make_event(facility_a), make_event(facility_b)
    api = jwt_client(mia)

    listed = api.get("/api/v1/events/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [str(here.id)]
    assert refused(api.get(f"/api/v1/events/{there.id}/"), "STJ-02")
    assert refused(api.get("/api/v1/events/", {"facility": "STJ-02"}), "STJ-02")


def test_a_viewer_with_the_permission_nowhere_cannot_list_even_elsewhere(carol, facility_b):
    assert refused(jwt_client(carol).get("/api/v1/candidates/", {"facility": "STJ-02"}), "MERCY-01")


# --- reports of rows ----------------------------------------------------------------------------

APPLICATIONS = {"name": "Applications", "kpi": "applications", "period": "last_7_days", "format": "csv",
                "recipients": ["ops@example.com"], "schedule": None}  # fmt: skip


def test_a_viewer_cannot_define_an_applications_report(carol, facility_a):
    api = jwt_client(carol)

    assert refused(api.post("/api/v1/reports/", {**APPLICATIONS, "facilities": ["MERCY-01"]}, format="json"),
                   "MERCY-01")  # fmt: skip
    assert refused(api.post("/api/v1/reports/", APPLICATIONS, format="json"), "MERCY-01"), "none named: all hers"
    pipeline = api.post("/api/v1/reports/", {**APPLICATIONS, "kpi": "pipeline"}, format="json")
    assert pipeline.status_code == 201, "aggregates stay hers"
    assert refused(api.patch(f"/api/v1/reports/{pipeline.json()['id']}/", {"kpi": "applications"}, format="json"),
                   "MERCY-01")  # fmt: skip


def test_an_admin_cannot_give_a_viewer_rows_through_her_report(ada, carol, facility_a):
    report = make_report(carol, name="Carol's", kpi="pipeline")

    response = jwt_client(ada).patch(f"/api/v1/reports/{report.pk}/", {"kpi": "applications"}, format="json")

    assert refused(response, "MERCY-01")
    assert "the report's owner (carol) does not hold" in response.json()["detail"]


def test_a_mixed_caller_defines_applications_reports_only_where_it_sees_rows(mia, facility_a, facility_b):
    api = jwt_client(mia)

    assert refused(api.post("/api/v1/reports/", {**APPLICATIONS, "facilities": ["MERCY-01", "STJ-02"]},
                            format="json"), "STJ-02")  # fmt: skip
    assert api.post("/api/v1/reports/", {**APPLICATIONS, "facilities": ["MERCY-01"]}, format="json").status_code == 201
    assert api.post("/api/v1/reports/", APPLICATIONS, format="json").status_code == 201, "all hers: A's rows"


def test_a_mixed_callers_report_naming_none_holds_only_the_rows_it_may_see(smtp, mia, facility_a, facility_b):
    make_application(facility_a, external_id="A-HERE")
    make_application(facility_b, external_id="A-THERE")
    today = timezone.now().date()
    report = make_report(mia, kpi="applications", format="csv", period="custom", start_date=today - timedelta(days=1),
                         end_date=today)  # fmt: skip

    run = report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)

    assert run.status == "succeeded", run.error
    assert run.facilities == ["MERCY-01"]
    _, data = attachment(smtp.to("ops@example.com")[0])
    assert pd.read_csv(io.BytesIO(data), dtype=str)["Application"].tolist() == ["A-HERE"]


@pytest.fixture
def alices_list(alice, facility_a):
    """Alice's applications list of yesterday and today, with one application of A in it."""
    make_application(facility_a, external_id="A-1")
    today = timezone.now().date()
    return make_report(alice, name="Alice's list", kpi="applications", format="csv", period="custom",
                       start_date=today - timedelta(days=1), end_date=today)  # fmt: skip


def demote(user, facility) -> None:
    """An Admin makes ``user`` a Viewer of ``facility``: its personal-data grant goes."""
    user_set_access(by=Actor.system("tests"), user=user, role=Role.VIEWER, facilities=[facility])


def no_rows_sent(smtp) -> bool:
    assert smtp.to("ops@example.com") == []
    return all(not list(message.iter_attachments()) for message in smtp.messages)


def test_a_report_whose_owner_lost_the_permission_fails_and_sends_nothing(smtp, alices_list, alice, facility_a):
    demote(alice, facility_a)

    run = report_run_execute(run_id=ReportRun.objects.create(report=alices_list, trigger="manual").pk)

    assert run.status == "failed"
    assert run.error.startswith("The report's owner (alice) no longer may see row-level data of facility MERCY-01")
    assert not run.file and not run.deliveries.exists()
    assert no_rows_sent(smtp)
    notice = smtp.to("alice@example.com")[0]  # the owner (and Admins) are told why
    assert notice["Subject"] == "Report failed: Alice's list"
    assert "no longer may see row-level data of facility MERCY-01" in notice.get_body(("plain",)).get_content()


def test_a_scheduled_run_fails_the_same_way(smtp, alices_list, alice, facility_a):
    demote(alice, facility_a)
    run = ReportRun.objects.create(report=alices_list, trigger="schedule", scheduled_for=timezone.now())

    run = report_run_execute(run_id=run.pk)

    assert run.status == "failed" and "row-level data of facility MERCY-01" in run.error
    alices_list.refresh_from_db()
    assert alices_list.consecutive_failures == 1
    assert no_rows_sent(smtp)


def test_a_retry_after_the_owner_lost_the_permission_sends_nothing(smtp, alices_list, alice, facility_a):
    smtp.transient_failures = 1
    run = report_run_execute(run_id=ReportRun.objects.create(report=alices_list, trigger="manual").pk)
    delivery = run.deliveries.get()
    assert delivery.status == "pending"  # built while Alice was a Recruiter; the server said "later"
    demote(alice, facility_a)

    report_delivery_attempt(delivery_id=delivery.pk, schedule_retry=False)

    delivery.refresh_from_db()
    run.refresh_from_db()
    assert delivery.status == "failed" and "row-level data of facility MERCY-01" in delivery.error
    assert run.status == "failed" and "row-level data of facility MERCY-01" in run.error
    assert no_rows_sent(smtp)


def test_a_row_level_file_is_not_served_once_its_owner_lost_the_permission(smtp, alices_list, alice, ada, facility_a):
    run = report_run_execute(run_id=ReportRun.objects.create(report=alices_list, trigger="manual").pk)
    assert run.status == "succeeded", run.error
    path = f"/api/v1/report-runs/{run.pk}/download/"
    link = f"{path}?token={download_token(run=run, recipient='ops@example.com')}"
    assert jwt_client(alice).get(path).status_code == 200
    demote(alice, facility_a)

    assert refused(jwt_client(alice).get(path), "MERCY-01")
    assert refused(APIClient().get(link), "MERCY-01")
    assert jwt_client(ada).get(path).status_code == 200, "Admins see every row"


# --- no order, filter or search by what the caller sees masked ----------------------------------


@pytest.fixture
def names(facility_a, facility_b):
    make_candidate(facility_a, external_id="C-ZOE", first_name="Zoe", last_name="Adams", email="zoe@example.com")
    make_candidate(facility_a, external_id="C-AMY", first_name="Amy", last_name="Young", email="amy@example.com")
    make_candidate(facility_b, external_id="C-BEA", first_name="Bea", last_name="Moss", email="bea@example.com")


def masked_400(response, param: str, field: str) -> bool:
    assert response.status_code == 400, response.json()
    (message,) = response.json()[param]
    assert message.startswith(f"{field} is masked for you at STJ-02"), message
    return True


@pytest.mark.parametrize(
    ("params", "param", "field"),
    [
        ({"ordering": "last_name"}, "ordering", "last_name"),
        ({"ordering": "-last_name"}, "ordering", "last_name"),
        ({"ordering": "registered_at,-email"}, "ordering", "email"),
        ({"ordering": "first_name"}, "ordering", "first_name"),
        ({"ordering": "phone"}, "ordering", "phone"),
        ({"email": "bea@example.com"}, "email", "email"),
        ({"last_name__istartswith": "M"}, "last_name__istartswith", "last_name"),
    ],
)
def test_ordering_or_filtering_by_a_masked_field_is_400(mia, names, params, param, field):
    assert masked_400(jwt_client(mia).get("/api/v1/candidates/", params), param, field)


def test_a_relation_to_a_masked_field_counts_too(mia, facility_a):
    make_application(facility_a)
    api = jwt_client(mia)

    assert masked_400(api.get("/api/v1/applications/", {"ordering": "candidate__last_name"}), "ordering", "last_name")
    assert masked_400(api.get("/api/v1/applications/", {"candidate__email": "x"}), "candidate__email", "email")


def test_narrowed_to_facilities_without_masking_the_order_is_allowed(mia, names):
    response = jwt_client(mia).get("/api/v1/candidates/", {"facility": "MERCY-01", "ordering": "last_name"})

    assert ids_of(response) == ["C-ZOE", "C-AMY"]  # Adams, Young


def test_who_sees_nothing_masked_orders_by_name(alice, bob, names):
    assert ids_of(jwt_client(alice).get("/api/v1/candidates/", {"ordering": "-last_name"})) == ["C-AMY", "C-ZOE"]
    assert ids_of(jwt_client(bob).get("/api/v1/candidates/", {"ordering": "last_name"})) == ["C-ZOE", "C-BEA",
                                                                                              "C-AMY"]  # fmt: skip


def test_a_viewer_is_told_aggregates_only_first(carol, names):
    assert refused(jwt_client(carol).get("/api/v1/candidates/", {"ordering": "last_name"}), "MERCY-01")


class CandidatesByName(CandidateViewSet):
    """A collection that also searches names: the rule is the scope's, decided per request."""

    search_fields = ["external_id", "^last_name", "email"]


def search(user, **params):
    request = APIRequestFactory().get("/candidates-by-name/", params,
                                      HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")  # fmt: skip
    return CandidatesByName.as_view({"get": "list"}, detail=False)(request)


def test_searching_a_masked_field_is_400_where_it_is_masked(mia, bob, names):
    refusal = search(mia, search="Moss")
    assert refusal.status_code == 400
    assert [message.split(" ")[0] for message in refusal.data["search"]] == ["last_name", "email"]
    assert "masked for you at STJ-02" in refusal.data["search"][0]

    assert [row["id"] for row in search(mia, search="Adams", facility="MERCY-01").data["results"]] == ["C-ZOE"]
    assert [row["id"] for row in search(bob, search="Moss").data["results"]] == ["C-BEA"]
    assert search(mia).status_code == 200, "no search term: nothing searched"
