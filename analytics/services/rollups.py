"""Keeping views up to date as events apply: the rows of the buckets that changed are computed again.

A change to a record marks the buckets of the views it touches, in its own transaction
(analytics.marks: statement triggers on the record tables). After each processing round, and
every minute as a backstop, the rollup step takes each view's marks and, in one transaction
under the view's lock (the lock its refresh takes), deletes the rows of those buckets and
inserts them again from the records: exact for every kind of figure, distinct counts and
per-hire rows included, since a bucket is always computed whole. The marks are taken in the
same transaction, so a crash anywhere leaves them for the next step; computing a bucket twice
gives the same rows.

A view whose refresh holds its lock is passed over (its marks wait), and so are the views that
read it. A view with more marked buckets than ROLLUP_MAX_BUCKETS (a back-fill) is refreshed
whole instead (``rollups_catch_up`` in analytics.services.refresh). The scheduled refresh
rebuilds every view anyway, and first takes the marks, so it compares what the rollups kept
with what it builds (``RefreshRun.differences``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from psycopg import sql

from analytics.cache import kpi_cache_bump_facilities
from analytics.registry import ROLLUPS, View
from analytics.storage import view_generation, view_lock_key

logger = logging.getLogger(__name__)


@dataclass
class Marked:
    """The buckets a view's marks name: the facilities and days (every pair of them is
    recomputed: a few more buckets than marked, never fewer), and the months of the days."""

    facilities: list[int] = field(default_factory=list)
    days: list[date] = field(default_factory=list)

    @property
    def months(self) -> list[date]:
        return sorted({day.replace(day=1) for day in self.days})

    @property
    def buckets(self) -> int:
        return len(self.days) * max(1, len(self.facilities))

    def params(self) -> dict[str, Any]:
        return {"facilities": self.facilities, "days": self.days, "months": self.months}


@dataclass
class RollupReport:
    buckets: dict[str, int] = field(default_factory=dict)  # view -> buckets recomputed
    facilities: set[int] = field(default_factory=set)  # whose figures changed
    passed_over: list[str] = field(default_factory=list)  # held by a refresh, or reading one that was
    refreshing: list[str] = field(default_factory=list)  # too many buckets: refreshed whole instead
    seconds: float = 0.0


def rollups_apply() -> RollupReport:
    """Recompute the marked buckets of every view kept up to date this way, in dependency order.
    The views with too many are listed in ``refreshing`` (analytics.services.refresh.rollups_catch_up
    queues their refresh)."""
    report = RollupReport()
    started = time.monotonic()
    behind: set[str] = set()
    for view in ROLLUPS:
        if behind.intersection(view.depends):
            behind.add(view.key)
            report.passed_over.append(view.key)
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [view_lock_key(view)])
            if not cursor.fetchone()[0]:
                behind.add(view.key)
                report.passed_over.append(view.key)
                continue
            marked = _marked(cursor, view, take=False)
            if not marked.days:
                continue
            if marked.buckets > settings.ROLLUP_MAX_BUCKETS:
                behind.add(view.key)
                report.refreshing.append(view.key)
                continue
            taken = rollup_apply(cursor, view)
            report.buckets[view.key] = taken.buckets
            report.facilities.update(taken.facilities)
    report.seconds = round(time.monotonic() - started, 3)
    if report.buckets:
        # After the commits: an answer computed before them is kept under the old generations.
        # A view adding up every facility is only read for scopes that hold the facilities
        # whose records changed, and those are marked for the per-facility views too.
        kpi_cache_bump_facilities(report.facilities)
        logger.info("rollups: %s", report.__dict__)
    return report


def rollup_apply(cursor: CursorWrapper, view: View) -> Marked:
    """Take ``view``'s marks and compute the rows of their buckets again, in the caller's
    transaction, which holds the view's lock. Returns what was marked."""
    marked = _marked(cursor, view, take=True)
    if not marked.days:
        return marked
    storage = sql.Identifier(view.storage(view_generation(cursor, view)))
    params = marked.params()
    cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(storage, bucket_filter(view)), params)
    cursor.execute(sql.SQL("INSERT INTO {} {}").format(storage, _recompute(view)), params)
    return marked


def marks_take(cursor: CursorWrapper, view: View) -> Marked:
    """Take ``view``'s marks without recomputing (a rebuild of the whole view stands in)."""
    return _marked(cursor, view, take=True)


def marked_buckets(cursor: CursorWrapper, view: View) -> Marked:
    """The buckets of ``view`` marked now (left in place)."""
    return _marked(cursor, view, take=False)


def _marked(cursor: CursorWrapper, view: View, *, take: bool) -> Marked:
    statement = (
        "DELETE FROM analytics_stalebucket WHERE view = %s RETURNING facility_id, day"
        if take
        else "SELECT DISTINCT facility_id, day FROM analytics_stalebucket WHERE view = %s"
    )
    cursor.execute(statement, [view.key])
    rows = cursor.fetchall()
    return Marked(
        facilities=sorted({facility for facility, _ in rows if facility is not None}),
        days=sorted({day for _, day in rows}),
    )


def bucket_filter(view: View) -> sql.Composable:
    """The condition on a view's rows that selects the buckets of %(facilities)s x %(days)s."""
    rollup = view.rollup
    assert rollup is not None
    if rollup.remove:
        return sql.SQL(rollup.remove)
    if rollup.facility is None:
        return sql.SQL("{} = ANY(%(days)s)").format(sql.Identifier(rollup.day))
    return sql.SQL("{} = ANY(%(facilities)s) AND {} = ANY(%(days)s)").format(
        sql.Identifier(rollup.facility), sql.Identifier(rollup.day)
    )


def _recompute(view: View) -> sql.Composable:
    """The rows of the marked buckets, from the records (PostgreSQL takes the condition below the
    definition's grouping, so only those buckets' records are read)."""
    rollup = view.rollup
    assert rollup is not None
    if rollup.recompute:
        return sql.SQL(rollup.recompute)
    return sql.SQL("SELECT * FROM ({}) AS rows WHERE {}").format(sql.SQL(view.definition), bucket_filter(view))
