"""Property: over every facility, the coarse views (actor-day sets, first contacts, the reply
histogram, recruiter totals, revenue days) answer exactly what the fine views answer for any
scope, and what the base tables answer (``fresh``)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.principals import Actor, SystemPrincipal
from analytics.selectors import areas, engagement, outreach
from analytics.selectors.base import covers_every_facility
from events.models import (
    Application,
    ApplicationStatusChange,
    Candidate,
    Event,
    Invoice,
    Job,
    OutreachMessage,
    Placement,
)
from events.services.ingestion import events_ingest
from tests.factories import make_application, make_candidate, make_job, make_outreach, make_placement
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db
JANUARY = date(2026, 1, 1)

offset = st.integers(min_value=-45, max_value=45)
where = st.sampled_from(["a", "b", None])
activity = st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3", "u4"]), offset, where), max_size=25)
messages = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["a", "b"]), offset, st.one_of(st.none(), st.integers(0, 4 * 3600))),
    max_size=12,
)
applications = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b"]), offset), max_size=6)
invoices = st.lists(st.tuples(st.integers(0, 2), offset), max_size=8)
changes = st.lists(
    st.tuples(st.sampled_from(["r1", "r2"]), st.sampled_from(["a", "b"]), offset, st.booleans()), max_size=10
)
period = st.tuples(st.integers(-40, 20), st.integers(0, 70))


def at(offset_days: int, seconds: int = 12 * 3600) -> datetime:
    return datetime.combine(JANUARY, datetime.min.time(), tzinfo=UTC) + timedelta(days=offset_days, seconds=seconds)


def day(offset_days: int) -> date:
    return JANUARY + timedelta(days=offset_days)


def clear() -> None:
    for model in (Event, Invoice, Placement, ApplicationStatusChange, OutreachMessage, Application, Candidate, Job):
        model.objects.all().delete()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(activity=activity, messages=messages, applications=applications, invoices=invoices, changes=changes,
       period=period)  # fmt: skip
def test_coarse_views_equal_fine_views_and_fresh(
    facility_a, facility_b, monkeypatch, activity, messages, applications, invoices, changes, period
):
    clear()
    where = {"a": facility_a, "b": facility_b}
    events_ingest(
        by=Actor(principal=SystemPrincipal("tests")),
        items=[
            {"id": str(uuid.uuid4()), "type": "user.login", "occurred_at": at(offset_days).isoformat(),
             "facility": where[facility].code if facility else None, "actor": actor, "data": {}}
            for actor, offset_days, facility in activity
        ],
    )  # fmt: skip
    candidates = [make_candidate(facility_a) for _ in range(4)]
    for who, facility, offset_days, reply in messages:
        make_outreach(where[facility], candidate=candidates[who], sent_at=at(offset_days), sent_date=day(offset_days),
                      replied_at=None if reply is None else at(offset_days, 12 * 3600 + reply))  # fmt: skip
    for who, facility, offset_days in applications:
        make_application(where[facility], candidate=candidates[who], applied_at=at(offset_days),
                         applied_date=day(offset_days))  # fmt: skip
    placements = [make_placement(facility) for facility in (facility_a, facility_b, facility_a)]
    for n, (which, offset_days) in enumerate(invoices):
        Invoice.objects.create(facility=placements[which].facility, placement=placements[which], external_id=f"I{n}",
                               amount=Decimal("100.50"), issued_at=at(offset_days), issued_date=day(offset_days))  # fmt: skip
    job = make_job(facility_a)
    for n, (actor, facility, offset_days, hired) in enumerate(changes):
        application = make_application(where[facility], job=job, applied_at=at(offset_days - 20),
                                       hired_at=at(offset_days) if hired else None)  # fmt: skip
        ApplicationStatusChange.objects.create(
            event_id=f"00000000-0000-0000-0000-{n:012d}", application=application, facility=where[facility],
            status="hired" if hired else "screening", occurred_at=at(offset_days), occurred_date=day(offset_days),
            actor=actor,
        )  # fmt: skip
    refresh_all()
    ids = [facility_a.id, facility_b.id]
    assert covers_every_facility(ids)
    start, end = day(period[0]), day(period[0] + period[1])
    selectors = {
        "engagement": lambda **kw: engagement.kpi_engagement(**kw, by_facility=False),
        "outreach": lambda **kw: outreach.kpi_outreach(**kw, by_facility=False),
        "performance": areas.kpi_performance,
        "revenue": areas.kpi_revenue,
    }

    coarse = {name: compute(facility_ids=ids, start=start, end=end)[None] for name, compute in selectors.items()}
    fresh = {name: compute(facility_ids=ids, start=start, end=end, fresh=True)[None]
             for name, compute in selectors.items()}  # fmt: skip
    with monkeypatch.context() as patch:  # every facility answered as any narrower scope is
        for module in (engagement, outreach, areas):
            patch.setattr(module, "covers_every_facility", lambda ids: False)
        fine = {name: compute(facility_ids=ids, start=start, end=end)[None] for name, compute in selectors.items()}

    assert coarse == fine
    assert coarse == fresh
