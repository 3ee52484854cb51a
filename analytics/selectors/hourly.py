"""Hourly series (``trends`` with ``granularity=hour``), read from the records themselves: hours
are finer than any view, and a period of at most 31 days at the facilities asked about is a
range of their ``(facility, local date)`` indexes.

An hour is a facility's local hour: named by its local start and the UTC offset in force, so the
autumn's repeated hour is two buckets (``01:00-07:00``, ``01:00-08:00``), a skipped spring hour
none, and zones with half-hour offsets or half-hour clock changes (Asia/Kolkata,
Australia/Lord_Howe) get their own hour boundaries. Facilities in different zones share no local
hour, so their series is in UTC hours. The period is each facility's own local days either way
(the records' ``*_date`` columns are local dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, LiteralString
from zoneinfo import ZoneInfo

from psycopg import sql

from analytics.selectors.base import fetch, grouping, keyed

# metric -> (table, instant, local date, value, condition, privacy key): the same counts and
# keys as the daily views (analytics/viewdefs.py), over the base rows.
SOURCES: dict[str, tuple[str, str, str, LiteralString, LiteralString, LiteralString]] = {
    "applications": ("events_application", "applied_at", "applied_date", "count(*)", "TRUE", "sum(privacy_key)"),
    "hires": ("events_application", "hired_at", "hired_date", "count(*)", "TRUE", "sum(privacy_key)"),
    "jobs_opened": ("events_job", "opened_at", "opened_date", "count(*)", "TRUE", "sum(privacy_key)"),
    "revenue": ("events_invoice", "issued_at", "issued_date", "sum(amount)", "TRUE", "0"),
    "sent": ("events_outreachmessage", "sent_at", "sent_date", "count(*)", "TRUE", "sum(privacy_key)"),
    "replied": ("events_outreachmessage", "sent_at", "sent_date", "count(replied_at)", "TRUE",
                "coalesce(sum(privacy_key) FILTER (WHERE replied_at IS NOT NULL), 0)"),
    "checks": ("events_compliancecheck", "checked_at", "checked_date", "count(*)", "TRUE", "sum(privacy_key)"),
    "violations": ("events_compliancecheck", "checked_at", "checked_date", "count(*)", "status = 'violation'",
                   "sum(privacy_key)"),
    "active_users": ("events_event", "occurred_at", "local_date", 'count(DISTINCT actor COLLATE "C")',
                     "actor IS NOT NULL AND actor <> ''",
                     "sum(DISTINCT hashtextextended(actor, (SELECT seed FROM analytics_privacy_seed)) & 2147483647)"),
}  # fmt: skip
# The log is partitioned by month of occurred_at: a bound on it lets PostgreSQL read one or two
# partitions. Local dates lie within 14 hours of UTC ones either way; a day each side is plenty.
PARTITIONED_BY_INSTANT = {"events_event"}

Hour = tuple[datetime, timedelta]  # (local wall-clock start, UTC offset in force)


@lru_cache(maxsize=8192)
def hour_name(hour: Hour) -> str:
    """``2026-07-10T00:00-07:00``: the local start, with its offset."""
    start, offset = hour
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{start:%Y-%m-%dT%H:%M}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@lru_cache(maxsize=256)
def hours(start: date, end: date, time_zones: tuple[str, ...]) -> tuple[str, Mapping[Hour, datetime], datetime]:
    """The zone the hours are counted in (the facilities' one zone, else UTC), every hour of the
    period in it, in order, with the moment it starts, and the moment the last one ends: from the
    first local midnight of ``start`` at any of the facilities to the last local midnight after
    ``end``. Offsets and clock changes fall on quarter hours, so stepping a quarter hour in UTC
    meets every hour, and an hour starts at the first step that falls in it (after a change of
    half an hour, that is the change itself). Remembered per question (a read-only mapping):
    walking a month's quarter hours took 4 ms of an answer."""
    zone = time_zones[0] if len(time_zones) == 1 else "UTC"
    clock = ZoneInfo(zone)
    zones = [ZoneInfo(name) for name in time_zones] or [clock]
    first = min(datetime.combine(start, time(), tzinfo=z).astimezone(UTC) for z in zones)
    after = max(datetime.combine(end + timedelta(days=1), time(), tzinfo=z).astimezone(UTC) for z in zones)
    found: dict[Hour, datetime] = {}
    step, moment, last = timedelta(minutes=15), first, None
    while moment < after:
        local = moment.astimezone(clock)
        offset = local.utcoffset()
        if local.minute == 0 or offset != last:  # an hour can only begin on the hour or at a change
            assert offset is not None
            found.setdefault((local.replace(minute=0, second=0, microsecond=0, tzinfo=None), offset), moment)
            last = offset
        moment += step
    return zone, MappingProxyType(found), after


def hourly(
    metric: str,
    facility_ids: list[int],
    start: date,
    end: date,
    starts: Mapping[Hour, datetime],
    after: datetime,
    *,
    by_facility: bool,
) -> dict[Any, dict[Hour, tuple[Any, Any]]]:
    """{key: {hour: (value, privacy key)}} of ``metric`` in the hours ``starts`` (from
    ``hours``), overall (key None) or per facility; only hours with rows. A row's hour is the last
    one starting at or before its moment (``width_bucket`` over the starts): no row's moment is
    converted to local time, which made the query a third slower."""
    table, instant, day, value, condition, privacy_key = SOURCES[metric]
    at = sql.Identifier(instant)
    pruning: sql.Composable = sql.SQL("")
    if table in PARTITIONED_BY_INSTANT:
        pruning = sql.SQL("AND {at} >= %(from)s AND {at} < %(to)s").format(at=at)
    # The facilities' rows by their local dates.
    rows_from: sql.Composable = sql.SQL(
        "(SELECT * FROM {table} WHERE facility_id = ANY(%(ids)s) AND {day} BETWEEN %(start)s AND %(end)s {pruning})"
    ).format(table=sql.Identifier(table), day=sql.Identifier(day), pruning=pruning)
    if table == "events_event" and not by_facility:
        # Events of no facility (activity, counted in every scope) have no local day there, so
        # by their moment within the hours listed: a second branch, read from the log's partial
        # index of them alone (events migration 0009), not an OR that reads both from the heap.
        rows_from = sql.SQL("""
            (SELECT facility_id, {at}, actor FROM ({facility_rows}) AS own
             UNION ALL
             SELECT facility_id, {at}, actor FROM {table}
             WHERE facility_id IS NULL AND {at} >= %(first)s AND {at} < %(after)s)""").format(
            at=at, facility_rows=rows_from, table=sql.Identifier(table)
        )
    key, group = grouping(by_facility)
    # One array literal (psycopg's adaptation of 744 datetimes took 2 ms a query); the end of the
    # last hour closes it, so a row after it falls beyond the last bucket, not into it.
    moments = "{" + ",".join(moment.isoformat() for moment in [*starts.values(), after]) + "}"
    bucket = sql.SQL("width_bucket({at}, %(starts)s::timestamptz[])").format(at=at)
    rows = keyed(
        fetch(
            sql.SQL("""
            SELECT {key}, {bucket}, {value}, {privacy_key}
            FROM {rows_from} AS {table}
            WHERE {condition}
            GROUP BY {group} 3
            """).format(
                key=key, bucket=bucket, value=sql.SQL(value), privacy_key=sql.SQL(privacy_key),
                rows_from=rows_from, table=sql.Identifier(table), condition=sql.SQL(condition), group=group,
            ),
            {
                "ids": list(facility_ids), "start": start, "end": end, "starts": moments,
                "first": next(iter(starts.values())), "after": after,
                "from": datetime.combine(start - timedelta(days=1), time(), tzinfo=UTC),
                "to": datetime.combine(end + timedelta(days=2), time(), tzinfo=UTC),
            },
        )
    )  # fmt: skip
    named = list(starts)  # bucket n is the n-th start (1-based); 0 would be before the first
    return {
        key: {named[bucket - 1]: (amount, keys) for bucket, amount, keys in values if 0 < bucket <= len(named)}
        for key, values in rows.items()
    }
