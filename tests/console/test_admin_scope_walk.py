"""One walk over every page of the operator console, as non-Admin staff.

The admin's registry is the list, so a model admin registered tomorrow is walked the day it is
added; the walk fails until POLICY says what each role may see of it and SAMPLES how to make one
of its rows. As `rita` (a Recruiter of facility A) and `vera` (a Viewer of facility A), with one
row in the role's scope (at A, or its own) and one out of it (at B, and the Admin's):

- every changelist: a 403 where the role may see nothing of the model; otherwise the row in scope
  and never the other, facility filters offering A only, and exactly the actions the role may run;
- every object's change, history and delete pages (and the add page): out of scope is a 403, a
  404 or a redirect, never a page with the row; in scope is read-only;
- every admin action, posted with both rows selected and with "select all", and every object
  button: an action gets the row in scope at most, never the other; one the role may not run is
  not run.

A Recruiter sees its facilities' records and its own reports; a Viewer sees aggregates only (the
dashboard) and its own reports: no row-level records at all.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin import AdminSite, ModelAdmin
from django.core import checks
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.admin_scope import ScopedModelAdmin, check_admins_are_scoped, unscoped_admins
from accounts.models import Facility, Role
from accounts.principals import Actor
from accounts.services import api_key_create, audit_record
from analytics.models import RefreshRun
from events.models import Invoice
from reports.models import DeliveryStatus, ReportDelivery, ReportRun
from tests.factories import (
    make_application,
    make_candidate,
    make_compliance_check,
    make_event,
    make_job,
    make_outreach,
    make_placement,
    make_user,
)
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db

RECRUITER, VIEWER = "recruiter", "viewer"
ROLES = [RECRUITER, VIEWER]
FACILITY_ROWS, OWN_ROWS, NOTHING = "its facilities' rows", "its own rows", "nothing"
RECORDS = ["events.event", "events.job", "events.candidate", "events.application", "events.placement",
           "events.invoice", "events.outreachmessage", "events.compliancecheck"]  # fmt: skip
REPORTS = ["reports.report", "reports.reportrun", "reports.reportdelivery"]
ADMINS_ONLY = [
    "accounts.user", "accounts.facility", "accounts.serviceapikey", "accounts.auditevent", "analytics.refreshrun",
    "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog", "django_celery_beat.periodictask",
    "django_celery_beat.crontabschedule", "django_celery_beat.intervalschedule", "token_blacklist.outstandingtoken",
    "token_blacklist.blacklistedtoken",
]  # fmt: skip

# What each role sees of each registered model: the policy, written down apart from the code.
POLICY: dict[str, dict[str, str]] = {
    **{label: {RECRUITER: FACILITY_ROWS, VIEWER: NOTHING} for label in RECORDS},
    **{label: {RECRUITER: OWN_ROWS, VIEWER: OWN_ROWS} for label in REPORTS},
    **{label: {RECRUITER: NOTHING, VIEWER: NOTHING} for label in ADMINS_ONLY},
}
# The actions a role may run on the rows it sees (the rest are the Admins').
OFFERED: dict[str, set[str]] = {
    "reports.report": {"run_now", "send_test_email_to_me", "switch_on", "switch_off"},
    "reports.reportrun": {"resend_failed"},
    "reports.reportdelivery": {"resend"},
}

_n = itertools.count(1)


def _invoice(facility, owner):
    now = timezone.now()
    return Invoice.objects.create(facility=facility, placement=make_placement(facility), external_id=f"I-{next(_n)}",
                                  amount="120.00", issued_at=now, issued_date=now.date())  # fmt: skip


def _report(facility, owner):
    return make_report(owner, facilities=[facility], name=f"{owner.username} at {facility.code}",
                       schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"})  # fmt: skip


def _run(facility, owner):
    return ReportRun.objects.create(report=_report(facility, owner), trigger="manual", status="failed",
                                    facilities=[facility.code], error=f"550 for {facility.code}")  # fmt: skip


def _delivery(facility, owner):
    return ReportDelivery.objects.create(run=_run(facility, owner), recipient=f"{owner.username}@example.com",
                                         status=DeliveryStatus.FAILED, attempts=5, error="550")  # fmt: skip


def _access(model):
    def make(facility, owner):
        fields = {"username": f"walk-{next(_n)}", "ip_address": "10.0.0.7", "user_agent": "walk", "http_accept": "*/*",
                  "path_info": "/admin/login/"}  # fmt: skip
        if model is AccessAttempt:
            fields.update(get_data="", post_data="", failures_since_start=1)
        return model.objects.create(**fields)

    return make


def _outstanding(facility, owner):
    return OutstandingToken.objects.get(jti=RefreshToken.for_user(owner)["jti"])


def _api_key(facility, owner):
    return api_key_create(by=Actor.system("tests"), name=f"key {facility.code}", facilities=[facility])[0]


def _periodic_task(facility, owner):
    every = IntervalSchedule.objects.create(every=600 + next(_n), period="seconds")
    return PeriodicTask.objects.create(name=f"walk {facility.code} {next(_n)}", task="reports.sweep", interval=every)


# label -> function(facility, owner) making one row that belongs to that facility / owner.
SAMPLES: dict[str, Callable] = {
    "events.event": lambda facility, owner: make_event(facility),
    "events.job": lambda facility, owner: make_job(facility),
    "events.candidate": lambda facility, owner: make_candidate(facility, last_name=f"Doe-{facility.code}"),
    "events.application": lambda facility, owner: make_application(facility),
    "events.placement": lambda facility, owner: make_placement(facility),
    "events.invoice": _invoice,
    "events.outreachmessage": lambda facility, owner: make_outreach(facility),
    "events.compliancecheck": lambda facility, owner: make_compliance_check(facility),
    "reports.report": _report,
    "reports.reportrun": _run,
    "reports.reportdelivery": _delivery,
    "accounts.user": lambda facility, owner: make_user(f"walk-{next(_n)}", Role.RECRUITER, [facility]),
    "accounts.facility": lambda facility, owner: facility,
    "accounts.serviceapikey": _api_key,
    "accounts.auditevent": lambda facility, owner: audit_record(by=Actor.system("tests"), action="walk", obj=facility),
    "analytics.refreshrun": lambda facility, owner: RefreshRun.objects.create(view="hires", status="failed"),
    "axes.accessattempt": _access(AccessAttempt),
    "axes.accesslog": _access(AccessLog),
    "axes.accessfailurelog": _access(AccessFailureLog),
    "django_celery_beat.periodictask": _periodic_task,
    "django_celery_beat.crontabschedule": lambda facility, owner: CrontabSchedule.objects.create(
        minute=str(next(_n) % 60), hour="4"
    ),
    "django_celery_beat.intervalschedule": lambda facility, owner: IntervalSchedule.objects.create(
        every=10_000 + next(_n), period="seconds"
    ),
    "token_blacklist.outstandingtoken": _outstanding,
    "token_blacklist.blacklistedtoken": lambda facility, owner: RefreshToken.for_user(owner).blacklist()[0],
}

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label_lower)
WALK = [(model, role) for model in REGISTERED for role in ROLES]


def walk_id(case) -> str:
    model, role = case
    return f"{model._meta.label_lower}-{role}"


@pytest.fixture
def staff(facility_a):
    return {
        RECRUITER: make_user("rita", Role.RECRUITER, [facility_a], is_staff=True),
        VIEWER: make_user("vera", Role.VIEWER, [facility_a], is_staff=True),
    }


class Rows:
    """A model's admin and its two rows for the walking role: one in its scope, one out."""

    def __init__(self, model, role: str, user, facility_a: Facility, facility_b: Facility, ada) -> None:
        self.model, self.role, self.user = model, role, user
        self.label = model._meta.label_lower
        assert self.label in POLICY, f"add a POLICY entry for {self.label}: what may each role see of it?"
        assert self.label in SAMPLES, f"add a SAMPLES entry for {self.label} so the walk can make its rows"
        self.sees = POLICY[self.label][role]
        self.model_admin = admin.site._registry[model]
        self.inside = SAMPLES[self.label](facility_a, user)
        self.outside = SAMPLES[self.label](facility_b, ada)
        self.facility_b = facility_b

    def url(self, view: str, obj=None) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[] if obj is None else [obj.pk])

    def shows(self, obj) -> bool:
        """Whether ``obj`` is in scope for the role (the walk's own statement, from POLICY)."""
        return self.sees != NOTHING and obj is self.inside

    def assert_hidden(self, response, obj, what: str) -> None:
        assert response.status_code in (302, 403, 404), f"{what}: {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/") and str(obj.pk) not in response["Location"], what
        assert self.url("change", obj).encode() not in response.content, what
        assert self.facility_b.code.encode() not in response.content, what


