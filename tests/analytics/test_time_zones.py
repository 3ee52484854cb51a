"""Each facility's own day: events are dated, bucketed and asked about in the facility's time zone,
clock changes included; several facilities add their own local days; hours carry their offset."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Facility, Role
from accounts.principals import Actor
from events.models import Application, Event, Job
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from events.services.redating import facilities_redate
from tests.factories import FacilityFactory, jwt_client, make_user
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db

ZONES = {
    "LAX": "America/Los_Angeles",
    "HNL": "Pacific/Honolulu",
    "NYC": "America/New_York",
    "BOM": "Asia/Kolkata",
    "LHI": "Australia/Lord_Howe",
}


@pytest.fixture
def zoned():
    return {code: FacilityFactory(code=code, time_zone=zone) for code, zone in ZONES.items()}


@pytest.fixture
def admin(zoned):
    return make_user("tz-admin", Role.ADMIN)


def local(code: str, text: str) -> datetime:
    """A wall-clock time at facility ``code``; ``fold=1`` picks the second of a repeated hour."""
    fold = 1 if text.endswith("#2") else 0
    return datetime.fromisoformat(text.removesuffix("#2")).replace(tzinfo=ZoneInfo(ZONES[code]), fold=fold)


class Sender:
    """Events through the real path: ingestion (the log's local date), processing (the records')."""

    def __init__(self, admin) -> None:
        self.admin = admin
        self.jobs: set[str] = set()

    def applications(self, code: str, *moments: datetime) -> None:
        items = []
        job = f"J-{code}"
        if job not in self.jobs:
            self.jobs.add(job)
            items.append(self._event(code, "job.opened", datetime(2026, 1, 1, tzinfo=UTC), job_id=job, title="RN",
                                     specialty="ICU", skills=["icu"], positions=1, bill_rate="80.00"))  # fmt: skip
            items.append(self._event(code, "candidate.created", datetime(2026, 1, 1, tzinfo=UTC),
                                     candidate_id=f"C-{code}", first_name="A", last_name="B", email="a.b@example.com",
                                     phone="+1 555 010 1234", skills=["icu"], source="referral"))  # fmt: skip
        for moment in moments:
            items.append(self._event(code, "application.created", moment, application_id=f"A-{uuid.uuid4().hex[:10]}",
                                     job_id=job, candidate_id=f"C-{code}", source="referral"))  # fmt: skip
        results = events_ingest(by=Actor(principal=self.admin), items=items)
        assert {result.status for result in results} == {"created"}, [result.as_dict() for result in results]
        events_process_pending()

    @staticmethod
    def _event(code: str, event_type: str, moment: datetime, **data) -> dict:
        return {"id": str(uuid.uuid4()), "type": event_type, "occurred_at": moment.isoformat(), "facility": code,
                "actor": "recruiter-1", "data": data}  # fmt: skip


def kpi(admin, path: str, **params) -> dict:
    response = jwt_client(admin).get(f"/api/v1/analytics/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_late_evening_and_just_after_midnight_count_on_their_local_days(admin, zoned):
    send = Sender(admin)
    for code in ZONES:
        send.applications(code, local(code, "2026-07-09T23:30"), local(code, "2026-07-10T00:30"))

    # Stored: the records' and the log's dates are the facility's local ones.
    assert set(Application.objects.values_list("applied_date", flat=True)) == {date(2026, 7, 9), date(2026, 7, 10)}
    dated = Event.objects.filter(type="application.created").values_list("local_date", flat=True)
    assert Counter(dated) == {date(2026, 7, 9): 5, date(2026, 7, 10): 5}
    refresh_all()

    for code, zone in ZONES.items():
        answer = kpi(admin, "pipeline", facility=code, start_date="2026-07-09", end_date="2026-07-09")
        assert answer["metrics"]["applications"] == 1, code
        assert answer["period"]["time_zone"] == zone
    everywhere = kpi(admin, "pipeline", start_date="2026-07-10", end_date="2026-07-10")
    assert everywhere["metrics"]["applications"] == 5  # each facility's own 10 July
    assert everywhere["period"]["time_zone"] == "facility"
    series = kpi(admin, "trends", metric="applications", start_date="2026-07-09", end_date="2026-07-10")
    assert [cell["value"] for cell in series["metrics"]["series"]] == [5, 5]


def test_clock_change_days_are_23_and_25_hours_long_and_stay_one_day(admin, zoned):
    send = Sender(admin)
    send.applications("LAX", local("LAX", "2026-03-08T00:30"), local("LAX", "2026-03-08T23:30"),
                      local("LAX", "2026-11-01T00:30"), local("LAX", "2026-11-01T01:30"),
                      local("LAX", "2026-11-01T01:30#2"), local("LAX", "2026-11-01T23:30"))  # fmt: skip
    refresh_all()
    spring = kpi(admin, "trends", metric="applications", facility="LAX", start_date="2026-03-07", end_date="2026-03-09")
    autumn = kpi(admin, "trends", metric="applications", facility="LAX", start_date="2026-10-31", end_date="2026-11-02")
    assert [cell["value"] for cell in spring["metrics"]["series"]] == [0, 2, 0]
    assert [cell["value"] for cell in autumn["metrics"]["series"]] == [0, 4, 0]

    hours = kpi(admin, "trends", metric="applications", facility="LAX", granularity="hour",
                start_date="2026-03-08", end_date="2026-03-08")["metrics"]  # fmt: skip
    names = [cell["bucket"] for cell in hours["series"]]
    assert hours["time_zone"] == "America/Los_Angeles"
    assert len(names) == 23 and "2026-03-08T02:00-08:00" not in names and "2026-03-08T02:00-07:00" not in names
    assert names[:3] == ["2026-03-08T00:00-08:00", "2026-03-08T01:00-08:00", "2026-03-08T03:00-07:00"]

    hours = kpi(admin, "trends", metric="applications", facility="LAX", granularity="hour",
                start_date="2026-11-01", end_date="2026-11-01")["metrics"]  # fmt: skip
    cells = {cell["bucket"]: cell["value"] for cell in hours["series"]}
    assert len(cells) == 25
    assert list(cells)[1:3] == ["2026-11-01T01:00-07:00", "2026-11-01T01:00-08:00"]  # the repeated hour, twice
    assert (cells["2026-11-01T01:00-07:00"], cells["2026-11-01T01:00-08:00"]) == (1, 1)
    assert cells["2026-11-01T00:00-07:00"] == 1 and cells["2026-11-01T23:00-08:00"] == 1
    assert sum(cells.values()) == 4


def test_half_hour_offsets_and_half_hour_clock_changes_have_their_own_hours(admin, zoned):
    send = Sender(admin)
    send.applications("BOM", local("BOM", "2026-07-10T00:10"), local("BOM", "2026-07-10T23:50"))
    # Lord Howe Island goes back half an hour on 5 April 2026 (02:00 +11:00 -> 01:30 +10:30).
    send.applications("LHI", local("LHI", "2026-04-05T01:40"), local("LHI", "2026-04-05T01:40#2"))

    kolkata = kpi(admin, "trends", metric="applications", facility="BOM", granularity="hour",
                  start_date="2026-07-10", end_date="2026-07-10")["metrics"]  # fmt: skip
    cells = {cell["bucket"]: cell["value"] for cell in kolkata["series"]}
    assert len(cells) == 24 and next(iter(cells)) == "2026-07-10T00:00+05:30"
    assert (cells["2026-07-10T00:00+05:30"], cells["2026-07-10T23:00+05:30"]) == (1, 1)

    lord_howe = kpi(admin, "trends", metric="applications", facility="LHI", granularity="hour",
                    start_date="2026-04-05", end_date="2026-04-05")["metrics"]  # fmt: skip
    cells = {cell["bucket"]: cell["value"] for cell in lord_howe["series"]}
    assert (cells["2026-04-05T01:00+11:00"], cells["2026-04-05T01:00+10:30"]) == (1, 1)
    assert list(cells)[-1] == "2026-04-05T23:00+10:30"


def test_facilities_in_different_zones_share_utc_hours_and_say_so(admin, zoned):
    send = Sender(admin)
    send.applications("NYC", local("NYC", "2026-07-10T08:15"))
    send.applications("HNL", local("HNL", "2026-07-10T02:15"))  # the same UTC hour, 12:00
    answer = kpi(admin, "trends", metric="applications", facility="NYC,HNL", granularity="hour",
                 start_date="2026-07-10", end_date="2026-07-10")  # fmt: skip
    metrics = answer["metrics"]
    cells = {cell["bucket"]: cell["value"] for cell in metrics["series"]}
    assert metrics["time_zone"] == "UTC" and answer["period"]["time_zone"] == "facility"
    assert cells["2026-07-10T12:00+00:00"] == 2 and sum(cells.values()) == 2
    # From New York's first midnight (04:00 UTC) to Honolulu's last (10:00 UTC the next day).
    assert next(iter(cells)) == "2026-07-10T04:00+00:00" and list(cells)[-1] == "2026-07-11T09:00+00:00"


def test_hourly_series_are_for_31_days_at_most(admin, zoned):
    response = jwt_client(admin).get("/api/v1/analytics/trends/", {"granularity": "hour", "start_date": "2026-07-01",
                                                                   "end_date": "2026-08-01"})  # fmt: skip
    assert response.status_code == 400
    assert "31 days" in response.json()["granularity"][0]


def test_changing_a_facility_time_zone_re_dates_its_history_by_the_next_refresh(admin, zoned):
    send = Sender(admin)
    send.applications("LAX", local("LAX", "2026-07-09T20:00"))  # 10 July 03:00 UTC, 08:30 in Kolkata
    refresh_all()
    assert kpi(admin, "pipeline", facility="LAX", start_date="2026-07-09", end_date="2026-07-09")["metrics"][
        "applications"] == 1  # fmt: skip

    facility = Facility.objects.get(code="LAX")
    facility.time_zone = "Asia/Kolkata"
    facility.save()
    assert Facility.objects.get(code="LAX").dated_time_zone == "America/Los_Angeles"  # not re-dated yet
    refresh_all()  # re-dates first, then refreshes

    assert Facility.objects.get(code="LAX").dated_time_zone == "Asia/Kolkata"
    assert Application.objects.get(facility__code="LAX").applied_date == date(2026, 7, 10)
    assert Job.objects.get(facility__code="LAX").opened_date == date(2026, 1, 1)
    assert Event.objects.filter(facility__code="LAX", type="application.created").get().local_date == date(2026, 7, 10)
    answer = kpi(admin, "pipeline", facility="LAX", start_date="2026-07-10", end_date="2026-07-10")
    assert (answer["metrics"]["applications"], answer["period"]["time_zone"]) == (1, "Asia/Kolkata")
    assert facilities_redate() == {}  # nothing left to do

    # A row dated in another zone (say, by a request in flight during the change) is corrected on demand.
    Application.objects.filter(facility__code="LAX").update(applied_date=date(2026, 7, 9))
    out = StringIO()
    call_command("redate_facilities", "LAX", stdout=out)
    assert out.getvalue() == "LAX: 1 row(s) re-dated\n"
    assert Application.objects.get(facility__code="LAX").applied_date == date(2026, 7, 10)


moment = st.datetimes(
    min_value=datetime(2026, 3, 6), max_value=datetime(2026, 3, 10), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2026, 10, 30), max_value=datetime(2026, 11, 3), timezones=st.just(UTC))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=["explicit", "reuse", "generate"])  # fmt: skip
@given(events=st.lists(st.tuples(st.sampled_from(sorted(ZONES)), moment), min_size=1, max_size=30))
def test_daily_and_hourly_series_equal_a_count_in_each_facilitys_local_time(admin, zoned, events):
    """Views (daily, after a refresh) and the records (hourly) against local dates and hours
    worked out in Python, around both 2026 clock changes of the zones that have them."""
    Application.objects.all().delete()
    send = Sender(admin)
    by_code: dict[str, list[datetime]] = {}
    for code, instant in events:
        by_code.setdefault(code, []).append(instant)
    for code, instants in by_code.items():
        send.applications(code, *instants)
    refresh_all()

    for code in by_code:
        clock = ZoneInfo(ZONES[code])
        for start, end in (("2026-03-05", "2026-03-11"), ("2026-10-29", "2026-11-04")):
            expected = Counter(instant.astimezone(clock).date().isoformat() for instant in by_code[code])
            answer = kpi(admin, "trends", metric="applications", facility=code, start_date=start, end_date=end)
            assert {cell["bucket"]: cell["value"] for cell in answer["metrics"]["series"] if cell["value"]} == {
                day: n for day, n in expected.items() if start <= day <= end
            }
        first, last = date(2026, 10, 29), date(2026, 11, 4)
        local = [instant.astimezone(clock) for instant in by_code[code]]
        expected_hours = Counter(
            f"{moment:%Y-%m-%dT%H}:00{moment:%z}"[:-2] + ":" + f"{moment:%z}"[-2:]
            for moment in local
            if first <= moment.date() <= last
        )
        answer = kpi(admin, "trends", metric="applications", facility=code, granularity="hour",
                     start_date=first.isoformat(), end_date=last.isoformat())  # fmt: skip
        found = {cell["bucket"]: cell["value"] for cell in answer["metrics"]["series"] if cell["value"]}
        assert found == dict(expected_hours)
        names = [cell["bucket"] for cell in answer["metrics"]["series"]]
        assert len(names) == len(set(names))
        span = datetime.combine(last + timedelta(days=1), datetime.min.time(), clock).astimezone(
            UTC
        ) - datetime.combine(first, datetime.min.time(), clock).astimezone(UTC)
        assert len(names) == round(span.total_seconds() / 3600 + 0.49)  # 23, 24, 24.5 or 25 hours a day


def _activity(admin, facility: str | None, moment: datetime, actor: str) -> None:
    item = {"id": str(uuid.uuid4()), "type": "user.login", "occurred_at": moment.isoformat(), "facility": facility,
            "actor": actor, "data": {}}  # fmt: skip
    results = events_ingest(by=Actor(principal=admin), items=[item])
    assert results[0].status == "created", results[0].as_dict()


def test_events_of_no_facility_fall_in_the_facilitys_hours_by_their_moment_and_none_piles_into_the_last(admin, zoned):
    # 18:00 in Los Angeles on 10 July is 11 July in UTC, the reporting zone that dates it.
    _activity(admin, None, local("LAX", "2026-07-10T18:00"), "nobody-1")
    # 01:30 on 11 July in Kolkata: after Kolkata's 10 July, whatever its UTC date.
    _activity(admin, None, datetime(2026, 7, 10, 20, 0, tzinfo=UTC), "nobody-2")
    _activity(admin, "BOM", local("BOM", "2026-07-10T23:10"), "someone-at-bom")

    def hours(code: str) -> dict:
        answer = kpi(admin, "trends", metric="active_users", facility=code, granularity="hour",
                     start_date="2026-07-10", end_date="2026-07-10")  # fmt: skip
        return {cell["bucket"]: cell["value"] for cell in answer["metrics"]["series"] if cell["value"]}

    assert hours("LAX") == {"2026-07-10T18:00-07:00": 1, "2026-07-10T13:00-07:00": 1}  # 20:00 UTC: 13:00 there
    # 20:00 UTC is 01:30 on 11 July in Kolkata: in none of its 10 July hours, and not in the last.
    assert hours("BOM") == {"2026-07-10T23:00+05:30": 1}


def test_the_default_period_ends_today_at_the_facility_and_a_local_today_start_is_no_error(admin):
    FacilityFactory(code="CXI", time_zone="Pacific/Kiritimati")  # UTC+14: often a day ahead of UTC
    local_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()

    answer = kpi(admin, "pipeline", facility="CXI")
    assert answer["period"] == {"start_date": (local_today - timedelta(days=29)).isoformat(),
                                "end_date": local_today.isoformat(), "time_zone": "Pacific/Kiritimati"}  # fmt: skip
    assert kpi(admin, "pipeline", facility="CXI", start_date=local_today.isoformat())["period"]["end_date"] == (
        local_today.isoformat()
    )


def test_an_instance_loaded_before_a_re_dating_does_not_put_the_old_zone_back(admin, zoned):
    stale = Facility.objects.get(code="LAX")
    changed = Facility.objects.get(code="LAX")
    changed.time_zone = "Asia/Kolkata"
    changed.save()
    facilities_redate()
    stale.name = "Renamed"
    stale.save()

    facility = Facility.objects.get(code="LAX")
    # The stale save wrote its old zone back; the dates are marked as in Kolkata still, so the
    # difference is seen and the next re-dating puts them back in Los Angeles days.
    assert (facility.time_zone, facility.dated_time_zone, facility.name) == (
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Renamed",
    )
    assert "LAX" in facilities_redate()


def test_a_zone_change_is_saved_when_no_worker_can_be_asked(admin, zoned, monkeypatch,
                                                           django_capture_on_commit_callbacks):  # fmt: skip
    from events import signals

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(signals.current_app, "send_task", broker_down)
    facility = Facility.objects.get(code="NYC")
    facility.time_zone = "America/Chicago"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        facility.save()
    assert signals._redate_soon in callbacks  # it was asked for, and its failure did not reach the caller
    assert Facility.objects.get(code="NYC").time_zone == "America/Chicago"
