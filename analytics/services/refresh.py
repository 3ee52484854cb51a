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
"""

from __future__ import annotations

import logging
import threading
import time
import zlib

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg import sql

from accounts.models import User
from accounts.principals import Actor
from accounts.services import audit_record
from analytics.cache import kpi_cache_bump, kpi_cache_rollover
from analytics.models import RefreshRun
from analytics.registry import BY_KEY, View, views_named

logger = logging.getLogger(__name__)

# A refresh aggregates millions of rows once: JIT compiling its expressions cost more (seconds)
# than it saved, and grouping in memory instead of spilling to disk halves the big views' time.
# No parallel helpers: a refresh session uses one core, so ANALYTICS_REFRESH_LANES is the most
# cores a refresh takes from the readers.
REFRESH_SETTINGS = {"jit": "off", "work_mem": "256MB", "maintenance_work_mem": "256MB",
                    "max_parallel_workers_per_gather": "0"}  # fmt: skip
SWAP_LOCK_TIMEOUT = "200ms"  # the longest a reader may wait for a swap
SWAP_ATTEMPTS = 50


def _lock_key(view: View) -> int:
    return zlib.crc32(f"analytics.refresh:{view.table}".encode())


def refresh_request(
    *, views: list[str] | None, by: Actor | User | None, trigger: str, enqueue: bool = True
) -> list[RefreshRun]:
    """Queue a refresh of ``views`` (keys or group names; all when empty) and enqueue the work.

    A view that already has a queued or running refresh gets no second one: its current run is
    returned instead. With ``enqueue=False`` the caller runs them (refresh_runs_execute).
    A request by a person (API or console) is audited; the schedule's are in the run log only.
    """
    actor = by if isinstance(by, Actor) or by is None else Actor(principal=by)
    runs: list[RefreshRun] = []
    created: list[int] = []
    with transaction.atomic():
        for view in views_named(views):
            active = (
                RefreshRun.objects.select_for_update(skip_locked=True)
                .filter(view=view.key, status__in=[RefreshRun.Status.QUEUED, RefreshRun.Status.RUNNING])
                .first()
            )
            if active:
                runs.append(active)
                continue
            run = RefreshRun.objects.create(view=view.key, requested_by=actor.user if actor else None, trigger=trigger)
            runs.append(run)
            created.append(run.pk)
        if created and enqueue:
            transaction.on_commit(lambda: _enqueue(created))
        if actor is not None:
            audit_record(by=actor, action="analytics.refresh", object_repr=", ".join(views or ["all"]),
                         trigger=trigger, runs=[run.pk for run in runs])  # fmt: skip
    return runs


def _enqueue(run_ids: list[int]) -> None:
    from celery import current_app

    current_app.send_task("analytics.refresh_runs", args=[run_ids])


def refresh_runs_execute(*, run_ids: list[int]) -> list[RefreshRun]:
    """Run queued refreshes, each after the views it reads. Outside a transaction, independent
    views refresh side by side (ANALYTICS_REFRESH_LANES sessions), longest chain first."""
    order = {view.key: index for index, view in enumerate(BY_KEY.values())}
    runs = sorted(RefreshRun.objects.filter(pk__in=run_ids), key=lambda run: order.get(run.view, 99))
    if settings.ANALYTICS_REFRESH_LANES > 1 and len(runs) > 1 and not connection.in_atomic_block:
        done = _in_lanes(runs)
    else:  # inside a transaction every refresh must share its session
        done = [refresh_run_execute(run=run, bump_cache=False) for run in runs]
    if any(run.status == RefreshRun.Status.SUCCEEDED for run in done):
        # Once for the batch, with the answers asked for lately computed for the new version first.
        kpi_cache_rollover(answer=_answer_now)
    return done


def _answer_now(kpi: str, params) -> bytes:
    from analytics.catalog import kpi_answer_json_for  # the catalog reads refresh times from here

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
        return last.get(key, 0) + max((chain(reader) for reader in readers), default=0)

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
                    results[run.pk] = refresh_run_execute(run=run, bump_cache=False)
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
    if run.status != RefreshRun.Status.QUEUED:
        return run  # redelivered after it ran: nothing to do twice
    view = BY_KEY.get(run.view)
    if view is None:
        return _finish(run, RefreshRun.Status.FAILED, error=f"unknown view {run.view!r}")
    run.status, run.started_at = RefreshRun.Status.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_key(view)])
            if not cursor.fetchone()[0]:
                return _finish(run, RefreshRun.Status.SKIPPED, error="another refresh of this view was running")
            for setting, value in REFRESH_SETTINGS.items():  # this transaction only
                cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
            if view.swapped:
                rows = _rebuild_and_swap(cursor, view)
                populated = True
            else:
                populated = _refresh_materialized(cursor, view)
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(view.table)))
                rows = cursor.fetchone()[0]
    except Exception as exc:  # the previous data stays; the failure is shown
        logger.exception("refresh of %s failed", view.table)
        return _finish(run, RefreshRun.Status.FAILED, started=started, error=f"{type(exc).__name__}: {exc}")
    run.concurrent = populated
    finished = _finish(run, RefreshRun.Status.SUCCEEDED, started=started, rows=rows)
    if bump_cache:
        kpi_cache_bump()
    logger.info("refreshed %s: %s rows in %s ms", view.table, rows, finished.duration_ms)
    return finished


def _refresh_materialized(cursor, view: View) -> bool:
    """REFRESH a materialized view (CONCURRENTLY once it holds data); whether it did so concurrently."""
    cursor.execute("SELECT relispopulated FROM pg_class WHERE relname = %s AND relkind = 'm'", [view.table])
    found = cursor.fetchone()
    if found is None:
        raise LookupError(f"materialized view {view.table} does not exist")
    populated = bool(found[0])
    statement = "REFRESH MATERIALIZED VIEW CONCURRENTLY {}" if populated else "REFRESH MATERIALIZED VIEW {}"
    cursor.execute(sql.SQL(statement).format(sql.Identifier(view.table)))
    return populated


def _current_generation(cursor, view: View) -> int:
    """Which storage table the view reads now (the one that exists: a swap drops the other)."""
    cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [view.table])
    found = cursor.fetchone()
    if found is None or found[0] != "v":
        raise LookupError(f"view {view.table} does not exist")
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
                   [view.storage(1), view.storage(2)])  # fmt: skip
    first, second = cursor.fetchone()
    if first == second:
        raise LookupError(f"expected exactly one of {view.storage(1)} and {view.storage(2)}")
    return 1 if first else 2


def _rebuild_and_swap(cursor, view: View) -> int:
    """Build the view's next table from its definition, then repoint the view to it and drop the
    previous one. Returns the rows built. Runs inside the refresh's transaction: a failure at any
    step leaves the view reading the previous table."""
    current = _current_generation(cursor, view)
    old, new = view.storage(current), view.storage(3 - current)
    cursor.execute(sql.SQL("CREATE TABLE {} AS ").format(sql.Identifier(new)) + sql.SQL(view.definition))
    rows = cursor.rowcount
    for number, columns in enumerate(view.swapped):
        index = sql.SQL(f"CREATE INDEX {{}} ON {{}} ({columns})")  # columns come from the registry
        cursor.execute(index.format(sql.Identifier(f"{new}_{number}"), sql.Identifier(new)))
    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(new)))
    for attempt in range(SWAP_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a lock timeout undoes the swap, not the build
                cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                cursor.execute(
                    sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT * FROM {}").format(
                        sql.Identifier(view.table), sql.Identifier(new)
                    )
                )
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))
            return rows
        except OperationalError as exc:  # a long reader holds the view: let it finish, try again
            if getattr(exc.__cause__, "sqlstate", None) != "55P03" or attempt == SWAP_ATTEMPTS - 1:
                raise
            time.sleep(min(0.05 * (attempt + 1), 1.0))
    raise AssertionError("unreachable")


def _finish(run: RefreshRun, status: str, *, started: float | None = None, rows: int | None = None,
            error: str = "") -> RefreshRun:  # fmt: skip
    run.status = status
    run.finished_at = timezone.now()
    if started is not None:
        run.duration_ms = int((time.monotonic() - started) * 1000)
    run.rows = rows
    run.error = error[:5000]
    run.save()
    return run


def views_data_as_of(keys: list[str]) -> timezone.datetime | None:
    """When the oldest of these views was last refreshed successfully (None: never)."""
    latest = []
    for key in keys:
        run = (
            RefreshRun.objects.filter(view=key, status=RefreshRun.Status.SUCCEEDED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if run is None:
            return None
        latest.append(run)
    return min(latest) if latest else None
