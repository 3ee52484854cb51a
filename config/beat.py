"""The beat scheduler: django-celery-beat's DatabaseScheduler, with a heartbeat, and safe to run
on two machines at once (failover).

Before it sends an entry's task, a beat claims the entry's slot in PostgreSQL: one INSERT of
(entry name, slot) under a unique constraint, ON CONFLICT DO NOTHING. Only the beat whose insert
went in sends; the other logs that the slot was taken. A slot is the minute a crontab (or solar)
entry fires in, the multiple of its period an interval entry fires in, or a clocked entry's
time, so two beats firing the same entry a few seconds apart agree on it. Interval entries fire
on multiples of their period since the epoch (not from whenever each beat started), so both
beats fire them at the same moments. The task's message carries its slot (the ``beat_slot``
header). If the database cannot be reached, the slot is not sent: no beat could prove it was
the only one (the every-minute sweeps catch up).

Kept apart from config/heartbeat.py because importing the scheduler needs Django's
app registry, which is not ready when the Celery app is created.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import schedules
from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection
from django_celery_beat.clockedschedule import clocked
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from psycopg import sql

from accounts.models import BeatSlot
from config.heartbeat import heartbeat_record

logger = logging.getLogger(__name__)

SLOT_RETENTION = timedelta(days=1)
PRUNE_EVERY_SECONDS = 600


class AlignedInterval(schedules.schedule):
    """An interval that fires on multiples of itself since the epoch: due once the current
    multiple is past the last run's. Two beats started at different moments fire it together."""

    def is_due(self, last_run_at: datetime) -> schedules.schedstate:
        period = self.run_every.total_seconds()
        if period <= 0:
            return super().is_due(last_run_at)
        now = self.maybe_make_aware(self.now()).timestamp()
        last = self.maybe_make_aware(last_run_at).timestamp()
        until_next = period - now % period
        return schedules.schedstate(last // period < now // period, until_next)


class SlotEntry(ModelEntry):
    """A database entry whose interval schedule (if it has one) is aligned."""

    def __init__(self, model, app=None) -> None:
        super().__init__(model, app=app)
        schedule: Any = getattr(self, "schedule", None)  # a celery schedule (untyped), or None
        if type(schedule) is schedules.schedule:
            self.schedule = AlignedInterval(schedule.run_every, nowfun=schedule.nowfun, app=self.app)


def slot_of(schedule: schedules.BaseSchedule, now: datetime) -> datetime:
    """The slot an entry firing at ``now`` fills (UTC)."""
    if isinstance(schedule, schedules.schedule):
        period = schedule.run_every.total_seconds()
        if period > 0:
            return datetime.fromtimestamp(now.timestamp() // period * period, tz=UTC)
    if isinstance(schedule, clocked):
        return schedule.clocked_time.astimezone(UTC)
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def beat_slot_claim(*, name: str, slot: datetime) -> bool:
    """Take (``name``, ``slot``) for this process; False if another beat took it first. One
    statement in its own transaction, so it holds nothing (it works behind transaction pooling)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (name, slot, claimed_by, claimed_at) "
                "VALUES (%s, %s, %s, statement_timestamp()) ON CONFLICT (name, slot) DO NOTHING RETURNING id"
            ).format(sql.Identifier(BeatSlot._meta.db_table)),
            [name, slot, f"{socket.gethostname()}:{os.getpid()}"],
        )
        return cursor.fetchone() is not None


class HeartbeatScheduler(DatabaseScheduler):
    """Records a beat heartbeat from the scheduler loop, at most every HEARTBEAT_INTERVAL_SECONDS,
    and sends each entry's task once per slot whatever the number of beat processes."""

    Entry = SlotEntry
    _last_beat = float("-inf")
    _last_prune = float("-inf")

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_beat >= settings.HEARTBEAT_INTERVAL_SECONDS:
            heartbeat_record(component="beat")
            self._last_beat = now
        if now - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._prune()
            self._last_prune = now
        return super().tick(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        slot = slot_of(entry.schedule, datetime.now(UTC))
        try:
            won = beat_slot_claim(name=entry.name, slot=slot)
        except (DatabaseError, InterfaceError):
            logger.warning("beat: could not claim %s for %s: database unreachable; not sent", entry.name,
                           slot.isoformat(), exc_info=True)  # fmt: skip
            return
        if not won:
            logger.info("beat: %s for %s was sent by another beat", entry.name, slot.isoformat())
            return
        headers = {**entry.options.get("headers", {}), "beat_slot": slot.isoformat()}
        entry.options = {**entry.options, "headers": headers}
        super().apply_entry(entry, producer=producer)

    def _prune(self) -> None:
        try:
            BeatSlot.objects.filter(slot__lt=datetime.now(UTC) - SLOT_RETENTION).delete()
        except (DatabaseError, InterfaceError):
            logger.warning("beat: could not prune old slots", exc_info=True)
