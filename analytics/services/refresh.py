"""Refreshing the materialized views: safe to overlap, logged, and never blocking readers.

Each view refreshes under its own transaction-scoped advisory lock: a second refresh of the
same view while one runs is recorded as ``skipped`` instead of queueing behind it. A failed
refresh leaves the previous data in place and records the error. A successful one moves the KPI
cache to a new version, so cached answers are not served stale.

Two ways keep readers on the previous rows until the new ones are complete: a materialized view
that holds data refreshes ``CONCURRENTLY`` (which diffs every row, so it suits the small views);
a large fine-grained view is rebuilt and swapped: its rows live in a table read through a plain
view, the next table is built beside it (readers are not involved), then the view is repointed
and the old table dropped in one short transaction that waits at most ``SWAP_LOCK_TIMEOUT`` for
readers in flight (and is retried), so a reader waits at most that long, never for a build.

Runs are claimed, not assumed. A view has at most one queued or running run (a partial unique
index, so two requests at once queue it once). An executor takes queued runs with one
conditional UPDATE (queued to running, recording host:pid), so of two tasks handed the same run
(a redelivery, a second beat) exactly one runs it. While it works, a thread with a database
session of its own moves the runs' ``heartbeat_at`` every few seconds; a running run whose
heartbeat is older than REFRESH_RUN_STALE_SECONDS lost its executor (killed, or its host gone):
the recovery sweep (every minute) and any new request for the view settle it as failed and queue
the view again. Heartbeats are single short statements, so all of this works behind a
transaction-pooling PgBouncer (docs/decisions.md, "Claims, liveness and beat slots").
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models.functions import Now
from django.utils import timezone
from psycopg import sql

from accounts.liveness import Heartbeat, executor_name, heartbeat_every
from accounts.models import User
from accounts.principals import Actor
from accounts.services import audit_record
from analytics import ddl
from analytics.cache import kpi_cache_bump, kpi_cache_rollover
from analytics.catalog import kpi_answer_json_for
from analytics.models import ACTIVE_STATUSES, RefreshRun
from analytics.registry import BY_KEY, View, views_named
from analytics.services import rollups
from analytics.storage import view_generation, view_lock_key
from events.services.redating import facilities_redate

logger = logging.getLogger(__name__)

# A refresh aggregates millions of rows once: JIT compiling its expressions cost more (seconds)
# than it saved, and grouping in memory instead of spilling to disk halves the big views' time.
# No parallel helpers: a refresh session uses one core, so ANALYTICS_REFRESH_LANES is the most
# cores a refresh takes from the readers.
REFRESH_SETTINGS = {"jit": "off", "work_mem": "256MB", "maintenance_work_mem": "256MB",
                    "max_parallel_workers_per_gather": "0"}  # fmt: skip
# A killed executor's session is noticed by PostgreSQL within this, even while its statement
# runs or waits for a lock, so its transaction (and the view's lock) goes with it (PostgreSQL 14+).
CLIENT_CHECK_INTERVAL = "2s"
SWAP_LOCK_TIMEOUT = "200ms"  # the longest a reader may wait for a swap
SWAP_ATTEMPTS = 50
ONE_ACTIVE = "refresh_one_active_per_view"


def rollups_catch_up() -> rollups.RollupReport:
    """Recompute the buckets marked since the last step (analytics.services.rollups); a view with a
    back-fill's worth of them is queued for a refresh instead, which takes its marks."""
    report = rollups.rollups_apply()
    if report.refreshing:
        refresh_request(views=report.refreshing, by=None, trigger="rollup")
    return report


