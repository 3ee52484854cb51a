"""A facility whose time zone changed has its history re-dated once the change commits; and the
signal processing sends once a round of events has applied and committed."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from accounts.models import Facility

logger = logging.getLogger(__name__)

#: Sent by the processor after a round of events applied and committed (``applied``: how many).
#: The views kept up to date as events apply listen (analytics.receivers); a receiver that fails
#: is logged and does not stop processing (their marks wait for the next round).
events_applied = Signal()


def _redate_soon() -> None:
    try:
        current_app.send_task("events.redate_facilities")
    except Exception:  # the change is saved; the next refresh re-dates it first (events.services.redating)
        logger.warning("could not ask a worker to re-date; the next refresh will", exc_info=True)


@receiver(post_save, sender=Facility, dispatch_uid="events.redate_on_time_zone_change")
def _redate_on_time_zone_change(sender: type[Facility], instance: Facility, **kwargs: Any) -> None:
    if instance.dated_time_zone != instance.time_zone:
        transaction.on_commit(_redate_soon)
