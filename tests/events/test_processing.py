"""Applying events to records: order, waiting, failing, replay."""

import pytest

from accounts.models import Role
from accounts.principals import Actor
from events.models import Application, ApplicationStatusChange, Candidate, Event, Job, OutreachMessage
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending, events_reprocess
from tests.events.helpers import Stream
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(facility_a, facility_b):
    admin = make_user("ingest-admin", Role.ADMIN)

    def send(*events):
        results = events_ingest(by=Actor(principal=admin), items=list(events))
        assert all(r.status in ("created", "duplicate") for r in results), [r.as_dict() for r in results]
        return events_process_pending()

    return send


@pytest.fixture
def s():
    return Stream("MERCY-01")


@pytest.fixture
def quick_retries(settings):
    settings.EVENT_RETRY_BASE_SECONDS = 0
    settings.EVENT_MAX_ATTEMPTS = 3


def status_of(event: dict) -> str:
    return Event.objects.get(id=event["id"]).status


def test_a_hiring_story_becomes_records(send, s):
    send(
        s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1),
        s.status("A-1", "screening", 2), s.status("A-1", "offered", 5), s.status("A-1", "hired", 7),
        s.event("filled", "job.filled", 8, job_id="J-1"),
    )  # fmt: skip

    application = Application.objects.get(external_id="A-1")
    assert application.status == "hired"
    assert application.furthest_stage == 4
    assert application.offered_at.isoformat() == s.at(5)
    assert application.hired_at.isoformat() == s.at(7)
    job = Job.objects.get(external_id="J-1")
    assert (job.status, job.filled_at.isoformat()) == ("filled", s.at(8))
    assert job.skills == ["bls", "icu"]  # trimmed, lower-case, sorted
    assert Event.objects.with_status("processed").count() == 7


def test_skipped_stages_count_as_passed(send, s):
    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"), s.status("A-1", "hired", 3))

    assert Application.objects.get(external_id="A-1").furthest_stage == 4


def test_the_latest_status_wins_whatever_the_arrival_order(send, s):
    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"))
    send(s.status("A-1", "rejected", 9))
    send(s.status("A-1", "interviewing", 4))  # older, arrives late

    application = Application.objects.get(external_id="A-1")
    assert application.status == "rejected"
    assert application.furthest_stage == 2


def test_an_event_before_its_record_waits_then_applies(send, s, quick_retries):
    early = s.status("A-1", "screening", 2)
    report = send(early)
    assert report.waiting == 1
    waiting = Event.objects.get(id=early["id"])
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error == "application_id A-1 not seen yet"

    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"))

    assert status_of(early) == "processed"
    assert Application.objects.get(external_id="A-1").status == "screening"


def test_an_event_whose_record_never_comes_fails_with_the_reason(send, s, quick_retries):
    orphan = s.status("A-404", "hired", 2)
    send(orphan)
    events_process_pending()
    events_process_pending()

    failed = Event.objects.get(id=orphan["id"])
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "application_id A-404 not seen yet"


def test_a_failed_event_can_be_reprocessed(send, s, quick_retries):
    orphan = s.status("A-1", "hired", 2)
    for _ in range(3):
        send(orphan)
    assert status_of(orphan) == "failed"
    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"))

    assert events_reprocess(event_ids=[orphan["id"]]) == 1
    events_process_pending()

    assert status_of(orphan) == "processed"
    assert Application.objects.get(external_id="A-1").status == "hired"


def test_a_record_of_another_facility_is_never_touched(send, s):
    other = Stream("STJ-02")
    send(s.job("J-1"), s.candidate("C-1"))
    intruder = other.event("steal", "job.filled", 3, job_id="J-1")
    takeover = other.job("J-1", title="Renamed")

    send(intruder, takeover)

    assert status_of(intruder) == "failed"
    assert Event.objects.get(id=intruder["id"]).last_error == "job_id J-1 belongs to another facility"
    assert status_of(takeover) == "failed"
    job = Job.objects.get(external_id="J-1")
    assert (job.status, job.title, job.facility.code) == ("open", "Registered Nurse", "MERCY-01")