def refresh_request(
    *, views: list[str] | None, by: Actor | User | None, trigger: str, enqueue: bool = True
) -> list[RefreshRun]:
    """Queue a refresh of ``views`` (keys or group names; all when empty) and enqueue the work.

    A view that already has a queued or running refresh gets no second one: its current run is
    returned instead, unless that run's executor is gone (no heartbeat for
    REFRESH_RUN_STALE_SECONDS): then it is settled as failed and the view queued again. With
    ``enqueue=False`` the caller runs them (refresh_runs_execute). A request by a person (API or
    console) is audited; the schedule's are in the run log only.
    """
    actor = by if isinstance(by, Actor) or by is None else Actor(principal=by)
    keys = [view.key for view in views_named(views)]
    runs: list[RefreshRun] = []
    to_send: list[int] = []
    forgotten = timezone.now() - timedelta(seconds=stale_seconds())
    with transaction.atomic():
        refresh_runs_settle_lost(views=keys)
        for key in keys:
            run, created = _active_or_queued(key, requested_by=actor.user if actor else None, trigger=trigger)
            runs.append(run)
            if created or (run.status == RefreshRun.Status.QUEUED and run.created_at < forgotten):
                to_send.append(run.pk)  # a queued run nobody took for that long: its task was lost
        if to_send and enqueue:
            transaction.on_commit(lambda: _enqueue(to_send))
        if actor is not None:
            audit_record(by=actor, action="analytics.refresh", object_repr=", ".join(views or ["all"]),
                         trigger=trigger, runs=[run.pk for run in runs])  # fmt: skip
    return runs


def _active_or_queued(key: str, *, requested_by: User | None, trigger: str) -> tuple[RefreshRun, bool]:
    """The view's queued or running run, else a new queued one (and True). Two sessions asking at
    once meet at the partial unique index: the second waits for the first to commit, fails to
    insert, and returns the first one's run."""
    for _ in range(3):  # the active run may finish between a failed insert and the next look
        active = RefreshRun.objects.filter(view=key, status__in=ACTIVE_STATUSES).first()
        if active is not None:
            return active, False
        try:
            with transaction.atomic():
                return RefreshRun.objects.create(view=key, requested_by=requested_by, trigger=trigger), True
        except IntegrityError as exc:
            if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != ONE_ACTIVE:
                raise
    raise RuntimeError(f"could not queue a refresh of {key}: its runs kept changing")


def _enqueue(run_ids: list[int]) -> None:
    from celery import current_app

    try:
        current_app.send_task("analytics.refresh_runs", args=[run_ids])
    except Exception:  # the broker is down: the recovery sweep sends runs left queued again
        logger.warning("could not enqueue refresh runs %s; the recovery sweep will", run_ids, exc_info=True)


def stale_seconds() -> float:
    """How long a running run may go without a heartbeat before its executor is taken for lost."""
    return float(settings.REFRESH_RUN_STALE_SECONDS)


