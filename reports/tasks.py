"""Celery tasks: thin wrappers over the report services. Each takes ids, never objects."""

from celery import shared_task

from reports.services.delivery import report_deliveries_retry_due, report_delivery_attempt
from reports.services.runs import report_files_purge, report_run_execute, report_runs_recover, report_schedules_tick


@shared_task(name="reports.run_scheduled")
def run_scheduled(report_id: int) -> list[int]:
    """A report's own beat entry fired: run its latest slot if that has no run yet."""
    return [run.pk for run in report_schedules_tick(report_id=report_id)]


@shared_task(name="reports.sweep")
def sweep() -> dict:
    """Every minute: due slots of every schedule (catch-up after downtime), runs whose worker
    died (no heartbeat) or whose task was lost, retries left behind, files past their retention."""
    created = report_schedules_tick()
    return {
        "created": [run.pk for run in created],
        "recovered": report_runs_recover(),
        "retried": report_deliveries_retry_due(),
        "files_removed": report_files_purge(),
    }


@shared_task(name="reports.execute_run")
def execute_run(run_id: int) -> str | None:
    run = report_run_execute(run_id=run_id)
    return run.status if run else None


@shared_task(name="reports.deliver")
def deliver(delivery_id: int) -> str:
    return report_delivery_attempt(delivery_id=delivery_id).status