def test_applying_the_same_events_twice_changes_nothing(send, s):
    stream = [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"), s.status("A-1", "offered", 3),
              s.event("sent", "outreach.sent", 1, message_id="M-1", candidate_id="C-1", channel="sms"),
              s.event("reply", "outreach.replied", 2, message_id="M-1")]  # fmt: skip
    send(*stream)
    before = snapshot()

    assert events_reprocess(failed_only=False) == len(stream)  # apply every event once more
    events_process_pending()
    send(*stream)  # and the same stream posted again: all duplicates

    assert snapshot() == before


def snapshot() -> dict:
    return {
        "applications": list(Application.objects.values_list("external_id", "status", "furthest_stage", "offered_at")),
        "history": ApplicationStatusChange.objects.count(),
        "candidates": list(Candidate.objects.values_list("external_id", "email")),
        "messages": list(OutreachMessage.objects.values_list("external_id", "sent_at", "replied_at")),
        "events": Event.objects.count(),
    }


def test_the_first_reply_is_kept(send, s):
    send(s.candidate("C-1"), s.event("sent", "outreach.sent", 1, message_id="M-1", candidate_id="C-1", channel="sms"))
    send(s.event("r2", "outreach.replied", 3, message_id="M-1"), s.event("r1", "outreach.replied", 2, message_id="M-1"))

    assert OutreachMessage.objects.get(external_id="M-1").replied_at.isoformat() == s.at(2)


def test_only_one_processor_runs_at_a_time(send, s, django_db_blocker):
    from django.db import connection

    from events.services.processing import PROCESSING_LOCK

    send(s.job("J-0"))
    events_ingest(by=Actor(principal=make_user("a2", Role.ADMIN)), items=[s.job("J-1")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [PROCESSING_LOCK])  # held by "another worker"
    try:
        # Another connection (a second worker) must skip, not block.
        import threading

        reports = []
        worker = threading.Thread(target=lambda: reports.append(_process_in_new_connection()))
        worker.start()
        worker.join(20)
        assert reports and reports[0].skipped
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PROCESSING_LOCK])


def _process_in_new_connection():
    from django.db import connections

    try:
        return events_process_pending()
    finally:
        connections.close_all()


def test_a_later_job_end_wins_and_an_older_one_arriving_late_does_not_undo_it(send, s):
    send(s.job("J-1"), s.job("J-2"))
    send(s.event("fill-1", "job.filled", 8, job_id="J-1"), s.event("fill-2", "job.filled", 3, job_id="J-2"),
         s.event("cancel-2", "job.cancelled", 6, job_id="J-2"))  # fmt: skip
    send(s.event("cancel-1", "job.cancelled", 5, job_id="J-1"))  # older than the fill, arrives late

    assert Job.objects.get(external_id="J-1").status == "filled"
    assert Job.objects.get(external_id="J-2").status == "cancelled"


def test_a_poisonous_event_fails_alone_and_the_rest_of_its_batch_applies(send, s):
    # Passes the contract (under 1e10) but not the column (numeric(10, 2)): the batch breaks.
    poison = s.job("J-2", bill_rate="5000000000.00")

    report = send(s.job("J-1"), poison, s.candidate("C-1"))

    assert (report.applied, report.failed) == (2, 1)
    assert set(Job.objects.values_list("external_id", flat=True)) == {"J-1"}
    assert Candidate.objects.filter(external_id="C-1").exists()
    failed = Event.objects.get(id=poison["id"])
    assert failed.status == "failed"
    assert failed.last_error.startswith("could not be applied: ")


