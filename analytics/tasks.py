"""Celery tasks: thin wrappers over the refresh service."""

from celery import shared_task

from analytics.services.refresh import refresh_request, refresh_runs_execute


@shared_task(name="analytics.refresh_runs")
def refresh_runs(run_ids: list[int]) -> list[str]:
    return [f"{run.view}:{run.status}" for run in refresh_runs_execute(run_ids=run_ids)]


@shared_task(name="analytics.refresh_scheduled")
def refresh_scheduled(views: list[str] | None = None) -> list[str]:
    runs = refresh_request(views=views, by=None, trigger="schedule", enqueue=False)
    return [f"{run.view}:{run.status}" for run in refresh_runs_execute(run_ids=[run.pk for run in runs])]
