"""Re-dating a facility's history when its time zone changes.

Every record keeps, beside each moment, the local date it falls on at its facility (``applied_at``
and ``applied_date``, ...), and the log keeps each event's ``local_date``: the views and indexes
count days by those columns, so a local day costs nothing at query time. When a facility's
``time_zone`` changes, they are computed again from the moments, for that facility only, and
``Facility.dated_time_zone`` records the zone they are in. This runs on commit of the change
(a task) and, as a safety net, before every refresh, so the next refresh re-buckets the history
whatever happened to the task.

It holds the event processor's lock while it works, so no batch dates events in the old zone
meanwhile. The log is otherwise never updated: ``local_date`` is derived, not sent.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import F
from psycopg import sql

from accounts.models import Facility
from events.services.processing import PROCESSING_LOCK

logger = logging.getLogger(__name__)

# table -> (local date column, moment column) pairs
DATED: dict[str, list[tuple[str, str]]] = {
    "events_job": [("opened_date", "opened_at"), ("filled_date", "filled_at")],
    "events_candidate": [("registered_date", "registered_at")],
    "events_application": [("applied_date", "applied_at"), ("offered_date", "offered_at"), ("hired_date", "hired_at")],
    "events_applicationstatuschange": [("occurred_date", "occurred_at")],
    "events_invoice": [("issued_date", "issued_at")],
    "events_outreachmessage": [("sent_date", "sent_at")],
    "events_compliancecheck": [("checked_date", "checked_at")],
    "events_event": [("local_date", "occurred_at")],
}


def facilities_redate(*, codes: list[str] | None = None) -> dict[str, int]:
    """Re-date every facility whose local dates are in another zone than its ``time_zone`` (or
    the facilities ``codes``, whatever zone their dates are said to be in), one transaction each.
    Returns {facility code: rows changed}."""
    if codes is None:
        chosen = Facility.objects.exclude(dated_time_zone=F("time_zone"))
    else:
        chosen = Facility.objects.filter(code__in=codes)
    changed = {}
    for facility_id in chosen.values_list("id", flat=True):
        result = facility_redate(facility_id=facility_id, force=codes is not None)
        if result is not None:
            changed[result[0]] = result[1]
    return changed


def facility_redate(*, facility_id: int, force: bool = False) -> tuple[str, int] | None:
    """Compute the facility's local dates again in its current zone (only the rows whose date
    differs change). Returns (code, rows changed), or None if there was nothing to do (already
    dated in its zone and not ``force``, or gone)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PROCESSING_LOCK])  # waits for a running batch
        facility = Facility.objects.select_for_update().filter(pk=facility_id).first()
        if facility is None or (facility.dated_time_zone == facility.time_zone and not force):
            return None
        rows = 0
        for table, columns in DATED.items():
            assignments = sql.SQL(", ").join(
                sql.SQL("{day} = ({at} AT TIME ZONE %(zone)s)::date").format(
                    day=sql.Identifier(day), at=sql.Identifier(at)
                )
                for day, at in columns
            )
            differs = sql.SQL(" OR ").join(
                sql.SQL("{day} IS DISTINCT FROM ({at} AT TIME ZONE %(zone)s)::date").format(
                    day=sql.Identifier(day), at=sql.Identifier(at)
                )
                for day, at in columns
            )
            cursor.execute(
                sql.SQL("UPDATE {table} SET {assignments} WHERE facility_id = %(facility)s AND ({differs})").format(
                    table=sql.Identifier(table), assignments=assignments, differs=differs
                ),
                {"zone": facility.time_zone, "facility": facility_id},
            )
            rows += cursor.rowcount
        Facility.objects.filter(pk=facility_id).update(dated_time_zone=facility.time_zone)
    logger.info("re-dated %s in %s: %s rows", facility.code, facility.time_zone, rows)
    return facility.code, rows
