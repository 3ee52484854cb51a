"""Views kept up to date as events apply: a change is in the answers once its batch applied, the
kept rows always equal a rebuild, and the refresh counts any difference."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql

from accounts.models import Role
from accounts.principals import Actor
from analytics.models import RefreshRun, StaleBucket
from analytics.registry import BY_KEY, ROLLUPS
from analytics.selectors.freshness import views_data_as_of
from analytics.services import rollups
from analytics.services.refresh import refresh_request, refresh_run_execute
from analytics.storage import view_generation, view_lock_key
from events.services.ingestion import events_ingest
from events.services.processing import events_process_pending
from tests.events.helpers import Stream
from tests.factories import jwt_client, make_user
from tests.kpi_data import refresh_all

pytestmark = pytest.mark.django_db

PERIOD = {"start_date": "2026-02-20", "end_date": "2026-04-30"}


@pytest.fixture
def admin(facility_a, facility_b):
    return make_user("rollup-admin", Role.ADMIN)


def ingest(admin, events: list[dict]) -> None:
    results = events_ingest(by=Actor(principal=admin), items=events)
    assert all(r.status in ("created", "duplicate") for r in results), [r.as_dict() for r in results]


def kpi(admin, path: str, **params) -> dict:
    response = jwt_client(admin).get(f"/api/v1/analytics/{path}/", {**PERIOD, **params})
    assert response.status_code == 200, response.content
    return response.json()


def differences_from_a_rebuild() -> dict[str, int]:
    """Per view kept up to date: rows of its table not in its definition's rows now, and back."""
    found = {}
    with connection.cursor() as cursor:
        for view in ROLLUPS:
            kept = sql.Identifier(view.storage(view_generation(cursor, view)))
            cursor.execute(
                sql.SQL("""
                SELECT (SELECT count(*) FROM (SELECT * FROM {kept} EXCEPT ALL ({definition})) a)
                     + (SELECT count(*) FROM (({definition}) EXCEPT ALL SELECT * FROM {kept}) b)
                """).format(kept=kept, definition=sql.SQL(view.definition))
            )
            found[view.key] = cursor.fetchone()[0]
    return found


def test_a_move_to_hired_is_in_pipeline_performance_kpis_and_dashboard_once_its_batch_applied(admin):
    refresh_all()
    s = Stream("MERCY-01")
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1)])
    events_process_pending()
    runs_before = RefreshRun.objects.count()
    assert kpi(admin, "pipeline")["metrics"]["by_status"]["hired"] == 0  # asked, so now cached

    ingest(admin, [s.status("A-1", "hired", 7, actor="rita")])
    events_process_pending()

    assert RefreshRun.objects.count() == runs_before  # no refresh ran
    assert kpi(admin, "pipeline")["metrics"]["by_status"]["hired"] == 1
    recruiters = kpi(admin, "performance")["metrics"]["by_recruiter"]
    assert [(row["recruiter"], row["hires"]) for row in recruiters] == [("rita", 1)]
    assert kpi(admin, "kpis")["metrics"]["hires"] == 1
    dashboard = kpi(admin, "dashboard")["metrics"]
    assert (dashboard["hires"], sum(cell["hires"] for cell in dashboard["daily"])) == (1, 1)
    assert not StaleBucket.objects.exists()
    assert set(differences_from_a_rebuild().values()) == {0}


STATUSES = ["screening", "interviewing", "offered", "hired", "rejected", "withdrawn"]


