"""The large views are rebuilt beside the current rows and swapped in: readers keep the previous
rows until the swap, a swap waits only briefly for readers in flight, and a refresh outside a
transaction runs independent views side by side, each after the views it reads."""

import pytest
from django.db import connection, connections
from psycopg import sql

from analytics.models import RefreshRun
from analytics.registry import BY_KEY
from analytics.services import refresh
from analytics.services.refresh import refresh_request, refresh_run_execute, refresh_runs_execute
from tests.kpi_data import refresh_all


def storage_of(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid "
            "JOIN pg_class c ON c.oid = d.refobjid WHERE r.ev_class = %s::regclass AND c.relname <> %s",
            [table, table],
        )
        return cursor.fetchone()[0]


def queued(key: str) -> RefreshRun:
    """A queued run of ``key`` (the views that read it are queued too, and left queued here)."""
    return next(run for run in refresh_request(views=[key], by=None, trigger="tests", enqueue=False) if run.view == key)


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_each_refresh_builds_the_other_table_and_drops_the_previous_one(build_a):
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    first = storage_of("analytics_candidate_applications")
    assert count("analytics_candidate_applications") == 1

    build_a.application(build_a.job("2026-01-03"), "2026-01-04")
    run = queued("candidate_applications")
    result = refresh_run_execute(run=run)

    assert result.status == "succeeded" and result.rows == 2 and result.concurrent
    second = storage_of("analytics_candidate_applications")
    assert {first, second} == {"analytics_candidate_applications_1", "analytics_candidate_applications_2"}
    assert count("analytics_candidate_applications") == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [first])
        assert cursor.fetchone()[0] is None  # the previous rows are gone with their table


@pytest.mark.django_db(transaction=True)
def test_a_reader_in_flight_keeps_its_rows_and_a_swap_that_cannot_wait_fails_cleanly(build_a, monkeypatch):
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    refresh_all()
    before = storage_of("analytics_candidate_applications")
    reader = connections.create_connection("default")
    try:
        with reader.cursor() as cursor:  # a long transaction that has read the view
            cursor.execute("BEGIN")
            cursor.execute("SELECT count(*) FROM analytics_candidate_applications")
            assert cursor.fetchone()[0] == 1
        build_a.application(build_a.job("2026-01-03"), "2026-01-04")
        monkeypatch.setattr(refresh, "SWAP_ATTEMPTS", 2)
        run = queued("candidate_applications")

        result = refresh_run_execute(run=run)

        assert result.status == "failed" and "lock timeout" in result.error
        with reader.cursor() as cursor:  # the reader was never in the way of the build, nor blocked
            cursor.execute("SELECT count(*) FROM analytics_candidate_applications")
            assert cursor.fetchone()[0] == 1
            cursor.execute("COMMIT")
    finally:
        reader.close()
    assert storage_of("analytics_candidate_applications") == before
    assert count("analytics_candidate_applications") == 1  # the previous rows still served

    run = queued("candidate_applications")
    assert refresh_run_execute(run=run).status == "succeeded"
    assert count("analytics_candidate_applications") == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lanes", [1, 2])
def test_outside_a_transaction_views_refresh_in_lanes_after_what_they_read(build_a, settings, lanes):
    settings.ANALYTICS_REFRESH_LANES = lanes
    build_a.application(build_a.job("2026-01-01"), "2026-01-02")
    runs = refresh_request(views=None, by=None, trigger="tests", enqueue=False)

    done = refresh_runs_execute(run_ids=[run.pk for run in runs])

    assert [run.view for run in done] == [view.key for view in BY_KEY.values()]
    assert {run.status for run in done} == {"succeeded"}
    finished = {run.view: run for run in RefreshRun.objects.filter(pk__in=[run.pk for run in runs])}
    for view in BY_KEY.values():
        for dependency in view.depends:
            assert finished[view.key].started_at >= finished[dependency].finished_at
    assert count("analytics_candidate_applications") == 1


@pytest.mark.django_db
def test_an_ordered_view_is_written_in_the_order_its_queries_read_it(facility_a, facility_b):
    """``recruiter_daily`` is read a few facilities' days at a time: its rows are written in
    (facility, day) order, so such a range is a few pages, not pages all over the table."""
    from datetime import UTC, date, datetime, timedelta

    from events.models import ApplicationStatusChange
    from tests.factories import make_application, make_job

    view = BY_KEY["recruiter_daily"]
    assert view.swapped and view.ordered == "facility_id, occurred_date"
    job = make_job(facility_a)
    for n in range(300):  # many groups, written newest first and alternating facilities
        facility = (facility_a, facility_b)[n % 2]
        day = date(2026, 6, 30) - timedelta(days=n % 60)
        moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        ApplicationStatusChange.objects.create(
            event_id=f"00000000-0000-0000-0000-{n:012d}",
            application=make_application(facility, job=job),
            facility=facility,
            status="screening",
            occurred_at=moment,
            occurred_date=day,
            actor=f"recruiter-{n % 7}",
        )
    refresh_run_execute(run=queued("recruiter_daily"))

    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT facility_id, occurred_date FROM {} ORDER BY ctid").format(
            sql.Identifier(storage_of("analytics_recruiter_daily"))))  # fmt: skip
        stored = cursor.fetchall()
    assert len(stored) > 100 and stored == sorted(stored)
