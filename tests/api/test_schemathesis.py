"""The schema is the API: Schemathesis sends what the OpenAPI schema allows, and more, to the
real server (gunicorn on the test database), as an Admin and as a Viewer. No answer may be a
5xx, and each must be one the schema documents: its status, content type and body.

The schema is the one /api/schema/ serves (a test below checks they are the same), built when
the tests are collected so that each operation is a test of its own. The run is seeded and
bounded (a few examples per operation and phase): the same every time, a few minutes long.
Writes land only on the test's own objects: each caller gets a world of its own, made here and
flushed after it, and a PUT, PATCH or DELETE aimed at the account the run signs in with goes to
a spare account instead, so no caller loses its sign-in halfway.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from reports.models import ReportRun, RunTrigger
from tests.api.openapi import openapi
from tests.factories import (
    PASSWORD,
    FacilityFactory,
    make_api_key,
    make_application,
    make_candidate,
    make_compliance_check,
    make_event,
    make_job,
    make_outreach,
    make_placement,
    make_user,
)
from tests.http import call

SEED = 20260315
MAX_EXAMPLES = 8  # per operation in the fuzzing phase; the examples and coverage phases add their own
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
WRITES = {"PUT", "PATCH", "DELETE"}


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "with-security-parameters": False, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(openapi(), config=CONFIG)


@dataclass
class Caller:
    """Who the run signs in as, where the server is, and the test's objects it may name."""

    role: str
    url: str
    token: str
    known: dict[str, str] = field(default_factory=dict)  # path template -> an object of the test
    protected: set[str] = field(default_factory=set)  # ids of the accounts the run signs in with
    spare: str = ""  # the account that writes aimed at a protected one go to instead

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def aim(self, case) -> None:
        """Point some cases at real objects (so lookups find something), chosen by a checksum of
        what was generated: deterministic, as the seed is. Writes never reach the callers' accounts."""
        if not case.path_parameters or len(case.path_parameters) != 1:
            return
        (name,) = case.path_parameters
        drawn = json.dumps([case.method, case.path, case.path_parameters], sort_keys=True, default=str)
        if case.path in self.known and zlib.crc32(drawn.encode()) % 2 == 0:
            case.path_parameters = {name: self.known[case.path]}
        aimed_at = str(case.path_parameters[name])
        if case.method.upper() in WRITES and case.path == "/api/v1/users/{id}/" and aimed_at in self.protected:
            case.path_parameters = {name: self.spare}


def make_world() -> dict:
    """Two facilities, the Viewer granted the first; a record of every kind there; a report of
    each caller with a run still queued; an API key; and a spare account for writes on users."""
    from tests.reports.conftest import make_report

    here, elsewhere = FacilityFactory(code="SCHEMA-01"), FacilityFactory(code="SCHEMA-02")
    users = {
        "admin": make_user("schema-admin", Role.ADMIN),
        "viewer": make_user("schema-viewer", Role.VIEWER, [here]),
    }
    spare = make_user("schema-spare", Role.RECRUITER, [elsewhere])
    key = make_api_key("schema-sender", [here])
    application = make_application(here)
    event = make_event(here)
    make_job(elsewhere)
    objects = {
        "/api/v1/facilities/{code}/": here.code,
        "/api/v1/users/{id}/": spare.pk,
        "/api/v1/jobs/{id}/": application.job.external_id,
        "/api/v1/candidates/{id}/": application.candidate.external_id,
        "/api/v1/applications/{id}/": application.external_id,
        "/api/v1/placements/{id}/": make_placement(here).external_id,
        "/api/v1/outreach/{id}/": make_outreach(here, candidate=make_candidate(here)).external_id,
        "/api/v1/compliance-checks/{id}/": make_compliance_check(here).external_id,
        "/api/v1/events/{id}/": event.id,
        "/api/v1/events/{id}/reprocess/": event.id,
        "/api/v1/api-keys/{id}/": key.split(".")[0],
    }
    reports = {role: make_report(user, facilities=[here]) for role, user in users.items()}
    runs = {
        role: ReportRun.objects.create(report=report, trigger=RunTrigger.MANUAL) for role, report in reports.items()
    }
    return {"users": users, "spare": spare, "objects": objects, "reports": reports, "runs": runs}


@pytest.fixture(scope="module", params=["admin", "viewer"])
def caller(request, django_db_blocker, web_process):
    """The caller of the run, in a world of its own (committed, so the server sees it; flushed after)."""
    with django_db_blocker.unblock():
        world = make_world()
    user = world["users"][request.param]
    status, body = call(f"{web_process.url}/api/v1/auth/token/", body={"username": user.username, "password": PASSWORD})
    assert status == 200, body
    report = world["reports"][request.param]
    run = world["runs"][request.param]
    known = {
        **world["objects"],
        "/api/v1/reports/{id}/": report.pk,
        "/api/v1/reports/{id}/run/": report.pk,
        "/api/v1/report-runs/{id}/": run.pk,
        "/api/v1/report-runs/{id}/download/": run.pk,
    }
    yield Caller(
        role=request.param,
        url=web_process.url,
        token=body["access"],
        known={path: str(value) for path, value in known.items()},
        protected={str(account.pk) for account in world["users"].values()},
        spare=str(world["spare"].pk),
    )
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@hypothesis.settings(
    deadline=timedelta(seconds=10),  # one request: a slower answer is a finding, not a pause
    derandomize=False,  # the seed decides, locally and under Hypothesis' CI profile alike
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],  # a real server is slower than Python
)
@schema.parametrize()
def test_every_answer_is_one_the_schema_documents(case, caller):
    caller.aim(case)
    case.call_and_validate(base_url=caller.url, headers=caller.headers, checks=CHECKS)


# Marked so that pytest-django makes the test database when this module runs alone. The run
# itself is not marked: unmarked tests run last, after the transactional ones that flush the
# database as well, so the flush after each caller's world disturbs no test that expects a
# freshly migrated database.
@pytest.mark.django_db
def test_the_server_serves_the_schema_the_run_uses(web_process):
    status, served = call(f"{web_process.url}/api/schema/?format=json")

    assert status == 200
    assert served == openapi()