@st.composite
def histories(draw):
    """Applications at two facilities with status changes on random days by random recruiters,
    sent in a random order and random batches, some events twice."""
    streams = [Stream("MERCY-01"), Stream("STJ-02")]
    events = []
    for n in range(draw(st.integers(1, 6))):
        s = streams[draw(st.integers(0, 1))]
        day = draw(st.integers(0, 40))
        events += [s.job(f"J-{n}", day), s.candidate(f"C-{n}", day), s.application(f"A-{n}", f"J-{n}", f"C-{n}", day)]
        for k in range(draw(st.integers(0, 4))):
            events.append(s.event(
                f"status:{n}:{k}", "application.status_changed", day + draw(st.integers(0, 30)),
                actor=draw(st.sampled_from(["rita", "sam", "lee"])), application_id=f"A-{n}",
                status=draw(st.sampled_from(STATUSES)),
            ))  # fmt: skip
    replays = draw(st.lists(st.sampled_from(events), max_size=4))
    order = draw(st.randoms(use_true_random=False))
    mixed = events + replays
    order.shuffle(mixed)
    cuts = sorted(draw(st.lists(st.integers(0, len(mixed)), max_size=3)))
    return [mixed[a:b] for a, b in zip([0, *cuts], [*cuts, len(mixed)], strict=True) if mixed[a:b]]


@settings(max_examples=12, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(batches=histories())
def test_replays_and_out_of_order_events_leave_the_kept_rows_equal_to_a_rebuild(admin, batches):
    refresh_all()
    for batch in batches:
        ingest(admin, batch)
        events_process_pending()

    assert set(differences_from_a_rebuild().values()) == {0}
    refresh_all()  # the rebuild compares, and finds nothing different
    latest = {run.view: run.differences for run in RefreshRun.objects.filter(view__in=[v.key for v in ROLLUPS])}
    assert set(latest.values()) == {0}


def test_a_refresh_counts_and_logs_a_row_the_rollups_got_wrong(admin, caplog):
    refresh_all()
    s = Stream("MERCY-01")
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1),
                   s.status("A-1", "offered", 3)])  # fmt: skip
    events_process_pending()
    view = BY_KEY["pipeline_cohort"]
    with connection.cursor() as cursor:  # a kept row goes wrong behind the rollups' back
        table = sql.Identifier(view.storage(view_generation(cursor, view)))
        cursor.execute(sql.SQL("UPDATE {} SET applications = applications + 1").format(table))

    (run,) = refresh_request(views=["pipeline_cohort"], by=None, trigger="tests", enqueue=False)
    with caplog.at_level(logging.ERROR, logger="analytics.services.refresh"):
        result = refresh_run_execute(run=run)

    assert (result.status, result.differences) == ("succeeded", 2)  # the wrong row, and the right one missing
    assert "differed from the rows kept up to date" in caplog.text
    assert set(differences_from_a_rebuild().values()) == {0}  # the rebuild replaced them


def test_marks_left_by_a_crash_after_processing_are_applied_by_the_next_step(admin, monkeypatch):
    refresh_all()
    s = Stream("MERCY-01")
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1)])

    def crash() -> None:
        raise RuntimeError("worker killed after the batch committed")

    monkeypatch.setattr("analytics.receivers.rollups_catch_up", crash)
    report = events_process_pending()
    assert report.applied == 3  # processing went on: the failing listener is logged

    assert StaleBucket.objects.filter(view="pipeline_cohort").exists()
    marked_at = StaleBucket.objects.filter(view="pipeline_cohort").order_by("marked_at").first().marked_at
    assert views_data_as_of(["pipeline_cohort"]) == marked_at  # the answer says how far it is
    assert kpi(admin, "pipeline")["metrics"]["applications"] == 0

    rollups.rollups_apply()  # the next step (a later round, or the minute's backstop)

    assert not StaleBucket.objects.exists()
    assert kpi(admin, "pipeline")["metrics"]["applications"] == 1
    assert views_data_as_of(["pipeline_cohort"]) > marked_at
    assert set(differences_from_a_rebuild().values()) == {0}


