"""Shared pieces of the KPI selectors: running SQL over a view (or its definition, fresh)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from django.db import connection
from psycopg import sql

from analytics.registry import BY_KEY

OVERALL = None  # the key of the overall answer; facility ids key the rows
NO_FACILITY = "no-facility"  # rows of events that name no facility (engagement)
SECONDS_PER_DAY = 86400


def grouping(by_facility: bool) -> tuple[sql.Composable, sql.Composable]:
    """The key columns keyed() reads and the GROUP BY prefix: per facility, or overall."""
    if by_facility:
        return sql.SQL("facility_id, 0"), sql.SQL("facility_id,")
    return sql.SQL("NULL::bigint, 1"), sql.SQL("")


def group_by(by_facility: bool) -> sql.Composable:
    """A whole GROUP BY clause for a query of one key: per facility, or none (overall)."""
    return sql.SQL("GROUP BY facility_id") if by_facility else sql.SQL("")


def source(key: str, *, fresh: bool) -> sql.Composable:
    """The view ``key`` to select from (analytics.registry)."""
    return BY_KEY[key].source(fresh=fresh)


def fetch(query: sql.Composable, params: list[Any] | dict[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a composed query; its values are always bound from ``params``."""
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def keyed(rows: list[tuple[Any, ...]]) -> dict[Any, Any]:
    """Rows of a ``GROUP BY GROUPING SETS ((facility_id, ...), (...))`` query whose first two
    columns are facility_id and GROUPING(facility_id): keyed by facility id, None for overall."""
    result: dict[Any, Any] = {}
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


def covers_every_facility(facility_ids: list[int]) -> bool:
    """Whether the scope holds every facility. Then views kept over every facility together answer
    exactly (facilities cannot be deleted while records name them)."""
    missing = fetch(sql.SQL("SELECT EXISTS (SELECT 1 FROM accounts_facility WHERE NOT id = ANY(%s))"),
                    [list(facility_ids)])  # fmt: skip
    return not missing[0][0]


def month_split(start: date, end: date) -> tuple[date, date, list[tuple[date, date]]]:
    """The period as whole months [first, after) and the day ranges of the partial months left
    at its edges (first == after when no month lies wholly inside)."""
    first = start if start.day == 1 else next_month(start)
    after = month_start(end + timedelta(days=1))
    if first >= after:
        return first, first, [(start, end)]
    edges = [(start, first - timedelta(days=1))] if start < first else []
    if after <= end:
        edges.append((after, end))
    return first, after, edges


class ByFacility(Mapping[Any, Any]):
    """A selector's answer, {None: overall metrics, facility id: metrics}, whose per-facility part
    is computed on first access: only ``group_by=facility`` reads it, and building the metrics of
    every facility costs more than the overall answer itself. ``rows()`` returns that part."""

    def __init__(self, overall: dict[Any, Any], rows: Callable[[], dict[Any, Any]]) -> None:
        self._overall = overall
        self._rows = rows
        self._data: dict[Any, Any] | None = None

    def _all(self) -> dict[Any, Any]:
        if self._data is None:
            self._data = {**self._rows(), OVERALL: self._overall}
        return self._data

    def __getitem__(self, key: Any) -> Any:
        if key is OVERALL:
            return self._overall
        return self._all()[key]

    def get(self, key: Any, default: Any = None) -> Any:
        if key is OVERALL:
            return self._overall
        return self._all().get(key, default)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"ByFacility({self._all()!r})"
