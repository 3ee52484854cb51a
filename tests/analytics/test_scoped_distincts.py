"""Property: for a scope narrower than every facility (and for each facility's own row), the
distinct counts read from ``actor_spans`` (active actors, WAU, MAU, actor-days, retention) and
from each contact row's ``applied_facilities`` (outreach conversion) equal a count made here in
Python, straight from the stored events and records."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.principals import Actor, SystemPrincipal
from analytics.selectors import engagement, outreach
from analytics.selectors.base import covers_every_facility
from events.models import Application, Candidate, Event, OutreachMessage
from events.services.ingestion import events_ingest
from tests.factories import FacilityFactory, make_application, make_candidate, make_outreach
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db
JANUARY = date(2026, 1, 1)
PLACES = ["a", "b", "c", None]

offset = st.integers(min_value=-45, max_value=45)
activity = st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3", "u4"]), offset, st.sampled_from(PLACES)),
                    max_size=30)  # fmt: skip
messages = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(PLACES[:3]), offset, st.integers(0, 20 * 3600)),
                    max_size=14)  # fmt: skip
applications = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(PLACES[:3]), offset), max_size=8)
period = st.tuples(st.integers(-40, 20), st.integers(0, 70))
scopes = st.sampled_from([("a",), ("a", "b"), ("b", "c")])


def at(offset_days: int, seconds: int = 0) -> datetime:
    return datetime.combine(JANUARY, datetime.min.time(), tzinfo=UTC) + timedelta(days=offset_days, seconds=seconds)


def day(offset_days: int) -> date:
    return JANUARY + timedelta(days=offset_days)


def week_of(value: date) -> date:
    return value - timedelta(days=value.weekday())


def actors_in(days: set, first: date, last: date) -> set:
    return {actor for actor, local_date in days if first <= local_date <= last}


def naive_activity(ids: set, start: date, end: date, *, unscoped: bool = True) -> tuple[int, int, int, int]:
    """(actor-days, actors, WAU, MAU) over the events at a facility of ``ids`` (and, with
    ``unscoped``, those at none)."""
    days = {(e.actor, e.local_date) for e in Event.objects.all()
            if (unscoped and e.facility_id is None) or e.facility_id in ids}  # fmt: skip
    in_period = {(actor, local_date) for actor, local_date in days if start <= local_date <= end}
    return (
        len(in_period),
        len(actors_in(days, start, end)),
        len(actors_in(days, end - timedelta(days=6), end)),
        len(actors_in(days, end - timedelta(days=29), end)),
    )


def naive_retention(ids: set, start: date, end: date) -> list[tuple[str, int, list[int]]]:
    days = {(e.actor, e.local_date) for e in Event.objects.all() if e.facility_id is None or e.facility_id in ids}
    first: dict = {}
    for actor, local_date in days:
        first[actor] = min(first.get(actor, local_date), local_date)
    cohorts: dict = {}
    for actor, first_day in first.items():
        if start <= week_of(first_day) <= end:
            cohorts.setdefault(week_of(first_day), []).append(actor)
    answer = []
    for week, members in sorted(cohorts.items()):
        retained = []
        for k in range(1, 5):
            first_day, last_day = week + timedelta(weeks=k), week + timedelta(weeks=k, days=6)
            retained.append(len(actors_in(days, first_day, last_day) & set(members)))
        iso = week.isocalendar()
        answer.append((f"{iso.year}-W{iso.week:02d}", len(members), retained))
    return answer


def naive_conversion(ids: set, start: date, end: date) -> tuple[int, int]:
    """(candidates messaged in scope in the period, those who applied in scope within 30 days of
    their first such message)."""
    first: dict = {}
    for message in OutreachMessage.objects.filter(facility_id__in=ids, sent_date__range=(start, end)):
        first[message.candidate_id] = min(first.get(message.candidate_id, message.sent_at), message.sent_at)
    converted = {
        candidate
        for candidate, first_at in first.items()
        if Application.objects.filter(candidate_id=candidate, facility_id__in=ids,
                                      applied_at__range=(first_at, first_at + timedelta(days=30))).exists()
    }  # fmt: skip
    return len(first), len(converted)


# No shrinking: every example refreshes every view inside the test's one transaction, and the
# hundreds of examples a shrink tries would exhaust the server's lock table before it reported.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # fmt: skip
@given(activity=activity, messages=messages, applications=applications, period=period, scope=scopes)
def test_scoped_distinct_counts_equal_a_count_of_the_records(
    facility_a, facility_b, activity, messages, applications, period, scope
):
    for model in (Event, OutreachMessage, Application, Candidate):
        model.objects.all().delete()
    where = {"a": facility_a, "b": facility_b, "c": FacilityFactory(code="LAKE-03"), None: None}
    events_ingest(
        by=Actor(principal=SystemPrincipal("tests")),
        items=[
            {"id": str(uuid.uuid4()), "type": "user.login", "occurred_at": at(offset_days, 3600).isoformat(),
             "facility": where[place].code if place else None, "actor": actor, "data": {}}
            for actor, offset_days, place in activity
        ],
    )  # fmt: skip
    candidates = [make_candidate(facility_a) for _ in range(4)]
    for who, place, offset_days, seconds in messages:
        make_outreach(where[place], candidate=candidates[who], sent_at=at(offset_days, seconds),
                      sent_date=day(offset_days))  # fmt: skip
    for who, place, offset_days in applications:
        make_application(where[place], candidate=candidates[who], applied_at=at(offset_days, 12 * 3600),
                         applied_date=day(offset_days))  # fmt: skip
    refresh_all()
    ids = {where[place].id for place in scope}
    assert not covers_every_facility(list(ids))
    start, end = day(period[0]), day(period[0] + period[1])
    params = {"ids": sorted(ids), "start": start, "end": end, "week": end - timedelta(days=6),
              "month": end - timedelta(days=29)}  # fmt: skip

    activity_tallies = engagement._overall_activity(params, fresh=False)
    assert tuple(tally.n for tally in activity_tallies) == naive_activity(ids, start, end)
    rows = engagement._facility_activity(params, fresh=False)
    for facility_id in ids:
        found = tuple(tally.n for tally in rows[facility_id]) if facility_id in rows else (0, 0, 0, 0)
        assert found == naive_activity({facility_id}, start, end, unscoped=False)
    retention = engagement._retention(params, fresh=False)
    found = [(c["week"], c["size"].value, [rate.numerator for rate in c["retained"]]) for c in retention]
    assert found == naive_retention(ids, start, end)

    messaged, converted = outreach._conversion(params, fresh=False, by_facility=False)[None]
    assert (messaged.n, converted.n) == naive_conversion(ids, start, end)
    per_facility = outreach._conversion(params, fresh=False, by_facility=True)
    for facility_id in ids:
        messaged, converted = per_facility.get(facility_id, (None, None))
        found = (messaged.n, converted.n) if messaged else (0, 0)
        assert found == naive_conversion({facility_id}, start, end)
    assert engagement._overall_activity(params, fresh=True) == activity_tallies