@pytest.fixture(params=WALK, ids=walk_id)
def rows(request, staff, facility_a, facility_b, ada, client) -> Rows:
    model, role = request.param
    client.force_login(staff[role])
    return Rows(model, role, staff[role], facility_a, facility_b, ada)


# --- the base is everywhere ------------------------------------------------------------------


def test_every_registered_admin_is_scoped_and_known_to_the_walk():
    assert unscoped_admins() == []
    assert check_admins_are_scoped() == []
    assert check_admins_are_scoped in checks.registry.registry.get_checks()  # `manage.py check` runs it
    labels = {model._meta.label_lower for model in REGISTERED}
    assert labels == set(POLICY), "POLICY and the admin's registry differ"
    assert labels == set(SAMPLES)


def test_an_admin_without_the_base_fails_the_check_and_one_cannot_override_the_scope():
    site = AdminSite(name="walk-check")
    site.register(Facility, ModelAdmin)

    problems = unscoped_admins(sites=[site])

    assert problems == ["accounts.Facility: ModelAdmin does not derive from ScopedAdminMixin"]
    with pytest.raises(TypeError, match="overrides get_queryset"):
        type("Leaky", (ScopedModelAdmin,), {"get_queryset": lambda self, request: None})
    with pytest.raises(TypeError, match="overrides has_view_permission"):
        type("Leaky", (ScopedModelAdmin,), {"has_view_permission": lambda self, request, obj=None: True})