@pytest.mark.django_db(transaction=True)  # each step commits, and lets go of the views' locks
def test_a_view_whose_refresh_holds_it_waits_and_so_do_its_readers(admin):
    refresh_all()
    s = Stream("MERCY-01")
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1),
                   s.status("A-1", "hired", 4)])  # fmt: skip
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [view_lock_key(BY_KEY["hires"])])
        events_process_pending()
        report = rollups.rollups_apply()
    finally:
        holder.close()

    assert {"hires", "hire_histogram"} <= set(report.passed_over)
    assert StaleBucket.objects.filter(view__in=["hires", "hire_histogram"]).exists()
    assert not StaleBucket.objects.filter(view="pipeline_cohort").exists()
    rollups.rollups_apply()
    assert not StaleBucket.objects.exists()
    assert set(differences_from_a_rebuild().values()) == {0}


def test_a_back_fill_is_refreshed_whole_instead(admin, settings):
    refresh_all()
    settings.ROLLUP_MAX_BUCKETS = 1
    s = Stream("MERCY-01")
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.candidate("C-2"),
                   s.application("A-1", "J-1", "C-1", day=1), s.application("A-2", "J-1", "C-2", day=2)])  # fmt: skip
    events_process_pending()  # its rollup step finds too many buckets and asks for a refresh

    queued = set(RefreshRun.objects.filter(status="queued", trigger="rollup").values_list("view", flat=True))
    assert "pipeline_cohort" in queued
    assert StaleBucket.objects.filter(view="pipeline_cohort").exists()  # until the refresh takes them
    for run in RefreshRun.objects.filter(status="queued"):
        refresh_run_execute(run=run)
    assert not StaleBucket.objects.filter(view="pipeline_cohort").exists()
    latest = RefreshRun.objects.filter(view="pipeline_cohort").order_by("-id").first()
    assert latest.differences is None  # rebuilt in place of the rollup step: nothing to compare
    assert kpi(admin, "pipeline")["metrics"]["applications"] == 2


def test_re_dating_a_facility_recomputes_the_days_it_moved(admin, facility_a):
    from events.services.redating import facilities_redate

    refresh_all()
    s = Stream("MERCY-01")
    s.start = s.start.replace(hour=23, minute=30)  # 23:30 UTC: the next day in Kolkata
    ingest(admin, [s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1", day=1)])
    events_process_pending()
    facility_a.time_zone = "Asia/Kolkata"
    facility_a.save()
    facilities_redate()
    assert StaleBucket.objects.filter(view="pipeline_cohort", day="2026-03-02").exists()  # the day it left
    rollups.rollups_apply()

    assert set(differences_from_a_rebuild().values()) == {0}
    assert kpi(admin, "pipeline", start_date="2026-03-03", end_date="2026-03-03")["metrics"]["applications"] == 1


def test_a_change_at_one_facility_moves_only_the_cached_answers_about_it(admin):
    from analytics.cache import kpi_cache_stats

    refresh_all()
    mercy, stj = Stream("MERCY-01"), Stream("STJ-02")
    ingest(admin, [mercy.job("J-1"), mercy.candidate("C-1"), stj.job("J-2"), stj.candidate("C-2"),
                   stj.application("A-2", "J-2", "C-2", day=1)])  # fmt: skip
    events_process_pending()
    for facility in ("MERCY-01", "STJ-02", "MERCY-01,STJ-02"):
        kpi(admin, "pipeline", facility=facility)  # now cached
    hits = kpi_cache_stats()["hit"]

    ingest(admin, [mercy.application("A-1", "J-1", "C-1", day=2)])
    events_process_pending()

    assert kpi(admin, "pipeline", facility="STJ-02")["metrics"]["applications"] == 1
    assert kpi_cache_stats()["hit"] == hits + 1  # the other facility's answer was still good
    assert kpi(admin, "pipeline", facility="MERCY-01")["metrics"]["applications"] == 1  # recomputed
    assert kpi(admin, "pipeline", facility="MERCY-01,STJ-02")["metrics"]["applications"] == 2
    assert kpi_cache_stats()["hit"] == hits + 1
