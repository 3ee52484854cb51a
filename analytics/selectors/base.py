"""Shared pieces of the KPI selectors: running SQL over a view (or its definition, fresh)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection

from analytics.registry import BY_KEY

OVERALL = None  # the key of the overall answer; facility ids key the rows
NO_FACILITY = "no-facility"  # rows of events that name no facility (engagement)
SECONDS_PER_DAY = 86400


def source(key: str, *, fresh: bool) -> str:
    return BY_KEY[key].source(fresh=fresh)


def fetch(sql: str, params: list | dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def keyed(rows: list[tuple]) -> dict:
    """Rows of a ``GROUP BY GROUPING SETS ((facility_id, ...), (...))`` query whose first two
    columns are facility_id and GROUPING(facility_id): keyed by facility id, None for overall."""
    result: dict = {}
    for row in rows:
        key = OVERALL if row[1] else (NO_FACILITY if row[0] is None else row[0])
        result.setdefault(key, []).append(row[2:])
    return result


def days_in(start: date, end: date) -> int:
    return (end - start).days + 1


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
