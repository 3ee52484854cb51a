"""Processing side by side: a batch's jobs and candidates first, then the rest in lanes, each
lane a transaction of its own for its share of the facilities. Committed data, real sessions."""

import pytest

from accounts.models import Role
from accounts.principals import Actor
from events.models import Application, Candidate, Event, EventQueueEntry, OutreachMessage
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from tests.events.helpers import Stream
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ingest(facility_a, facility_b):
    admin = Actor(principal=make_user("lanes-admin", Role.ADMIN))
    assert facility_a.id % 2 != facility_b.id % 2, "the two facilities should fall in different lanes"

    def ingest(*events):
        results = events_ingest(by=admin, items=list(events))
        assert {r.status for r in results} == {"created"}, [r.as_dict() for r in results]

    return ingest


def test_a_candidate_of_one_facility_applies_at_another_in_the_same_batch(ingest, settings):
    settings.EVENT_PROCESSING_LANES = 2
    a, b = Stream("MERCY-01"), Stream("STJ-02")
    ingest(
        a.candidate("C-1"), b.job("J-B"), a.job("J-A"),
        b.application("A-B", "J-B", "C-1", day=1), a.application("A-A", "J-A", "C-1", day=1),
        b.status("A-B", "screening", 2), a.status("A-A", "hired", 3),
        b.event("m1", "outreach.sent", 2, message_id="M-B", candidate_id="C-1", channel="sms"),
    )  # fmt: skip

    report = events_process_pending()

    assert (report.applied, report.waiting, report.failed, report.batches) == (8, 0, 0, 1)
    assert not EventQueueEntry.objects.exists()
    candidate = Candidate.objects.get(external_id="C-1")
    assert set(Application.objects.filter(candidate=candidate).values_list("external_id", "status")) == {
        ("A-A", "hired"), ("A-B", "screening")}  # fmt: skip
    assert OutreachMessage.objects.get(external_id="M-B").facility.code == "STJ-02"


def test_one_id_claimed_by_two_facilities_in_one_batch_goes_to_one_and_fails_the_other(ingest, settings):
    settings.EVENT_PROCESSING_LANES = 2
    a, b = Stream("MERCY-01"), Stream("STJ-02")
    ingest(
        a.candidate("C-1"), a.job("J-A"), b.job("J-B"),
        a.application("A-1", "J-A", "C-1", day=1, source="referral"),
        b.application("A-1", "J-B", "C-1", day=1, source="agency"),
    )  # fmt: skip

    report = events_process_pending()

    assert (report.applied, report.failed) == (4, 1)
    application = Application.objects.get(external_id="A-1")
    winner = {"MERCY-01": "referral", "STJ-02": "agency"}[application.facility.code]
    assert application.source == winner  # the loser's data never reached the winner's record
    failed = Event.objects.with_status("failed").get()
    assert failed.type == "application.created" and failed.facility != application.facility
    assert failed.last_error == "application_id A-1 belongs to another facility"


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_the_records_do_not_depend_on_the_number_of_lanes(ingest, settings, lanes):
    settings.EVENT_PROCESSING_LANES = lanes
    a, b = Stream("MERCY-01"), Stream("STJ-02")
    stream = []
    for n, s in enumerate((a, b, a, b)):
        stream += [s.job(f"J-{n}"), s.candidate(f"C-{n}"), s.application(f"A-{n}", f"J-{n}", "C-0", day=1),
                   s.status(f"A-{n}", "interviewing", 2), s.status(f"A-{n}", "offered", 3)]  # fmt: skip
    ingest(*stream)

    report = events_process_pending(batch_size=7)

    assert (report.applied, report.waiting, report.failed) == (len(stream), 0, 0)
    assert sorted(Application.objects.values_list("external_id", "status", "furthest_stage")) == [
        (f"A-{n}", "offered", 3) for n in range(4)]  # fmt: skip
