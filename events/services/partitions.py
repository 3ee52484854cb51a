"""Monthly partitions of the event log: created ahead of need, dropped past retention."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from events.models import EventCategory, EventKey

logger = logging.getLogger(__name__)

# Partitions this process knows exist; creating one is idempotent, this only saves a round trip.
_known: set[tuple[str, date]] = set()


def month_of(moment: datetime) -> date:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return date(moment.year, moment.month, 1)


def partitions_ensure(*, months: set[tuple[str, date]]) -> None:
    """Make sure a partition exists for each (category, month). Runs in its own short
    transactions, never inside an ingestion transaction (DDL locks the parent table)."""
    missing = sorted(months - _known)
    for category, month in missing:
        # Only remember what is committed: inside an outer transaction (tests) it may roll back.
        durable = not connection.in_atomic_block
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT events_ensure_partition(%s, %s)", [category, month])
        if durable:
            _known.add((category, month))


def partitions_create_ahead(*, months_ahead: int = 2) -> None:
    """Beat calls this daily so ingestion rarely creates a partition itself."""
    today = timezone.now().date().replace(day=1)
    months = set()
    for offset in range(months_ahead + 1):
        year, month = divmod(today.month - 1 + offset, 12)
        months |= {(category, date(today.year + year, month + 1, 1)) for category in EventCategory.values}
    partitions_ensure(months=months)


def _activity_partitions() -> list[tuple[str, date]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'events_event_activity'
            ORDER BY c.relname
            """
        )
        names = [row[0] for row in cursor.fetchall()]
    return [(name, datetime.strptime(name.rsplit("_", 1)[1], "%Y%m").date()) for name in names]


def retention_apply(*, now: datetime | None = None, batch_size: int = 10_000) -> dict[str, int]:
    """Drop activity partitions whose whole month is older than EVENT_RETENTION_DAYS.

    A partition is detached first (a brief lock on the parent only), then dropped; nothing
    scans or deletes row by row in the log. Their idempotency keys are then deleted in small
    batches. Recruiting events are kept: records are built from them.
    """
    now = now or timezone.now()
    cutoff = (now - timedelta(days=settings.EVENT_RETENTION_DAYS)).date()
    dropped = 0
    for name, month in _activity_partitions():
        next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        if next_month > cutoff:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("ALTER TABLE events_event_activity DETACH PARTITION {}").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        _known.discard((EventCategory.ACTIVITY, month))
        dropped += 1
        logger.info("retention: dropped event partition %s", name)

    cutoff_time = datetime.combine(cutoff.replace(day=1), datetime.min.time(), tzinfo=UTC)
    keys_deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                EventKey.objects.filter(category=EventCategory.ACTIVITY, occurred_at__lt=cutoff_time).values_list(
                    "id", flat=True
                )[:batch_size]
            )
            if not ids:
                break
            keys_deleted += EventKey.objects.filter(id__in=ids).delete()[0]
    return {"partitions_dropped": dropped, "keys_deleted": keys_deleted}