def test_two_poisonous_events_in_a_large_batch_fail_alone(send, s):
    jobs = [s.job(f"J-{n}", bill_rate="5000000000.00" if n in (3, 28) else "80.00") for n in range(40)]
    later = [s.candidate("C-1", day=1), s.application("A-1", "J-7", "C-1", day=2)]

    report = send(*jobs, *later)

    assert (report.applied, report.failed) == (40, 2)
    assert Job.objects.count() == 38
    assert Application.objects.get(external_id="A-1").job.external_id == "J-7"
    assert set(Event.objects.with_status("failed").values_list("data__job_id", flat=True)) == {"J-3", "J-28"}


def story_in_any_order(s: Stream) -> list[dict]:
    return [
        s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"),
        s.status("A-1", "screening", 2), s.status("A-1", "offered", 6), s.status("A-1", "interviewing", 4),
        s.status("A-1", "offered", 5), s.status("A-1", "hired", 9), s.status("A-1", "hired", 8),
        s.status("A-1", "withdrawn", 10),
    ]  # fmt: skip


def application_record() -> tuple:
    return Application.objects.values_list(
        "status", "furthest_stage", "offered_at", "offered_date", "hired_at", "hired_date", "status_changed_at"
    ).get()


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5000])
def test_status_firsts_and_furthest_stage_do_not_depend_on_batches(send, s, batch_size):
    admin = Actor(principal=make_user("batcher", Role.ADMIN))
    events_ingest(by=admin, items=story_in_any_order(s))

    events_process_pending(batch_size=batch_size)

    status, stage, offered_at, offered_date, hired_at, hired_date, changed_at = application_record()
    assert (status, stage) == ("withdrawn", 4)
    assert (offered_at.isoformat(), offered_date.isoformat()) == (s.at(5), s.at(5)[:10])
    assert (hired_at.isoformat(), hired_date.isoformat()) == (s.at(8), s.at(8)[:10])
    assert changed_at.isoformat() == s.at(10)


def test_late_history_fills_in_earlier_firsts_but_not_the_status(send, s):
    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"), s.status("A-1", "hired", 8))
    send(s.status("A-1", "offered", 6), s.status("A-1", "hired", 7))  # older, arrive late

    status, stage, offered_at, _, hired_at, _, changed_at = application_record()
    assert (status, stage) == ("hired", 4)
    assert (offered_at.isoformat(), hired_at.isoformat(), changed_at.isoformat()) == (s.at(6), s.at(7), s.at(8))


def test_of_two_changes_at_the_same_moment_the_later_one_wins(send, s):
    send(s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"), s.status("A-1", "offered", 5))
    send(s.status("A-1", "rejected", 5))

    assert application_record()[0] == "rejected"


def test_skills_are_trimmed_lower_case_distinct_and_sorted(send, s):
    send(s.job("J-1", skills=["ventilator management", "BLS", "bls", "Vascular access", "ICU"]))

    assert Job.objects.get(external_id="J-1").skills == ["bls", "icu", "vascular access", "ventilator management"]


def _changes_since_analyze(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_backlog_the_planner_has_not_seen_is_analyzed_before_it_is_processed(s, facility_a, monkeypatch):
    from django.db import connection

    from events.services import ingestion, processing
    from tests.conftest import wait_for

    monkeypatch.setattr(processing, "STALE_MIN_ROWS", 20)
    # This call must be the one that processes the backlog: no task for the session's worker, which
    # would otherwise race it for the batch (and the statistics) once the ingestion commits.
    monkeypatch.setattr(ingestion, "processing_request", lambda: None)
    events_ingest(by=Actor(principal=make_user("backfill", Role.ADMIN)), items=[s.job(f"J-{n}") for n in range(40)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    wait_for(lambda: _changes_since_analyze("events_eventqueueentry") >= 40, timeout=10, what="queue statistics")

    report = events_process_pending()

    assert "events_eventqueueentry" in report.analyzed
    assert report.applied == 40
    assert Job.objects.count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_small_change_analyzes_nothing(s, facility_a):
    events_ingest(by=Actor(principal=make_user("trickle", Role.ADMIN)), items=[s.job("J-1"), s.job("J-2")])

    report = events_process_pending()

    assert report.analyzed == [] and report.applied == 2