# --- what each role is offered ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_home_page_offers_each_role_exactly_its_models(client, staff, role):
    client.force_login(staff[role])

    page = client.get("/admin/")

    offered = {entry["model"]._meta.label_lower for app in page.context["app_list"] for entry in app["models"]}
    assert offered == {label for label, sees in POLICY.items() if sees[role] != NOTHING}


@pytest.mark.parametrize("role", ROLES)
def test_every_link_of_the_home_and_status_pages_opens_for_the_role(client, staff, role, facility_a):
    client.force_login(staff[role])
    links: set[str] = set()
    for page in ("/admin/", "/admin/status/"):
        response = client.get(page)
        assert response.status_code == 200
        links |= set(re.findall(r'href="(/admin/[^"?#]*)', response.content.decode()))

    refused = {link: client.get(link).status_code for link in links - {"/admin/logout/"}}

    assert {link: status for link, status in refused.items() if status != 200} == {}
    if role == VIEWER:
        assert not any(link.startswith("/admin/events/") for link in links)  # aggregates only


def test_a_viewers_status_panel_counts_no_events_and_shows_no_refresh_log(client, staff):
    client.force_login(staff[VIEWER])

    page = client.get("/admin/status/").content.decode()

    assert 'id="views-table"' in page  # the freshness of what its dashboard reads
    assert "Failed events" not in page and 'id="recent-refreshes"' not in page
    assert "Failed report runs" in page  # its own


# --- every changelist ------------------------------------------------------------------------


def test_every_changelist(client, rows):
    response = client.get(rows.url("changelist"))

    if rows.sees == NOTHING:
        rows.assert_hidden(response, rows.outside, f"{rows.label} changelist")
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert rows.url("change", rows.inside).encode() in response.content
    assert rows.url("change", rows.outside).encode() not in response.content
    assert rows.facility_b.code.encode() not in response.content
    action_form = response.context.get("action_form")
    offered = {name for name, _ in action_form.fields["action"].choices if name} if action_form else set()
    assert offered == OFFERED.get(rows.label, set())
    for spec in response.context["cl"].filter_specs:
        if getattr(spec, "title", "") == "facility":
            assert [code for code, _ in spec.lookup_choices] == ["MERCY-01"]
    # Asking for the other facility's rows, or searching for them, finds nothing.
    for query in ({"facility": rows.facility_b.code}, {"q": rows.facility_b.code}, {"q": str(rows.outside)}):
        response = client.get(rows.url("changelist"), query)
        assert response.status_code in (200, 302), query
        assert rows.url("change", rows.outside).encode() not in response.content, query


# --- every object's pages --------------------------------------------------------------------


