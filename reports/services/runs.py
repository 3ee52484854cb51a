"""Runs: which scheduled slots are due, building a run's file, and settling its outcome.

Exactly once per slot: a run's identity is (report, slot instant) under a unique
constraint, so the per-report beat entry, the every-minute sweep, a second beat or a
redelivered task can all ask for the same slot and only the first creates it. A slot
missed while the system was down is the latest slot when the sweep next looks, so it runs
once on restart; older missed slots are not back-filled.

A run is taken by one worker with a conditional UPDATE (queued to running, recording
host:pid), and the worker moves its ``heartbeat_at`` every few seconds while it builds and
sends. A run whose heartbeat is older than REPORT_RUN_STALE_SECONDS lost its worker (killed,
host gone): the sweep queues it again within minutes. A run left ``running`` with no worker on
it (waiting for delivery retries) is taken up after REPORT_RUN_STALE_MINUTES.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.text import slugify

from accounts.liveness import Heartbeat, executor_name, heartbeat_every
from accounts.principals import Actor
from accounts.services import audit_record
from reports.building import ReportDataError, RowsRefused, report_build, run_rows_refused
from reports.models import DeliveryStatus, Report, ReportDelivery, ReportRun, ReportSchedule, RunStatus, RunTrigger
from reports.schedules import cron_parse, latest_slot, period_bounds, zone_parse
from reports.services.delivery import report_delivery_attempt
from reports.services.outcomes import report_run_fail, report_run_settle

logger = logging.getLogger(__name__)

FORGOTTEN_AFTER = timedelta(minutes=5)  # a queued run no worker took by then: its task was lost


def _stale_seconds() -> float:
    return float(settings.REPORT_RUN_STALE_SECONDS)


def _enqueue_execute(run_id: int) -> None:
    try:
        current_app.send_task("reports.execute_run", args=[run_id])
    except Exception:  # the broker is down: the sweep re-queues runs left queued
        logger.warning("could not enqueue report run %s; the sweep will", run_id, exc_info=True)


def report_run_request(*, report: Report, by: Actor, trigger: str = RunTrigger.MANUAL) -> ReportRun:
    """A run now ("run now", or a test email to the person asking). Queued; a worker builds it."""
    with transaction.atomic():
        run = ReportRun.objects.create(report=report, trigger=trigger, requested_by=by.user)
        audit_record(by=by, action=f"report.run_{trigger}", obj=report, run=run.pk)
        transaction.on_commit(lambda: _enqueue_execute(run.pk))
    return run


def report_schedules_tick(*, now: datetime | None = None, report_id: int | None = None) -> list[ReportRun]:
    """Create the run of each enabled schedule's latest slot if it has none yet."""
    now = now or timezone.now()
    schedules = ReportSchedule.objects.filter(report__enabled=True).select_related("report", "periodic_task")
    if report_id is not None:
        schedules = schedules.filter(report_id=report_id)
    created = []
    for schedule in schedules:
        if schedule.periodic_task is not None and not schedule.periodic_task.enabled:
            continue  # paused by an operator under Periodic tasks
        try:
            slot = latest_slot(cron_parse(schedule.crontab), zone_parse(schedule.time_zone), now)
        except ValueError:
            logger.error("report %s has an unreadable schedule %r", schedule.report_id, schedule.crontab)
            continue
        if slot is None or slot < schedule.active_since:
            continue
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(report=schedule.report, trigger=RunTrigger.SCHEDULE, scheduled_for=slot)
        except IntegrityError:
            continue  # this slot has its run already
        logger.info("report %s: run %s for slot %s", schedule.report_id, run.pk, slot.isoformat())
        transaction.on_commit(partial(_enqueue_execute, run.pk))
        created.append(run)
    return created


def report_runs_recover(*, now: datetime | None = None) -> int:
    """Take up runs a killed worker or a lost task left behind: a run whose worker stopped
    beating (REPORT_RUN_STALE_SECONDS) is queued again at once; a run ``running`` with no worker
    on it (waiting for delivery retries that never came) after REPORT_RUN_STALE_MINUTES; queued
    runs no worker took are sent again. Returns how many. Executing twice is safe: a run is
    claimed by a conditional UPDATE and a delivery already sent is not sent again."""
    now = now or timezone.now()
    with connection.cursor() as cursor:  # in the database's clock, like the heartbeats
        cursor.execute(
            """
            UPDATE reports_reportrun SET status = 'queued', heartbeat_at = NULL
            WHERE status = 'running' AND heartbeat_at < statement_timestamp() - make_interval(secs => %s)
            RETURNING id, claimed_by
            """,
            [_stale_seconds()],
        )
        lost = cursor.fetchall()
    for run_id, worker in lost:
        logger.warning("report run %s: its worker %s stopped; queued again", run_id, worker or "?")
    abandoned = ReportRun.objects.filter(
        status=RunStatus.RUNNING,
        heartbeat_at__isnull=True,
        started_at__lt=now - timedelta(minutes=settings.REPORT_RUN_STALE_MINUTES),
    )
    abandoned_ids = list(abandoned.values_list("pk", flat=True)[:100])
    ReportRun.objects.filter(pk__in=abandoned_ids, status=RunStatus.RUNNING).update(status=RunStatus.QUEUED)
    forgotten = ReportRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=now - FORGOTTEN_AFTER)
    run_ids = list(dict.fromkeys([run_id for run_id, _ in lost] + list(forgotten.values_list("pk", flat=True)[:100])))
    for run_id in run_ids:
        _enqueue_execute(run_id)
    return len({*run_ids, *abandoned_ids})


