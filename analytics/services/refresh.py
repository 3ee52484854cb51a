"""Refreshing the materialized views: safe to overlap, logged, and never blocking readers.

Each view refreshes under its own transaction-scoped advisory lock: a second refresh of the
same view while one runs is recorded as ``skipped`` instead of queueing behind it. Once a view
holds data it refreshes ``CONCURRENTLY`` (readers keep the previous rows until the new ones
are complete). A failed refresh leaves the previous data in place and records the error.
A successful one moves the KPI cache to a new version, so cached answers are not served stale.
"""

from __future__ import annotations

import logging
import time
import zlib

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from accounts.models import User
from accounts.principals import Actor
from accounts.services import audit_record
from analytics.cache import kpi_cache_bump
from analytics.models import RefreshRun
from analytics.registry import BY_KEY, View, views_named

logger = logging.getLogger(__name__)


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
    """Run queued refreshes in dependency order."""
    order = {view.key: index for index, view in enumerate(BY_KEY.values())}
    runs = sorted(RefreshRun.objects.filter(pk__in=run_ids), key=lambda run: order.get(run.view, 99))
    done = [refresh_run_execute(run=run, bump_cache=False) for run in runs]
    if any(run.status == RefreshRun.Status.SUCCEEDED for run in done):
        kpi_cache_bump()  # once for the batch: readers recompute once, not once per view
    return done


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
            cursor.execute("SELECT relispopulated FROM pg_class WHERE relname = %s AND relkind = 'm'", [view.table])
            found = cursor.fetchone()
            if found is None:
                raise LookupError(f"materialized view {view.table} does not exist")
            populated = bool(found[0])
            statement = "REFRESH MATERIALIZED VIEW CONCURRENTLY {}" if populated else "REFRESH MATERIALIZED VIEW {}"
            cursor.execute(sql.SQL(statement).format(sql.Identifier(view.table)))
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
