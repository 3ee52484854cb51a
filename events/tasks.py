"""Celery tasks: thin wrappers that call the services."""

from celery import current_app, shared_task

from events.services.partitions import partitions_create_ahead, retention_apply
from events.services.processing import (
    FIRST_RETRY_SECONDS,
    events_process_pending,
    processing_request,
    processing_started,
)
from events.services.redating import facilities_redate


@shared_task(name="events.process_pending")
def process_pending() -> dict:
    processing_started()  # events committed from now on are not seen for sure: they ask for another run
    report = events_process_pending(time_budget=50.0)
    if report.skipped:
        processing_request(countdown=2)  # another run holds the lock; look again once it is done
    elif report.batches and report.seconds >= 50.0:
        processing_request()  # more to do: continue in a fresh task rather than hold the worker
    if report.waiting:  # their first try is due shortly: a run for them, whatever else is queued
        current_app.send_task("events.process_pending", countdown=FIRST_RETRY_SECONDS + 1)
    return report.as_dict()


@shared_task(name="events.maintain_partitions")
def maintain_partitions() -> dict:
    partitions_create_ahead(months_ahead=2)
    return retention_apply()


@shared_task(name="events.redate_facilities")
def redate_facilities() -> dict:
    """Re-date the history of facilities whose time zone changed (events.services.redating)."""
    return facilities_redate()