def report_files_purge(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remove the files of runs older than REPORT_FILE_RETENTION_DAYS (at most ``limit`` per
    call; the sweep calls it every minute). The run keeps its figures, deliveries and the time
    its file went, so the console and the API can say why there is nothing to download."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_FILE_RETENTION_DAYS)
    old = list(ReportRun.objects.filter(created_at__lt=cutoff).exclude(file="").order_by("created_at")[:limit])
    for run in old:
        run.file.delete(save=False)  # a file already gone from storage is no error
        run.file_removed_at = now
        run.save(update_fields=["file", "file_removed_at"])
    if old:
        logger.info("report files removed after %s days: %s", settings.REPORT_FILE_RETENTION_DAYS, len(old))
    return len(old)


def _run_today(run: ReportRun, zone_name: str) -> date:
    """The local day a run is for: its slot's day in the schedule's zone, else today."""
    zone = ZoneInfo(zone_name)
    instant = run.scheduled_for or run.created_at or timezone.now()
    return instant.astimezone(zone).date()


def report_run_execute(*, run_id: int) -> ReportRun | None:
    """Build a queued run's file and send it, with a heartbeat while it works. A run another
    worker took, or that ran, is left alone."""
    run = _claim(run_id)
    if run is None:
        return ReportRun.objects.filter(pk=run_id).first()
    try:
        with Heartbeat(partial(_beat, run), every=heartbeat_every(_stale_seconds()), name=f"report-run-{run.pk}"):
            return _build_and_send(run)
    finally:
        _let_go(run)


def _claim(run_id: int) -> ReportRun | None:
    """Take a queued run for this process. One conditional UPDATE: of two workers handed the same
    run (a redelivery, the sweep's second send), exactly one gets it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reports_reportrun SET status = 'running', claimed_by = %s, started_at = statement_timestamp(), "
            "heartbeat_at = statement_timestamp() WHERE id = %s AND status = 'queued' RETURNING id",
            [executor_name(), run_id],
        )
        if cursor.fetchone() is None:
            return None
    return ReportRun.objects.get(pk=run_id)


def _mine(run: ReportRun) -> QuerySet[ReportRun]:
    """The run, while it is still this worker's claim."""
    return ReportRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, claimed_by=run.claimed_by,
                                    started_at=run.started_at)  # fmt: skip


def _beat(run: ReportRun) -> int:
    return _mine(run).update(heartbeat_at=Now())


def _let_go(run: ReportRun) -> None:
    """The worker is done with the run: a run still waiting for delivery retries shows no worker."""
    try:
        ReportRun.objects.filter(pk=run.pk, claimed_by=run.claimed_by, started_at=run.started_at).update(
            heartbeat_at=None
        )
    except DatabaseError:  # the sweep takes it up once its heartbeat is stale
        logger.warning("could not release report run %s", run.pk, exc_info=True)


def _build_and_send(run: ReportRun) -> ReportRun:
    report = Report.objects.select_related("owner").get(pk=run.report_id)
    schedule = report.schedule_or_none
    today = _run_today(run, schedule.time_zone if schedule else settings.REPORTING_TIME_ZONE)
    try:
        start, end = period_bounds(report.period, today=today, start=report.start_date, end=report.end_date)
        if run.file and (refused := run_rows_refused(run)):  # built before its owner lost the rows
            raise RowsRefused(report.owner, refused)
        if not run.file:  # a re-queued run keeps the file it built
            stem = f"{slugify(report.name) or 'report'}-{end.isoformat()}-run{run.pk}"
            folder = f"reports/{timezone.now():%Y/%m}"
            built = report_build(report=report, start=start, end=end, directory=Path(settings.MEDIA_ROOT) / folder,
                                 stem=stem)  # fmt: skip
            run.file.name = f"{folder}/{built.filename}"
            run.rows, run.bytes = built.rows, built.path.stat().st_size
            run.period_start, run.period_end, run.facilities = start, end, built.facilities
            run.data_as_of = built.data_as_of
            run.summary = {"headline": built.headline, "suppressed": built.suppressed, "perturbed": built.perturbed}
            run.save(update_fields=["file", "rows", "bytes", "period_start", "period_end", "facilities",
                                    "data_as_of", "summary"])  # fmt: skip
            if built.unmasked:
                audit_record(by=Actor(principal=report.owner), action="personal_data.export", obj=run,
                             object_repr=f"{built.unmasked} application(s) with personal data", report=report.pk,
                             rows=built.unmasked)  # fmt: skip
    except ReportDataError as exc:
        return report_run_fail(run=run, error=str(exc))
    except Exception as exc:  # never sent as if it worked: the run fails and says why
        logger.exception("report run %s failed while building", run.pk)
        return report_run_fail(run=run, error=f"Building the file failed: {exc.__class__.__name__}: {exc}")
    if not _mine(run).exists():  # taken for lost while it built (its heartbeat could not be written)
        logger.warning("report run %s was taken up by the sweep while this worker built it; not sending", run.pk)
        return ReportRun.objects.get(pk=run.pk)
    recipients = _recipients(run, report)
    for recipient in recipients:
        ReportDelivery.objects.get_or_create(run=run, recipient=recipient)
    for delivery in run.deliveries.filter(status=DeliveryStatus.PENDING):
        report_delivery_attempt(delivery_id=delivery.pk)
    return report_run_settle(run_id=run.pk)


def _recipients(run: ReportRun, report: Report) -> list[str]:
    if run.trigger == RunTrigger.TEST:
        email = run.requested_by.email if run.requested_by else ""
        return [email] if email else []
    return sorted(set(report.recipients))