def test_every_object_page(client, rows):
    for obj in (rows.inside, rows.outside):
        for view in ("change", "history", "delete"):
            response = client.get(rows.url(view, obj))
            what = f"{rows.label} {view} of the row {'in' if obj is rows.inside else 'out of'} scope"
            if not rows.shows(obj):
                rows.assert_hidden(response, obj, what)
            elif view == "delete":
                assert response.status_code == 403, what  # deleting is the Admins'
            else:
                assert response.status_code == 200, what
                assert rows.facility_b.code.encode() not in response.content, what
        edit = client.post(rows.url("change", obj), {})
        assert edit.status_code == 403, f"{rows.label}: staff other than Admins change nothing"
    add = client.get(reverse(f"admin:{rows.model._meta.app_label}_{rows.model._meta.model_name}_add"))
    assert add.status_code == 403, f"{rows.label}: staff other than Admins add nothing"


# --- every action ----------------------------------------------------------------------------


@pytest.fixture
def spied(monkeypatch, rows) -> list[tuple[str, set[str]]]:
    """Every action of the model's admin replaced by a spy that records the rows it was given
    (and keeps the action's permissions and description): (action, {pk, ...}) per call."""
    calls: list[tuple[str, set[str]]] = []
    model_admin = rows.model_admin
    for func, name, _ in model_admin._get_base_actions():

        def spy(modeladmin, request, queryset, _name=name):
            calls.append((_name, {str(pk) for pk in queryset.values_list("pk", flat=True)}))

        spy = functools.update_wrapper(spy, func)
        if name in model_admin.admin_site._actions:
            monkeypatch.setitem(model_admin.admin_site._actions, name, spy)
        else:
            monkeypatch.setattr(type(model_admin), name, spy)
    return calls


def test_every_action(client, rows, spied):
    model_admin = rows.model_admin
    inside, outside = str(rows.inside.pk), str(rows.outside.pk)
    offered = OFFERED.get(rows.label, set()) if rows.sees != NOTHING else set()
    for _, name, _ in model_admin._get_base_actions():
        spied.clear()
        chosen = client.post(rows.url("changelist"), {"action": name, "_selected_action": [inside, outside]})
        everything = client.post(rows.url("changelist"), {"action": name, "select_across": "1", "index": "0",
                                                          "_selected_action": [inside]})  # fmt: skip

        if rows.sees == NOTHING:
            assert (chosen.status_code, everything.status_code) == (403, 403), name
        if name in offered:
            assert spied == [(name, {inside}), (name, {inside})], name
        else:
            assert spied == [], f"{rows.label}: {name} ran for a {rows.role}"

    for name in getattr(model_admin, "object_actions", []):
        for obj in (rows.inside, rows.outside):
            spied.clear()
            try:
                url = reverse(f"admin:{rows.model._meta.app_label}_{rows.model._meta.model_name}_object_action",
                              args=[obj.pk, name])  # fmt: skip
            except NoReverseMatch:
                pytest.fail(f"{rows.label} declares object actions without their URL")
            response = client.post(url)
            if rows.shows(obj) and name in offered:
                assert response.status_code == 302 and spied == [(name, {inside})], name
            else:
                assert response.status_code in (403, 404), f"{rows.label} {name}: {response.status_code}"
                assert spied == [], name


def test_the_owner_autocomplete_of_reports_is_the_admins(client, staff, ada):
    for role in ROLES:
        client.force_login(staff[role])
        response = client.get("/admin/autocomplete/", {"app_label": "reports", "model_name": "report",
                                                       "field_name": "owner", "term": "ada"})  # fmt: skip
        assert response.status_code == 403, role


def test_a_reports_beat_entry_is_a_link_for_admins_only(client, staff, ada, facility_a):
    """The schedules are Admins' own: others see the beat entry's state, not a link that 403s."""
    report = make_report(
        staff[RECRUITER], facilities=[facility_a], schedule={"crontab": "0 7 * * 1", "time_zone": "UTC"}
    )
    task = report.schedule.periodic_task
    link = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]).encode()
    page = f"/admin/reports/report/{report.pk}/change/"

    client.force_login(staff[RECRUITER])
    mine = client.get(page)
    assert mine.status_code == 200 and task.name.encode() in mine.content and link not in mine.content
    client.force_login(ada)
    assert link in client.get(page).content