def refresh_runs_settle_lost(*, views: list[str] | None = None) -> list[RefreshRun]:
    """Settle running runs whose executor is gone (no heartbeat for REFRESH_RUN_STALE_SECONDS) as
    failed, saying so. One conditional UPDATE in the database's clock: hosts' clocks do not
    matter, and two sweeps at once settle each run once. Returns the settled runs."""
    stale = stale_seconds()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE analytics_refreshrun
            SET status = 'failed', finished_at = statement_timestamp(),
                error = 'Executor lost: ' || coalesce(nullif(claimed_by, ''), 'the process running it')
                        || ' gave no sign of life for ' || %s::text || ' seconds; the view was queued again.'
            WHERE status = 'running'
              AND coalesce(heartbeat_at, claimed_at, started_at, created_at)
                  < statement_timestamp() - make_interval(secs => %s)
              AND (%s::text[] IS NULL OR view = ANY(%s::text[]))
            RETURNING id
            """,
            [str(int(stale)), stale, views, views],
        )
        settled = [row[0] for row in cursor.fetchall()]
    lost = list(RefreshRun.objects.filter(pk__in=settled)) if settled else []
    for run in lost:
        logger.warning("refresh run %s of %s: %s", run.pk, run.view, run.error)
    return lost


def refresh_runs_recover() -> dict[str, list[int]]:
    """Every minute (beat), and in every request for the views concerned: runs whose executor
    died are settled and their views queued again (and enqueued); queued runs nobody took for
    REFRESH_RUN_STALE_SECONDS (their task was lost, or the broker was down) are sent again. A run
    sent twice is run once: the executors claim it."""
    with transaction.atomic():
        lost = refresh_runs_settle_lost()
        queued = refresh_request(views=sorted({run.view for run in lost}), by=None, trigger="recovery") if lost else []
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    forgotten = list(
        RefreshRun.objects.filter(status=RefreshRun.Status.QUEUED, created_at__lt=cutoff)
        .exclude(pk__in=[run.pk for run in queued])
        .values_list("pk", flat=True)[:100]
    )
    if forgotten:
        _enqueue(forgotten)
    return {"lost": [run.pk for run in lost], "queued": [run.pk for run in queued], "resent": forgotten}


def _claim(run_ids: list[int]) -> list[RefreshRun]:
    """Take the queued runs among ``run_ids`` for this process, in refresh order. One conditional
    UPDATE: of two executors asking at once, each run goes to exactly one."""
    if not run_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE analytics_refreshrun SET status = 'running', claimed_by = %s, claimed_at = statement_timestamp(), "
            "heartbeat_at = statement_timestamp() WHERE id = ANY(%s) AND status = 'queued' RETURNING id",
            [executor_name(), list(run_ids)],
        )
        claimed = [row[0] for row in cursor.fetchall()]
    order = {view.key: index for index, view in enumerate(BY_KEY.values())}
    return sorted(RefreshRun.objects.filter(pk__in=claimed), key=lambda run: (order.get(run.view, 99), run.pk))


def _heartbeat(runs: list[RefreshRun]) -> Heartbeat:
    ids, executor = [run.pk for run in runs], runs[0].claimed_by

    def beat() -> int:
        return RefreshRun.objects.filter(pk__in=ids, status=RefreshRun.Status.RUNNING, claimed_by=executor).update(
            heartbeat_at=Now()
        )

    return Heartbeat(beat, every=heartbeat_every(stale_seconds()), name="refresh-heartbeat")


def _redate_first() -> None:
    """A facility whose time zone changed is re-dated before the views are built (so this refresh
    re-buckets it at the latest). Its failure does not stop the refresh: the next one tries again."""
    try:
        facilities_redate()
    except Exception:
        logger.exception("re-dating facilities before the refresh failed; the next refresh tries again")


def refresh_runs_execute(*, run_ids: list[int]) -> list[RefreshRun]:
    """Claim the queued runs among ``run_ids`` and run them, each after the views it reads, with
    a heartbeat while they run. Runs another executor took (a redelivered task, a second beat's)
    or that already ran are left alone. Outside a transaction, independent views refresh side by
    side (ANALYTICS_REFRESH_LANES sessions), longest chain first. Returns the runs it ran."""
    runs = _claim(run_ids)
    if not runs:
        return []
    try:
        with _heartbeat(runs):
            _redate_first()
            if settings.ANALYTICS_REFRESH_LANES > 1 and len(runs) > 1 and not connection.in_atomic_block:
                done = _in_lanes(runs)
            else:  # inside a transaction every refresh must share its session
                done = [_execute(run, bump_cache=False) for run in runs]
    finally:
        _settle_unfinished(runs)
    if any(run.status == RefreshRun.Status.SUCCEEDED for run in done):
        # Once for the batch, with the answers asked for lately computed for the new version first.
        kpi_cache_rollover(answer=_answer_now)
    return done


def _settle_unfinished(runs: list[RefreshRun]) -> None:
    """Runs this executor claimed and did not finish (it was stopped: a time limit, a lost
    database) fail now rather than wait for the recovery sweep."""
    try:
        RefreshRun.objects.filter(
            pk__in=[run.pk for run in runs], status=RefreshRun.Status.RUNNING, claimed_by=runs[0].claimed_by
        ).update(status=RefreshRun.Status.FAILED, finished_at=Now(), error="Interrupted before it finished.")
    except Exception:  # never hide why it stopped; the recovery sweep settles them once stale
        logger.warning("could not settle interrupted refresh runs", exc_info=True)


def _answer_now(kpi: str, params: Any) -> bytes:
    return kpi_answer_json_for(kpi=kpi, params=params, cached=False)


def _in_lanes(runs: list[RefreshRun]) -> list[RefreshRun]:
    """Refresh ``runs`` in ANALYTICS_REFRESH_LANES threads (one database session each). A run starts once
    the runs of the views it reads have finished; among those ready, the one heading the longest
    chain (by the last durations) goes first, so the lanes end together."""
    keys = {run.view for run in runs}
    last = dict(
        RefreshRun.objects.filter(view__in=keys, status=RefreshRun.Status.SUCCEEDED, duration_ms__isnull=False)
        .order_by("view", "-finished_at")
        .distinct("view")
        .values_list("view", "duration_ms")
    )

    def chain(key: str) -> int:
        readers = [view.key for view in BY_KEY.values() if key in view.depends and view.key in keys]
        return (last.get(key) or 0) + max((chain(reader) for reader in readers), default=0)

    waiting = sorted(runs, key=lambda run: -chain(run.view))
    finished: set[str] = set()
    results: dict[int, RefreshRun] = {}
    ready = threading.Condition()

    def lane() -> None:
        try:
            while True:
                with ready:
                    while True:
                        if not waiting:
                            return
                        run = next((r for r in waiting if _deps_done(r.view, keys, finished)), None)
                        if run is not None:
                            waiting.remove(run)
                            break
                        ready.wait()
                try:
                    results[run.pk] = _execute(run, bump_cache=False)
                finally:
                    with ready:
                        finished.add(run.view)
                        ready.notify_all()
        finally:
            connection.close()  # this thread's session

    threads = [threading.Thread(target=lane, name=f"refresh-lane-{n}") for n in range(settings.ANALYTICS_REFRESH_LANES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[run.pk] for run in runs if run.pk in results]


def _deps_done(key: str, keys: set[str], finished: set[str]) -> bool:
    view = BY_KEY.get(key)
    return view is None or all(dep in finished or dep not in keys for dep in view.depends)


def refresh_run_execute(*, run: RefreshRun, bump_cache: bool = True) -> RefreshRun:
    """Claim one queued run and run it; a run another executor took, or that ran, is returned as it is."""
    claimed = _claim([run.pk])
    if not claimed:
        run.refresh_from_db()
        return run
    try:
        with _heartbeat(claimed):
            return _execute(claimed[0], bump_cache=bump_cache)
    finally:
        _settle_unfinished(claimed)


def _execute(run: RefreshRun, *, bump_cache: bool) -> RefreshRun:
    """Refresh a run this executor claimed, and record the outcome."""
    view = BY_KEY.get(run.view)
    if view is None:
        return _finish(run, RefreshRun.Status.FAILED, error=f"unknown view {run.view!r}")
    run.started_at = timezone.now()
    run.save(update_fields=["started_at"])
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [view_lock_key(view)])
            if not cursor.fetchone()[0]:
                return _finish(run, RefreshRun.Status.SKIPPED, error="another refresh of this view was running")
            for setting, value in _refresh_settings().items():  # this transaction only
                cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
            if view.swapped:
                rows, run.differences = _rebuild_and_swap(cursor, view)
                populated = True
            else:
                populated = _refresh_materialized(cursor, view)
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(view.table)))
                rows = cursor.fetchone()[0]
    except Exception as exc:  # the previous data stays; the failure is shown
        logger.exception("refresh of %s failed", view.table)
        return _finish(run, RefreshRun.Status.FAILED, started=started, error=f"{type(exc).__name__}: {exc}")
    run.concurrent = populated
    if run.differences:
        logger.error("refresh of %s: %s rows differed from the rows kept up to date as events applied",
                     view.table, run.differences)  # fmt: skip
    finished = _finish(run, RefreshRun.Status.SUCCEEDED, started=started, rows=rows)
    if bump_cache and finished.status == RefreshRun.Status.SUCCEEDED:
        kpi_cache_bump()
    logger.info("refreshed %s: %s rows in %s ms", view.table, rows, finished.duration_ms)
    return finished


def _refresh_settings() -> dict[str, str]:
    if connection.pg_version >= 140000:  # type: ignore[attr-defined]  # PostgreSQL's own wrapper
        return {**REFRESH_SETTINGS, "client_connection_check_interval": CLIENT_CHECK_INTERVAL}
    return REFRESH_SETTINGS


def _refresh_materialized(cursor: CursorWrapper, view: View) -> bool:
    """REFRESH a materialized view (CONCURRENTLY once it holds data); whether it did so concurrently."""
    cursor.execute("SELECT relispopulated FROM pg_class WHERE relname = %s AND relkind = 'm'", [view.table])
    found = cursor.fetchone()
    if found is None:
        raise LookupError(f"materialized view {view.table} does not exist")
    populated = bool(found[0])
    statement = "REFRESH MATERIALIZED VIEW CONCURRENTLY {}" if populated else "REFRESH MATERIALIZED VIEW {}"
    cursor.execute(sql.SQL(statement).format(sql.Identifier(view.table)))
    return populated


def _rebuild_and_swap(cursor: CursorWrapper, view: View) -> tuple[int, int | None]:
    """Build the view's next table from its definition, then repoint the view to it and drop the
    previous one. Returns the rows built, and for a view kept up to date as events apply, how
    many rows the two tables disagree on (None: a back-fill's worth of buckets changed, so the
    rebuild stood in for the rollup step). Runs inside the refresh's transaction: a failure at
    any step leaves the view reading the previous table."""
    current = view_generation(cursor, view)
    old, new = view.storage(current), view.storage(3 - current)
    compared = False
    if view.rollup is not None:  # first bring the kept rows up to the marks so far
        if rollups.marked_buckets(cursor, view).buckets > settings.ROLLUP_MAX_BUCKETS:
            rollups.marks_take(cursor, view)
        else:
            rollups.rollup_apply(cursor, view)
            compared = True
    build, *indexes = ddl.table_build(new, view.definition, view.swapped, order=view.ordered)
    cursor.execute(build)
    rows: int = cursor.rowcount
    differences = _differences(cursor, view, old, new) if compared else None
    for index in indexes:
        cursor.execute(index)
    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(new)))
    for attempt in range(SWAP_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a lock timeout undoes the swap, not the build
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [SWAP_LOCK_TIMEOUT])
                cursor.execute(ddl.view_point(view.table, new))
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))
            return rows, differences
        except OperationalError as exc:  # a long reader holds the view: let it finish, try again
            if getattr(exc.__cause__, "sqlstate", None) != "55P03" or attempt == SWAP_ATTEMPTS - 1:
                raise
            time.sleep(min(0.05 * (attempt + 1), 1.0))
    raise AssertionError("unreachable")


def _differences(cursor: CursorWrapper, view: View, kept: str, built: str) -> int:
    """How many rows the table kept up to date and the one just built disagree on (rows of either
    missing from the other, counted with repeats). Buckets marked since the kept rows were brought
    up to date are left out: their records changed after, and either table may be the one behind."""
    marked = rollups.marked_buckets(cursor, view)
    outside = sql.SQL("({}) IS NOT TRUE").format(rollups.bucket_filter(view)) if marked.days else sql.SQL("TRUE")
    cursor.execute(
        sql.SQL("""
        SELECT (SELECT count(*) FROM (SELECT * FROM {kept} WHERE {outside}
                                      EXCEPT ALL SELECT * FROM {built} WHERE {outside}) missing)
             + (SELECT count(*) FROM (SELECT * FROM {built} WHERE {outside}
                                      EXCEPT ALL SELECT * FROM {kept} WHERE {outside}) extra)
        """).format(kept=sql.Identifier(kept), built=sql.Identifier(built), outside=outside),
        marked.params(),
    )
    found: int = cursor.fetchone()[0]
    return found


def _finish(run: RefreshRun, status: str, *, started: float | None = None, rows: int | None = None,
            error: str = "") -> RefreshRun:  # fmt: skip
    """Record the outcome, if the run is still this executor's: one the recovery sweep settled
    meanwhile (its heartbeat was missed for too long) keeps what the sweep wrote."""
    run.status = status
    run.finished_at = timezone.now()
    if started is not None:
        run.duration_ms = int((time.monotonic() - started) * 1000)
    run.rows = rows
    run.error = error[:5000]
    fields = ["status", "finished_at", "duration_ms", "rows", "error", "concurrent", "differences"]
    mine = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.RUNNING, claimed_by=run.claimed_by)
    if not mine.update(**{field: getattr(run, field) for field in fields}):
        logger.warning("refresh run %s of %s was settled while it ran; its outcome (%s) was not recorded",
                       run.pk, run.view, status)  # fmt: skip
        run.refresh_from_db()
    return run
