"""Celery tasks: thin wrappers over the refresh service. Each may arrive twice (a redelivery, a
second beat): runs are claimed, so a run is executed once whatever the number of tasks."""

from celery import shared_task

from analytics.services.refresh import refresh_request, refresh_runs_execute, refresh_runs_recover, rollups_catch_up


@shared_task(name="analytics.refresh_runs")
def refresh_runs(run_ids: list[int]) -> list[str]:
    return [f"{run.view}:{run.status}" for run in refresh_runs_execute(run_ids=run_ids)]


@shared_task(name="analytics.refresh_scheduled")
def refresh_scheduled(views: list[str] | None = None) -> list[str]:
    runs = refresh_request(views=views, by=None, trigger="schedule", enqueue=False)
    return [f"{run.view}:{run.status}" for run in refresh_runs_execute(run_ids=[run.pk for run in runs])]


@shared_task(name="analytics.recover_runs")
def recover_runs() -> dict[str, list[int]]:
    """Every minute: runs whose executor died are settled and their views queued again."""
    return refresh_runs_recover()


@shared_task(name="analytics.rollups_apply")
def rollups_apply() -> dict[str, int]:
    """Every minute, behind the processor (which runs the step after each round): buckets marked
    by changes that did not come from processing (re-dating, the console) are recomputed too."""
    return rollups_catch_up().buckets
